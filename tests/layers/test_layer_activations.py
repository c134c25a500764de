"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

import lamina
from lamina import layers
from lamina.saving.serialization import deserialize_layer


def _x(*shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


# ----------------------------------------------------------------------- ReLU
RELU_CASES = [
    {},
    {"max_value": 2.5},
    {"negative_slope": 0.1},
    {"threshold": 0.5},
    {"max_value": 4.0, "negative_slope": 0.2, "threshold": 1.0},
]


def _np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x > threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_matches_keras_and_numpy(keras3, kwargs):
    check_layer(
        lambda: layers.ReLU(**kwargs),
        _x(4, 6),
        make_keras=lambda: keras3.layers.ReLU(**kwargs),
        reference=lambda x, w, training: _np_relu(x, **kwargs),
        keras_config_keys=("max_value", "negative_slope", "threshold"),
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_value": -1.0}, "max_value"),
        ({"negative_slope": -0.5}, "negative_slope"),
        ({"threshold": None}, "threshold"),
        ({"threshold": -1.0}, "threshold"),
    ],
)
def test_relu_bad_arguments_name_layer_and_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=f'"re_lu".*{match}'):
        layers.ReLU(**kwargs)


# ------------------------------------------------------------------ LeakyReLU
def test_leaky_relu_default_slope_is_keras_03(keras3):
    layer = check_layer(
        layers.LeakyReLU,
        _x(3, 5),
        make_keras=keras3.layers.LeakyReLU,
        reference=lambda x, w, training: np.where(x >= 0, x, 0.3 * x),
        keras_config_keys=("negative_slope",),
    )
    assert layer.negative_slope == layer.alpha == 0.3


def test_leaky_relu_keras2_alpha_and_keras3_negative_slope(keras3):
    check_layer(
        lambda: layers.LeakyReLU(alpha=0.05),
        _x(2, 3, 4),
        make_keras=lambda: keras3.layers.LeakyReLU(negative_slope=0.05),
        reference=lambda x, w, training: np.where(x >= 0, x, 0.05 * x),
        keras_config_keys=("negative_slope",),
    )
    assert layers.LeakyReLU(negative_slope=0.2).get_config()["negative_slope"] == 0.2


def test_leaky_relu_loads_a_keras2_config_with_alpha():
    config = {
        "class_name": "LeakyReLU",
        "config": {"name": "leaky", "trainable": True, "dtype": "float32", "alpha": 0.1},
    }
    layer = deserialize_layer(config)
    assert isinstance(layer, layers.LeakyReLU)
    assert layer.negative_slope == pytest.approx(0.1)
    assert_close(as_numpy(layer(np.array([[-2.0, 3.0]], "float32"))), [[-0.2, 3.0]])


def test_leaky_relu_rejects_a_negative_slope():
    with pytest.raises(ValueError, match='"leaky_re_lu".*negative_slope'):
        layers.LeakyReLU(-0.1)


# ---------------------------------------------------------------------- PReLU
def _np_prelu(x, alpha):
    return np.where(x >= 0, x, alpha * x)


@pytest.mark.parametrize("shared_axes, alpha_shape", [(None, (3, 4)), ([1], (1, 4)), (2, (3, 1)), ([1, 2], (1, 1))])
def test_prelu_matches_keras_and_numpy(keras3, shared_axes, alpha_shape):
    layer = check_layer(
        lambda: layers.PReLU(shared_axes=shared_axes),
        _x(2, 3, 4),
        make_keras=lambda: keras3.layers.PReLU(shared_axes=shared_axes),
        reference=lambda x, w, training: _np_prelu(x, w["alpha"]),
        weight_names=["alpha"],
        keras_config_keys=("shared_axes",),
    )
    assert layer.alpha.shape == alpha_shape
    assert layer.get_config()["alpha_initializer"] == {"class_name": "Zeros", "config": {}}


def test_prelu_default_alpha_is_zeros_so_it_starts_as_relu():
    x = _x(4, 5)
    layer = layers.PReLU()
    np.testing.assert_array_equal(as_numpy(layer(x)), np.maximum(x, 0))
    np.testing.assert_array_equal(layer.get_weights()[0], np.zeros((5,)))


def test_prelu_initializer_regularizer_constraint_and_config():
    layer = layers.PReLU(
        alpha_initializer=lamina.initializers.Constant(0.25),
        alpha_regularizer=lamina.regularizers.l2(0.5),
        alpha_constraint=lamina.constraints.NonNeg(),
    )
    layer(np.ones((2, 4), "float32"))
    np.testing.assert_allclose(layer.get_weights()[0], np.full(4, 0.25))
    penalty = float(np.asarray(as_numpy(layer.losses[0])))
    assert penalty == pytest.approx(0.5 * 4 * 0.25**2)
    assert isinstance(layer.alpha.constraint, lamina.constraints.NonNeg)
    config = layer.get_config()
    assert config["alpha_constraint"] == {"class_name": "NonNeg", "config": {}}
    assert config["alpha_regularizer"] == {"class_name": "L2", "config": {"l2": 0.5}}
    # from_config with a constraint: tests/constraints/test_constraints.py.


def test_prelu_one_sgd_step_matches_keras(keras3):
    """The gradient through the learned slope: one SGD step in lamina and in Keras 3 from the same weights."""
    x = _x(8, 3, 4, seed=1)
    y = _x(8, 3, 2, seed=2, scale=1.0)
    ours = lamina.Sequential([lamina.Input((3, 4)), layers.Dense(5), layers.PReLU(shared_axes=[1]), layers.Dense(2)])
    theirs = keras3.Sequential(
        [keras3.Input((3, 4)), keras3.layers.Dense(5), keras3.layers.PReLU(shared_axes=[1]), keras3.layers.Dense(2)]
    )
    weights = ours.get_weights()
    weights[2] = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]], "float32")  # alpha, so its gradient is not trivial
    ours.set_weights(weights)
    theirs.set_weights(weights)
    ours.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    theirs.compile(keras3.optimizers.SGD(learning_rate=0.1), "mse")
    our_loss = ours.train_on_batch(x, y)
    their_loss = theirs.train_on_batch(x, y)
    assert float(np.asarray(our_loss)) == pytest.approx(float(np.asarray(their_loss)), rel=1e-5)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(got, np.asarray(want), rtol=1e-5, atol=1e-6, what="weights after one SGD step")
    assert not np.allclose(ours.get_weights()[2], weights[2])  # alpha did learn


def test_prelu_bad_shared_axes_and_unknown_sizes():
    with pytest.raises(ValueError, match='"p_re_lu".*shared_axes'):
        layers.PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match='"p_re_lu_1".*axis 3'):
        layers.PReLU(shared_axes=[3])(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r'"p_re_lu_2".*axes \[1\]'):
        layers.PReLU()(lamina.Input((None, 4)))
    assert layers.PReLU(shared_axes=[1])(lamina.Input((None, 4))).shape == (None, None, 4)


# ------------------------------------------------------------------------ ELU
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_matches_keras_and_numpy(keras3, alpha):
    check_layer(
        lambda: layers.ELU(alpha=alpha),
        _x(3, 7),
        make_keras=lambda: keras3.layers.ELU(alpha=alpha),
        reference=lambda x, w, training: np.where(x > 0, x, alpha * np.expm1(x.astype("float64"))),
        keras_config_keys=("alpha",),
    )


# ------------------------------------------------------------ ThresholdedReLU
@pytest.mark.parametrize("theta", [1.0, 0.0, 2.5])
def test_thresholded_relu_matches_numpy(theta):
    """Keras 3 dropped ThresholdedReLU, so the reference is Keras 2's formula written out."""
    x = _x(4, 6)
    x[0, :3] = theta  # exactly theta gives 0: Keras 2 keeps x only where x > theta
    check_layer(
        lambda: layers.ThresholdedReLU(theta=theta),
        x,
        reference=lambda x, w, training: np.where(x > theta, x, 0.0),
    )


def test_thresholded_relu_config_and_bad_theta():
    assert layers.ThresholdedReLU().get_config()["theta"] == 1.0
    config = {"class_name": "ThresholdedReLU", "config": {"name": "tr", "trainable": True, "theta": 0.7}}
    assert deserialize_layer(config).theta == pytest.approx(0.7)
    with pytest.raises(ValueError, match='"thresholded_re_lu_1".*theta'):
        layers.ThresholdedReLU(theta=-1.0)


# -------------------------------------------------------------------- Softmax
def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_softmax_layer_matches_keras_and_numpy(keras3, axis):
    numpy_axis = tuple(axis) if isinstance(axis, list) else axis
    check_layer(
        lambda: layers.Softmax(axis=axis),
        _x(2, 3, 4),
        make_keras=lambda: keras3.layers.Softmax(axis=axis),
        reference=lambda x, w, training: _np_softmax(x.astype("float64"), numpy_axis),
        keras_config_keys=("axis",),
    )


def test_softmax_mask_gives_masked_positions_probability_zero(keras3):
    x = _x(3, 5)
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], bool)
    out = as_numpy(layers.Softmax()(x, mask=mask))
    expected = np.zeros_like(x)
    for row in range(2):
        kept = mask[row]
        expected[row, kept] = _np_softmax(x[row, kept])
    assert_close(out, expected)  # the fully masked row is all zeros, as in Keras 3
    assert_close(out, np.asarray(keras3.layers.Softmax()(x, mask=mask)), what="masked softmax vs Keras")


def test_softmax_mask_broadcasts_over_query_axis(keras3):
    scores = _x(2, 3, 4)
    mask = np.array([[[1, 1, 1, 0]], [[1, 0, 1, 1]]], bool)  # (batch, 1, keys)
    out = as_numpy(layers.Softmax()(scores, mask=mask))
    assert_close(out, np.asarray(keras3.layers.Softmax()(scores, mask=mask)))
    assert np.all(out[0, :, 3] == 0) and np.all(out[1, :, 1] == 0)
    assert_close(out.sum(-1), np.ones((2, 3)))


def test_softmax_bad_axis():
    with pytest.raises(ValueError, match='"softmax".*axis'):
        layers.Softmax(axis="last")


def test_softmax_mask_that_does_not_broadcast_raises_like_keras():
    # Keras 3 refuses this too (a (batch, time) mask on (batch, time, features) scores).
    with pytest.raises(ValueError, match=r'"softmax".*mask of shape \(1, 3\) for inputs of shape \(1, 3, 5\)'):
        layers.Softmax()(np.zeros((1, 3, 5), "float32"), mask=np.ones((1, 3), bool))
