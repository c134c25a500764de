"""The engine ops that fold a second pass into the first: `conv(..., bias=)` and `scale_and_shift`, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from lamina import ops


def numpy_conv2d_valid(x, kernel):
    """A 'valid', stride-1 2-D convolution of NHWC `x` with an HWIO `kernel`, written out."""
    kh, kw = kernel.shape[:2]
    out = np.zeros((x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, kernel.shape[-1]))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j] = np.einsum("bhwc,hwco->bo", x[:, i : i + kh, j : j + kw], kernel)
    return out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_with_bias_equals_numpy(data_format):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5, 3)).astype("float32")
    kernel = rng.normal(size=(3, 2, 3, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    expected = numpy_conv2d_valid(x, kernel) + bias
    if data_format == "channels_first":
        x, expected = x.transpose(0, 3, 1, 2), expected.transpose(0, 3, 1, 2)
    got = ops.convert_to_numpy(ops.conv(x, kernel, data_format=data_format, bias=bias))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_conv_with_a_bias_of_another_dtype_adds_it_after():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 4, 2)).astype("float32")
    kernel = rng.normal(size=(2, 2, 2, 3)).astype("float32")
    bias = np.array([1.0, -2.0, 0.5], dtype="float64")
    got = ops.convert_to_numpy(ops.conv(x, kernel, bias=ops.convert_to_tensor(bias, dtype="float16")))
    np.testing.assert_allclose(got, numpy_conv2d_valid(x, kernel) + bias, rtol=1e-3, atol=1e-3)


def test_scale_and_shift_equals_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    scale, offset = rng.normal(size=(1, 1, 4)).astype("float32"), rng.normal(size=(1, 1, 4)).astype("float32")
    got = ops.convert_to_numpy(ops.scale_and_shift(x, scale, offset))
    np.testing.assert_allclose(got, x * scale + offset, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axis, affine", [(-1, True), (1, False), (1, True)])
def test_batch_norm_training_equals_numpy(axis, affine):
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(4, 3, 5, 2)).astype("float32")
    channels = x.shape[axis]
    gamma = rng.uniform(0.5, 1.5, size=channels).astype("float32") if affine else None
    beta = rng.normal(size=channels).astype("float32") if affine else None
    y, mean, variance = ops.batch_norm_training(x, gamma, beta, axis, 1e-3)
    axes = tuple(i for i in range(4) if i != axis % 4)
    shape = [1, 1, 1, 1]
    shape[axis] = channels
    want_mean, want_var = x.mean(axis=axes), x.var(axis=axes)  # the biased variance, as Keras
    want = (x - want_mean.reshape(shape)) / np.sqrt(want_var.reshape(shape) + 1e-3)
    if affine:
        want = want * gamma.reshape(shape) + beta.reshape(shape)
    np.testing.assert_allclose(ops.convert_to_numpy(mean), want_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(variance), want_var, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(y), want, rtol=1e-4, atol=1e-4)


def test_batch_norm_training_on_one_value_per_channel_gives_zero_variance():
    x = np.array([[1.0, -2.0, 3.0]], dtype="float32")  # torch's kernel refuses a batch of one: the formula runs
    beta = np.array([0.5, 0.0, -1.0], dtype="float32")
    y, mean, variance = ops.batch_norm_training(x, None, beta, -1, 1e-3)
    np.testing.assert_allclose(ops.convert_to_numpy(variance), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(ops.convert_to_numpy(mean), x[0])
    np.testing.assert_allclose(ops.convert_to_numpy(y), beta[None], atol=1e-5)
