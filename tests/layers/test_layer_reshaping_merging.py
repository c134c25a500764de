"""Reshaping (Flatten, Reshape) and merging (Add, Concatenate) layers."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

import lamina
from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ------------------------------------------------------------------- Flatten
def test_flatten_matches_keras(keras3):
    check_layer(
        layers.Flatten,
        _x(2, 3, 4, 5),
        make_keras=keras3.layers.Flatten,
        reference=lambda x, w, training: x.reshape(2, 60),
        keras_config_keys=("data_format",),
    )


def test_flatten_channels_first_flattens_in_channels_last_order(keras3):
    check_layer(
        lambda: layers.Flatten(data_format="channels_first"),
        _x(2, 3, 4, 5),
        make_keras=lambda: keras3.layers.Flatten(data_format="channels_first"),
        reference=lambda x, w, training: np.transpose(x, (0, 2, 3, 1)).reshape(2, 60),
        keras_config_keys=("data_format",),
    )


def test_flatten_channels_first_on_2d_input_is_identity():
    x = _x(3, 4)
    np.testing.assert_array_equal(as_numpy(layers.Flatten(data_format="channels_first")(x)), x)


def test_flatten_default_data_format_comes_from_config():
    assert layers.Flatten().get_config()["data_format"] == lamina.backend.image_data_format() == "channels_last"


# ------------------------------------------------------------------- Reshape
@pytest.mark.parametrize("target", [(4, 6), (-1, 3), (2, -1, 2), (24,)])
def test_reshape_matches_keras(keras3, target):
    check_layer(
        lambda: layers.Reshape(target),
        _x(2, 3, 8),
        make_keras=lambda: keras3.layers.Reshape(target),
        reference=lambda x, w, training: x.reshape((2, *target)),
        keras_config_keys=("target_shape",),
    )


def test_reshape_wrong_size_names_the_layer():
    layer = layers.Reshape((5, 5))
    with pytest.raises(ValueError, match=r'"reshape".*\(3, 4\).*12 values.*\(5, 5\).*25 values'):
        layer(np.zeros((2, 3, 4), "float32"))


def test_reshape_minus_one_that_does_not_divide_raises():
    layer = layers.Reshape((-1, 5))
    with pytest.raises(ValueError, match=r'"reshape".*\(3, 4\)'):
        layer(np.zeros((2, 3, 4), "float32"))


def test_reshape_wrong_size_symbolic_raises():
    with pytest.raises(ValueError, match='"reshape"'):
        layers.Reshape((7,))(lamina.Input(shape=(2, 3)))


def test_reshape_two_minus_ones_raise_at_construction():
    with pytest.raises(ValueError, match='"reshape".*at most one -1'):
        layers.Reshape((-1, -1))


# ----------------------------------------------------------------------- Add
def test_add_matches_keras(keras3):
    inputs = [_x(2, 3, seed=1), _x(2, 3, seed=2), _x(2, 3, seed=3)]
    check_layer(
        layers.Add,
        inputs,
        make_keras=keras3.layers.Add,
        reference=lambda xs, w, training: xs[0] + xs[1] + xs[2],
    )


def test_add_function_form():
    a, b = _x(2, 2, seed=1), _x(2, 2, seed=2)
    np.testing.assert_allclose(as_numpy(layers.add([a, b])), a + b, rtol=1e-6)
    symbolic = layers.add([lamina.Input(shape=(4,)), lamina.Input(shape=(4,))])
    assert symbolic.shape == (None, 4)


def test_add_shape_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r'"add".*same shape.*\(2, 3\) and \(2, 4\)'):
        layers.Add()([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])


@pytest.mark.parametrize("inputs", [[np.zeros((2, 3), "float32")], np.zeros((2, 3), "float32")])
def test_add_needs_at_least_two_inputs(inputs):
    with pytest.raises(ValueError, match='"add".*at least 2 inputs'):
        layers.Add()(inputs)


# --------------------------------------------------------------- Concatenate
@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_keras(keras3, axis):
    shapes = {-1: [(2, 3, 4), (2, 3, 2)], 1: [(2, 3, 4), (2, 1, 4)], 2: [(2, 3, 4), (2, 3, 1)]}[axis]
    inputs = [_x(*shapes[0], seed=1), _x(*shapes[1], seed=2)]
    check_layer(
        lambda: layers.Concatenate(axis=axis),
        inputs,
        make_keras=lambda: keras3.layers.Concatenate(axis=axis),
        reference=lambda xs, w, training: np.concatenate(xs, axis=axis),
        keras_config_keys=("axis",),
    )


def test_concatenate_function_form_and_symbolic_shape():
    a, b = lamina.Input(shape=(3, 4)), lamina.Input(shape=(5, 4))
    assert layers.concatenate([a, b], axis=1).shape == (None, 8, 4)
    np.testing.assert_array_equal(
        as_numpy(layers.concatenate([np.ones((1, 2), "float32"), np.zeros((1, 1), "float32")])), [[1.0, 1.0, 0.0]]
    )


def test_concatenate_mismatch_off_axis_names_layer():
    with pytest.raises(ValueError, match=r'"concatenate".*axis 1.*\(2, 3, 4\) and \(2, 1, 5\)'):
        layers.Concatenate(axis=1)([np.zeros((2, 3, 4), "float32"), np.zeros((2, 1, 5), "float32")])
