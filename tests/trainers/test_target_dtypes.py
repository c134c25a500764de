"""Integer and boolean targets, cast to the output's dtype before the loss and metrics as Keras 2 did.

Keras 2 fed every target through a placeholder made with its output's dtype, so `mse` on int64 targets,
`binary_crossentropy` on bool labels, or a user's loss written for float targets all worked. Each case here
trains one model on integer targets and the same model on the float copy of those targets: the History and
`evaluate` must agree, and the evaluated loss is checked against NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import backend as K
from lamina import layers

N, FEATURES, BATCH = 16, 4, 8
_rng = np.random.default_rng(11)
X = _rng.normal(size=(N, FEATURES)).astype("float32")
LABELS = _rng.integers(0, 3, size=N)
BINARY = _rng.integers(0, 2, size=(N, 1))
COUNTS = _rng.integers(0, 5, size=(N, 1))


def _model(units: int, activation, loss, metrics):
    model = lamina.Sequential([layers.Dense(units, activation=activation, input_shape=(FEATURES,))])
    kernel = np.linspace(-0.6, 0.6, FEATURES * units, dtype="float32").reshape(FEATURES, units)
    model.set_weights([kernel, np.full((units,), 0.05, "float32")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.1), loss, metrics=metrics)
    return model


def _forward(model, activation) -> np.ndarray:
    """The Dense layer's output for X, in NumPy, from the model's current weights."""
    kernel, bias = (w.astype("float64") for w in model.get_weights())
    z = X.astype("float64") @ kernel + bias
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return z


def _train(units, activation, loss, metrics, y):
    model = _model(units, activation, loss, metrics)
    history = model.fit(X, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0).history
    return model, history, model.evaluate(X, y, batch_size=BATCH, verbose=0)


def _numpy_loss(loss: str, y: np.ndarray, p: np.ndarray) -> float:
    y, p = y.astype("float64"), p.astype("float64")
    eps = 1e-7
    if loss == "mse":
        return float(np.mean((y - p) ** 2))
    if loss == "binary_crossentropy":
        p = np.clip(p, eps, 1 - eps)
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    p = np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)
    if loss == "categorical_crossentropy":
        return float(np.mean(-np.sum(y * np.log(p), -1)))
    return float(np.mean(-np.log(p[np.arange(len(p)), y.astype(int).ravel()])))  # sparse


CASES = {
    "mse-int64": ("mse", ["mae", "accuracy"], 1, None, COUNTS.astype("int64")),
    "bce-int32": ("binary_crossentropy", ["accuracy", "binary_accuracy"], 1, "sigmoid", BINARY.astype("int32")),
    "cce-int-onehot": (
        "categorical_crossentropy",
        ["accuracy", "categorical_accuracy"],
        3,
        "softmax",
        np.eye(3, dtype="int64")[LABELS],
    ),
    "sparse-int-labels": (
        "sparse_categorical_crossentropy",
        ["accuracy", "sparse_categorical_accuracy"],
        3,
        "softmax",
        LABELS.astype("int64"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_integer_targets_train_as_their_float_copy(case):
    loss, metrics, units, activation, y = CASES[case]
    model, history, evaluated = _train(units, activation, loss, metrics, y)
    _, float_history, float_evaluated = _train(units, activation, loss, metrics, y.astype("float32"))
    assert sorted(history) == sorted(float_history)
    for key, values in float_history.items():
        np.testing.assert_allclose(history[key], values, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(evaluated, float_evaluated, atol=1e-6)
    expected = _numpy_loss(loss, y, _forward(model, activation))
    np.testing.assert_allclose(evaluated[0], expected, rtol=1e-5, atol=1e-6)


def test_custom_loss_and_metric_see_targets_in_the_output_dtype():
    seen = []

    def spy_loss(y_true, y_pred):
        seen.append(("loss", K.dtype(y_true)))
        return K.mean(K.square(y_pred - y_true), axis=-1)

    def spy_metric(y_true, y_pred):
        seen.append(("metric", K.dtype(y_true)))
        return K.mean(K.abs(y_pred - y_true), axis=-1)

    model = _model(1, None, spy_loss, [spy_metric])
    model.fit(X, COUNTS.astype("int64"), batch_size=BATCH, verbose=0)
    model.evaluate(X, COUNTS.astype("int64"), verbose=0)
    for y in (COUNTS.astype("uint8"), BINARY.astype(bool)):
        model.train_on_batch(X, y)
        model.test_on_batch(X, y)
    assert {dtype for _, dtype in seen} == {"float32"}
    assert {kind for kind, _ in seen} == {"loss", "metric"}


def smoothed_cosine_loss(y_true, y_pred):
    """A Keras 2 user's loss written for float targets: float-only ops on `y_true`."""
    smoothed = K.softmax(y_true)
    return -K.sum(K.l2_normalize(smoothed, axis=-1) * K.l2_normalize(y_pred, axis=-1), axis=-1) + K.std(y_true)


def test_float_only_custom_loss_on_integer_one_hot_targets():
    y = np.eye(3, dtype="int64")[LABELS]
    model, history, evaluated = _train(3, "softmax", smoothed_cosine_loss, ["categorical_accuracy"], y)
    _, float_history, float_evaluated = _train(3, "softmax", smoothed_cosine_loss, ["categorical_accuracy"], y * 1.0)
    for key, values in float_history.items():
        np.testing.assert_allclose(history[key], values, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(evaluated, float_evaluated, atol=1e-6)
    p = _forward(model, "softmax")
    smoothed = np.exp(y) / np.exp(y).sum(-1, keepdims=True)
    unit = lambda v: v / np.sqrt(np.maximum(np.sum(v * v, -1, keepdims=True), 1e-12))
    expected = np.mean(-np.sum(unit(smoothed) * unit(p), -1) + np.std(y, axis=-1))
    np.testing.assert_allclose(evaluated[0], expected, rtol=1e-5)


def test_sparse_labels_from_a_generator_stay_exact_labels():
    """Float-cast labels still pick the right class: large class indices survive the cast exactly."""
    classes = 300
    labels = (np.arange(N) * 37 % classes).astype("int32")
    model = lamina.Sequential([layers.Dense(classes, activation="softmax", input_shape=(FEATURES,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])

    def batches():
        while True:
            for start in range(0, N, BATCH):
                yield X[start : start + BATCH], labels[start : start + BATCH]

    loss, accuracy = model.evaluate(batches(), steps=N // BATCH, verbose=0)
    p = _forward(model, "softmax")
    np.testing.assert_allclose(loss, _numpy_loss("sparse", labels, p), rtol=1e-5)
    np.testing.assert_allclose(accuracy, np.mean(p.argmax(-1) == labels), atol=1e-7)
