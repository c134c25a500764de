"""Keras 2.3's `keras.legacy.layers` Highway and MaxoutDense against NumPy, through the Keras 2 path."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina.compat import legacy_layers

RNG = np.random.default_rng(2)
X = RNG.normal(size=(5, 4)).astype("float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_highway_and_maxout_dense_match_numpy_and_round_trip(tmp_path):
    with pytest.warns(UserWarning, match="The `Highway` layer is deprecated"):
        highway = legacy_layers.Highway(activation="tanh", input_dim=4)
    with pytest.warns(UserWarning, match="The `MaxoutDense` layer is deprecated"):
        maxout = legacy_layers.MaxoutDense(3, nb_feature=2)
    model = lamina.Sequential([highway, maxout])
    assert [w.shape for w in model.get_weights()] == [(4, 4), (4, 4), (4,), (4,), (2, 4, 3), (2, 3)]
    np.testing.assert_array_equal(highway.get_weights()[3], np.ones(4))  # the carry bias starts at one
    weights = [RNG.normal(size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    w, w_carry, b, b_carry, m_w, m_b = weights
    gate = sigmoid(X @ w_carry + b_carry)
    hidden = np.tanh(X @ w + b) * gate + (1 - gate) * X
    expected = (np.einsum("bi,kio->bko", hidden, m_w) + m_b).max(axis=1)
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "legacy.h5")
    with pytest.warns(UserWarning):
        again = lamina.models.load_model(tmp_path / "legacy.h5")
    np.testing.assert_allclose(again.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-5)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="output_dim and nb_feature must be positive"):
        legacy_layers.MaxoutDense(0)


class MinimalRNN(legacy_layers.Recurrent):
    """A Keras 1-era custom RNN: `h = tanh(x W + h U)`, written against the legacy Recurrent base."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units))
        self.states = [None]
        self.built = True

    def step(self, inputs, states):
        from lamina import backend as K

        h = K.tanh(K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel))
        return h, [h]


@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_keras1_custom_rnn_on_the_legacy_recurrent_base_matches_numpy(go_backwards):
    sequence = RNG.normal(size=(3, 5, 4)).astype("float32")
    layer = MinimalRNN(2, return_sequences=True, return_state=True, go_backwards=go_backwards)
    inputs = lamina.Input(shape=(5, 4))
    outputs, state = layer(inputs)
    model = lamina.Model(inputs, [outputs, state])
    got_outputs, got_state = model.predict(sequence, verbose=0)
    kernel, recurrent = layer.get_weights()
    h, expected = np.zeros((3, 2), "float32"), []
    for t in reversed(range(5)) if go_backwards else range(5):
        h = np.tanh(sequence[:, t] @ kernel + h @ recurrent)
        expected.append(h)
    np.testing.assert_allclose(got_outputs, np.stack(expected, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, h, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    assert np.isfinite(model.train_on_batch(sequence, [np.zeros((3, 5, 2)), np.zeros((3, 2))])).all()
