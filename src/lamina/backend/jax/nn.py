"""Neural-network functions on JAX: activations, convolution, pooling, crossentropies."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lamina.backend.common import Variable

__all__ = [
    "average_pool", "binary_crossentropy", "categorical_crossentropy", "conv", "conv_transpose", "ctc_loss", "dense",
    "batch_norm_training", "depthwise_conv", "elu", "gelu",
    "hard_sigmoid", "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "max_pool", "moments",
    "one_hot", "relu", "relu6", "relu_in_place", "add_in_place", "resize_images", "scale_and_shift", "selu",
    "separable_conv", "sigmoid", "silu",
    "softmax", "softplus", "softsign",
    "sparse_categorical_crossentropy",
]  # fmt: skip


def _v(x):
    return x.value if isinstance(x, Variable) else x


def dense(x, kernel, bias=None):
    """`x @ kernel + bias` (XLA fuses the two)."""
    out = jnp.matmul(_v(x), _v(kernel))
    return out if bias is None else out + _v(bias)


def batch_norm_training(x, gamma, beta, axis: int, epsilon: float):
    """BatchNormalization in training: (normalized x, batch mean, biased batch variance), the statistics shaped
    like the channel axis `axis`; gamma and beta may be None. XLA fuses the passes.

    Example:
        >>> y, mean, variance = batch_norm_training(jnp.ones((8, 3)), None, None, -1, 1e-3)
    """
    x = _v(x)
    axis = axis % x.ndim
    mean, variance = moments(x, tuple(i for i in range(x.ndim) if i != axis))
    inv = 1.0 / jnp.sqrt(variance + epsilon)  # as ops.rsqrt: the numbers of the unfused layer
    if gamma is not None:
        inv = inv * _v(gamma)
    offset = -mean * inv
    if beta is not None:
        offset = offset + _v(beta)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return x * inv.reshape(shape) + offset.reshape(shape), mean, variance


def scale_and_shift(x, scale, offset):
    """`x * scale + offset` (broadcast); XLA fuses it into one pass (BatchNormalization at inference).

    Example:
        >>> scale_and_shift(jnp.ones((2, 3)), jnp.full((3,), 2.0), jnp.ones(3))
        Array([[3., 3., 3.],
               [3., 3., 3.]], dtype=float32)
    """
    return _v(x) * _v(scale) + _v(offset)


def relu(x):
    return jax.nn.relu(_v(x))


def relu6(x):
    return jax.nn.relu6(_v(x))


def relu_in_place(x):
    """`relu(x)`; the caller reads `x` no more (torch writes over it; under XLA it is `relu`).

    Example:
        >>> relu_in_place(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    return relu(x)


def add_in_place(x, y):
    """`x + y`; the caller reads `x` no more (torch writes over it; under XLA it is `x + y`).

    Example:
        >>> add_in_place(jnp.ones(2), jnp.ones(2))
        Array([2., 2.], dtype=float32)
    """
    return jnp.add(_v(x), _v(y))


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(_v(x), negative_slope=negative_slope)


def sigmoid(x):
    return jax.nn.sigmoid(_v(x))


def log_sigmoid(x):
    return jax.nn.log_sigmoid(_v(x))


def hard_sigmoid(x):
    # Keras 3's definition: relu6(x + 3) / 6.
    return jnp.clip(_v(x) / 6.0 + 0.5, 0.0, 1.0)


def softmax(x, axis=-1):
    return jax.nn.softmax(_v(x), axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(_v(x), axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return jax.nn.logsumexp(_v(x), axis=axis, keepdims=keepdims)


def elu(x, alpha=1.0):
    return jax.nn.elu(_v(x), alpha=alpha)


def selu(x):
    return jax.nn.selu(_v(x))


def gelu(x, approximate=True):
    return jax.nn.gelu(_v(x), approximate=approximate)


def silu(x):
    return jax.nn.silu(_v(x))


def softplus(x):
    return jax.nn.softplus(_v(x))


def softsign(x):
    return jax.nn.soft_sign(_v(x))


def one_hot(indices, num_classes, dtype="float32"):
    return jax.nn.one_hot(_v(indices), num_classes, dtype=dtype)


def moments(x, axes, keepdims=False):
    x = _v(x)
    mean = jnp.mean(x, axis=axes, keepdims=True)
    variance = jnp.mean(jnp.square(x - jax.lax.stop_gradient(mean)), axis=axes, keepdims=True)
    if not keepdims:
        mean = jnp.squeeze(mean, axes)
        variance = jnp.squeeze(variance, axes)
    return mean, variance


def _layout(rank: int, data_format: str):
    spatial = "DHW"[-rank:] if rank <= 3 else None
    if data_format == "channels_last":
        return (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return (f"NC{spatial}", f"{spatial}IO", f"NC{spatial}")


def _tuple(value, rank: int) -> tuple:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def conv(x, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, groups=1, bias=None):
    """N-D convolution with a Keras kernel `(spatial..., in/groups, out)`, plus `bias` (out,) when given.

    Example:
        >>> conv(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 3, 2)), padding="same").shape
        (1, 5, 5, 2)
    """
    x, kernel = _v(x), _v(kernel)
    rank = x.ndim - 2
    out = jax.lax.conv_general_dilated(
        x,
        kernel,
        window_strides=_tuple(strides, rank),
        padding=padding.upper(),
        rhs_dilation=_tuple(dilation_rate, rank),
        dimension_numbers=_layout(rank, data_format),
        feature_group_count=groups,
    )
    if bias is None:
        return out
    bias = _v(bias)
    return out + (bias if data_format == "channels_last" else bias.reshape((1, -1) + (1,) * rank))


def depthwise_conv(x, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1):
    """Each input channel convolved with its own `multiplier` filters; kernel `(spatial..., in, multiplier)`.

    Output channel `c * multiplier + m` is input channel `c` under filter `m`, as in Keras.

    Example:
        >>> depthwise_conv(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 3, 2))).shape
        (1, 3, 3, 6)
    """
    kernel = _v(kernel)
    *spatial, channels, multiplier = kernel.shape
    grouped = jnp.reshape(kernel, (*spatial, 1, channels * multiplier))
    return conv(x, grouped, strides, padding, data_format, dilation_rate, groups=channels)


def separable_conv(
    x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1
):
    """A depthwise convolution, then a 1x1 convolution mixing the channels (kernel `(1..., in * multiplier, out)`).

    Example:
        >>> separable_conv(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 3, 1)), jnp.ones((1, 1, 3, 4))).shape
        (1, 3, 3, 4)
    """
    depthwise = depthwise_conv(x, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format)


def _transpose_geometry(size, kernel, stride, dilation, padding, output_padding):
    """`(crop_before, length)` of one axis of a transposed convolution, by Keras's output-size rule.

    The "full" transposed output has `(size - 1) * stride + span` entries; Keras keeps `length` of them,
    starting after `crop_before`, which is the "same" padding the matching forward convolution would put
    before (TensorFlow's rule: the odd pixel after). Entries past the full output are zeros.
    """
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        length = size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    else:
        length = (size - 1) * stride + span + output_padding - (0 if padding == "valid" else 2 * (span // 2))
    if padding == "valid":
        return 0, length
    return max((size - 1) * stride + span - length, 0) // 2, length


def conv_transpose(
    x, kernel, strides=1, padding="valid", output_padding=None, data_format="channels_last", dilation_rate=1
):
    """The transpose (gradient) of `conv`; kernel `(spatial..., out, in)` as Keras stores it.

    Example:
        >>> conv_transpose(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 2, 3)), strides=2, padding="same").shape
        (1, 8, 8, 2)
    """
    x, kernel = _v(x), _v(kernel)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    extra = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    sizes = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
    pads = []
    for i in range(rank):
        crop, length = _transpose_geometry(sizes[i], kernel.shape[i], strides[i], dilation[i], padding, extra[i])
        span = (kernel.shape[i] - 1) * dilation[i] + 1
        # A stride-dilated input, convolved with the flipped kernel, padded so that output j is full[j + crop].
        before = span - 1 - crop
        pads.append((before, length - (sizes[i] - 1) * strides[i] - 1 - before + span - 1))
    flipped = jnp.swapaxes(jnp.flip(kernel, axis=tuple(range(rank))), -1, -2)
    return jax.lax.conv_general_dilated(
        x,
        flipped,
        window_strides=(1,) * rank,
        padding=pads,
        lhs_dilation=strides,
        rhs_dilation=dilation,
        dimension_numbers=_layout(rank, data_format),
    )


def _pool_window(x, pool_size, strides, data_format):
    rank = x.ndim - 2
    pool = _tuple(pool_size, rank)
    strides = pool if strides is None else _tuple(strides, rank)
    if data_format == "channels_last":
        return (1, *pool, 1), (1, *strides, 1)
    return (1, 1, *pool), (1, 1, *strides)


def max_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """The maximum over each window; "same" padding never wins (it is -inf).

    Example:
        >>> max_pool(jnp.ones((1, 4, 4, 3)), 2).shape
        (1, 2, 2, 3)
    """
    x = _v(x)
    window, steps = _pool_window(x, pool_size, strides, data_format)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, steps, padding.upper())


def average_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """The mean over each window; with "same", padded entries are left out of the count (as Keras does).

    Example:
        >>> average_pool(jnp.ones((1, 4, 4, 3)), 2).shape
        (1, 2, 2, 3)
    """
    x = _v(x)
    window, steps = _pool_window(x, pool_size, strides, data_format)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, steps, padding.upper())
    if padding.lower() == "valid":
        size = 1
        for w in window:
            size *= w
        return total / size
    counts = jax.lax.reduce_window(jnp.ones_like(x), 0.0, jax.lax.add, window, steps, padding.upper())
    return total / counts


def resize_images(x, height_factor, width_factor, data_format="channels_last", interpolation="nearest"):
    """Images scaled up by integer factors: "nearest" repeats pixels, "bilinear" interpolates (half-pixel centers).

    Example:
        >>> resize_images(jnp.ones((1, 2, 3, 4)), 2, 3).shape
        (1, 4, 9, 4)
    """
    x = _v(x)
    rows, cols = (1, 2) if data_format == "channels_last" else (2, 3)
    if interpolation == "nearest":
        return jnp.repeat(jnp.repeat(x, height_factor, axis=rows), width_factor, axis=cols)
    if interpolation != "bilinear":
        raise ValueError(f'resize_images: interpolation must be "nearest" or "bilinear", got {interpolation!r}.')
    shape = list(x.shape)
    shape[rows], shape[cols] = shape[rows] * height_factor, shape[cols] * width_factor
    return jax.image.resize(x, tuple(shape), method="bilinear").astype(x.dtype)


def categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, epsilon, 1.0 - epsilon))
    return -jnp.sum(target * log_prob, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    target = target.astype("int32")
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, epsilon, 1.0 - epsilon))
    picked = jnp.take_along_axis(log_prob, jnp.expand_dims(target, axis), axis=axis)
    return -jnp.squeeze(picked, axis=axis)


def binary_crossentropy(target, output, from_logits=False, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if from_logits:
        return -(target * jax.nn.log_sigmoid(output) + (1.0 - target) * jax.nn.log_sigmoid(-output))
    output = jnp.clip(output, epsilon, 1.0 - epsilon)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _ctc_emissions(labels, log_probs, blank_index):
    """The label sequence with blanks around every label (batch, 2S+1) and its log-probabilities per step."""
    batch, steps = labels.shape
    classes = log_probs.shape[-1]
    labels = jnp.clip(labels.astype("int32"), 0, classes - 1)  # padding past a label's length is never read
    extended = jnp.full((batch, 2 * steps + 1), blank_index, dtype="int32").at[:, 1::2].set(labels)
    emissions = jnp.take_along_axis(log_probs, extended[:, None, :], axis=2)  # (batch, time, 2S+1)
    previous = jnp.pad(extended, ((0, 0), (2, 0)), constant_values=blank_index)[:, :-2]
    skip_allowed = (extended != blank_index) & (extended != previous)
    return extended, emissions, skip_allowed


# The log-probability of an impossible alignment: finite, so that gradients through logaddexp stay finite.
_CTC_NEVER = -1e30


def ctc_loss(labels, logits, label_length, logit_length, blank_index=0):
    """Connectionist temporal classification loss: minus the log-probability of `labels` given `logits`.

    A log-space forward (alpha) recursion over time, one `lax.scan`; repeated labels must be
    separated by a blank, as in TensorFlow's `ctc_loss` (no pre-collapsing of repeats). Impossible
    alignments hold a large finite negative log-probability rather than -inf, since the gradient of
    `logaddexp(-inf, -inf)` is NaN; a sample with no possible alignment gets an infinite loss.

    Args:
        labels: (batch, max_label_length) ints; entries past `label_length` are ignored.
        logits: (batch, time, classes) unnormalized scores (a log-softmax is applied).
        label_length: (batch,) ints, the length of each label sequence.
        logit_length: (batch,) ints, the number of valid time steps of each sample.
        blank_index: the class that is the CTC blank.

    Returns:
        (batch,) losses; `inf` where no alignment fits in `logit_length` steps.

    Example:
        >>> ctc_loss(jnp.array([[1, 2]]), jnp.zeros((1, 4, 3)), jnp.array([2]), jnp.array([4])).shape
        (1,)
    """
    labels, logits = jnp.asarray(_v(labels)), jnp.asarray(_v(logits))
    label_length = jnp.asarray(_v(label_length)).astype("int32")
    logit_length = jnp.asarray(_v(logit_length)).astype("int32")
    return _ctc_forward(labels, logits, label_length, logit_length, int(blank_index))


# Jitted so that eager calls (K.ctc_batch_cost on arrays) compile the scan once per shape, not per call.
@functools.partial(jax.jit, static_argnames="blank_index")
def _ctc_forward(labels, logits, label_length, logit_length, blank_index):
    log_probs = jax.nn.log_softmax(logits.astype("float32") if logits.dtype != jnp.float64 else logits, axis=-1)
    _, emissions, skip_allowed = _ctc_emissions(labels, log_probs, blank_index)
    width = emissions.shape[-1]
    never = jnp.array(_CTC_NEVER, log_probs.dtype)
    start = jnp.full((labels.shape[0], width), never).at[:, :2].set(emissions[:, 0, :2])
    start = jnp.where(jnp.arange(width)[None, :] < 2 * jnp.minimum(label_length, 1)[:, None] + 1, start, never)

    def step(alpha, inputs):
        emission_t, t = inputs
        stay = alpha
        advance = jnp.pad(alpha, ((0, 0), (1, 0)), constant_values=_CTC_NEVER)[:, :-1]
        skip = jnp.pad(alpha, ((0, 0), (2, 0)), constant_values=_CTC_NEVER)[:, :-2]
        skip = jnp.where(skip_allowed, skip, never)
        new_alpha = jnp.logaddexp(jnp.logaddexp(stay, advance), skip) + emission_t
        return jnp.where((t < logit_length)[:, None], new_alpha, alpha), None

    times = jnp.arange(1, emissions.shape[1])
    alpha, _ = jax.lax.scan(step, start, (jnp.swapaxes(emissions[:, 1:], 0, 1), times))
    last = jnp.take_along_axis(alpha, (2 * label_length)[:, None], axis=1)[:, 0]
    before_last = jnp.take_along_axis(alpha, jnp.maximum(2 * label_length - 1, 0)[:, None], axis=1)[:, 0]
    before_last = jnp.where(label_length > 0, before_last, never)
    log_likelihood = jnp.logaddexp(last, before_last)
    return jnp.where(log_likelihood < _CTC_NEVER / 2, jnp.inf, -log_likelihood)
