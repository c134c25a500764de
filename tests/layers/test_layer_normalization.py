"""LayerNormalization, GroupNormalization and UnitNormalization against Keras 3 and NumPy.

`sgd_step_matches_keras` (one SGD step from the same weights, lamina vs Keras 3) is also used by
test_layer_batch_normalization.py and test_layer_attention.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

import lamina
from lamina import layers

NORM_KEYS = ("axis", "epsilon", "center", "scale")


def _x(*shape, seed=0):
    return (np.random.default_rng(seed).normal(size=shape) * 3.0 + 0.5).astype("float32")


def sgd_step_matches_keras(keras3, build, build_keras, x, *, weights=None, rtol=1e-4, atol=1e-5):
    """One `train_on_batch` (SGD, lr 0.1, mse) in lamina and in Keras 3 from the same weights: same weights after.

    Args:
        build: `inputs -> outputs` on lamina Inputs (for a functional model).
        build_keras: the same on Keras Inputs.
        x: an array, or a list of arrays for several inputs.
        weights: the starting weights (default: random, variances positive).
    Returns the lamina model.
    """
    arrays = x if isinstance(x, list) else [x]
    ours_in = [lamina.Input(shape=a.shape[1:], dtype="bool" if a.dtype == bool else "float32") for a in arrays]
    theirs_in = [keras3.Input(shape=a.shape[1:], dtype="bool" if a.dtype == bool else "float32") for a in arrays]
    ours = lamina.Model(ours_in if isinstance(x, list) else ours_in[0], build(*ours_in))
    theirs = keras3.Model(theirs_in if isinstance(x, list) else theirs_in[0], build_keras(*theirs_in))
    rng = np.random.default_rng(3)
    if weights is None:
        weights = [
            rng.uniform(0.5, 2.0, w.shape).astype("float32") if "variance" in w.path else rng.normal(size=w.shape)
            for w in ours.weights
        ]
    weights = [np.asarray(w, "float32") for w in weights]
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in ours.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    y = rng.normal(size=ours.output_shape[1:]).astype("float32")[None].repeat(len(arrays[0]), axis=0)
    ours.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    theirs.compile(keras3.optimizers.SGD(learning_rate=0.1), "mse")
    loss = float(ours.train_on_batch(x, y))
    keras_loss = float(theirs.train_on_batch(x, y))
    assert loss == pytest.approx(keras_loss, rel=1e-4)
    for got, want, variable in zip(ours.get_weights(), theirs.get_weights(), ours.weights):
        assert_close(got, want, rtol, atol, f"{variable.path} after one SGD step, vs Keras")
    moved = [not np.allclose(a, b) for a, b in zip(ours.get_weights(), weights)]
    assert any(moved), "the step changed no weight"
    return ours


# ------------------------------------------------------------ LayerNormalization
def np_layer_norm(x, w, axes, epsilon=1e-3, rms=False):
    axes = tuple(a % x.ndim for a in axes)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    var = x.var(axis=axes, keepdims=True)
    if rms:
        out = x / np.sqrt(var + epsilon)
    else:
        out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(var + epsilon)
    if "gamma" in w:
        out = out * w["gamma"].reshape(shape)
    if "beta" in w:
        out = out + w["beta"].reshape(shape)
    return out


@pytest.mark.parametrize(
    "kwargs, shape, axes, names",
    [
        ({}, (4, 3, 5), (-1,), ["gamma", "beta"]),
        ({"axis": [1, 2]}, (2, 3, 4, 5), (1, 2), ["gamma", "beta"]),
        ({"axis": (-2, -1), "epsilon": 1e-5}, (3, 4, 5), (-2, -1), ["gamma", "beta"]),
        ({"axis": 1, "center": False}, (4, 3, 2), (1,), ["gamma"]),
        ({"center": False, "scale": False}, (4, 6), (-1,), []),
    ],
)
def test_layer_norm_matches_keras_and_numpy(keras3, kwargs, shape, axes, names):
    epsilon = kwargs.get("epsilon", 1e-3)
    layer = check_layer(
        lambda: layers.LayerNormalization(**kwargs),
        _x(*shape),
        make_keras=lambda: keras3.layers.LayerNormalization(**kwargs),
        reference=lambda x, w, training: np_layer_norm(x, w, axes, epsilon),
        weight_names=names,
        keras_config_keys=NORM_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )
    if names:
        assert layer.gamma.shape == tuple(shape[a] for a in sorted(a % len(shape) for a in axes))


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")
def test_layer_norm_rms_scaling_matches_keras(keras3):
    with pytest.warns(UserWarning):  # Keras 3 deprecates the option (it divides by the standard deviation)
        keras3.layers.LayerNormalization(rms_scaling=True)
    check_layer(
        lambda: layers.LayerNormalization(rms_scaling=True),
        _x(4, 3, 5),
        make_keras=lambda: keras3.layers.LayerNormalization(rms_scaling=True),
        reference=lambda x, w, training: np_layer_norm(x, w, (-1,), rms=True),
        weight_names=["gamma"],
        keras_config_keys=(*NORM_KEYS, "rms_scaling"),
        rtol=1e-4,
        atol=1e-5,
    )


def test_layer_norm_one_sgd_step_matches_keras(keras3):
    x = _x(4, 3, 5)
    sgd_step_matches_keras(
        keras3,
        lambda t: layers.LayerNormalization(axis=[1, 2])(t),
        lambda t: keras3.layers.LayerNormalization(axis=[1, 2])(t),
        x,
    )


def test_layer_norm_per_sample_and_same_in_training():
    x = _x(3, 8)
    layer = layers.LayerNormalization(epsilon=0.0)
    out = as_numpy(layer(x))
    assert_close(out.mean(-1), np.zeros(3), atol=1e-5)
    assert_close(out.std(-1), np.ones(3), rtol=1e-4)
    np.testing.assert_array_equal(as_numpy(layer(x, training=True)), out)
    # Each sample alone: no batch statistics.
    assert_close(as_numpy(layer(x[:1])), out[:1], rtol=1e-6)


def test_layer_norm_config_axis_as_keras_writes_it():
    layer = layers.LayerNormalization(axis=(2, 1))
    assert layer.get_config()["axis"] == [2, 1]
    layer(_x(2, 3, 4))
    assert layer.get_config()["axis"] == [1, 2]  # sorted once built, as Keras does
    assert "rms_scaling" not in layer.get_config()  # written only when on: tf.keras 2 does not know it


def test_layer_norm_loads_a_keras2_config():
    config = {
        "name": "layer_normalization",
        "trainable": True,
        "dtype": "float32",
        "axis": [2],
        "epsilon": 1e-6,
        "center": True,
        "scale": True,
        "beta_initializer": {"class_name": "Zeros", "config": {}},
        "gamma_initializer": {"class_name": "Ones", "config": {}},
        "beta_regularizer": None,
        "gamma_regularizer": None,
        "beta_constraint": None,
        "gamma_constraint": None,
    }
    layer = layers.LayerNormalization.from_config(config)
    assert layer.axis == [2] and layer.epsilon == 1e-6
    layer(_x(2, 3, 4))
    assert [w.shape for w in layer.weights] == [(4,), (4,)]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"axis": "last"}, TypeError, r'"layer_normalization": axis must be an int or a list of ints'),
        ({"axis": [1, 1]}, ValueError, r'"layer_normalization": axis has repeated entries'),
    ],
)
def test_layer_norm_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.LayerNormalization(**kwargs)


def test_layer_norm_axis_out_of_range_names_the_layer():
    with pytest.raises(ValueError, match=r'"layer_normalization": axis 3 is out of range for an input of rank 3'):
        layers.LayerNormalization(axis=3)(_x(2, 3, 4))


# ------------------------------------------------------------ GroupNormalization
def np_group_norm(x, w, groups, axis=-1, epsilon=1e-3):
    axis = axis % x.ndim
    channels = x.shape[axis]
    grouped = np.moveaxis(x, axis, -1).reshape(*np.moveaxis(x, axis, -1).shape[:-1], groups, channels // groups)
    reduce = tuple(range(1, grouped.ndim - 2)) + (grouped.ndim - 1,)
    mean = grouped.mean(axis=reduce, keepdims=True)
    var = grouped.var(axis=reduce, keepdims=True)
    normalized = ((grouped - mean) / np.sqrt(var + epsilon)).reshape(np.moveaxis(x, axis, -1).shape)
    normalized = normalized * w.get("gamma", 1.0) + w.get("beta", 0.0)
    return np.moveaxis(normalized, -1, axis)


@pytest.mark.parametrize(
    "kwargs, shape, groups, names",
    [
        ({"groups": 2}, (3, 5, 4), 2, ["gamma", "beta"]),
        ({"groups": 1}, (3, 5, 4), 1, ["gamma", "beta"]),
        ({"groups": -1}, (3, 5, 4), 4, ["gamma", "beta"]),
        ({"groups": 3, "axis": 1}, (2, 6, 3, 3), 3, ["gamma", "beta"]),
        ({"groups": 2, "center": False, "epsilon": 1e-5}, (2, 3, 3, 4), 2, ["gamma"]),
    ],
)
def test_group_norm_matches_keras_and_numpy(keras3, kwargs, shape, groups, names):
    axis = kwargs.get("axis", -1)
    epsilon = kwargs.get("epsilon", 1e-3)
    layer = check_layer(
        lambda: layers.GroupNormalization(**kwargs),
        _x(*shape),
        make_keras=lambda: keras3.layers.GroupNormalization(**kwargs),
        reference=lambda x, w, training: np_group_norm(x, w, groups, axis, epsilon),
        weight_names=names,
        keras_config_keys=("groups", *NORM_KEYS),
        rtol=1e-4,
        atol=1e-5,
    )
    assert layer.groups == groups  # -1 resolves to one group per channel once built, as in Keras


def test_group_norm_one_sgd_step_matches_keras(keras3):
    sgd_step_matches_keras(
        keras3,
        lambda t: layers.GroupNormalization(groups=2)(t),
        lambda t: keras3.layers.GroupNormalization(groups=2)(t),
        _x(4, 3, 6),
    )


@pytest.mark.parametrize("groups", [0, -2, 2.0, True])
def test_group_norm_rejects_bad_groups(groups):
    with pytest.raises(ValueError, match=r'"group_normalization": groups must be a positive integer'):
        layers.GroupNormalization(groups=groups)


def test_group_norm_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r'"group_normalization": groups \(4\) must divide the number of channels'):
        layers.GroupNormalization(groups=4)(_x(2, 6))


def test_group_norm_checks_the_channel_count_after_building():
    layer = layers.GroupNormalization(groups=2)
    layer(_x(2, 3, 4))
    with pytest.raises(ValueError, match=r'"group_normalization"'):
        layer(_x(2, 3, 6))


# ------------------------------------------------------------- UnitNormalization
def np_unit_norm(x, axes):
    return x / np.sqrt((x * x).sum(axis=axes, keepdims=True))


@pytest.mark.parametrize("axis, shape", [(-1, (4, 5)), ([1, 2], (2, 3, 4)), (1, (2, 3, 4))])
def test_unit_norm_matches_keras_and_numpy(keras3, axis, shape):
    axes = tuple(axis) if isinstance(axis, list) else axis
    check_layer(
        lambda: layers.UnitNormalization(axis=axis),
        _x(*shape),
        make_keras=lambda: keras3.layers.UnitNormalization(axis=axis),
        reference=lambda x, w, training: np_unit_norm(x, axes),
        keras_config_keys=("axis",),
        rtol=1e-5,
        atol=1e-6,
    )


def test_unit_norm_norms_are_one_and_zeros_stay_zero():
    x = _x(3, 4)
    x[1] = 0.0
    out = as_numpy(layers.UnitNormalization()(x))
    assert_close(np.linalg.norm(out[[0, 2]], axis=-1), np.ones(2), rtol=1e-6)
    np.testing.assert_array_equal(out[1], np.zeros(4))


def test_unit_norm_rejects_a_bad_axis():
    with pytest.raises(TypeError, match=r'"unit_normalization": axis must be an int or a list of ints'):
        layers.UnitNormalization(axis=None)
