"""Keras 3's newer activations (celu, glu, the shrinks, the sparse ones, sparsemax, ...) against NumPy
formulas written out here and against keras.activations, values and (at the kinks) gradients."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

import lamina
from lamina import activations, layers

# Every kink of every function below is on the grid (+-0.25, +-0.5, +-1), plus values between.
GRID = np.array([-3.0, -1.0, -0.7, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 0.7, 1.0, 1.5, 3.0], "float32")
X = np.concatenate([GRID, np.linspace(-2.5, 2.5, 14, dtype="float32")]).reshape(4, 7)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (kwargs, NumPy formula)
CASES = {
    "celu": ({"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x / 0.5))),
    "hard_shrink": ({"threshold": 0.25}, lambda x: np.where(np.abs(x) > 0.25, x, 0.0)),
    "hard_tanh": ({}, lambda x: np.clip(x, -1.0, 1.0)),
    "log_sigmoid": ({}, lambda x: -np.log1p(np.exp(-x))),
    "soft_shrink": ({}, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0.0)),
    "sparse_plus": ({}, lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    "sparse_sigmoid": ({}, lambda x: np.clip((x + 1) / 2, 0.0, 1.0)),
    "squareplus": ({"b": 1.0}, lambda x: (x + np.sqrt(x * x + 1.0)) / 2),
    "tanh_shrink": ({}, lambda x: x - np.tanh(x)),
    "threshold": ({"threshold": 0.25, "default_value": -2.0}, lambda x: np.where(x > 0.25, x, -2.0)),
    "glu": ({"axis": 0}, lambda x: x[:2] * _sigmoid(x[2:])),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_numpy_and_keras3(name, keras3):
    kwargs, formula = CASES[name]
    got = as_numpy(getattr(activations, name)(X, **kwargs))
    assert_close(got, formula(X.astype("float64")), rtol=1e-6, atol=1e-6, what=name)
    assert_close(got, np.asarray(getattr(keras3.activations, name)(X, **kwargs)), rtol=1e-6, atol=1e-6, what=name)


def test_signatures_and_defaults_are_keras3s(keras3):
    for name in [*CASES, "sparsemax"]:
        ours = inspect.signature(getattr(activations, name)).parameters
        theirs = inspect.signature(getattr(keras3.activations, name)).parameters
        assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()], name


def _np_sparsemax(x, axis):
    """Sparsemax by bisection on tau (sum(max(x - tau, 0)) = 1), independent of the sorting algorithm."""
    x = np.moveaxis(x.astype("float64"), axis, -1)
    low, high = x.max(-1, keepdims=True) - 1.0, x.max(-1, keepdims=True)
    for _ in range(100):
        tau = (low + high) / 2
        too_big = np.maximum(x - tau, 0).sum(-1, keepdims=True) < 1.0
        high, low = np.where(too_big, tau, high), np.where(too_big, low, tau)
    return np.moveaxis(np.maximum(x - (low + high) / 2, 0.0), -1, axis)


def test_sparsemax_is_the_simplex_projection(keras3):
    for axis in (-1, 0):
        got = as_numpy(activations.sparsemax(X, axis=axis))
        assert_close(got, _np_sparsemax(X, axis), rtol=1e-5, atol=1e-6, what=f"sparsemax axis {axis}")
        assert_close(got.sum(axis=axis), np.ones(got.shape[1 + axis]), what="sums")
    # Keras 3.15 agrees where one value takes all (its multi-value support is keras-team/keras#23425).
    peaked = np.array([[3.0, 0.5, -1.0, 1.2], [0.0, 0.1, 2.0, -4.0]], "float32")
    assert_close(as_numpy(activations.sparsemax(peaked)), np.asarray(keras3.activations.sparsemax(peaked)))
    assert_close(as_numpy(activations.sparsemax(np.array([[0.0, 0.5, 1.0]]))), [[0.0, 0.25, 0.75]])


def _one_sgd_step(make_model, x, y):
    """The kernel after one SGD(1.0) step on mse from the identity: identity - d loss / d kernel."""
    model = make_model()
    model.compile(optimizer=make_model.sgd(learning_rate=1.0), loss="mse")
    model.train_on_batch(x, y)
    return np.asarray(model.get_weights()[0])


def _identity_dense(framework, activation, units):
    def make():
        dense = framework.layers.Dense(units, activation=activation, use_bias=False, kernel_initializer="identity")
        return framework.Sequential([framework.Input((units,)), dense])

    make.sgd = framework.optimizers.SGD
    return make


def test_hard_shrink_gradient_at_the_threshold_matches_keras3(keras3):
    # Pre-activations exactly at the threshold (+-0.5: gradient 0) and just beside it (gradient 1).
    x = np.array([[0.5, -0.5, 1.0, -1.0], [0.49, 0.51, -0.499, -0.501]], "float32")
    y = np.full((2, 4), 0.25, "float32")
    got = _one_sgd_step(_identity_dense(lamina, "hard_shrink", 4), x, y)
    expected = _one_sgd_step(_identity_dense(keras3, "hard_shrink", 4), x, y)
    assert_close(got, expected, rtol=1e-6, atol=1e-7, what="hard_shrink gradient")
    out = np.where(np.abs(x) > 0.5, x, 0.0)
    passes = (np.abs(x) > 0.5).astype("float64")
    assert_close(got, np.eye(4) - x.T.astype("float64") @ (2.0 * (out - y) / out.size * passes), atol=1e-7)


def test_sparsemax_gradient_is_the_projection_jacobian():
    # Supports of size 2, 3 and 1: d out_i / d z_j = [i = j] - 1/k for i, j in the support, else 0.
    x = np.array([[0.9, 0.5, -1.0, 0.0], [0.2, 0.3, 0.25, -2.0], [2.0, 0.1, 0.0, -0.1]], "float32")
    y = np.zeros((3, 4), "float32")
    out = _np_sparsemax(x, -1)
    upstream = 2.0 * (out - y) / out.size  # d mse / d out
    support = out > 0
    k = support.sum(-1, keepdims=True)
    mean_in_support = (upstream * support).sum(-1, keepdims=True) / k
    grad_z = np.where(support, upstream - mean_in_support, 0.0)
    expected = np.eye(4) - x.astype("float64").T @ grad_z
    got = _one_sgd_step(_identity_dense(lamina, "sparsemax", 4), x, y)
    assert_close(got, expected, rtol=1e-5, atol=1e-7, what="sparsemax gradient")


@pytest.mark.parametrize("name", ["celu", "squareplus", "sparsemax"])
def test_dense_by_name_serializes_and_loads_in_keras3(name, keras3):
    layer = layers.Dense(3, activation=name)
    x = X[:, :4]
    out = as_numpy(layer(x))
    config = layer.get_config()
    assert config["activation"] == name == activations.serialize(activations.get(name))
    clone = layers.Dense.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert_close(as_numpy(clone(x)), out)
    if name != "sparsemax":  # Keras 3.15's sparsemax differs (see above)
        theirs = keras3.layers.Dense.from_config(config)
        theirs(x)
        theirs.set_weights(layer.get_weights())
        assert_close(out, np.asarray(theirs(x)), rtol=1e-5, atol=1e-6, what=f"Dense({name}) vs Keras 3")


def test_glu_rejects_an_odd_axis():
    with pytest.raises(ValueError, match="glu.*even.*5"):
        activations.glu(np.zeros((2, 5), "float32"))
