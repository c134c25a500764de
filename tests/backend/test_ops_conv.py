"""The convolution, pooling and resizing ops, against NumPy references written out here (float64 loops)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lamina import ops

RTOL, ATOL = 1e-4, 1e-5


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _np(value):
    return np.asarray(ops.convert_to_numpy(value))


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _last(x, data_format):
    """channels_first -> channels_last (the references work channels_last)."""
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _back(x, data_format):
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


def _same_pads(size, span, stride):
    """TensorFlow's 'same': ceil(size / stride) outputs, the odd padded entry after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


# ------------------------------------------------------------------ references
def np_conv(x, kernel, strides=1, padding="valid", dilation=1, groups=1):
    """Direct N-D convolution, channels_last; kernel (k..., in/groups, out)."""
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    sizes, cin_g, cout = kernel.shape[:rank], kernel.shape[-2], kernel.shape[-1]
    spans = [(k - 1) * d + 1 for k, d in zip(sizes, dilation)]
    x = x.astype("float64")
    if padding == "same":
        x = np.pad(x, [(0, 0)] + [_same_pads(x.shape[1 + i], spans[i], strides[i]) for i in range(rank)] + [(0, 0)])
    outs = [(x.shape[1 + i] - spans[i]) // strides[i] + 1 for i in range(rank)]
    out = np.zeros((x.shape[0], *outs, cout))
    cout_g = cout // groups
    for tap in np.ndindex(*sizes):
        window = tuple(
            slice(tap[i] * dilation[i], tap[i] * dilation[i] + (outs[i] - 1) * strides[i] + 1, strides[i])
            for i in range(rank)
        )
        patch = x[(slice(None), *window)]
        for g in range(groups):
            taps = kernel[tap][:, g * cout_g : (g + 1) * cout_g]
            out[..., g * cout_g : (g + 1) * cout_g] += patch[..., g * cin_g : (g + 1) * cin_g] @ taps
    return out


def np_depthwise(x, kernel, strides=1, padding="valid", dilation=1):
    """Channel c under filter m -> output channel c * multiplier + m, one channel at a time."""
    channels, multiplier = kernel.shape[-2:]
    outs = []
    for c in range(channels):
        single = np_conv(x[..., c : c + 1], kernel[..., c : c + 1, :], strides, padding, dilation)
        outs.append(single)
    return np.concatenate(outs, axis=-1)  # c-major, m-minor: c * multiplier + m


def deconv_length(size, kernel, stride, dilation, padding, output_padding):
    """Keras's output length of a transposed convolution (its documented rule)."""
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    pad = 0 if padding == "valid" else span // 2
    return (size - 1) * stride + span - 2 * pad + output_padding


def np_conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation=1):
    """The adjoint of the forward convolution that maps the output length back to the input's.

    Input entry `o` and kernel tap `t` add `x[o] @ kernel[t].T` at output position
    `o * stride + t * dilation - pad_before`, where `pad_before` is what that forward convolution pads
    ('same': TensorFlow's rule; 'valid': nothing). Kernel (k..., out, in), channels_last.
    """
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    extra = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    sizes = kernel.shape[:rank]
    lengths = [deconv_length(x.shape[1 + i], sizes[i], strides[i], dilation[i], padding, extra[i]) for i in range(rank)]
    before = [0] * rank
    if padding == "same":
        spans = [(k - 1) * d + 1 for k, d in zip(sizes, dilation)]
        before = [max((x.shape[1 + i] - 1) * strides[i] + spans[i] - lengths[i], 0) // 2 for i in range(rank)]
    out = np.zeros((x.shape[0], *lengths, kernel.shape[-2]))
    for pos in np.ndindex(*x.shape[1 : 1 + rank]):
        for tap in np.ndindex(*sizes):
            where = [pos[i] * strides[i] + tap[i] * dilation[i] - before[i] for i in range(rank)]
            if all(0 <= w < n for w, n in zip(where, lengths)):
                out[(slice(None), *where)] += x[(slice(None), *pos)].astype("float64") @ kernel[tap].T
    return out


def np_pool(x, pool, strides, padding, mode):
    """Max or mean over windows, channels_last; 'same' leaves the padded entries out (max and count)."""
    rank = x.ndim - 2
    x = x.astype("float64")
    pads = [(0, 0)] * rank
    if padding == "same":
        pads = [_same_pads(x.shape[1 + i], pool[i], strides[i]) for i in range(rank)]
    padded = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=np.nan)
    outs = [(padded.shape[1 + i] - pool[i]) // strides[i] + 1 for i in range(rank)]
    out = np.empty((x.shape[0], *outs, x.shape[-1]))
    for pos in np.ndindex(*outs):
        window = tuple(slice(pos[i] * strides[i], pos[i] * strides[i] + pool[i]) for i in range(rank))
        values = padded[(slice(None), *window)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *pos)] = np.nanmax(values, 1) if mode == "max" else np.nanmean(values, 1)
    return out


def np_bilinear(x, factors):
    """Bilinear up-sampling with half-pixel centers and clamped edges, channels_last."""
    out = x.astype("float64")
    for axis, factor in zip((1, 2), factors):
        size = out.shape[axis]
        source = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, size - 1)
        weight = (source - low).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        out = np.take(out, low, axis) * (1 - weight) + np.take(out, high, axis) * weight
    return out


# ----------------------------------------------------------- the references
def test_references_on_hand_computed_cases():
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    kernel = np.array([1.0, 10.0]).reshape(2, 1, 1)
    np.testing.assert_array_equal(np_conv(x, kernel)[0, :, 0], [21, 32])
    # Transposed, stride 2: each input drops (x, 10x) two apart; 'valid' keeps the full output.
    np.testing.assert_array_equal(np_conv_transpose(x, kernel, 2)[0, :, 0], [1, 10, 2, 20, 3, 30])
    np.testing.assert_array_equal(np_pool(x, (2,), (1,), "same", "average")[0, :, 0], [1.5, 2.5, 3])
    np.testing.assert_array_equal(
        np_bilinear(np.array([0.0, 4.0]).reshape(1, 1, 2, 1), (1, 2))[0, 0, :, 0], [0, 1, 3, 4]
    )


def test_transpose_reference_is_the_adjoint_of_conv():
    """<conv(z), y> == <z, conv_transpose(y)>: the defining property, for lengths Keras's rule maps back."""
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(3, 2, 4))  # forward: 2 -> 4 channels; transposed kernel (k, out=2, in=4)
    for padding, stride, extra in (("same", 1, None), ("same", 2, 0), ("valid", 2, None), ("valid", 3, None)):
        z = rng.normal(size=(1, 9, 2))
        forward = np_conv(z, kernel, stride, padding)
        y = rng.normal(size=forward.shape)
        back = np_conv_transpose(y, kernel, stride, padding, extra)
        assert back.shape == z.shape
        assert np.isclose(np.sum(forward * y), np.sum(z * back))


# ------------------------------------------------------------------ the ops
CONV_CASES = [
    (1, dict()),
    (1, dict(strides=2, padding="same")),
    (1, dict(dilation_rate=2, padding="same", groups=2)),
    (2, dict(padding="same", strides=(2, 1))),
    (2, dict(dilation_rate=(2, 1), groups=2)),
    (3, dict(padding="same", strides=2)),
    (3, dict(dilation_rate=2)),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank, kwargs", CONV_CASES)
def test_conv(rank, kwargs, data_format):
    x = _x(2, *(5,) * rank, 4)
    kernel = _x(*(3,) * rank, 4 // kwargs.get("groups", 1), 6, seed=1)
    got = ops.conv(_back(x, data_format), kernel, data_format=data_format, **kwargs)
    want = np_conv(
        x,
        kernel,
        kwargs.get("strides", 1),
        kwargs.get("padding", "valid"),
        kwargs.get("dilation_rate", 1),
        kwargs.get("groups", 1),
    )
    np.testing.assert_allclose(_last(_np(got), data_format), want, RTOL, ATOL)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "rank, kwargs",
    [
        (1, dict()),
        (1, dict(strides=2, padding="same")),
        (2, dict(dilation_rate=2, padding="same")),
        (2, dict(strides=(1, 2))),
    ],
)
def test_depthwise_and_separable_conv(rank, kwargs, data_format):
    x = _x(2, *(5,) * rank, 3)
    depthwise = _x(*(3,) * rank, 3, 2, seed=1)
    pointwise = _x(*(1,) * rank, 6, 4, seed=2)
    args = (kwargs.get("strides", 1), kwargs.get("padding", "valid"), kwargs.get("dilation_rate", 1))
    want = np_depthwise(x, depthwise, *args)
    got = ops.depthwise_conv(_back(x, data_format), depthwise, data_format=data_format, **kwargs)
    np.testing.assert_allclose(_last(_np(got), data_format), want, RTOL, ATOL)
    got = ops.separable_conv(_back(x, data_format), depthwise, pointwise, data_format=data_format, **kwargs)
    np.testing.assert_allclose(_last(_np(got), data_format), want @ pointwise.reshape(6, 4), RTOL, ATOL)


TRANSPOSE_CASES = [
    (kernel, stride, dilation, padding, extra)
    for kernel, stride, dilation, padding, extra in itertools.product(
        (1, 2, 3, 4), (1, 2, 3), (1, 2), ("valid", "same"), (None, 0, 1, 2)
    )
    if not (stride > 1 and dilation > 1) and (extra is None or extra < stride)
]


@pytest.mark.parametrize("kernel_size, stride, dilation, padding, extra", TRANSPOSE_CASES)
def test_conv_transpose_1d_every_geometry(kernel_size, stride, dilation, padding, extra):
    x = _x(2, 4, 3)
    kernel = _x(kernel_size, 2, 3, seed=1)
    got = ops.conv_transpose(x, kernel, stride, padding, extra, "channels_last", dilation)
    want = np_conv_transpose(x, kernel, stride, padding, extra, dilation)
    np.testing.assert_allclose(_np(got), want, RTOL, ATOL)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "rank, kwargs",
    [
        (2, dict(strides=2, padding="same")),
        (2, dict(kernel=(4, 3), strides=(2, 3), padding="same", output_padding=(1, 2))),
        (2, dict(dilation_rate=(1, 2), padding="valid")),
        (3, dict(strides=2, padding="valid", output_padding=1)),
    ],
)
def test_conv_transpose_2d_3d(rank, kwargs, data_format):
    kwargs = dict(kwargs)
    sizes = kwargs.pop("kernel", (3,) * rank)
    x = _x(2, *(3,) * rank, 3)
    kernel = _x(*sizes, 2, 3, seed=1)
    got = ops.conv_transpose(_back(x, data_format), kernel, data_format=data_format, **kwargs)
    want = np_conv_transpose(
        x,
        kernel,
        kwargs.get("strides", 1),
        kwargs["padding"],
        kwargs.get("output_padding"),
        kwargs.get("dilation_rate", 1),
    )
    np.testing.assert_allclose(_last(_np(got), data_format), want, RTOL, ATOL)


POOL_CASES = [
    (1, (2,), None, "valid"),
    (1, (3,), (2,), "same"),
    (2, (2, 3), (1, 2), "same"),
    (2, (3, 3), (2, 2), "valid"),
    (3, (2, 2, 2), None, "valid"),
    (3, (3, 2, 2), (2, 1, 2), "same"),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("rank, pool, strides, padding", POOL_CASES)
def test_pooling(rank, pool, strides, padding, mode, data_format):
    x = _x(2, *(5,) * rank, 3)
    op = ops.max_pool if mode == "max" else ops.average_pool
    got = op(_back(x, data_format), pool, strides, padding, data_format)
    want = np_pool(x, pool, pool if strides is None else strides, padding, mode)
    np.testing.assert_allclose(_last(_np(got), data_format), want, RTOL, ATOL)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("factors", [(2, 2), (3, 1), (1, 4)])
def test_resize_images(factors, data_format):
    x = _x(2, 3, 4, 2)
    nearest = ops.resize_images(_back(x, data_format), *factors, data_format=data_format)
    np.testing.assert_array_equal(_last(_np(nearest), data_format), x.repeat(factors[0], 1).repeat(factors[1], 2))
    bilinear = ops.resize_images(_back(x, data_format), *factors, data_format=data_format, interpolation="bilinear")
    np.testing.assert_allclose(_last(_np(bilinear), data_format), np_bilinear(x, factors), RTOL, ATOL)


def test_resize_images_rejects_unknown_interpolation():
    with pytest.raises(ValueError, match="interpolation.*bicubic"):
        ops.resize_images(np.zeros((1, 2, 2, 1), "float32"), 2, 2, interpolation="bicubic")
