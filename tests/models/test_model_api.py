"""Model API shared by every kind of model: summary, params, weights, eager calls, subclassing."""

from __future__ import annotations

import re

import numpy as np
import pytest

import lamina
from lamina import layers, ops


def mlp():
    return lamina.Sequential(
        [
            layers.Dense(32, activation="relu", input_shape=(784,), name="hidden"),
            layers.BatchNormalization(name="norm"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="classifier",
    )


# ---------------------------------------------------------------------- summary
def test_sequential_summary_text(capsys):
    model = mlp()
    model.summary()
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == 'Model: "classifier"'
    assert re.search(r"Layer \(type\)\s+Output Shape\s+Param #", text)
    total = (784 * 32 + 32) + 4 * 32 + (32 * 10 + 10)
    rows = {
        "hidden (Dense)": ("(None, 32)", 784 * 32 + 32),
        "norm (BatchNormalization)": ("(None, 32)", 4 * 32),
        "drop (Dropout)": ("(None, 32)", 0),
        "probs (Dense)": ("(None, 10)", 32 * 10 + 10),
    }
    for name, (shape, params) in rows.items():
        row = [line for line in lines if line.strip().startswith(name[:28])]
        assert len(row) == 1, (name, text)
        assert shape in row[0] and row[0].rstrip().endswith(str(params)), row[0]
    # tf-keras 2.13+ (here 2.21) prints no thousands separators and adds the memory size.
    assert "Total params: 25578 (99.91 KB)" in lines and total == 25578
    assert "Trainable params: 25514 (99.66 KB)" in lines  # the moving mean and variance are not trained
    assert "Non-trainable params: 64 (256.00 Byte)" in lines
    assert model.count_params() == total == 25_578


def test_functional_summary_text_and_print_fn():
    inputs = lamina.Input(shape=(3,), name="features")
    left = layers.Dense(2, name="left")(inputs)
    right = layers.Dense(2, name="right")(inputs)
    model = lamina.Model(inputs, layers.Add(name="sum")([left, right]), name="branches")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "branches"'
    assert "Connected to" in text
    for name in ("features (InputLayer)", "left (Dense)", "right (Dense)", "sum (Add)"):
        assert name in text
    sum_row = next(line for line in lines if line.strip().startswith("sum (Add)"))
    # tf.keras 2.x puts each connection on its own line.
    assert "(None, 2)" in sum_row and "['left[0][0]'," in sum_row
    assert lines[lines.index(sum_row) + 1].strip() == "'right[0][0]']"
    assert "Total params: 16 (64.00 Byte)" in lines and "Trainable params: 16 (64.00 Byte)" in lines


def test_summary_of_a_frozen_layer_counts_it_as_non_trainable():
    model = lamina.Sequential([layers.Dense(4, input_shape=(2,), trainable=False), layers.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 17 (68.00 Byte)" in lines
    assert "Trainable params: 5 (20.00 Byte)" in lines
    assert "Non-trainable params: 12 (48.00 Byte)" in lines


# --------------------------------------------------------------------- weights
def test_count_params_of_layers_and_models():
    model = mlp()
    assert [layer.count_params() for layer in model.layers] == [784 * 32 + 32, 128, 0, 330]
    assert model.count_params() == sum(layer.count_params() for layer in model.layers)
    assert model.count_params() == sum(w.size for w in model.get_weights())


def test_get_weights_and_set_weights_round_trip():
    model = mlp()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(784, 32), (32,), (32,), (32,), (32,), (32,), (32, 10), (10,)]
    assert all(isinstance(w, np.ndarray) for w in weights)
    rng = np.random.default_rng(0)
    new = [rng.normal(size=w.shape).astype("float32") for w in weights]
    new[5] = np.abs(new[5]) + 0.5  # a valid moving variance
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    # get_weights returns copies: changing them leaves the model alone.
    copy = model.get_weights()
    copy[0][:] = 0.0
    np.testing.assert_array_equal(model.get_weights()[0], new[0])

    other = mlp()
    other.set_weights(model.get_weights())
    x = rng.normal(size=(4, 784)).astype("float32")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_set_weights_checks_count_and_shapes():
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"expects 2 weight arrays.*got 1"):
        model.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r'weight "kernel" has shape \(3, 2\), got an array of shape \(2, 3\)'):
        model.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_weight_names_follow_keras():
    model = mlp()
    names = [w.path for w in model.weights]
    assert names == [
        "hidden/kernel",
        "hidden/bias",
        "norm/gamma",
        "norm/beta",
        "norm/moving_mean",
        "norm/moving_variance",
        "probs/kernel",
        "probs/bias",
    ]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2


# ------------------------------------------------------------------ eager calls
def test_eager_call_matches_predict():
    model = mlp()
    x = np.random.default_rng(1).normal(size=(6, 784)).astype("float32")
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x, training=False)), predicted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x)), predicted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), predicted, rtol=1e-5, atol=1e-6)
    # training=True uses the batch statistics and dropout: a different answer.
    assert not np.allclose(ops.convert_to_numpy(model(x, training=True)), predicted, atol=1e-3)


def test_predict_with_batches_of_any_size_gives_the_same_result():
    model = mlp()
    x = np.random.default_rng(2).normal(size=(37, 784)).astype("float32")
    full = model.predict(x, batch_size=37, verbose=0)
    for batch_size in (1, 5, 32):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), full, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------- subclassing
class TwoLayer(lamina.Model):
    """A subclassed model: layers as attributes, computation in call()."""

    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.out = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


def test_subclassed_model_tracks_its_layers_and_weights():
    model = TwoLayer(name="two_layer")
    assert model.name == "two_layer"
    assert model.layers == [model.hidden, model.out]
    assert model.weights == []
    x = np.random.default_rng(3).normal(size=(4, 3)).astype("float32")
    out = ops.convert_to_numpy(model(x))
    assert out.shape == (4, 1)
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    assert model.count_params() == 3 * 8 + 8 + 8 + 1
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-6)


def test_subclassed_model_trains():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    model = TwoLayer(hidden=16)
    model.compile(lamina.optimizers.Adam(learning_rate=0.02), "mse")
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert len(model.trainable_weights) == 4
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), np.mean((model.predict(x, verbose=0) - y) ** 2), rtol=1e-4
    )


def test_subclassed_model_with_a_list_of_layers():
    class Stack(lamina.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(3), layers.Dense(2)]

        def call(self, inputs):
            for block in self.blocks:
                inputs = block(inputs)
            return inputs

    model = Stack()
    model(np.ones((1, 4), "float32"))
    assert len(model.layers) == 2 and model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
