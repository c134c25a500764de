"""Every Keras loss: values against NumPy formulas written out here and against real Keras 3, reductions with
sample weights, names and aliases, configs, and one training step against Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import losses

EPS = 1e-7
N, C = 6, 4


# ---------------------------------------------------------------- NumPy references (float64)
def _f(x):
    return np.asarray(x, np.float64)


def _clip32(p, low=EPS, high=1.0 - EPS):
    # Keras clips in float32, where 1 - 1e-7 rounds to 1 - 2**-23.
    return _f(np.clip(np.asarray(p, np.float32), np.float32(low), np.float32(high)))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-_f(z)))


def _softmax(z):
    e = np.exp(_f(z) - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_mape(t, p):
    return 100.0 * np.mean(np.abs((_f(t) - p) / np.maximum(np.abs(_f(t)), EPS)), axis=-1)


def np_msle(t, p):
    return np.mean((np.log(np.maximum(_f(p), EPS) + 1) - np.log(np.maximum(_f(t), EPS) + 1)) ** 2, axis=-1)


def np_cosine_similarity(t, p, axis=-1):
    t, p = _f(t), _f(p)
    t = t / np.sqrt(np.maximum(np.sum(t**2, axis=axis, keepdims=True), 1e-12))
    p = p / np.sqrt(np.maximum(np.sum(p**2, axis=axis, keepdims=True), 1e-12))
    return -np.sum(t * p, axis=axis)


def np_huber(t, p, delta=1.0):
    e = _f(p) - t
    return np.mean(np.where(np.abs(e) <= delta, 0.5 * e**2, delta * np.abs(e) - 0.5 * delta**2), axis=-1)


def np_log_cosh(t, p):
    return np.mean(np.log(np.cosh(_f(p) - t)), axis=-1)


def _signed(t):
    t = _f(t)
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_hinge(t, p):
    return np.mean(np.maximum(1 - _signed(t) * p, 0), axis=-1)


def np_squared_hinge(t, p):
    return np.mean(np.maximum(1 - _signed(t) * p, 0) ** 2, axis=-1)


def np_categorical_hinge(t, p):
    t, p = _f(t), _f(p)
    return np.maximum(np.max((1 - t) * p, axis=-1) - np.sum(t * p, axis=-1) + 1, 0)


def np_kl_divergence(t, p):
    t, p = _clip32(t, EPS, 1.0), _clip32(p, EPS, 1.0)
    return np.sum(t * np.log(t / p), axis=-1)


def np_poisson(t, p):
    return np.mean(_f(p) - _f(t) * np.log(_f(p) + EPS), axis=-1)


def np_bce_values(t, p, from_logits=False):
    t = _f(t)
    if from_logits:
        return -(t * -np.logaddexp(0, -_f(p)) + (1 - t) * -np.logaddexp(0, _f(p)))
    p = _clip32(p)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def np_binary_crossentropy(t, p, from_logits=False, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + 0.5 * label_smoothing
    return np.mean(np_bce_values(t, p, from_logits), axis=-1)


def np_binary_focal(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + 0.5 * label_smoothing
    p = _sigmoid(p) if from_logits else _f(p)
    p_t = t * p + (1 - t) * (1 - p)
    values = (1 - p_t) ** gamma * np_bce_values(t, p)
    if apply_class_balancing:
        values = (t * alpha + (1 - t) * (1 - alpha)) * values
    return np.mean(values, axis=-1)


def _log_probs(p, from_logits):
    if from_logits:
        return np.log(_softmax(p))
    return np.log(_clip32(_f(p) / _f(p).sum(axis=-1, keepdims=True)))


def np_categorical_crossentropy(t, p, from_logits=False, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + label_smoothing / np.shape(t)[-1]
    return -np.sum(t * _log_probs(p, from_logits), axis=-1)


def np_categorical_focal(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + label_smoothing / np.shape(t)[-1]
    probs = _softmax(p) if from_logits else _f(p)
    probs = _clip32(probs / probs.sum(axis=-1, keepdims=True))
    return np.sum(alpha * (1 - probs) ** gamma * -t * np.log(probs), axis=-1)


def np_sparse_categorical_crossentropy(labels, p, from_logits=False, ignore_class=None):
    labels = np.asarray(labels).reshape(-1).astype(int)
    valid = labels != ignore_class if ignore_class is not None else np.ones_like(labels, bool)
    one_hot = np.eye(np.shape(p)[-1])[np.where(valid, labels, 0)]
    return np.where(valid, np_categorical_crossentropy(one_hot, p, from_logits), 0.0)


# ---------------------------------------------------------------- data
def _data(kind, rng, from_logits=False):
    if kind in ("regression", "positive"):
        t = rng.normal(size=(N, 3)).astype("float32")
        p = rng.normal(size=(N, 3)).astype("float32")
        if kind == "positive":
            t, p = np.abs(t) * 3, np.abs(p) * 3 + 0.05
        t[0, 0] = 0.0  # a zero target: MAPE and MSLE clip it
        return t, p
    if kind == "distribution":
        t = _softmax(rng.normal(size=(N, C))).astype("float32")
        t[0] = [1.0, 0.0, 0.0, 0.0]
        return t, _softmax(rng.normal(size=(N, C))).astype("float32")
    if kind in ("signed", "binary_signed"):
        t = rng.integers(0, 2, size=(N, 3)).astype("float32")
        return (2 * t - 1 if kind == "signed" else t), rng.normal(size=(N, 3)).astype("float32")
    if kind == "binary":
        t = rng.integers(0, 2, size=(N, 3)).astype("float32")
        if from_logits:
            return t, rng.normal(scale=3.0, size=(N, 3)).astype("float32")
        p = rng.uniform(0.05, 0.95, size=(N, 3)).astype("float32")
        p[0] = [0.0, 1.0, 0.5]
        return t, p
    labels = rng.integers(0, C, size=(N,))
    p = rng.normal(scale=2.0, size=(N, C)) if from_logits else rng.uniform(0.1, 2.0, size=(N, C))
    p = p.astype("float32")
    if kind == "labels":
        return labels, p
    return np.eye(C, dtype="float32")[labels], p


# (lamina function, lamina class, NumPy reference, Keras 3 name, data kind, keyword arguments)
CASES = {
    "mape": ("mean_absolute_percentage_error", "MeanAbsolutePercentageError", np_mape, "regression", {}),
    "msle": ("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", np_msle, "positive", {}),
    "msle_negative": ("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", np_msle, "regression", {}),
    "cosine": ("cosine_similarity", "CosineSimilarity", np_cosine_similarity, "regression", {}),
    "huber": ("huber", "Huber", np_huber, "regression", {}),
    "huber_delta": ("huber", "Huber", np_huber, "regression", {"delta": 0.4}),
    "log_cosh": ("log_cosh", "LogCosh", np_log_cosh, "regression", {}),
    "hinge": ("hinge", "Hinge", np_hinge, "signed", {}),
    "hinge_01": ("hinge", "Hinge", np_hinge, "binary_signed", {}),
    "squared_hinge": ("squared_hinge", "SquaredHinge", np_squared_hinge, "binary_signed", {}),
    "categorical_hinge": ("categorical_hinge", "CategoricalHinge", np_categorical_hinge, "one_hot", {}),
    "kld": ("kl_divergence", "KLDivergence", np_kl_divergence, "distribution", {}),
    "poisson": ("poisson", "Poisson", np_poisson, "positive", {}),
    "bce_smooth": (
        "binary_crossentropy",
        "BinaryCrossentropy",
        np_binary_crossentropy,
        "binary",
        {"label_smoothing": 0.2},
    ),
    "bce_logits_smooth": (
        "binary_crossentropy",
        "BinaryCrossentropy",
        np_binary_crossentropy,
        "binary",
        {"from_logits": True, "label_smoothing": 0.1},
    ),
    "focal": ("binary_focal_crossentropy", "BinaryFocalCrossentropy", np_binary_focal, "binary", {}),
    "focal_balanced": (
        "binary_focal_crossentropy",
        "BinaryFocalCrossentropy",
        np_binary_focal,
        "binary",
        {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "label_smoothing": 0.1},
    ),
    "focal_logits": (
        "binary_focal_crossentropy",
        "BinaryFocalCrossentropy",
        np_binary_focal,
        "binary",
        {"from_logits": True, "gamma": 3.0},
    ),
    "cce_smooth": (
        "categorical_crossentropy",
        "CategoricalCrossentropy",
        np_categorical_crossentropy,
        "one_hot",
        {"label_smoothing": 0.2},
    ),
    "cce_logits_smooth": (
        "categorical_crossentropy",
        "CategoricalCrossentropy",
        np_categorical_crossentropy,
        "one_hot",
        {"from_logits": True, "label_smoothing": 0.1},
    ),
    "categorical_focal": (
        "categorical_focal_crossentropy",
        "CategoricalFocalCrossentropy",
        np_categorical_focal,
        "one_hot",
        {},
    ),
    "categorical_focal_logits": (
        "categorical_focal_crossentropy",
        "CategoricalFocalCrossentropy",
        np_categorical_focal,
        "one_hot",
        {"from_logits": True, "alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.1},
    ),
    "sparse_ignore": (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
        np_sparse_categorical_crossentropy,
        "labels",
        {"ignore_class": 2},
    ),
    "sparse_ignore_logits": (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
        np_sparse_categorical_crossentropy,
        "labels",
        {"ignore_class": 1, "from_logits": True},
    ),
}


def _case(key, rng):
    fn_name, cls_name, reference, kind, kwargs = CASES[key]
    y_true, y_pred = _data(kind, rng, kwargs.get("from_logits", False))
    if key.startswith("sparse_ignore"):
        y_true[[1, 4]] = kwargs["ignore_class"]  # at least two ignored samples
    return fn_name, cls_name, reference, kwargs, y_true, y_pred


@pytest.mark.parametrize("key", list(CASES))
def test_function_values_match_numpy_and_keras3(key, rng, keras3):
    fn_name, _, reference, kwargs, y_true, y_pred = _case(key, rng)
    got = np.asarray(getattr(losses, fn_name)(y_true, y_pred, **kwargs))
    expected = reference(y_true, y_pred, **kwargs)
    assert got.shape == (N,)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    oracle = np.asarray(getattr(keras3.losses, fn_name)(y_true, y_pred, **kwargs))
    np.testing.assert_allclose(got, oracle, rtol=1e-5, atol=1e-6)


def np_reduce(values, sample_weight, reduction, valid=None):
    values = _f(values) * (1.0 if sample_weight is None else _f(sample_weight))
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight":
        weights = np.ones(values.shape) if sample_weight is None else np.broadcast_to(_f(sample_weight), values.shape)
        if valid is not None:  # ignored samples weigh nothing
            weights = weights * valid
        return values.sum() / max(weights.sum(), 1e-7)
    return values.sum() / (values.size if valid is None else max(valid.sum(), 1))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"])
@pytest.mark.parametrize("key", list(CASES))
def test_class_reductions_with_sample_weight(key, reduction, weighted, rng, keras3):
    _, cls_name, reference, kwargs, y_true, y_pred = _case(key, rng)
    sample_weight = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 3.0], "float32") if weighted else None
    loss = getattr(losses, cls_name)(reduction=reduction, **kwargs)
    got = np.asarray(loss(y_true, y_pred, sample_weight=sample_weight))
    valid = None
    if "ignore_class" in kwargs:
        valid = np.asarray(y_true) != kwargs["ignore_class"]
    expected = np_reduce(reference(y_true, y_pred, **kwargs), sample_weight, reduction, valid)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    oracle = getattr(keras3.losses, cls_name)(reduction=reduction, **kwargs)
    np.testing.assert_allclose(
        got, np.asarray(oracle(y_true, y_pred, sample_weight=sample_weight)), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------- names, aliases, configs
@pytest.mark.parametrize(
    "identifier, cls_name",
    [
        ("mape", "MeanAbsolutePercentageError"),
        ("MAPE", "MeanAbsolutePercentageError"),
        ("mean_absolute_percentage_error", "MeanAbsolutePercentageError"),
        ("msle", "MeanSquaredLogarithmicError"),
        ("MSLE", "MeanSquaredLogarithmicError"),
        ("kld", "KLDivergence"),
        ("KLD", "KLDivergence"),
        ("kl_divergence", "KLDivergence"),
        ("kullback_leibler_divergence", "KLDivergence"),
        ("logcosh", "LogCosh"),
        ("log_cosh", "LogCosh"),
        ("huber", "Huber"),
        ("huber_loss", "Huber"),
        ("Huber", "Huber"),
        ("hinge", "Hinge"),
        ("squared_hinge", "SquaredHinge"),
        ("categorical_hinge", "CategoricalHinge"),
        ("poisson", "Poisson"),
        ("cosine_similarity", "CosineSimilarity"),
        ("binary_focal_crossentropy", "BinaryFocalCrossentropy"),
        ("categorical_focal_crossentropy", "CategoricalFocalCrossentropy"),
        ("bce", "BinaryCrossentropy"),
        (losses.kld, "KLDivergence"),
        (losses.logcosh, "LogCosh"),
        (losses.mape, "MeanAbsolutePercentageError"),
        (losses.huber, "Huber"),
    ],
)
def test_get_accepts_keras_names_and_aliases(identifier, cls_name):
    assert type(losses.get(identifier)) is getattr(losses, cls_name)


def test_module_aliases():
    assert losses.kld is losses.KLD is losses.kullback_leibler_divergence is losses.kl_divergence
    assert losses.mape is losses.MAPE is losses.mean_absolute_percentage_error
    assert losses.msle is losses.MSLE is losses.mean_squared_logarithmic_error
    assert losses.logcosh is losses.log_cosh
    assert losses.get(None) is None


@pytest.mark.parametrize("key", list(CASES))
def test_config_round_trip_and_keras3_configs(key, rng, keras3):
    _, cls_name, _, kwargs, y_true, y_pred = _case(key, rng)
    loss = getattr(losses, cls_name)(reduction="sum", name="my_loss", **kwargs)
    restored = losses.deserialize(losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    assert restored.name == "my_loss" and restored.reduction == "sum"
    value = float(np.asarray(loss(y_true, y_pred)))
    assert float(np.asarray(restored(y_true, y_pred))) == pytest.approx(value, rel=1e-6)
    # Keras 3's serialized form loads in lamina, and Keras 3 reads lamina's.
    oracle = getattr(keras3.losses, cls_name)(reduction="sum", name="my_loss", **kwargs)
    from_keras = losses.deserialize(keras3.losses.serialize(oracle))
    if set(loss.get_config()) <= set(oracle.get_config()):  # Keras 3 leaves Huber's delta out of its config
        assert float(np.asarray(from_keras(y_true, y_pred))) == pytest.approx(value, rel=1e-5)
    rebuilt = keras3.losses.deserialize(losses.serialize(loss))
    assert float(rebuilt(y_true, y_pred)) == pytest.approx(value, rel=1e-5)


def test_default_names_follow_keras(keras3):
    for cls_name in {c[1] for c in CASES.values()}:
        assert getattr(losses, cls_name)().name == getattr(keras3.losses, cls_name)().name, cls_name


def test_keras2_config_with_auto_reduction():
    loss = losses.deserialize(
        {"class_name": "Huber", "config": {"reduction": "auto", "name": "huber_loss", "delta": 2.0}}
    )
    assert loss.reduction == "sum_over_batch_size"
    assert float(loss(np.zeros((1, 1)), np.full((1, 1), 3.0))) == pytest.approx(2.0 * 3.0 - 0.5 * 4.0)


def test_ignore_class_with_every_sample_ignored_is_zero():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=0)
    assert float(loss(np.zeros((3,), "int32"), np.full((3, 2), 0.5, "float32"))) == 0.0


def test_wrong_targets_name_the_loss():
    with pytest.raises(ValueError, match="categorical_focal_crossentropy"):
        losses.categorical_focal_crossentropy(np.array([0, 1]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="huber"):
        losses.Huber()(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="reduction"):
        losses.Poisson(reduction="average")


# ---------------------------------------------------------------- one training step against Keras 3
TRAIN_CASES = [
    ("huber", "regression", 3, None),
    ("log_cosh", "regression", 3, None),
    ("mape", "regression", 3, None),
    ("msle", "positive", 3, "softplus"),
    ("poisson", "positive", 3, "softplus"),
    ("cosine_similarity", "regression", 3, None),
    ("squared_hinge", "signed", 3, "tanh"),
    ("categorical_hinge", "one_hot", C, None),
    ("kld", "distribution", C, "softmax"),
    ("binary_focal_crossentropy", "binary", 3, "sigmoid"),
    ("categorical_focal_crossentropy", "one_hot", C, "softmax"),
]


@pytest.mark.parametrize("loss, kind, units, activation", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_one_sgd_step_matches_keras3(loss, kind, units, activation, rng, keras3):
    x = rng.normal(size=(N, 5)).astype("float32")
    y, _ = _data(kind, rng)
    weights = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 3.0], "float32")
    model = lamina.Sequential([lamina.layers.Dense(units, activation=activation, input_shape=(5,))])
    oracle = keras3.Sequential([keras3.Input((5,)), keras3.layers.Dense(units, activation=activation)])
    oracle.set_weights(model.get_weights())
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss=loss)
    oracle.compile(optimizer=keras3.optimizers.SGD(0.1), loss=loss)
    got = model.train_on_batch(x, y, sample_weight=weights)
    expected = oracle.train_on_batch(x, y, sample_weight=weights)
    np.testing.assert_allclose(np.ravel(got)[0], np.ravel(expected)[0], rtol=1e-5)
    for a, b in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ignore_class_through_fit_matches_keras3(rng, keras3):
    x = rng.normal(size=(N, 5)).astype("float32")
    y = np.array([0, 3, 1, 3, 2, 1])
    model = lamina.Sequential([lamina.layers.Dense(C, input_shape=(5,))])
    oracle = keras3.Sequential([keras3.Input((5,)), keras3.layers.Dense(C)])
    oracle.set_weights(model.get_weights())
    model.compile(optimizer=lamina.optimizers.SGD(0.5), loss=losses.SparseCategoricalCrossentropy(True, 3))
    oracle.compile(optimizer=keras3.optimizers.SGD(0.5), loss=keras3.losses.SparseCategoricalCrossentropy(True, 3))
    history = model.fit(x, y, batch_size=N, epochs=2, verbose=0)
    oracle_history = oracle.fit(x, y, batch_size=N, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], oracle_history.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ignore_class_with_sample_weights_compiled_matches_keras3(rng, keras3):
    # "mean_with_sample_weight" divides by the weights of the kept samples: a compiled model must use the
    # loss's own __call__ (as Keras does), not only its per-sample values.
    x = rng.normal(size=(N, 5)).astype("float32")
    y = np.array([0, 3, 1, 3, 2, 1])
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.5], "float32")
    model = lamina.Sequential([lamina.layers.Dense(C, input_shape=(5,))])
    oracle = keras3.Sequential([keras3.Input((5,)), keras3.layers.Dense(C)])
    oracle.set_weights(model.get_weights())
    kwargs = {"from_logits": True, "ignore_class": 3, "reduction": "mean_with_sample_weight"}
    model.compile(loss=losses.SparseCategoricalCrossentropy(**kwargs))
    oracle.compile(loss=keras3.losses.SparseCategoricalCrossentropy(**kwargs))
    got = model.evaluate(x, y, sample_weight=weights, batch_size=N, verbose=0)
    want = oracle.evaluate(x, y, sample_weight=weights, batch_size=N, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
