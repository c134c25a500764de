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
