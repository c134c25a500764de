"""Keras 2's K.* convolution, pooling, normalization and bias functions over lamina's ops.

Kernels have Keras 2's layouts: a convolution kernel is `(spatial..., in, out)`, a depthwise
kernel `(spatial..., in, multiplier)`, a transposed-convolution kernel `(spatial..., out, in)`.
`data_format=None` means `K.image_data_format()`.

Example:
    >>> from lamina import backend as K
    >>> K.conv2d(np.ones((1, 5, 5, 3), "float32"), np.ones((3, 3, 3, 2), "float32"), padding="same").shape
    (1, 5, 5, 2)
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.backend.common import Variable
from lamina.config import image_data_format

__all__ = [
    "batch_normalization", "bias_add", "conv1d", "conv2d", "conv2d_transpose", "conv3d", "conv3d_transpose",
    "depthwise_conv2d", "local_conv1d", "local_conv2d", "normalize_batch_in_training", "pool2d", "pool3d",
    "separable_conv1d", "separable_conv2d",
]  # fmt: skip


def _value(x):
    return x.value if isinstance(x, Variable) else x


def _tensor(x):
    return ops.convert_to_tensor(_value(x))


def _data_format(data_format, function: str) -> str:
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'K.{function}: data_format must be "channels_last" or "channels_first", got {data_format!r}.')
    return data_format


def _padding(padding, function: str, allowed=("valid", "same")) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"K.{function}: padding must be one of {allowed}, got {padding!r}.")
    return padding.lower()


def _check_rank(x, rank: int, function: str) -> None:
    if len(x.shape) != rank:
        raise ValueError(f"K.{function}: expects a {rank}-D input, got shape {tuple(x.shape)}.")


def _causal_pad(x, kernel_size: int, dilation: int, data_format: str):
    """Left-pads the time axis so that a "valid" convolution sees no future step (Keras's "causal")."""
    left = dilation * (kernel_size - 1)
    widths = [(0, 0)] * 3
    widths[1 if data_format == "channels_last" else 2] = (left, 0)
    return ops.pad(x, widths)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution; kernel `(length, in, out)`; padding "valid", "same" or "causal".

    Example:
        >>> K.conv1d(np.ones((2, 7, 3), "float32"), np.ones((3, 3, 4), "float32"), padding="causal").shape
        (2, 7, 4)
    """
    x, kernel = _tensor(x), _tensor(kernel)
    data_format = _data_format(data_format, "conv1d")
    padding = _padding(padding, "conv1d", ("valid", "same", "causal"))
    _check_rank(x, 3, "conv1d")
    stride = strides[0] if isinstance(strides, (tuple, list)) else strides
    dilation = dilation_rate[0] if isinstance(dilation_rate, (tuple, list)) else dilation_rate
    if padding == "causal":
        x, padding = _causal_pad(x, kernel.shape[0], dilation, data_format), "valid"
    return ops.conv(x, kernel, stride, padding, data_format, dilation)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2-D convolution; kernel `(rows, cols, in, out)`.

    Example:
        >>> K.conv2d(np.ones((1, 5, 5, 3), "float32"), np.ones((3, 3, 3, 2), "float32"), strides=(2, 2)).shape
        (1, 2, 2, 2)
    """
    x = _tensor(x)
    _check_rank(x, 4, "conv2d")
    return ops.conv(
        x, _tensor(kernel), strides, _padding(padding, "conv2d"), _data_format(data_format, "conv2d"), dilation_rate
    )


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    """3-D convolution; kernel `(depth, rows, cols, in, out)`.

    Example:
        >>> K.conv3d(np.ones((1, 4, 4, 4, 2), "float32"), np.ones((2, 2, 2, 2, 3), "float32")).shape
        (1, 3, 3, 3, 3)
    """
    x = _tensor(x)
    _check_rank(x, 5, "conv3d")
    return ops.conv(
        x, _tensor(kernel), strides, _padding(padding, "conv3d"), _data_format(data_format, "conv3d"), dilation_rate
    )


def _transpose(x, kernel, output_shape, strides, padding, data_format, dilation_rate, function):
    x, kernel = _tensor(x), _tensor(kernel)
    rank = len(x.shape) - 2
    data_format = _data_format(data_format, function)
    padding = _padding(padding, function)
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dilation = (dilation_rate,) * rank if isinstance(dilation_rate, int) else tuple(dilation_rate)
    output_shape = tuple(int(v) for v in np.asarray(ops.convert_to_numpy(output_shape)).reshape(-1))
    sizes = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
    wanted = output_shape[1:-1] if data_format == "channels_last" else output_shape[2:]
    if len(output_shape) != rank + 2:
        raise ValueError(f"K.{function}: output_shape must have {rank + 2} entries, got {output_shape}.")
    extras = []
    for i in range(rank):
        span = (kernel.shape[i] - 1) * dilation[i] + 1
        natural = (sizes[i] - 1) * strides[i] + span - (0 if padding == "valid" else 2 * (span // 2))
        extras.append(wanted[i] - natural)
        # The forward convolution of the wanted output must give back the input's size.
        back = -(-wanted[i] // strides[i]) if padding == "same" else -(-(wanted[i] - span + 1) // strides[i])
        if back != sizes[i]:
            raise ValueError(
                f"K.{function}: output_shape {output_shape} does not fit an input of spatial size {tuple(sizes)} "
                f"with strides {strides} and padding {padding!r}."
            )
    return ops.conv_transpose(x, kernel, strides, padding, tuple(extras), data_format, dilation)


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """The transpose of `conv2d` (a "deconvolution") to `output_shape`; kernel `(rows, cols, out, in)`.

    Example:
        >>> K.conv2d_transpose(np.ones((1, 4, 4, 3), "float32"), np.ones((3, 3, 2, 3), "float32"),
        ...                    (1, 8, 8, 2), strides=(2, 2), padding="same").shape
        (1, 8, 8, 2)
    """
    return _transpose(x, kernel, output_shape, strides, padding, data_format, dilation_rate, "conv2d_transpose")


def conv3d_transpose(x, kernel, output_shape, strides=(1, 1, 1), padding="valid", data_format=None):
    """The transpose of `conv3d` to `output_shape`; kernel `(depth, rows, cols, out, in)`.

    Example:
        >>> K.conv3d_transpose(np.ones((1, 2, 2, 2, 3), "float32"), np.ones((2, 2, 2, 4, 3), "float32"),
        ...                    (1, 4, 4, 4, 4), strides=(2, 2, 2)).shape
        (1, 4, 4, 4, 4)
    """
    return _transpose(x, kernel, output_shape, strides, padding, data_format, 1, "conv3d_transpose")


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """Each input channel convolved with its own filters; kernel `(rows, cols, in, multiplier)`.

    Example:
        >>> K.depthwise_conv2d(np.ones((1, 5, 5, 3), "float32"), np.ones((3, 3, 3, 2), "float32")).shape
        (1, 3, 3, 6)
    """
    x = _tensor(x)
    _check_rank(x, 4, "depthwise_conv2d")
    data_format = _data_format(data_format, "depthwise_conv2d")
    padding = _padding(padding, "depthwise_conv2d")
    return ops.depthwise_conv(x, _tensor(depthwise_kernel), strides, padding, data_format, dilation_rate)


def separable_conv2d(
    x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)
):
    """A depthwise convolution then a 1x1 one; kernels `(rows, cols, in, multiplier)` and `(1, 1, in * mult, out)`.

    Example:
        >>> K.separable_conv2d(np.ones((1, 5, 5, 3), "float32"), np.ones((3, 3, 3, 1), "float32"),
        ...                    np.ones((1, 1, 3, 4), "float32")).shape
        (1, 3, 3, 4)
    """
    x = _tensor(x)
    _check_rank(x, 4, "separable_conv2d")
    data_format = _data_format(data_format, "separable_conv2d")
    padding = _padding(padding, "separable_conv2d")
    depthwise, pointwise = _tensor(depthwise_kernel), _tensor(pointwise_kernel)
    return ops.separable_conv(x, depthwise, pointwise, strides, padding, data_format, dilation_rate)


def separable_conv1d(
    x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None, dilation_rate=1
):
    """1-D separable convolution; kernels `(length, in, multiplier)` and `(1, in * multiplier, out)`.

    Example:
        >>> K.separable_conv1d(np.ones((1, 6, 3), "float32"), np.ones((3, 3, 2), "float32"),
        ...                    np.ones((1, 6, 4), "float32")).shape
        (1, 4, 4)
    """
    x = _tensor(x)
    _check_rank(x, 3, "separable_conv1d")
    data_format = _data_format(data_format, "separable_conv1d")
    padding = _padding(padding, "separable_conv1d", ("valid", "same", "causal"))
    stride = strides[0] if isinstance(strides, (tuple, list)) else strides
    dilation = dilation_rate[0] if isinstance(dilation_rate, (tuple, list)) else dilation_rate
    depthwise, pointwise = _tensor(depthwise_kernel), _tensor(pointwise_kernel)
    if padding == "causal":
        x, padding = _causal_pad(x, depthwise.shape[0], dilation, data_format), "valid"
    return ops.separable_conv(x, depthwise, pointwise, stride, padding, data_format, dilation)


def _pool(x, pool_size, strides, padding, data_format, pool_mode, rank, function):
    x = _tensor(x)
    _check_rank(x, rank + 2, function)
    data_format = _data_format(data_format, function)
    padding = _padding(padding, function)
    if pool_mode == "max":
        return ops.max_pool(x, pool_size, strides, padding, data_format)
    if pool_mode == "avg":
        return ops.average_pool(x, pool_size, strides, padding, data_format)
    raise ValueError(f'K.{function}: pool_mode must be "max" or "avg", got {pool_mode!r}.')


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2-D max or average pooling (`pool_mode` "max" or "avg"); note Keras 2's default stride of 1.

    Example:
        >>> K.pool2d(np.ones((1, 4, 4, 3), "float32"), (2, 2), strides=(2, 2), pool_mode="avg").shape
        (1, 2, 2, 3)
    """
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 2, "pool2d")


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3-D max or average pooling (`pool_mode` "max" or "avg").

    Example:
        >>> K.pool3d(np.ones((1, 4, 4, 4, 3), "float32"), (2, 2, 2), strides=(2, 2, 2)).shape
        (1, 2, 2, 2, 3)
    """
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 3, "pool3d")


def _patches(x, kernel_size, strides, output_size, data_format):
    """(batch, positions, window): each output position's input window, flattened in the input's axis order.

    As Keras 2, a channels-first window is flattened channels first, a channels-last one channels last.
    """
    windows = []
    for position in np.ndindex(*output_size):
        index = (slice(None),) * (2 if data_format == "channels_first" else 1)
        index += tuple(slice(p * s, p * s + k) for p, s, k in zip(position, strides, kernel_size))
        windows.append(ops.reshape(x[index], (x.shape[0], -1)))
    return ops.stack(windows, axis=1)


def _local_conv(inputs, kernel, kernel_size, strides, output_size, data_format, function):
    inputs, kernel = _tensor(inputs), _tensor(kernel)
    data_format = _data_format(data_format, function)
    patches = _patches(inputs, kernel_size, strides, output_size, data_format)
    out = ops.einsum("bpk,pkf->bpf", patches, kernel)  # each position has its own (window, filters) kernel
    out = ops.reshape(out, (inputs.shape[0], *output_size, kernel.shape[-1]))
    return out if data_format == "channels_last" else ops.moveaxis(out, -1, 1)


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """A 1-D convolution with unshared weights; kernel `(output_length, kernel_size * in, filters)`.

    Example:
        >>> K.local_conv1d(np.ones((2, 5, 3), "float32"), np.ones((3, 9, 4), "float32"), (3,), (1,)).shape
        (2, 3, 4)
    """
    kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    strides = tuple(strides) if isinstance(strides, (tuple, list)) else (strides,)
    output_length = _tensor(kernel).shape[0]
    return _local_conv(inputs, kernel, kernel_size, strides, (output_length,), data_format, "local_conv1d")


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """A 2-D convolution with unshared weights; kernel `(rows * cols, kh * kw * in, filters)`.

    Example:
        >>> K.local_conv2d(np.ones((1, 4, 4, 2), "float32"), np.ones((9, 8, 3), "float32"),
        ...                (2, 2), (1, 1), (3, 3)).shape
        (1, 3, 3, 3)
    """
    return _local_conv(
        inputs, kernel, tuple(kernel_size), tuple(strides), tuple(output_shape), data_format, "local_conv2d"
    )


def bias_add(x, bias, data_format=None):
    """`x + bias` on the channels axis (`bias` of shape (channels,) or `x`'s shape less the batch axis).

    Example:
        >>> K.bias_add(np.zeros((2, 3, 3, 4), "float32"), np.arange(4.0, dtype="float32")).shape
        (2, 3, 3, 4)
    """
    x, bias = _tensor(x), _tensor(bias)
    data_format = _data_format(data_format, "bias_add")
    rank, bias_rank = len(x.shape), len(bias.shape)
    if bias_rank != 1 and bias_rank != rank - 1:
        raise ValueError(
            f"K.bias_add: bias must have rank 1 or {rank - 1} (the input's rank less one), got shape "
            f"{tuple(bias.shape)} for an input of shape {tuple(x.shape)}."
        )
    if data_format == "channels_first" and rank > 2:
        if bias_rank == 1:
            bias = ops.reshape(bias, (bias.shape[0],) + (1,) * (rank - 2))
        else:
            # Keras 2 reshapes (not transposes) a full-rank bias to channels-first: the same values, read anew.
            bias = ops.reshape(bias, (bias.shape[-1], *bias.shape[:-1]))
    return ops.add(x, bias)


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`; `beta`/`gamma` may be None.

    Example:
        >>> K.batch_normalization(x, mean, var, beta, gamma, epsilon=1e-3)
    """
    x = _tensor(x)
    out = ops.multiply(ops.subtract(x, _tensor(mean)), ops.rsqrt(ops.add(_tensor(var), epsilon)))
    if gamma is not None:
        out = ops.multiply(out, _tensor(gamma))
    return out if beta is None else ops.add(out, _tensor(beta))


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """Normalizes `x` by its own mean and (biased) variance over `reduction_axes`.

    As Keras 2 (whose 4-D case ran TensorFlow's fused batch norm), the variance returned for a
    4-D input reduced over every axis but the channels is the unbiased one (times n / (n - 1));
    the normalization itself always uses the biased variance.

    Returns:
        `(normalized, mean, variance)`; mean and variance have the kept axes only.

    Example:
        >>> normed, mean, var = K.normalize_batch_in_training(x, gamma, beta, [0, 1, 2])
    """
    x = _tensor(x)
    rank = len(x.shape)
    reduction_axes = sorted(a % rank for a in reduction_axes)
    mean, variance = ops.moments(x, reduction_axes)
    kept_shape = [1 if a in reduction_axes else x.shape[a] for a in range(rank)]

    def broadcast(value):
        return None if value is None else ops.reshape(_tensor(value), kept_shape)

    normed = batch_normalization(
        x, broadcast(mean), broadcast(variance), broadcast(beta), broadcast(gamma), epsilon=epsilon
    )
    if rank == 4 and reduction_axes in ([0, 1, 2], [0, 2, 3]):
        count = int(np.prod([x.shape[a] for a in reduction_axes]))
        variance = ops.multiply(variance, count / max(count - 1, 1))
    return normed, mean, variance
