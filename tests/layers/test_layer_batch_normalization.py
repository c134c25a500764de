"""BatchNormalization: batch statistics and moving-average updates in training, moving statistics otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

import lamina
from lamina import layers
from lamina.saving.serialization import deserialize_layer

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


# ------------------------------------------------------------ axes, options, configs
def test_batch_norm_keras2_list_axis_is_one_axis(keras3):
    layer = check_layer(
        lambda: layers.BatchNormalization(axis=[3], momentum=0.5),
        _x(3, 2, 2, 4),
        make_keras=lambda: keras3.layers.BatchNormalization(axis=3, momentum=0.5),
        reference=lambda x, w, training: np_batch_norm(x, w, training, axis=3),
        weight_names=BN_WEIGHTS,
        trainable_weight_names=["gamma", "beta"],
        keras_config_keys=BN_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )
    assert layer.get_config()["axis"] == 3  # written as Keras 3 reads it


def np_multi_axis_batch_norm(x, w, training, axes, epsilon=1e-3):
    reduce = tuple(i for i in range(x.ndim) if i not in axes)
    if training:
        mean, var = x.mean(axis=reduce, keepdims=True), x.var(axis=reduce, keepdims=True)
    else:
        mean, var = w["moving_mean"], w["moving_variance"]
    return (x - mean) / np.sqrt(var + epsilon) * w["gamma"] + w["beta"]


def test_batch_norm_several_axes_as_tf_keras_stores_them():
    """tf.keras 2 normalizes over several axes with full-rank weights (1 on the other axes); Keras 3 cannot."""
    x = _x(6, 3, 2, 4)
    layer = check_layer(
        lambda: layers.BatchNormalization(axis=[1, 2], momentum=0.8),
        x,
        reference=lambda x, w, training: np_multi_axis_batch_norm(x, w, training, (1, 2)),
        weight_names=BN_WEIGHTS,
        trainable_weight_names=["gamma", "beta"],
        rtol=1e-4,
        atol=1e-5,
    )
    assert [w.shape for w in layer.weights] == [(1, 3, 2, 1)] * 4
    assert layer.get_config()["axis"] == [1, 2]
    before = layer.get_weights()
    layer(x, training=True)
    expected = before[2] * 0.8 + x.mean(axis=(0, 3), keepdims=True) * 0.2
    assert_close(as_numpy(layer.moving_mean), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "option, value",
    [("virtual_batch_size", 4), ("adjustment", lambda shape: (1.0, 0.0))],
)
def test_batch_norm_rejects_unsupported_options_by_name(option, value):
    with pytest.raises(ValueError, match=rf'"batch_normalization": {option}=.* is not supported'):
        layers.BatchNormalization(**{option: value})


def test_batch_norm_accepts_the_off_values_keras_configs_write():
    layer = layers.BatchNormalization(
        renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=True, virtual_batch_size=None,
        adjustment=None, synchronized=False,
    )  # fmt: skip
    assert "renorm" not in layer.get_config() and "synchronized" not in layer.get_config()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"axis": "channels"}, r'"batch_normalization": axis must be an int or a list of ints'),
        ({"axis": [1, 1]}, r'"batch_normalization": axis has repeated entries'),
        ({"momentum": 1.5}, r'"batch_normalization": momentum must be in \[0, 1\]'),
    ],
)
def test_batch_norm_bad_arguments_name_the_layer(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        layers.BatchNormalization(**kwargs)


def test_batch_norm_axis_out_of_range_names_the_layer():
    with pytest.raises(ValueError, match=r'"batch_normalization": axis 2 is out of range for an input of rank 2'):
        layers.BatchNormalization(axis=2)(_x(4, 3))


def test_batch_norm_loads_keras2_and_keras3_configs(keras3):
    # As tf.keras 2 writes it (tests/fixtures/keras2/cnn.json): the axis as a list.
    keras2 = {
        "class_name": "BatchNormalization",
        "config": {
            "name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [3], "momentum": 0.99,
            "epsilon": 0.001, "center": True, "scale": True,
            "beta_initializer": {"class_name": "Zeros", "config": {}},
            "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
            "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
        },
    }  # fmt: skip
    layer = deserialize_layer(keras2)
    assert isinstance(layer, layers.BatchNormalization)
    assert (layer.axis, layer.get_config()["axis"]) == (3, 3)
    # Keras 3 adds synchronized and the renorm options (off).
    keras3_config = keras3.layers.BatchNormalization(axis=1, momentum=0.9).get_config()
    assert {"synchronized", "renorm", "renorm_clipping", "renorm_momentum"} <= set(keras3_config)
    clone = deserialize_layer({"class_name": "BatchNormalization", "config": keras3_config})
    assert (clone.axis, clone.momentum, clone.epsilon) == (1, 0.9, 1e-3)


# ------------------------------------------------------------------------ masks
def test_batch_norm_mask_leaves_masked_steps_out_of_the_statistics(keras3):
    x = _x(3, 5, 2)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = layers.BatchNormalization(momentum=0.5)
    keras_layer = keras3.layers.BatchNormalization(momentum=0.5)
    layer(x)
    keras_layer(x)
    out = as_numpy(layer(x, training=True, mask=mask))
    assert_close(out, as_numpy(keras_layer(x, training=True, mask=mask)), rtol=1e-4, atol=1e-5)
    for got, want in zip(layer.get_weights(), keras_layer.get_weights()):
        assert_close(got, want, rtol=1e-5, atol=1e-6)
    kept = x[mask]  # (count, 2)
    assert_close(as_numpy(layer.moving_mean), 0.5 * kept.mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r'"batch_normalization": the mask must have one axis less'):
        layer(x, training=True, mask=mask[:, :, None])


# ---------------------------------------------------------------------- training
def test_batch_norm_one_sgd_step_matches_keras(keras3):
    from test_layer_normalization import sgd_step_matches_keras

    sgd_step_matches_keras(
        keras3,
        lambda t: layers.Dense(2)(layers.BatchNormalization(momentum=0.9)(t)),
        lambda t: keras3.layers.Dense(2)(keras3.layers.BatchNormalization(momentum=0.9)(t)),
        _x(8, 3),
    )


def test_frozen_batch_norm_one_sgd_step_matches_keras(keras3):
    """Frozen, BN runs in inference mode inside fit: nothing of it moves, the layers around it still learn."""
    from test_layer_normalization import sgd_step_matches_keras

    def frozen(module):
        return module.layers.BatchNormalization(trainable=False)

    model = sgd_step_matches_keras(
        keras3,
        lambda t: layers.Dense(2)(frozen(lamina)(layers.Dense(3)(t))),
        lambda t: keras3.layers.Dense(2)(frozen(keras3)(keras3.layers.Dense(3)(t))),
        _x(8, 4),
    )
    assert [w.name for w in model.layers[2].non_trainable_weights] == BN_WEIGHTS


def test_frozen_batch_norm_statistics_do_not_change_in_fit():
    x, y = _x(32, 3), _x(32, 1, seed=1)
    bn = layers.BatchNormalization(momentum=0.5)
    model = lamina.Sequential([lamina.Input(shape=(3,)), bn, layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(learning_rate=0.05), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    moved = [v.copy() for v in bn.get_weights()]
    assert not np.allclose(moved[2], 0.0)  # trainable: fit moved the statistics

    bn.trainable = False  # fine-tuning, as in Keras: freeze, then compile again
    model.compile(lamina.optimizers.SGD(learning_rate=0.05), "mse")
    dense_before = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for got, want in zip(bn.get_weights(), moved):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(model.layers[-1].get_weights()[0], dense_before)
    # Frozen: training-mode calls use the moving statistics.
    np.testing.assert_allclose(as_numpy(bn(x, training=True)), as_numpy(bn(x, training=False)), rtol=1e-6)
