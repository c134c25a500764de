"""Keras 2's scikit-learn wrappers: parameters, clone, GridSearchCV, cross_val_score, and the numbers.

Models with a zero learning rate keep their constant initial weights, so every output and score is
written out in NumPy here.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina as keras
from lamina.wrappers.scikit_learn import KerasClassifier, KerasRegressor

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402

RNG = np.random.RandomState(0)
X = RNG.rand(16, 3).astype("float32")
# "up" where feature 1 exceeds feature 0: a fixed kernel [[s, -s], [-s, s]] gets it all right for s > 0.
LABELS = np.where(X[:, 1] > X[:, 0], "up", "down")


def fixed_model(kernel, activation, loss, metrics=("accuracy",)):
    """One Dense layer with a constant kernel and a zero learning rate: its outputs are known without training."""
    kernel = np.asarray(kernel, "float32")
    layer = keras.layers.Dense(
        kernel.shape[1], activation=activation, kernel_initializer=keras.initializers.Constant(kernel)
    )
    model = keras.Sequential([layer])
    model.build((None, 3))
    model.compile(keras.optimizers.SGD(learning_rate=0.0), loss, metrics=list(metrics), run_eagerly=True)
    return model


def fixed_classifier(sign=1.0, loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    """A softmax over s * (x0 - x1): "up" (class 1) where x1 > x0 when s > 0."""
    return fixed_model(sign * np.array([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]]), "softmax", loss, metrics)


def fixed_sigmoid():
    """p = sigmoid(x1 - x0)."""
    return fixed_model([[-1.0], [1.0], [0.0]], "sigmoid", "binary_crossentropy")


def fixed_regressor(slope=2.0):
    return fixed_model([[slope], [0.0], [0.0]], None, "mse", metrics=())


def test_lamina_import_does_not_import_sklearn():
    import ast
    import inspect

    from lamina.wrappers import scikit_learn

    tree = ast.parse(inspect.getsource(scikit_learn))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [getattr(node, "module", None) or node.names[0].name for node in top_level]
    assert names and not [name for name in names if name.split(".")[0] == "sklearn"]


def test_grid_search_picks_the_right_build_argument():
    clf = KerasClassifier(build_fn=fixed_classifier, epochs=1, batch_size=8, verbose=0)
    assert is_classifier(clf)
    search = GridSearchCV(clf, {"sign": [-1.0, 1.0]}, cv=2, refit=False).fit(X, LABELS)
    # sign=-1 predicts the opposite class everywhere, sign=+1 the right one (NumPy: x1 > x0 <=> "up").
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], [0.0, 1.0], atol=1e-6)
    assert search.best_params_ == {"sign": 1.0}


def test_cross_val_score_regressor_is_minus_mse_per_fold():
    y = (X[:, 0] + 0.5 * X[:, 1]).astype("float32")
    reg = KerasRegressor(build_fn=fixed_regressor, slope=3.0, epochs=1, batch_size=8, verbose=0)
    assert is_regressor(reg)
    scores = cross_val_score(reg, X, y, cv=KFold(2))
    expected = [-np.mean((3.0 * X[idx, 0] - y[idx]) ** 2) for idx in (np.arange(8), np.arange(8, 16))]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_clone_get_params_and_set_params():
    clf = KerasClassifier(build_fn=fixed_classifier, sign=5, epochs=2, verbose=0)
    assert clf.get_params() == {"build_fn": fixed_classifier, "sign": 5, "epochs": 2, "verbose": 0}
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert copy.set_params(sign=7) is copy
    assert copy.sk_params["sign"] == 7 and clf.sk_params["sign"] == 5
    assert clf.filter_sk_params(fixed_classifier) == {"sign": 5}
    assert clf.filter_sk_params(keras.Sequential.fit, {"epochs": 9}) == {"epochs": 9, "verbose": 0}
    with pytest.raises(ValueError, match="unitz is not a legal parameter"):
        KerasClassifier(build_fn=fixed_classifier, unitz=5)
    with pytest.raises(ValueError, match="color is not a legal parameter"):
        clf.set_params(color="red")


def test_classifier_numbers_match_the_model():
    noisy = LABELS.copy()
    noisy[[1, 5, 6]] = np.where(noisy[[1, 5, 6]] == "up", "down", "up")  # the model gets these three wrong
    clf = KerasClassifier(build_fn=fixed_classifier, epochs=1, batch_size=8, verbose=0)
    clf.fit(X, noisy)
    np.testing.assert_array_equal(clf.classes_, ["down", "up"])
    probabilities = clf.model.predict(X, batch_size=8, verbose=0)
    logits = np.stack([X[:, 0] - X[:, 1], X[:, 1] - X[:, 0]], axis=1)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), softmax, rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), probabilities, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), LABELS)
    assert clf.score(X, noisy) == pytest.approx(13 / 16, abs=1e-6)


def test_categorical_crossentropy_gets_one_hot_targets():
    clf = KerasClassifier(build_fn=fixed_classifier, loss="categorical_crossentropy", epochs=1, batch_size=8, verbose=0)
    clf.fit(X, LABELS)  # integer labels would not fit a categorical crossentropy: the wrapper one-hots them
    assert clf.score(X, LABELS) == pytest.approx(1.0)
    one_hot = np.eye(2)[(LABELS == "up").astype(int)]
    clf.fit(X, one_hot)  # one-hot rows: the classes are the column indices
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.predict(X), (X[:, 1] > X[:, 0]).astype(int))
    assert clf.score(X, one_hot) == pytest.approx(1.0)


def test_binary_sigmoid_predict_proba_has_two_columns():
    y = (X[:, 1] > X[:, 0]).astype(int)
    clf = KerasClassifier(build_fn=fixed_sigmoid, epochs=1, batch_size=8, verbose=0)
    clf.fit(X, y)
    p = 1.0 / (1.0 + np.exp(X[:, 0] - X[:, 1]))
    np.testing.assert_allclose(clf.predict_proba(X), np.stack([1 - p, p], axis=1), rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), y)
    assert clf.score(X, y) == pytest.approx(1.0)


def test_regressor_predict_is_squeezed_model_output():
    reg = KerasRegressor(build_fn=fixed_regressor, epochs=1, batch_size=8, verbose=0)
    reg.fit(X, X[:, 0])
    np.testing.assert_allclose(reg.predict(X), 2.0 * X[:, 0], rtol=1e-6)
    assert reg.predict(X).shape == (16,)
    assert reg.score(X, X[:, 0]) == pytest.approx(-np.mean((2.0 * X[:, 0] - X[:, 0]) ** 2), rel=1e-5)


def test_build_fn_as_callable_object_and_as_subclass_call():
    class Builder:
        def __call__(self, sign=1.0):
            return fixed_classifier(sign)

    class Subclassed(KerasClassifier):
        def __call__(self, sign=1.0):
            return fixed_classifier(sign)

    for clf in (
        KerasClassifier(build_fn=Builder(), sign=-1.0, batch_size=8, verbose=0),
        Subclassed(sign=-1.0, batch_size=8, verbose=0),
    ):
        clf.fit(X, LABELS)
        assert clf.score(X, LABELS) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="units is not a legal parameter"):
        KerasClassifier(build_fn=Builder(), units=3)


def test_errors():
    clf = KerasClassifier(build_fn=fixed_classifier, metrics=(), epochs=1, batch_size=8, verbose=0)
    with pytest.raises(RuntimeError, match="must be fitted before predict"):
        clf.predict(X)
    clf.fit(X, LABELS)
    with pytest.raises(ValueError, match="metrics=\\['accuracy'\\]"):
        clf.score(X, LABELS)
    with pytest.raises(ValueError, match="y must be shaped"):
        clf.fit(X, np.zeros((16, 2, 2)))
    with pytest.raises(ValueError, match="build_fn is None and the class defines no __call__"):
        KerasRegressor(epochs=1)
    with pytest.raises(TypeError, match="build_fn must return a compiled model"):
        KerasRegressor(build_fn=lambda: "not a model").fit(X, X[:, 0])
