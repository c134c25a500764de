"""Keras 2's leniency that programs rely on: NumPy integers as layer sizes, bool/int targets in metrics and losses.

References are NumPy written out here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import lamina as keras
from lamina import backend as K
from lamina import metrics

RNG = np.random.RandomState(0)


def test_dense_takes_numpy_integer_units():
    layer = keras.layers.Dense(np.int64(3), kernel_initializer="ones", bias_initializer="zeros")
    x = RNG.rand(2, np.int32(4)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out, np.repeat(x.sum(axis=1, keepdims=True), 3, axis=1), rtol=1e-6)
    config = layer.get_config()
    assert type(config["units"]) is int and json.loads(json.dumps(config))["units"] == 3


@pytest.mark.parametrize(
    "make, input_shape, output_shape",
    [
        (lambda: keras.layers.Conv2D(np.int64(2), (np.int64(3), 3), strides=np.int32(2)), (1, 7, 7, 1), (1, 3, 3, 2)),
        (lambda: keras.layers.Conv1D(np.uint8(4), np.int16(2), padding="same"), (1, 5, 2), (1, 5, 4)),
        (lambda: keras.layers.MaxPooling2D(pool_size=(np.int64(2), np.int64(2))), (1, 4, 4, 1), (1, 2, 2, 1)),
        (lambda: keras.layers.LSTM(np.int64(3), return_sequences=True), (2, 4, 2), (2, 4, 3)),
        (lambda: keras.layers.Embedding(np.int64(10), np.int64(4), input_length=np.int64(3)), (2, 3), (2, 3, 4)),
        (lambda: keras.layers.Reshape((np.int64(2), np.int32(3))), (1, 6), (1, 2, 3)),
        (lambda: keras.layers.RepeatVector(np.int64(2)), (1, 3), (1, 2, 3)),
    ],
)
def test_numpy_integers_as_sizes(make, input_shape, output_shape):
    layer = make()
    x = RNG.randint(0, 10, size=input_shape).astype("float32")
    assert tuple(keras.ops.convert_to_numpy(layer(x)).shape) == output_shape
    json.dumps(layer.get_config())  # NumPy integers would not serialize


def test_max_pooling_with_numpy_pool_size_matches_numpy():
    x = RNG.rand(1, 4, 4, 1).astype("float32")
    out = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(np.int64(2))(x))
    np.testing.assert_allclose(out[0, :, :, 0], x[0, :, :, 0].reshape(2, 2, 2, 2).max(axis=(1, 3)))


def test_user_layer_gets_python_ints():
    class Tile(keras.layers.Layer):
        def __init__(self, times, **kwargs):
            super().__init__(**kwargs)
            self.times = times

        def call(self, inputs):
            return keras.ops.tile(inputs, (1, self.times))

    layer = Tile(np.int64(2), input_shape=(np.int64(3),))
    assert type(layer.times) is int
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(np.ones((1, 3), "float32"))), np.ones((1, 6)))


ONE_HOT = np.eye(3)[[0, 2, 1, 1, 0, 2]]
SCORES = RNG.rand(6, 3).astype("float32")


@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8"])
def test_categorical_accuracies_with_bool_and_int_targets(dtype):
    y_true = ONE_HOT.astype(dtype)
    expected = (ONE_HOT.argmax(-1) == SCORES.argmax(-1)).astype("float32")
    np.testing.assert_allclose(np.asarray(metrics.categorical_accuracy(y_true, SCORES)), expected)
    top2 = np.argsort(-SCORES, axis=-1)[:, :2]
    expected_top2 = (top2 == ONE_HOT.argmax(-1)[:, None]).any(-1).astype("float32")
    np.testing.assert_allclose(np.asarray(metrics.top_k_categorical_accuracy(y_true, SCORES, k=2)), expected_top2)
    metric = metrics.CategoricalAccuracy()
    metric.update_state(y_true, SCORES)
    assert float(metric.result()) == pytest.approx(expected.mean())


def test_model_with_bool_targets_and_custom_loss():
    seen = []

    def squared_error(y_true, y_pred):
        seen.append(K.dtype(y_true))
        return K.mean(K.square(y_pred - y_true), axis=-1)

    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.compile("sgd", squared_error, metrics=["categorical_accuracy"], run_eagerly=True)
    x = RNG.rand(6, 3).astype("float32")
    loss, accuracy = model.evaluate(x, ONE_HOT.astype(bool), batch_size=6, verbose=0)
    predicted = model.predict(x, batch_size=6, verbose=0)
    assert loss == pytest.approx(np.mean((predicted - ONE_HOT) ** 2), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(predicted.argmax(-1) == ONE_HOT.argmax(-1)))
    assert set(seen) == {"float32"}  # targets arrive as the output's dtype, as in Keras 2
    model.fit(x, ONE_HOT.astype(bool), batch_size=6, epochs=1, verbose=0)
