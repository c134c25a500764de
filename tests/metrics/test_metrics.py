"""Metrics against NumPy written out here and real Keras 3; "accuracy" as compile() resolves it."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import metrics

N, C = 8, 3


# ---------------------------------------------------------------- NumPy references (per sample)
def np_accuracy(y_true, y_pred):
    return (np.asarray(y_true, np.float64) == np.asarray(y_pred, np.float64)).astype(np.float64)


def np_binary_accuracy(y_true, y_pred, threshold=0.5):
    predicted = (np.asarray(y_pred) > threshold).astype(np.float64)
    return np.mean(np.asarray(y_true, np.float64) == predicted, axis=-1)


def np_categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def np_sparse_categorical_accuracy(labels, y_pred):
    return (np.asarray(labels).reshape(-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def np_mse(y_true, y_pred):
    return np.mean((np.asarray(y_true, np.float64) - y_pred) ** 2, axis=-1)


def np_mae(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_true, np.float64) - y_pred), axis=-1)


def np_weighted_mean(values, weights=None):
    values = np.asarray(values, np.float64)
    if weights is None:
        return values.mean()
    weights = np.broadcast_to(
        np.asarray(weights, np.float64).reshape(values.shape[:1] + (1,) * (values.ndim - 1)), values.shape
    )
    return np.sum(values * weights) / np.sum(weights)


# ---------------------------------------------------------------- inputs
def _batch(kind, rng, n=N):
    """(y_true, y_pred) for a metric kind; probabilities have no ties, so argmax is well defined."""
    if kind == "accuracy":
        return rng.integers(0, 3, size=(n, 1)), rng.integers(0, 3, size=(n, 1)).astype("float32")
    if kind == "binary_accuracy":
        return rng.integers(0, 2, size=(n, 2)).astype("float32"), rng.uniform(size=(n, 2)).astype("float32")
    if kind in ("categorical_accuracy", "sparse_categorical_accuracy"):
        labels = rng.integers(0, C, size=(n,))
        y_pred = rng.uniform(size=(n, C)).astype("float32")
        y_pred /= y_pred.sum(axis=-1, keepdims=True)
        return (labels if kind == "sparse_categorical_accuracy" else np.eye(C, dtype="float32")[labels]), y_pred
    return rng.normal(size=(n, 2)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


# name -> (lamina function, lamina class, NumPy reference, Keras 3 class name)
CASES = {
    "accuracy": (metrics.accuracy, metrics.Accuracy, np_accuracy, "Accuracy"),
    "binary_accuracy": (metrics.binary_accuracy, metrics.BinaryAccuracy, np_binary_accuracy, "BinaryAccuracy"),
    "categorical_accuracy": (
        metrics.categorical_accuracy,
        metrics.CategoricalAccuracy,
        np_categorical_accuracy,
        "CategoricalAccuracy",
    ),
    "sparse_categorical_accuracy": (
        metrics.sparse_categorical_accuracy,
        metrics.SparseCategoricalAccuracy,
        np_sparse_categorical_accuracy,
        "SparseCategoricalAccuracy",
    ),
    "mean_squared_error": (metrics.mean_squared_error, metrics.MeanSquaredError, np_mse, "MeanSquaredError"),
    "mean_absolute_error": (metrics.mean_absolute_error, metrics.MeanAbsoluteError, np_mae, "MeanAbsoluteError"),
}
KINDS = list(CASES)


# ---------------------------------------------------------------- functions
@pytest.mark.parametrize("kind", KINDS)
def test_function_values(kind, rng):
    fn, _, reference, _ = CASES[kind]
    y_true, y_pred = _batch(kind, rng)
    got = np.asarray(fn(y_true, y_pred))
    expected = reference(y_true, y_pred)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert 0 < expected.mean() < 1 or kind.startswith("mean_")  # neither all right nor all wrong: a real check


def test_module_aliases():
    assert metrics.mse is metrics.MSE is metrics.mean_squared_error
    assert metrics.mae is metrics.MAE is metrics.mean_absolute_error


def test_binary_accuracy_threshold():
    y_true = np.array([[1.0], [1.0], [0.0], [0.0]])
    y_pred = np.array([[0.3], [0.8], [0.6], [0.1]])
    np.testing.assert_allclose(np.asarray(metrics.binary_accuracy(y_true, y_pred)), [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(np.asarray(metrics.binary_accuracy(y_true, y_pred, threshold=0.2)), [1.0, 1.0, 0.0, 1.0])
    assert float(metrics.BinaryAccuracy(threshold=0.7)(y_true, y_pred)) == pytest.approx(0.75)


def test_accuracy_functions_with_a_trailing_one():
    # (N,) targets against (N, 1) predictions, and (N, 1) integer labels for the sparse metric.
    got = np.asarray(metrics.binary_accuracy(np.array([1.0, 0.0, 1.0]), np.array([[0.9], [0.7], [0.2]])))
    np.testing.assert_allclose(got, [1.0, 0.0, 0.0])
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    got = np.asarray(metrics.sparse_categorical_accuracy(np.array([[1], [1], [1]]), probs))
    np.testing.assert_allclose(got, [1.0, 0.0, 1.0])
    got = np.asarray(metrics.accuracy(np.array([2, 1, 0]), np.array([[2.0], [0.0], [0.0]])))
    np.testing.assert_allclose(got.reshape(-1), [1.0, 0.0, 1.0])


# ---------------------------------------------------------------- stateful objects
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kind", KINDS)
def test_stateful_metric_over_several_batches(kind, weighted, rng, keras3):
    _, cls, reference, keras_cls = CASES[kind]
    batches = [_batch(kind, rng, n) for n in (N, 5, N)]
    weights = [rng.uniform(0.0, 2.0, size=(len(b[0]),)).astype("float32") if weighted else None for b in batches]
    metric = cls()
    oracle = getattr(keras3.metrics, keras_cls)()
    assert metric.name == oracle.name == kind
    for (y_true, y_pred), weight in zip(batches, weights):
        metric.update_state(y_true, y_pred, sample_weight=weight)
        oracle.update_state(y_true, y_pred, sample_weight=weight)
    values = np.concatenate([reference(*b) for b in batches])
    expected = np_weighted_mean(values, None if not weighted else np.concatenate(weights))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert float(metric.result()) == pytest.approx(float(oracle.result()), rel=1e-5, abs=1e-7)

    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert all(float(v.numpy()) == 0.0 for v in metric.variables)
    # After a reset only the new batch counts.
    metric.update_state(*batches[1], sample_weight=weights[1])
    expected = np_weighted_mean(reference(*batches[1]), weights[1])
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_zero_weights_mask_samples():
    metric = metrics.SparseCategoricalAccuracy()
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metric.update_state(np.array([0, 0, 0, 0]), probs, sample_weight=np.array([1.0, 0.0, 1.0, 0.0]))
    assert float(metric.result()) == 1.0
    metric.update_state(np.array([1, 1]), probs[:2], sample_weight=np.array([[1.0], [3.0]]))
    assert float(metric.result()) == pytest.approx((2.0 + 3.0) / (2.0 + 4.0))


def test_calling_a_metric_updates_and_returns_the_running_result():
    metric = metrics.MeanAbsoluteError()
    assert float(metric(np.zeros((2, 2)), np.ones((2, 2)))) == pytest.approx(1.0)
    assert float(metric(np.zeros((2, 2)), np.full((2, 2), 3.0))) == pytest.approx(2.0)
    assert float(metric.result()) == pytest.approx(2.0)


def test_mean_metric():
    metric = metrics.Mean()
    metric.update_state(np.array([1.0, 2.0, 3.0]))
    metric.update_state(np.array([10.0]), sample_weight=np.array([2.0]))
    assert float(metric.result()) == pytest.approx((1 + 2 + 3 + 20) / 5)
    assert float(metrics.Mean().result()) == 0.0  # nothing seen yet: 0, not NaN


def test_config_round_trip():
    metric = metrics.BinaryAccuracy(name="acc_at_0.3", threshold=0.3)
    restored = metrics.BinaryAccuracy.from_config(metric.get_config())
    assert restored.name == "acc_at_0.3"
    assert float(restored(np.array([[1.0], [0.0]]), np.array([[0.4], [0.2]]))) == 1.0


# ---------------------------------------------------------------- get()
@pytest.mark.parametrize(
    "identifier, cls, name",
    [
        ("accuracy", metrics.Accuracy, "accuracy"),
        ("binary_accuracy", metrics.BinaryAccuracy, "binary_accuracy"),
        ("categorical_accuracy", metrics.CategoricalAccuracy, "categorical_accuracy"),
        ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy, "sparse_categorical_accuracy"),
        ("mse", metrics.MeanSquaredError, "mse"),
        ("mean_squared_error", metrics.MeanSquaredError, "mean_squared_error"),
        ("mae", metrics.MeanAbsoluteError, "mae"),
        ("MeanAbsoluteError", metrics.MeanAbsoluteError, "MeanAbsoluteError"),
        (metrics.mean_squared_error, metrics.MeanSquaredError, "mean_squared_error"),
        (metrics.categorical_accuracy, metrics.CategoricalAccuracy, "categorical_accuracy"),
        (metrics.BinaryAccuracy, metrics.BinaryAccuracy, "binary_accuracy"),
    ],
)
def test_get_accepts_names_functions_and_classes(identifier, cls, name):
    metric = metrics.get(identifier)
    assert type(metric) is cls
    assert metric.name == name
    if cls is metrics.MeanSquaredError:
        metric.update_state(np.zeros((2, 2)), np.full((2, 2), 2.0))
        assert float(metric.result()) == pytest.approx(4.0)


def test_get_returns_metric_objects_as_given_and_wraps_functions():
    metric = metrics.CategoricalAccuracy(name="top1")
    assert metrics.get(metric) is metric

    def within_one(y_true, y_pred):
        return lamina.ops.cast(lamina.ops.abs(y_true - y_pred) <= 1.0, "float32")

    wrapped = metrics.get(within_one)
    assert wrapped.name == "within_one"
    wrapped.update_state(np.array([0.0, 0.0, 0.0, 0.0]), np.array([0.5, 2.0, -1.0, 3.0]))
    assert float(wrapped.result()) == pytest.approx(0.5)


def test_get_unknown_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="no_such_metric"):
        metrics.get("no_such_metric")


def test_compile_with_an_unknown_metric_is_a_value_error_naming_it():
    model = lamina.Sequential([lamina.layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="no_such_metric"):
        model.compile(optimizer="sgd", loss="mse", metrics=["no_such_metric"])
        model.evaluate(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), verbose=0)


# ---------------------------------------------------------------- "accuracy" through compile()
def _np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dense_model(rng, units, activation, inputs=4):
    """A one-layer lamina model with known weights, and its NumPy forward pass."""
    model = lamina.Sequential([lamina.layers.Dense(units, activation=activation, input_shape=(inputs,))])
    kernel = rng.normal(size=(inputs, units)).astype("float32")
    bias = rng.normal(scale=0.5, size=(units,)).astype("float32")
    model.set_weights([kernel, bias])
    activate = {"softmax": _np_softmax, "sigmoid": _np_sigmoid, "linear": lambda z: z}[activation]
    return model, lambda x: activate(x.astype(np.float64) @ kernel + bias)


# loss -> (output units, activation, target kind, which accuracy Keras picks for that loss)
ACCURACY_BY_LOSS = {
    "sparse_categorical_crossentropy": (C, "softmax", "labels", np_sparse_categorical_accuracy),
    "categorical_crossentropy": (C, "softmax", "one_hot", np_categorical_accuracy),
    "binary_crossentropy": (1, "sigmoid", "binary", np_binary_accuracy),
    "mse": (1, "linear", "binary", np_binary_accuracy),
}


def _targets(kind, rng, n, units):
    if kind == "labels":
        return rng.integers(0, units, size=(n,))
    if kind == "one_hot":
        return np.eye(units, dtype="float32")[rng.integers(0, units, size=(n,))]
    return rng.integers(0, 2, size=(n, units)).astype("float32")


@pytest.mark.parametrize("loss", list(ACCURACY_BY_LOSS))
def test_accuracy_is_resolved_from_the_loss(loss, rng, keras3):
    units, activation, target_kind, reference = ACCURACY_BY_LOSS[loss]
    x = rng.normal(size=(24, 4)).astype("float32")
    y = _targets(target_kind, rng, 24, units)
    model, forward = _dense_model(rng, units, activation)
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert sorted(logs) == ["accuracy", "loss"]
    expected = reference(y, forward(x)).mean()
    assert 0.0 < expected < 1.0
    assert logs["accuracy"] == pytest.approx(expected, abs=1e-6)

    # Real Keras 3, same weights and data, agrees on the accuracy and the loss.
    oracle = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(units, activation=activation)])
    oracle.set_weights(model.get_weights())
    oracle.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    oracle_logs = oracle.evaluate(x, y, return_dict=True, verbose=0)
    assert logs["accuracy"] == pytest.approx(oracle_logs["accuracy"], abs=1e-6)
    assert logs["loss"] == pytest.approx(oracle_logs["loss"], rel=1e-5)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse"])
def test_rank_one_targets_with_sample_weight_through_evaluate(loss, rng, keras3):
    # Targets (N,) against outputs (N, 1): each sample keeps its own loss, so sample weights apply per sample.
    units, activation, _, reference = ACCURACY_BY_LOSS[loss]
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.integers(0, 2, size=(24,)).astype("float32")
    weights = rng.uniform(0.0, 2.0, size=(24,)).astype("float32")
    model, forward = _dense_model(rng, units, activation)
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = model.evaluate(x, y, sample_weight=weights, return_dict=True, verbose=0)
    per_sample_acc = reference(y[:, None], forward(x))
    assert logs["accuracy"] == pytest.approx(per_sample_acc.mean(), abs=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(per_sample_acc * weights) / weights.sum(), abs=1e-6)
    if loss == "mse":  # sum_over_batch_size: the weighted sum over the number of samples
        expected_loss = np.sum((y - forward(x)[:, 0]) ** 2 * weights) / len(y)
        assert logs["loss"] == pytest.approx(expected_loss, rel=1e-5)
    oracle = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(units, activation=activation)])
    oracle.set_weights(model.get_weights())
    oracle.compile(optimizer="sgd", loss=loss, metrics=["accuracy"], weighted_metrics=["accuracy"])
    oracle_logs = oracle.evaluate(x, y, sample_weight=weights, return_dict=True, verbose=0)
    assert sorted(oracle_logs) == sorted(logs)
    for key in logs:
        assert logs[key] == pytest.approx(oracle_logs[key], rel=1e-5), key


def test_accuracy_with_binary_crossentropy_on_several_outputs_is_binary(rng):
    # Multi-label outputs (N, 3) with 0/1 targets: the loss says binary accuracy, per element, not argmax.
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.integers(0, 2, size=(24, C)).astype("float32")
    model, forward = _dense_model(rng, C, "sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "acc"])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    expected = np_binary_accuracy(y, forward(x)).mean()
    assert expected != pytest.approx(np_categorical_accuracy(y, forward(x)).mean())
    assert logs["accuracy"] == pytest.approx(expected, abs=1e-6)
    assert logs["acc"] == pytest.approx(expected, abs=1e-6)


def test_accuracy_with_mse_and_one_hot_targets_is_categorical(rng):
    x = rng.normal(size=(24, 4)).astype("float32")
    y = _targets("one_hot", rng, 24, C)
    model, forward = _dense_model(rng, C, "softmax")
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert logs["accuracy"] == pytest.approx(np_categorical_accuracy(y, forward(x)).mean(), abs=1e-6)
    assert logs["loss"] == pytest.approx(np_mse(y, forward(x)).mean(), rel=1e-5)


def test_compiled_metric_names_and_values(rng, keras3):
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model, forward = _dense_model(rng, 2, "linear")
    specs = ["mse", "mae", metrics.mean_absolute_error, metrics.MeanSquaredError(name="my_mse")]
    model.compile(optimizer="sgd", loss="mae", metrics=specs)
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert list(logs) == ["loss", "mse", "mae", "mean_absolute_error", "my_mse"]
    mse, mae = np_mse(y, forward(x)).mean(), np_mae(y, forward(x)).mean()
    expected = {"loss": mae, "mse": mse, "mae": mae, "mean_absolute_error": mae, "my_mse": mse}
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-5), key
    oracle = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(2)])
    oracle.set_weights(model.get_weights())
    oracle.compile(
        optimizer="sgd",
        loss="mae",
        metrics=["mse", "mae", keras3.metrics.mean_absolute_error, keras3.metrics.MeanSquaredError(name="my_mse")],
    )
    oracle_logs = oracle.evaluate(x, y, return_dict=True, verbose=0)
    assert sorted(oracle_logs) == sorted(logs)
    for key in logs:
        assert logs[key] == pytest.approx(oracle_logs[key], rel=1e-5), key
