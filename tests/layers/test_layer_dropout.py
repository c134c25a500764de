"""Dropout: identity at inference; in training, a random `rate` fraction zeroed and the rest scaled."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

import lamina
from lamina import layers


def test_dropout_is_identity_at_inference(keras3):
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    check_layer(
        lambda: layers.Dropout(0.4, noise_shape=(None, 6), seed=3),
        x,
        make_keras=lambda: keras3.layers.Dropout(0.4, noise_shape=(None, 6), seed=3),
        reference=lambda x, w, training: x,
        check_training=False,  # random: checked below
        keras_config_keys=("rate", "noise_shape", "seed"),
    )


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_training_zeroes_rate_and_scales_survivors(rate):
    x = np.ones((200, 250), "float32")
    out = as_numpy(layers.Dropout(rate, seed=11)(x, training=True))
    zeroed = out == 0.0
    assert zeroed.mean() == pytest.approx(rate, abs=0.01)  # 50,000 draws: stddev of the fraction < 0.003
    np.testing.assert_allclose(out[~zeroed], 1.0 / (1.0 - rate), rtol=1e-6)


def test_dropout_keeps_the_expected_value():
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(100, 200)).astype("float32")
    out = as_numpy(layers.Dropout(0.3, seed=5)(x, training=True))
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.7, rtol=1e-6)
    assert out.mean() == pytest.approx(x.mean(), rel=0.02)


def test_dropout_draws_a_new_mask_on_each_call():
    layer = layers.Dropout(0.5, seed=1)
    x = np.ones((16, 32), "float32")
    first = as_numpy(layer(x, training=True))
    second = as_numpy(layer(x, training=True))
    assert (first != second).mean() > 0.25  # two independent masks disagree on about half the entries


def test_dropout_same_seed_same_mask_and_other_seed_differs():
    x = np.ones((16, 32), "float32")
    a = as_numpy(layers.Dropout(0.5, seed=42)(x, training=True))
    b = as_numpy(layers.Dropout(0.5, seed=42)(x, training=True))
    c = as_numpy(layers.Dropout(0.5, seed=43)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_dropout_unseeded_masks_follow_set_random_seed():
    x = np.ones((8, 16), "float32")
    lamina.utils.set_random_seed(99)
    a = as_numpy(layers.Dropout(0.5)(x, training=True))
    lamina.utils.set_random_seed(99)
    b = as_numpy(layers.Dropout(0.5)(x, training=True))
    np.testing.assert_array_equal(a, b)


def test_dropout_noise_shape_broadcasts_the_mask():
    x = np.ones((32, 10, 8), "float32")
    out = as_numpy(layers.Dropout(0.5, noise_shape=(None, 1, 8), seed=2)(x, training=True))
    # The same features are dropped at every time step of a sample...
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))
    # ...but not the same ones in every sample.
    assert (out[:, 0, :] == 0).any() and (out[:, 0, :] != 0).any()
    assert len({row.tobytes() for row in out[:, 0, :]}) > 1
    np.testing.assert_array_equal(np.unique(out), [0.0, 2.0])


def test_dropout_rate_zero_and_one():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(as_numpy(layers.Dropout(0.0)(x, training=True)), x)
    np.testing.assert_array_equal(as_numpy(layers.Dropout(1.0)(x, training=True)), np.zeros_like(x))


def test_dropout_bad_rate_names_the_layer():
    with pytest.raises(ValueError, match='"dropout".*rate.*1.5'):
        layers.Dropout(1.5)


def test_dropout_has_no_weights_but_a_seed_state():
    layer = layers.Dropout(0.5)
    assert layer.weights == []
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_variables) == 1  # the SeedGenerator's state
    before = as_numpy(layer.non_trainable_variables[0])
    layer(np.ones((2, 2), "float32"), training=True)
    assert not np.array_equal(as_numpy(layer.non_trainable_variables[0]), before)
