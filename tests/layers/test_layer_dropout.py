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


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_dropout_of_half_and_double_precision_zeroes_rate_in_the_data_dtype(dtype):
    # The mask is drawn as float32 uniforms for float16 data (float16's 11 bits would round `keep`), as float64
    # for float64 data; the output keeps the data's dtype (as the engine holds it: JAX without x64 has no float64).
    x = np.ones((200, 250), dtype)
    out = as_numpy(layers.Dropout(0.3, seed=4, dtype=dtype)(x, training=True))
    assert out.dtype == as_numpy(lamina.ops.cast(x, dtype)).dtype
    zeroed = out == 0.0
    assert zeroed.mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(out[~zeroed], 1.0 / 0.7, rtol=float(np.finfo(out.dtype).eps) * 2)


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


# ------------------------------------------------------------ SpatialDropout
SPATIAL = {
    "SpatialDropout1D": ((4, 5, 6), {}),
    "SpatialDropout2D": ((2, 3, 4, 5), {"data_format": "channels_last"}),
    "SpatialDropout3D": ((2, 3, 3, 2, 4), {"data_format": "channels_first"}),
}


@pytest.mark.parametrize("name", sorted(SPATIAL))
def test_spatial_dropout_is_identity_at_inference(keras3, name):
    shape, kwargs = SPATIAL[name]
    keys = ("rate", "seed") + (("data_format",) if kwargs else ())
    layer = check_layer(
        lambda: getattr(layers, name)(0.4, seed=3, **kwargs),
        np.random.default_rng(0).normal(size=shape).astype("float32"),
        make_keras=lambda: getattr(keras3.layers, name)(0.4, seed=3, **kwargs),
        reference=lambda x, w, training: x,
        check_training=False,  # random: checked below
        keras_config_keys=keys,
    )
    assert "noise_shape" not in layer.get_config()
    assert ("data_format" in layer.get_config()) == (name != "SpatialDropout1D")


@pytest.mark.parametrize(
    "name, shape, data_format, channel_axis",
    [
        ("SpatialDropout1D", (64, 10, 16), None, 2),
        ("SpatialDropout2D", (32, 5, 6, 16), "channels_last", 3),
        ("SpatialDropout2D", (32, 16, 5, 6), "channels_first", 1),
        ("SpatialDropout3D", (16, 3, 4, 5, 16), "channels_last", 4),
        ("SpatialDropout3D", (16, 16, 3, 4, 5), "channels_first", 1),
    ],
)
def test_spatial_dropout_drops_whole_channels(name, shape, data_format, channel_axis):
    rate = 0.3
    kwargs = {} if data_format is None else {"data_format": data_format}
    out = as_numpy(getattr(layers, name)(rate, seed=5, **kwargs)(np.ones(shape, "float32"), training=True))
    np.testing.assert_allclose(np.unique(out), [0.0, 1.0 / (1.0 - rate)], rtol=1e-6)
    # One decision per (sample, channel): every position of a channel agrees.
    moved = np.moveaxis(out, channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    np.testing.assert_array_equal(moved, np.broadcast_to(moved[:, :, :1], moved.shape))
    per_channel = moved[:, :, 0] == 0
    assert per_channel.mean() == pytest.approx(rate, abs=0.1)  # 512-1024 channel draws
    assert len({row.tobytes() for row in per_channel}) > 1  # not the same channels in every sample


def test_spatial_dropout_default_data_format_and_wrong_rank():
    assert layers.SpatialDropout2D(0.5).get_config()["data_format"] == "channels_last"
    with pytest.raises(ValueError, match=r'"spatial_dropout2d_1".*4 dimensions.*\(2, 3, 4\)'):
        layers.SpatialDropout2D(0.5)(np.zeros((2, 3, 4), "float32"), training=True)
    with pytest.raises(ValueError, match='"spatial_dropout1d".*rate'):
        layers.SpatialDropout1D(1.5)


def test_spatial_dropout_in_a_jitted_fit_draws_new_channel_masks():
    layer = layers.SpatialDropout1D(0.5, seed=1)
    model = lamina.Sequential([lamina.Input((4, 3)), layer, layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    before = as_numpy(layer.non_trainable_variables[0])
    x = np.ones((8, 4, 3), "float32")
    model.fit(x, np.zeros((8, 1), "float32"), batch_size=2, verbose=0)
    after = as_numpy(layer.non_trainable_variables[0])
    assert not np.array_equal(before, after)  # the seed state moved on inside the compiled steps
    masks = [as_numpy(layer(x, training=True)) for _ in range(2)]
    assert not np.array_equal(masks[0], masks[1])
