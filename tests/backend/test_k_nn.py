"""Keras 2's K.* convolution, pooling, normalization and array functions against NumPy and tf-keras.

`tests/fixtures/k_backend/k_backend.npz` holds tf-keras 2.21's outputs (written by make_k_backend.py).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from lamina import backend as K

FIXTURE = dict(np.load(pathlib.Path(__file__).parents[1] / "fixtures" / "k_backend" / "k_backend.npz"))
RNG = np.random.default_rng(3)


def numpy_conv(x, kernel, stride=1, dilation=1):
    """A "valid" N-D convolution, channels last, Keras kernel (spatial..., in, out), written as loops over outputs."""
    rank = x.ndim - 2
    span = [(k - 1) * dilation + 1 for k in kernel.shape[:rank]]
    out_sizes = [(x.shape[1 + i] - span[i]) // stride + 1 for i in range(rank)]
    out = np.zeros((x.shape[0], *out_sizes, kernel.shape[-1]))
    for position in np.ndindex(*out_sizes):
        window = x[(slice(None), *(slice(p * stride, p * stride + s, dilation) for p, s in zip(position, span)))]
        out[(slice(None), *position)] = np.tensordot(window, kernel, axes=rank + 1)
    return out


def close(got, expected, tol=1e-4):
    np.testing.assert_allclose(K.eval(got), expected, rtol=tol, atol=tol)


def test_conv1d_conv2d_conv3d_match_numpy():
    x1, k1 = RNG.normal(size=(2, 7, 3)).astype("float32"), RNG.normal(size=(3, 3, 4)).astype("float32")
    # "causal": the output at step t sees steps t - 2d .. t (zeros before the start).
    padded = np.concatenate([np.zeros((2, 4, 3), "float32"), x1], axis=1)
    close(K.conv1d(x1, k1, padding="causal", dilation_rate=2), numpy_conv(padded, k1, dilation=2))
    x2, k2 = RNG.normal(size=(2, 6, 7, 3)).astype("float32"), RNG.normal(size=(3, 2, 3, 4)).astype("float32")
    expected = numpy_conv(x2, k2, stride=2)
    close(K.conv2d(x2, k2, strides=(2, 2)), expected)
    channels_first = K.conv2d(np.moveaxis(x2, -1, 1), k2, strides=(2, 2), data_format="channels_first")
    close(channels_first, np.moveaxis(expected, -1, 1))
    x3, k3 = RNG.normal(size=(1, 4, 5, 4, 2)).astype("float32"), RNG.normal(size=(2, 3, 2, 2, 3)).astype("float32")
    close(K.conv3d(x3, k3), numpy_conv(x3, k3))
    with pytest.raises(ValueError, match="conv2d: padding"):
        K.conv2d(x2, k2, padding="full")
    with pytest.raises(ValueError, match="conv2d: expects a 4-D input"):
        K.conv2d(x1, k2)


def test_depthwise_and_separable_conv2d_match_numpy():
    x = RNG.normal(size=(2, 5, 5, 3)).astype("float32")
    depthwise = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
    pointwise = RNG.normal(size=(1, 1, 6, 4)).astype("float32")
    # Output channel c * multiplier + m is input channel c under filter m.
    expected = np.concatenate([numpy_conv(x[..., c : c + 1], depthwise[:, :, c : c + 1, :]) for c in range(3)], axis=-1)
    close(K.depthwise_conv2d(x, depthwise), expected)
    close(K.separable_conv2d(x, depthwise, pointwise), expected @ pointwise[0, 0])
    x1 = RNG.normal(size=(2, 6, 3)).astype("float32")
    pointwise1 = RNG.normal(size=(1, 6, 4)).astype("float32")
    expected1 = np.concatenate([numpy_conv(x1[..., c : c + 1], depthwise[0, :, c : c + 1, :]) for c in range(3)], -1)
    close(K.separable_conv1d(x1, depthwise[0], pointwise1), expected1 @ pointwise1[0])


def test_conv2d_transpose_and_local_convs_match_tf_keras():
    x, kernel = FIXTURE["tconv_x"], FIXTURE["tconv_kernel"]
    close(K.conv2d_transpose(x, kernel, (2, 6, 8, 5), strides=(2, 2), padding="same"), FIXTURE["tconv_same"])
    close(K.conv2d_transpose(x, kernel, (2, 8, 9, 5), strides=(2, 2), padding="valid"), FIXTURE["tconv_valid"])
    with pytest.raises(ValueError, match="does not fit"):
        K.conv2d_transpose(x, kernel, (2, 9, 8, 5), strides=(2, 2), padding="same")
    close(K.local_conv1d(FIXTURE["local1_x"], FIXTURE["local1_kernel"], (3,), (2,)), FIXTURE["local1"])
    local2 = K.local_conv2d(
        FIXTURE["local2_x"], FIXTURE["local2_kernel"], (2, 2), (1, 1), (1, 4), data_format="channels_first"
    )
    close(local2, FIXTURE["local2_cf"])


def test_pool2d_pool3d_match_tf_keras_and_numpy():
    x = FIXTURE["pool_x"]
    close(K.pool2d(x, (2, 2), strides=(2, 2), padding="same", pool_mode="avg"), FIXTURE["pool_avg_same"])
    close(K.pool2d(x, (3, 3)), FIXTURE["pool_max_stride1"])  # Keras 2's default stride is 1, not the pool size
    x3 = RNG.normal(size=(1, 4, 4, 4, 2)).astype("float32")
    blocks = x3.reshape(1, 2, 2, 2, 2, 2, 2, 2)
    close(K.pool3d(x3, (2, 2, 2), strides=(2, 2, 2)), blocks.max(axis=(2, 4, 6)))
    close(K.pool3d(x3, (2, 2, 2), strides=(2, 2, 2), pool_mode="avg"), blocks.mean(axis=(2, 4, 6)))
    with pytest.raises(ValueError, match='pool_mode must be "max" or "avg"'):
        K.pool2d(x, (2, 2), pool_mode="min")


def test_bias_add_and_batch_normalization():
    x = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    bias = RNG.normal(size=(3,)).astype("float32")
    close(K.bias_add(x, bias, data_format="channels_first"), x + bias[None, :, None, None])
    close(K.bias_add(FIXTURE["bias_x"], FIXTURE["bias_full"], data_format="channels_first"), FIXTURE["bias_cf"])
    with pytest.raises(ValueError, match="bias must have rank 1 or 3"):
        K.bias_add(x, np.zeros((3, 4), "float32"))
    mean, var = np.float32(0.5), np.float32(2.0)
    gamma, beta = RNG.normal(size=(5,)).astype("float32"), RNG.normal(size=(5,)).astype("float32")
    close(K.batch_normalization(x, mean, var, beta, gamma, epsilon=1e-3), (x - 0.5) / np.sqrt(2.001) * gamma + beta)
    normed, batch_mean, batch_var = K.normalize_batch_in_training(
        FIXTURE["norm_x"], FIXTURE["norm_gamma"], FIXTURE["norm_beta"], [0, 2]
    )
    close(normed, FIXTURE["norm_out"])
    close(batch_mean, FIXTURE["norm_mean"])
    close(batch_var, FIXTURE["norm_var"])
    normed, batch_mean, batch_var = K.normalize_batch_in_training(
        FIXTURE["norm4_x"], FIXTURE["norm_gamma"][:2], FIXTURE["norm_beta"][:2], [0, 1, 2]
    )
    close(normed, FIXTURE["norm4_out"])
    close(batch_mean, FIXTURE["norm4_mean"])
    close(batch_var, FIXTURE["norm4_var"])  # unbiased, as Keras 2's fused 4-D path


def test_resizing_and_padding_match_numpy():
    close(K.resize_images(FIXTURE["resize_x"], 2, 3, "channels_last", "bilinear"), FIXTURE["resize_bilinear"])
    x = RNG.normal(size=(1, 2, 3, 2, 2)).astype("float32")
    repeated = x.repeat(2, axis=2).repeat(3, axis=3).repeat(1, axis=4)
    close(K.resize_volumes(x, 2, 3, 1, data_format="channels_first"), repeated)
    close(K.temporal_padding(x[0, 0], (1, 2)), np.pad(x[0, 0], [(0, 0), (1, 2), (0, 0)]))
    close(K.spatial_2d_padding(x[0], ((1, 0), (0, 2))), np.pad(x[0], [(0, 0), (1, 0), (0, 2), (0, 0)]))
    close(
        K.spatial_3d_padding(x, ((1, 1), (0, 1), (2, 0)), data_format="channels_first"),
        np.pad(x, [(0, 0), (0, 0), (1, 1), (0, 1), (2, 0)]),
    )
    with pytest.raises(ValueError, match="spatial_2d_padding expects a 4-D input"):
        K.spatial_2d_padding(x)


def test_array_helpers_match_numpy():
    x = RNG.normal(size=(3, 4)).astype("float32")
    close(K.repeat(x, 2), np.stack([x, x], axis=1))
    close(K.reverse(x, [0, 1]), x[::-1, ::-1])
    close(K.cumsum(x), np.cumsum(x, axis=0))
    close(K.cumprod(x, axis=1), np.cumprod(x, axis=1))
    np.testing.assert_array_equal(K.eval(K.arange(2, 8, 2)), [2, 4, 6])
    assert K.eval(K.arange(4)).dtype == np.int32 and K.eval(K.arange(-3)).shape == (0,)
    close(K.slice(x, (1, 1), (2, -1)), x[1:3, 1:])
    close(K.batch_flatten(x.reshape(3, 2, 2)), x)
    close(K.prod(x, axis=1), x.prod(axis=1))
    close(K.logsumexp(x, axis=1), np.log(np.exp(x).sum(axis=1)))
    np.testing.assert_array_equal(K.eval(K.any(x > 1, axis=0)), (x > 1).any(axis=0))
    np.testing.assert_array_equal(K.eval(K.all(x > -1, axis=1)), (x > -1).all(axis=1))
    assert int(K.eval(K.size(x))) == 12
    # A tie at the k-th place counts as in the top k, as TensorFlow's in_top_k.
    scores = np.array([[0.1, 0.5, 0.5, 0.2], [0.4, 0.3, 0.2, 0.1]], "float32")
    np.testing.assert_array_equal(K.eval(K.in_top_k(scores, np.array([2, 3]), 1)), [True, False])
    np.testing.assert_array_equal(K.eval(K.in_top_k(scores, np.array([3, 2]), 3)), [True, True])
    assert K.is_sparse(x) is False and K.normalize_data_format("Channels_First") == "channels_first"
    assert K.cast_to_floatx([1, 2]).dtype == np.float32
