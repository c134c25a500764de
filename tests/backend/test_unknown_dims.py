"""Shape inference with unknown (None) dimensions beyond the batch: fully convolutional models and friends.

Symbolic shapes come from one generic path on each engine (`jax.eval_shape`, torch's meta device), which
tries the unknown dimensions at two sizes: they must be big enough for any stack of kernels and strides,
and far enough apart that an output dimension that depends on them differs. Unknown output dimensions
must come out as None, known ones exact; predictions at any size must match Keras 3 given the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina.backend import KerasTensor, engine

# The weights are set after building; zeros spare Keras 3 on JAX compiling a random initializer per weight shape.
ZEROS = "zeros"


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _check_against_keras(build, keras3, input_shape, sizes, expected_shape, rtol=1e-4):
    """Builds the model in lamina with unknown dims, checks its output shape and its predictions at each size
    against Keras 3's (built for that size: Keras 3's own symbolic shapes are slow to find with unknown dims)."""
    model = build(lamina, input_shape)
    assert model.output_shape == expected_shape
    # Called as a layer, the whole model's shapes are found in one go (not layer by layer).
    assert model(lamina.Input(input_shape)).shape == expected_shape
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in model.get_weights()])
    for seed, concrete in enumerate(sizes):
        keras_model = build(keras3, concrete[1:])
        keras_model.set_weights(model.get_weights())
        x = _rand(*concrete, seed=seed)
        got = model.predict(x, verbose=0)
        want = np.asarray(keras_model.predict(x, verbose=0))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-4)
    return model


def _fcn(k, input_shape):
    inputs = k.Input(input_shape)
    x = k.layers.Conv2D(8, 3, kernel_initializer=ZEROS)(inputs)
    x = k.layers.PReLU(shared_axes=[1, 2])(x)
    x = k.layers.Conv2D(8, 3, kernel_initializer=ZEROS)(x)
    x = k.layers.MaxPooling2D()(x)
    x = k.layers.Conv2D(4, 3, kernel_initializer=ZEROS)(x)
    return k.Model(inputs, k.layers.GlobalAveragePooling2D()(x))


def test_fully_convolutional_model_builds_and_predicts_at_any_size(keras3):
    model = _check_against_keras(_fcn, keras3, (None, None, 3), [(2, 20, 17, 3), (1, 33, 41, 3)], (None, 4))
    # PReLU shares alpha over the unknown spatial axes: one value per channel.
    assert tuple(model.layers[2].alpha.shape) == (1, 1, 8)


def _unet(k, input_shape):
    inputs = k.Input(input_shape)
    skip = k.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=ZEROS)(inputs)
    x = k.layers.MaxPooling2D()(skip)
    x = k.layers.Conv2D(6, 3, padding="same", kernel_initializer=ZEROS)(x)
    x = k.layers.UpSampling2D()(x)
    x = k.layers.Concatenate()([skip, x])
    x = k.layers.Conv2DTranspose(3, 3, strides=2, kernel_initializer=ZEROS)(x)
    return k.Model(inputs, k.layers.Cropping2D(((1, 2), (3, 0)))(x))


def test_unet_with_upsampling_transpose_and_cropping(keras3):
    # The pooled-then-upsampled branch must line up with the skip at both probe sizes.
    _check_against_keras(_unet, keras3, (None, None, 2), [(1, 8, 12, 2), (2, 6, 10, 2)], (None, None, None, 3))


def test_known_dims_stay_exact_next_to_unknown_ones(keras3):
    _check_against_keras(_unet, keras3, (None, 10, 2), [(1, 8, 10, 2)], (None, None, 18, 3))


def test_five_halvings_keep_the_spatial_dims_unknown():
    # Probing with close sizes (say 83 and 89) gives 2 and 2 after five halvings: a wrong known size. A
    # Sequential called as a layer has its shapes found in one go, where that shows.
    stack = [lamina.Input((None, None, 1))]
    for _ in range(5):
        stack += [lamina.layers.Conv2D(2, 3, padding="same"), lamina.layers.MaxPooling2D()]
    inner = lamina.Sequential(stack)
    inputs = lamina.Input((None, None, 1))
    model = lamina.Model(inputs, inner(inputs))
    assert model.output_shape == (None, None, None, 2)
    assert model.predict(_rand(1, 64, 96, 1), verbose=0).shape == (1, 2, 3, 2)


def _conv1d(k, input_shape):
    inputs = k.Input(input_shape)
    x = k.layers.Conv1D(4, 5, strides=2, kernel_initializer=ZEROS)(inputs)
    x = k.layers.UpSampling1D(3)(x)
    x = k.layers.Conv1DTranspose(3, 4, strides=2, padding="same", kernel_initializer=ZEROS)(x)
    x = k.layers.Cropping1D((2, 1))(x)
    return k.Model(
        inputs, k.layers.LSTM(5, return_sequences=True, kernel_initializer=ZEROS, recurrent_initializer=ZEROS)(x)
    )


def test_conv1d_stack_and_lstm_over_unknown_time(keras3):
    _check_against_keras(_conv1d, keras3, (None, 2), [(2, 15, 2), (1, 24, 2)], (None, None, 5))


def _conv3d(k, input_shape):
    inputs = k.Input(input_shape)
    x = k.layers.Conv3D(3, 3, kernel_initializer=ZEROS)(inputs)
    x = k.layers.MaxPooling3D(2)(x)
    x = k.layers.Conv3DTranspose(2, 2, strides=2, kernel_initializer=ZEROS)(x)
    return k.Model(inputs, k.layers.GlobalMaxPooling3D()(x))


def test_conv3d_stack(keras3):
    _check_against_keras(_conv3d, keras3, (None, 7, None, 1), [(1, 9, 7, 6, 1), (2, 6, 7, 10, 1)], (None, 2))


def test_compute_output_spec_marks_exactly_the_dims_that_depend_on_unknowns():
    out = engine.core.compute_output_spec(
        lambda x: lamina.ops.concatenate([x[:, :, :3], x[:, :, :3] * 2], axis=2), KerasTensor((4, None, 10))
    )
    assert out.shape == (4, None, 6)


@pytest.mark.parametrize("layer", ["lstm", "masked_gru"])
def test_recurrent_layers_over_unknown_time_report_none(layer):
    inputs = lamina.Input((None, 3))
    x = inputs
    if layer == "masked_gru":
        x = lamina.layers.Masking()(x)
        out = lamina.layers.GRU(4, return_sequences=True, return_state=True)(x)
        assert [t.shape for t in out] == [(None, None, 4), (None, 4)]
    else:
        out = lamina.layers.LSTM(4, return_sequences=True, return_state=True)(x)
        assert [t.shape for t in out] == [(None, None, 4), (None, 4), (None, 4)]
