"""BatchNormalization: batch statistics and moving-average updates in training, moving statistics otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

from lamina import layers

BN_WEIGHTS = ["gamma", "beta", "moving_mean", "moving_variance"]
BN_KEYS = ("axis", "momentum", "epsilon", "center", "scale")


def _x(*shape, seed=0):
    return (np.random.default_rng(seed).normal(size=shape) * 2.0 + 1.0).astype("float32")


def np_batch_norm(x, w, training, axis=-1, epsilon=1e-3):
    """`gamma * (x - mean) / sqrt(var + epsilon) + beta`, with batch (biased) or moving statistics."""
    axis = axis % x.ndim
    reduce = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if training:
        mean, var = x.mean(axis=reduce), x.var(axis=reduce)
    else:
        mean, var = w["moving_mean"], w["moving_variance"]
    gamma = w.get("gamma", np.ones(x.shape[axis]))
    beta = w.get("beta", np.zeros(x.shape[axis]))
    normalized = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    return normalized * gamma.reshape(shape) + beta.reshape(shape)


def test_batch_norm_matches_keras_and_numpy(keras3):
    check_layer(
        lambda: layers.BatchNormalization(momentum=0.9),
        _x(8, 3),
        make_keras=lambda: keras3.layers.BatchNormalization(momentum=0.9),
        reference=np_batch_norm,
        weight_names=BN_WEIGHTS,
        trainable_weight_names=["gamma", "beta"],
        keras_config_keys=BN_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def test_batch_norm_channels_first_axis_1(keras3):
    check_layer(
        lambda: layers.BatchNormalization(axis=1, epsilon=1e-2),
        _x(4, 3, 2, 5),
        make_keras=lambda: keras3.layers.BatchNormalization(axis=1, epsilon=1e-2),
        reference=lambda x, w, training: np_batch_norm(x, w, training, axis=1, epsilon=1e-2),
        weight_names=BN_WEIGHTS,
        trainable_weight_names=["gamma", "beta"],
        keras_config_keys=BN_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("center, scale, names", [(False, True, ["gamma"]), (True, False, ["beta"])])
def test_batch_norm_without_center_or_scale(keras3, center, scale, names):
    check_layer(
        lambda: layers.BatchNormalization(center=center, scale=scale),
        _x(6, 2, 3),
        make_keras=lambda: keras3.layers.BatchNormalization(center=center, scale=scale),
        reference=np_batch_norm,
        weight_names=[*names, "moving_mean", "moving_variance"],
        trainable_weight_names=names,
        keras_config_keys=BN_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def test_batch_norm_moving_statistics_follow_momentum():
    x1, x2 = _x(16, 4, seed=1), _x(16, 4, seed=2)
    layer = layers.BatchNormalization(momentum=0.8)
    layer(x1)  # builds; inference leaves the moving statistics alone
    np.testing.assert_array_equal(as_numpy(layer.moving_mean), np.zeros(4))
    np.testing.assert_array_equal(as_numpy(layer.moving_variance), np.ones(4))

    out = as_numpy(layer(x1, training=True))
    mean1 = 0.8 * 0.0 + 0.2 * x1.mean(0)
    var1 = 0.8 * 1.0 + 0.2 * x1.var(0)
    assert_close(as_numpy(layer.moving_mean), mean1, what="moving_mean after step 1")
    assert_close(as_numpy(layer.moving_variance), var1, what="moving_variance after step 1")
    # Training normalizes with the batch's own statistics: zero mean, unit variance (up to epsilon).
    assert_close(out.mean(0), np.zeros(4), atol=1e-5)
    assert_close(out.var(0), x1.var(0) / (x1.var(0) + 1e-3), rtol=1e-4)

    layer(x2, training=True)
    assert_close(as_numpy(layer.moving_mean), 0.8 * mean1 + 0.2 * x2.mean(0), what="moving_mean after step 2")
    assert_close(as_numpy(layer.moving_variance), 0.8 * var1 + 0.2 * x2.var(0), what="moving_variance after step 2")


def test_batch_norm_inference_uses_moving_statistics_and_does_not_update_them():
    layer = layers.BatchNormalization(epsilon=0.0)
    x = _x(5, 2)
    layer(x)
    layer.set_weights([np.array([2.0, 1.0]), np.array([0.5, -1.0]), np.array([1.0, -3.0]), np.array([4.0, 0.25])])
    out = as_numpy(layer(x, training=False))
    expected = np.stack([2.0 * (x[:, 0] - 1.0) / 2.0 + 0.5, 1.0 * (x[:, 1] + 3.0) / 0.5 - 1.0], axis=1)
    assert_close(out, expected)
    assert_close(as_numpy(layer.moving_mean), [1.0, -3.0])
    assert_close(as_numpy(layer.moving_variance), [4.0, 0.25])


def test_frozen_batch_norm_uses_moving_statistics_even_in_training(keras3):
    x = _x(8, 3)
    values = [np.array(v, "float32") for v in ([1.5, 0.5, 2.0], [0.1, 0.2, 0.3], [1.0, 0.0, -1.0], [2.0, 3.0, 0.5])]
    layer = layers.BatchNormalization(trainable=False)
    layer(x)
    layer.set_weights(values)
    assert layer.trainable_weights == []
    assert [w.name for w in layer.non_trainable_weights] == BN_WEIGHTS

    out = as_numpy(layer(x, training=True))
    assert_close(out, np_batch_norm(x, dict(zip(BN_WEIGHTS, values)), training=False), rtol=1e-5)
    for got, want in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(got, want)  # nothing moved

    keras_layer = keras3.layers.BatchNormalization(trainable=False)
    keras_layer(x)
    keras_layer.set_weights(values)
    assert_close(out, as_numpy(keras_layer(x, training=True)), rtol=1e-5)


def test_freezing_after_construction_also_stops_updates():
    layer = layers.BatchNormalization()
    x = _x(8, 2)
    layer(x)
    layer.trainable = False
    layer(x, training=True)
    np.testing.assert_array_equal(as_numpy(layer.moving_mean), [0.0, 0.0])
    layer.trainable = True
    layer(x, training=True)
    assert_close(as_numpy(layer.moving_mean), 0.01 * x.mean(0))


def test_batch_norm_wrong_feature_count_names_the_layer():
    layer = layers.BatchNormalization()
    layer(_x(4, 3))
    with pytest.raises(ValueError, match=r'"batch_normalization".*\(4, 5\)'):
        layer(_x(4, 5))
