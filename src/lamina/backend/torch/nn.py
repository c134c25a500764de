"""Neural-network functions on PyTorch: activations, convolution, pooling, crossentropies."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812

from lamina.backend.torch.core import current_device, torch_dtype
from lamina.backend.torch.numpy import _t, add, matmul

__all__ = [
    "average_pool", "binary_crossentropy", "categorical_crossentropy", "conv", "conv_transpose", "ctc_loss", "dense",
    "batch_norm_training", "depthwise_conv", "elu", "gelu",
    "hard_sigmoid", "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "max_pool", "moments",
    "one_hot", "relu", "relu6", "relu_in_place", "add_in_place", "resize_images", "scale_and_shift", "selu",
    "separable_conv", "sigmoid", "silu",
    "softmax", "softplus", "softsign",
    "sparse_categorical_crossentropy",
]  # fmt: skip


def dense(x, kernel, bias=None):
    """`x @ kernel + bias`: one fused kernel (and backward node) when the dtypes agree.

    A batch of vectors takes `addmm`, which reads Keras's (in, out) kernel as it is: `linear` wants (out, in), and
    the transposes there and back cost two views and two backward nodes a layer (the same BLAS call either way).
    """
    x, kernel = _t(x), _t(kernel)
    bias = None if bias is None else _t(bias)
    if x.ndim >= 2 and x.dtype == kernel.dtype and (bias is None or bias.dtype == x.dtype):
        if x.ndim == 2:
            return torch.mm(x, kernel) if bias is None else torch.addmm(bias, x, kernel)
        return F.linear(x, kernel.t(), bias)
    out = matmul(x, kernel)
    return out if bias is None else add(out, bias)


def batch_norm_training(x, gamma, beta, axis: int, epsilon: float):
    """BatchNormalization in training: (normalized x, batch mean, biased batch variance), the statistics shaped
    like the channel axis `axis`; gamma and beta may be None.

    One fused torch kernel (forward and backward) reads the batch statistics when it can: more than one value per
    channel, one floating dtype. Its running variance is unbiased (Bessel's correction); Keras's is the biased one,
    so it is rescaled by (n - 1) / n.

    Example:
        >>> y, mean, variance = batch_norm_training(torch.randn(8, 3), None, None, -1, 1e-3)
    """
    x = _t(x)
    gamma, beta = (None if v is None else _t(v) for v in (gamma, beta))
    axis = axis % x.ndim
    channels = x.shape[axis]
    count = x.numel() // max(channels, 1)
    same_dtype = all(v is None or v.dtype == x.dtype for v in (gamma, beta))
    if count > 1 and x.is_floating_point() and same_dtype and x.device.type != "meta":
        moved = torch.movedim(x, axis, 1)
        mean = torch.zeros(channels, dtype=x.dtype, device=x.device)
        variance = torch.ones(channels, dtype=x.dtype, device=x.device)
        y = F.batch_norm(moved, mean, variance, gamma, beta, training=True, momentum=1.0, eps=epsilon)
        return torch.movedim(y, 1, axis), mean, variance * ((count - 1) / count)
    axes = tuple(i for i in range(x.ndim) if i != axis)
    mean, variance = moments(x, axes)
    inv = torch.rsqrt(variance + epsilon)
    inv = inv if gamma is None else inv * gamma
    offset = -mean * inv if beta is None else beta - mean * inv
    shape = [1] * x.ndim
    shape[axis] = channels
    return torch.addcmul(offset.reshape(shape), x, inv.reshape(shape)), mean, variance


def scale_and_shift(x, scale, offset):
    """`x * scale + offset` (broadcast), in one pass over `x` (BatchNormalization at inference).

    Example:
        >>> scale_and_shift(torch.ones(2, 3), torch.full((3,), 2.0), torch.ones(3))
        tensor([[3., 3., 3.],
                [3., 3., 3.]])
    """
    return torch.addcmul(_t(offset), _t(x), _t(scale))


def relu(x):
    return F.relu(_t(x))


def relu6(x):
    return F.relu6(_t(x))


def _writable(x) -> bool:
    """Whether torch lets `x` be written over with nothing lost: no autograd graph runs through it (a no_grad or
    inference-mode call), and an inference-mode tensor only inside inference mode."""
    return not x.requires_grad and (torch.is_inference_mode_enabled() or not x.is_inference())


def relu_in_place(x):
    """`relu(x)` written over `x`, which the caller reads no more (a model's inference call: one array fewer).

    Example:
        >>> relu_in_place(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    x = _t(x)
    return torch.relu_(x) if _writable(x) else F.relu(x)


def add_in_place(x, y):
    """`x + y` written over `x` where the sum has `x`'s shape and dtype; the caller reads `x` no more.

    Example:
        >>> add_in_place(torch.ones(2), torch.ones(2))
        tensor([2., 2.])
    """
    x, y = _t(x), _t(y)
    if _writable(x) and x.shape == torch.broadcast_shapes(x.shape, y.shape) and x.dtype == y.dtype:
        return x.add_(y)
    return torch.add(x, y)


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope=negative_slope)


def sigmoid(x):
    return torch.sigmoid(_t(x))


def log_sigmoid(x):
    return F.logsigmoid(_t(x))


def hard_sigmoid(x):
    # Keras 3's definition: relu6(x + 3) / 6.
    return torch.clamp(_t(x) / 6.0 + 0.5, 0.0, 1.0)


def softmax(x, axis=-1):
    x = _t(x)
    if isinstance(axis, int):
        out = torch.softmax(x, dim=axis)
        _remember_logits(out, x, axis)
        return out
    return torch.exp(x - torch.logsumexp(x, dim=tuple(axis), keepdim=True))  # over several axes, as JAX allows


def log_softmax(x, axis=-1):
    x = _t(x)
    if isinstance(axis, int):
        return torch.log_softmax(x, dim=axis)
    return x - torch.logsumexp(x, dim=tuple(axis), keepdim=True)


def logsumexp(x, axis=None, keepdims=False):
    x = _t(x)
    dims = tuple(range(x.ndim)) if axis is None else axis
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


def elu(x, alpha=1.0):
    return F.elu(_t(x), alpha=alpha)


def selu(x):
    return F.selu(_t(x))


def gelu(x, approximate=True):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def silu(x):
    return F.silu(_t(x))


def softplus(x):
    return F.softplus(_t(x))


def softsign(x):
    return F.softsign(_t(x))


def one_hot(indices, num_classes, dtype="float32"):
    # A comparison rather than F.one_hot: an index outside [0, num_classes) gives a row of zeros, as on JAX.
    classes = torch.arange(num_classes, device=current_device())
    return (torch.unsqueeze(_t(indices).long(), -1) == classes).to(torch_dtype(dtype))


def moments(x, axes, keepdims=False):
    x = _t(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)  # torch.mean takes no integers; JAX's mean gives float32
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean = torch.mean(x, dim=axes, keepdim=True)
    variance = torch.mean(torch.square(x - mean.detach()), dim=axes, keepdim=True)
    if not keepdims:
        mean, variance = torch.squeeze(mean, axes), torch.squeeze(variance, axes)
    return mean, variance


def _tuple(value, rank: int) -> tuple:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple:
    """TensorFlow's SAME padding for one axis: (before, after), the odd pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _to_channels_first(x, data_format: str):
    return torch.movedim(x, -1, 1) if data_format == "channels_last" else x


def _from_channels_first(x, data_format: str):
    return torch.movedim(x, 1, -1) if data_format == "channels_last" else x


def _pad_spatial(x, pads, value=0.0):
    flat = []
    for before, after in reversed(pads):
        flat.extend([before, after])
    return F.pad(x, flat, value=value)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def conv(x, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, groups=1, bias=None):
    """N-D convolution with a Keras kernel `(spatial..., in/groups, out)`, on torch's own kernels.

    A `bias` (out,) is added inside the convolution kernel: one pass over the output instead of two.

    Example:
        >>> conv(torch.ones(1, 5, 5, 3), torch.ones(3, 3, 3, 2), padding="same").shape
        torch.Size([1, 5, 5, 2])
    """
    x, kernel = _t(x), _t(kernel)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    weight = torch.movedim(kernel, (-1, -2), (0, 1))  # (out, in/groups, spatial...)
    x = _to_channels_first(x, data_format)
    pad_arg = 0
    if padding.lower() == "same":
        pads = [_same_padding(x.shape[2 + i], weight.shape[2 + i], strides[i], dilation[i]) for i in range(rank)]
        if all(before == after for before, after in pads):
            pad_arg = tuple(before for before, _ in pads)
        else:
            x = _pad_spatial(x, pads)
    bias = None if bias is None else _t(bias)
    fused = bias if bias is None or bias.dtype == x.dtype else None  # torch's kernel wants one dtype
    out = _CONV[rank](x, weight, fused, stride=strides, padding=pad_arg, dilation=dilation, groups=groups)
    if bias is not None and fused is None:
        out = add(out, bias.reshape((1, -1) + (1,) * rank))
    return _from_channels_first(out, data_format)


def depthwise_conv(x, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1):
    """Each input channel convolved with its own `multiplier` filters; kernel `(spatial..., in, multiplier)`.

    One grouped convolution (groups = input channels); output channel `c * multiplier + m` is input
    channel `c` under filter `m`, as in Keras.

    Example:
        >>> depthwise_conv(torch.ones(1, 5, 5, 3), torch.ones(3, 3, 3, 2)).shape
        torch.Size([1, 3, 3, 6])
    """
    kernel = _t(kernel)
    *spatial, channels, multiplier = kernel.shape
    grouped = torch.reshape(kernel, (*spatial, 1, channels * multiplier))
    return conv(x, grouped, strides, padding, data_format, dilation_rate, groups=channels)


def separable_conv(
    x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1
):
    """A depthwise convolution, then a 1x1 convolution mixing the channels (kernel `(1..., in * multiplier, out)`).

    Example:
        >>> separable_conv(torch.ones(1, 5, 5, 3), torch.ones(3, 3, 3, 1), torch.ones(1, 1, 3, 4)).shape
        torch.Size([1, 3, 3, 4])
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

    Runs as one `conv_transpose{1,2,3}d` whose symmetric crop and `output_padding` give Keras's output;
    where torch cannot express that crop, the full output is cut (and zero-extended) to it.

    Example:
        >>> conv_transpose(torch.ones(1, 4, 4, 3), torch.ones(3, 3, 2, 3), strides=2, padding="same").shape
        torch.Size([1, 8, 8, 2])
    """
    x, kernel = _t(x), _t(kernel)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    extra = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    weight = torch.movedim(kernel, (-1, -2), (0, 1))  # (in, out, spatial...)
    x = _to_channels_first(x, data_format)
    crops, lengths, extras = [], [], []
    for i in range(rank):
        size, kernel_size = x.shape[2 + i], weight.shape[2 + i]
        crop, length = _transpose_geometry(size, kernel_size, strides[i], dilation[i], padding, extra[i])
        span = (kernel_size - 1) * dilation[i] + 1
        crops.append(crop)
        lengths.append(length)
        extras.append(length - ((size - 1) * strides[i] + span - 2 * crop))
    if all(0 <= e < max(s, d) for e, s, d in zip(extras, strides, dilation)):
        out = _CONV_TRANSPOSE[rank](
            x, weight, stride=strides, padding=tuple(crops), output_padding=tuple(extras), dilation=dilation
        )
        return _from_channels_first(out, data_format)
    full = _CONV_TRANSPOSE[rank](x, weight, stride=strides, dilation=dilation)
    index = [slice(None), slice(None)]
    pads = []
    for i in range(rank):
        kept = full.shape[2 + i] - crops[i]
        index.append(slice(crops[i], crops[i] + lengths[i]))
        pads.append((0, max(lengths[i] - kept, 0)))
    return _from_channels_first(_pad_spatial(full[tuple(index)], pads), data_format)


def _pool_args(x, pool_size, strides):
    rank = x.ndim - 2
    pool = _tuple(pool_size, rank)
    steps = pool if strides is None else _tuple(strides, rank)
    return rank, pool, steps


def max_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """The maximum over each window; "same" padding never wins (it is -inf).

    Example:
        >>> max_pool(torch.ones(1, 4, 4, 3), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    x = _to_channels_first(_t(x), data_format)
    rank, pool, steps = _pool_args(x, pool_size, strides)
    if padding.lower() == "same":
        pads = [_same_padding(x.shape[2 + i], pool[i], steps[i], 1) for i in range(rank)]
        x = _pad_spatial(x, pads, value=-math.inf if x.is_floating_point() else torch.iinfo(x.dtype).min)
    return _from_channels_first(_MAX_POOL[rank](x, pool, steps), data_format)


def average_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """The mean over each window; with "same", padded entries are left out of the count (as Keras does).

    Example:
        >>> average_pool(torch.ones(1, 4, 4, 3), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    x = _to_channels_first(_t(x), data_format)
    rank, pool, steps = _pool_args(x, pool_size, strides)
    if padding.lower() == "valid":
        return _from_channels_first(_AVG_POOL[rank](x, pool, steps), data_format)
    pads = [_same_padding(x.shape[2 + i], pool[i], steps[i], 1) for i in range(rank)]
    window = math.prod(pool)
    total = _AVG_POOL[rank](_pad_spatial(x, pads), pool, steps) * window
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    counts = _AVG_POOL[rank](_pad_spatial(ones, pads), pool, steps) * window
    return _from_channels_first(total / counts, data_format)


def resize_images(x, height_factor, width_factor, data_format="channels_last", interpolation="nearest"):
    """Images scaled up by integer factors: "nearest" repeats pixels, "bilinear" interpolates (half-pixel centers).

    Example:
        >>> resize_images(torch.ones(1, 2, 3, 4), 2, 3).shape
        torch.Size([1, 4, 9, 4])
    """
    x = _t(x)
    rows, cols = (1, 2) if data_format == "channels_last" else (2, 3)
    if interpolation == "nearest":
        return torch.repeat_interleave(torch.repeat_interleave(x, height_factor, dim=rows), width_factor, dim=cols)
    if interpolation != "bilinear":
        raise ValueError(f'resize_images: interpolation must be "nearest" or "bilinear", got {interpolation!r}.')
    images = _to_channels_first(x, data_format)
    size = (images.shape[2] * height_factor, images.shape[3] * width_factor)
    out = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    return _from_channels_first(out, data_format)


def _remember_logits(probs, logits, axis) -> None:
    # The crossentropies below compute log(softmax) from the logits, as tf.keras did for a softmax output:
    # the same value, and three fewer kernels and backward nodes than normalize, clip and log. The version
    # counter guards against the probabilities having been changed in place since.
    # Under torch.compile the compiler fuses the plain formula anyway, and cannot trace the version check.
    if not torch.compiler.is_compiling():
        probs._lamina_logits = (logits, axis % probs.ndim, probs._version)


def _log_probs_from_logits(output, axis, epsilon):
    """log(clip(softmax, epsilon, 1 - epsilon)) from the remembered logits, or None."""
    remembered = getattr(output, "_lamina_logits", None)
    if remembered is None:
        return None
    logits, logits_axis, version = remembered
    if logits_axis != axis % output.ndim or version != output._version:
        return None
    # log is increasing, so clipping the probability equals clipping its log.
    return torch.clamp(torch.log_softmax(logits, dim=logits_axis), math.log(epsilon), math.log1p(-epsilon))


def categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _t(target), _t(output)
    log_prob = None if from_logits else _log_probs_from_logits(output, axis, epsilon)
    if log_prob is not None:
        return -torch.sum(target * log_prob, dim=axis)
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / torch.sum(output, dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(output, epsilon, 1.0 - epsilon))
    return -torch.sum(target * log_prob, dim=axis)


_NO_IGNORED_LABEL = -(2**63)  # F.cross_entropy skips targets equal to ignore_index: none is this


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _t(target), _t(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = torch.squeeze(target, -1)
    index = torch.unsqueeze(target.long(), axis)
    remembered = None if from_logits else getattr(output, "_lamina_logits", None)
    if remembered is not None and remembered[1] == axis % output.ndim and remembered[2] == output._version:
        logits = remembered[0]
        if logits.ndim == 2 and remembered[1] == 1 and index.shape[0] == logits.shape[0]:
            # One fused kernel (log_softmax and the pick) for the common (batch, classes) case; clipping
            # -log(p) to [-log(1 - eps), -log(eps)] is clipping p to [eps, 1 - eps]. No label is ignored.
            nll = F.cross_entropy(logits, index.squeeze(1), reduction="none", ignore_index=_NO_IGNORED_LABEL)
            return torch.clamp(nll, -math.log1p(-epsilon), -math.log(epsilon))
        log_prob = torch.log_softmax(logits, dim=remembered[1])
        picked = torch.clamp(torch.take_along_dim(log_prob, index, dim=axis), math.log(epsilon), math.log1p(-epsilon))
    elif from_logits:
        picked = torch.take_along_dim(torch.log_softmax(output, dim=axis), index, dim=axis)
    else:
        # Normalize and clip only the target class's probability: the same value and gradient as Keras's
        # normalize-clip-log over every class, in four small kernels instead of a pass over all classes.
        total = torch.sum(output, dim=axis, keepdim=True)
        picked = torch.log(torch.clamp(torch.take_along_dim(output, index, dim=axis) / total, epsilon, 1.0 - epsilon))
    return -torch.squeeze(picked, axis)


def binary_crossentropy(target, output, from_logits=False, epsilon=1e-7):
    target, output = _t(target), _t(output)
    if from_logits:
        return -(target * F.logsigmoid(output) + (1.0 - target) * F.logsigmoid(-output))
    output = torch.clamp(output, epsilon, 1.0 - epsilon)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def ctc_loss(labels, logits, label_length, logit_length, blank_index=0):
    """Connectionist temporal classification loss: minus the log-probability of `labels` given `logits`.

    torch's own `ctc_loss` kernel (no reduction, infinite losses kept); repeated labels must be
    separated by a blank, as in TensorFlow's `ctc_loss`.

    Args:
        labels: (batch, max_label_length) ints; entries past `label_length` are ignored.
        logits: (batch, time, classes) unnormalized scores (a log-softmax is applied).
        label_length: (batch,) ints, the length of each label sequence.
        logit_length: (batch,) ints, the number of valid time steps of each sample.
        blank_index: the class that is the CTC blank.

    Returns:
        (batch,) losses; `inf` where no alignment fits in `logit_length` steps.

    Example:
        >>> ctc_loss(torch.tensor([[1, 2]]), torch.zeros(1, 4, 3), torch.tensor([2]), torch.tensor([4])).shape
        torch.Size([1])
    """
    logits = _t(logits)
    if logits.dtype != torch.float64:
        logits = logits.to(torch.float32)  # torch's kernel takes float32 and float64 only
    classes = logits.shape[-1]
    labels = torch.clamp(_t(labels).long(), 0, classes - 1)  # padding past a label's length is never read
    log_probs = torch.log_softmax(logits, dim=-1).transpose(0, 1)  # (time, batch, classes), as torch expects
    lengths = _t(logit_length).long().reshape(-1)
    label_lengths = _t(label_length).long().reshape(-1)
    return F.ctc_loss(
        log_probs, labels, lengths, label_lengths, blank=blank_index, reduction="none", zero_infinity=False
    )
