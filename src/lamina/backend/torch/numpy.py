"""NumPy-style array functions on PyTorch. Every name here exists in backend/jax/numpy.py too."""

from __future__ import annotations

import builtins

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from lamina.backend.common import Variable
from lamina.backend.torch.core import convert_to_tensor, current_device, torch_dtype

__all__ = [
    "abs", "add", "all", "any", "arange", "argmax", "argmin", "broadcast_to", "clip", "concatenate",
    "cos", "cumprod", "cumsum", "divide", "einsum", "equal", "exp", "expand_dims", "flip", "floor", "full", "full_like",
    "greater", "greater_equal", "isfinite", "isnan", "less", "less_equal", "log", "log1p",
    "logical_and", "logical_not", "logical_or", "matmul", "max", "maximum", "mean", "min", "minimum",
    "moveaxis", "multiply", "negative", "not_equal", "ones", "ones_like", "pad", "power", "prod",
    "repeat", "reshape", "round", "rsqrt", "sign", "sin", "sort", "split", "sqrt", "square", "squeeze", "stack", "std",
    "subtract", "sum", "take", "take_along_axis", "tanh", "tensordot", "tile", "transpose", "var",
    "where", "zeros", "zeros_like",
]  # fmt: skip


def _t(x):
    """A tensor from a tensor, Variable, array or Python number."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, Variable):
        return x.value
    return convert_to_tensor(x)


def _is_weak(x) -> bool:
    """Python scalars are weakly typed, as in JAX: `int32_tensor + 1.5` is float32, `int32_tensor + 1` int32."""
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _scalar(value, dtype: torch.dtype):
    if dtype.is_floating_point:
        return float(value)
    return bool(value) if dtype == torch.bool else int(value)


def _promote(a, b):
    """Two operands cast to one result dtype (Python scalars stay scalars), and that dtype.

    torch's own promotion, except that int64 appears only when an operand brings it:
    `bool_tensor + 1` is int32 and `add(2, 2)` is int32, as on the JAX engine.
    """
    a = a if _is_weak(a) else _t(a)
    b = b if _is_weak(b) else _t(b)
    if _is_weak(a) and _is_weak(b):
        a, b = convert_to_tensor(a), convert_to_tensor(b)
    elif isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype:
        return a, b, a.dtype  # the common case, kept cheap
    dtype = torch.result_type(a, b)
    if dtype == torch.int64 and not builtins.any(isinstance(v, torch.Tensor) and v.dtype == dtype for v in (a, b)):
        dtype = torch.int32
    return _cast(a, dtype), _cast(b, dtype), dtype


def _cast(value, dtype: torch.dtype):
    if _is_weak(value):
        return _scalar(value, dtype)
    return value if value.dtype == dtype else value.to(dtype)


def _full(value, dtype: torch.dtype, device) -> torch.Tensor:
    """A 0-d tensor; a fill on the device, not a copy from the host."""
    return torch.full((), value, dtype=dtype, device=device)


def _tensors(a, b):
    """Both operands as tensors of their common dtype (for torch functions that take no Python scalars)."""
    a, b, dtype = _promote(a, b)
    if _is_weak(a):
        a = _full(a, dtype, b.device)
    if _is_weak(b):
        b = _full(b, dtype, a.device)
    return a, b


def _binary(fn, a, b):
    """`fn(a, b)` after promotion; a Python scalar on the left is passed as a 0-d tensor."""
    a, b, dtype = _promote(a, b)
    if _is_weak(a):
        a = _full(a, dtype, b.device)
    return fn(a, b)


def _dims(axis):
    if axis is None:
        return None
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _as_tuple(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def _reduce(fn, x, axis, keepdims):
    x = _t(x)
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_dims(axis), keepdim=keepdims)


def _reduce_each(fn, x, axis, keepdims):
    """For torch reductions that take one dim at a time (all, any, prod)."""
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    dims = sorted((d % x.ndim for d in _as_tuple(axis)), reverse=True)
    for dim in dims:
        x = fn(x, dim=dim, keepdim=keepdims)
    return x


def _accumulator(x) -> torch.dtype | None:
    """Sums and products of bool and narrow integers accumulate in int32 (torch would use int64), as on JAX."""
    if x.dtype == torch.bool or (not x.is_floating_point() and not x.is_complex() and x.dtype != torch.int64):
        return torch.int32
    return None


def _floating(x):
    """Integer and bool inputs compute in float32, as JAX's mean/var/std do."""
    x = _t(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def abs(x):
    x = _t(x)
    return x if x.dtype == torch.bool else torch.abs(x)


def add(a, b):
    a, b, _ = _promote(a, b)
    return torch.add(a, b) if isinstance(a, torch.Tensor) else torch.add(b, a)


def all(x, axis=None, keepdims=False):
    return _reduce_each(torch.all, _t(x).bool(), axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce_each(torch.any, _t(x).bool(), axis, keepdims)


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None and builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
        dtype = "int32"  # JAX's default integer; torch's would be int64
    return torch.arange(start, stop, step, dtype=None if dtype is None else torch_dtype(dtype), device=current_device())


def _comparable(x):
    # torch's argmax/argmin refuse bool tensors; NumPy and JAX order False < True.
    x = _t(x)
    return x.to(torch.uint8) if x.dtype == torch.bool else x


def argmax(x, axis=None):
    return torch.argmax(_comparable(x), dim=axis).to(torch.int32)


def argmin(x, axis=None):
    return torch.argmin(_comparable(x), dim=axis).to(torch.int32)


def broadcast_to(x, shape):
    return torch.broadcast_to(_t(x), tuple(shape))


def clip(x, low, high):
    x = _t(x)
    low = low if low is None or _is_weak(low) else _t(low)
    high = high if high is None or _is_weak(high) else _t(high)
    if isinstance(low, torch.Tensor) or isinstance(high, torch.Tensor):
        # torch.clamp takes two numbers or two tensors, not one of each.
        low = _full(low, x.dtype, x.device) if _is_weak(low) else low
        high = _full(high, x.dtype, x.device) if _is_weak(high) else high
    return torch.clamp(x, low, high)


def concatenate(xs, axis=0):
    return torch.cat([_t(x) for x in xs], dim=axis)


def cos(x):
    return torch.cos(_t(x))


def cumprod(x, axis=None):
    x = _t(x)
    dtype = torch.int32 if x.dtype == torch.bool else (None if x.is_floating_point() else x.dtype)
    return torch.cumprod(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis, dtype=dtype)


def cumsum(x, axis=None):
    x = _t(x)
    dtype = torch.int32 if x.dtype == torch.bool else (None if x.is_floating_point() else x.dtype)
    return torch.cumsum(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis, dtype=dtype)


def divide(a, b):
    return _binary(torch.true_divide, a, b)


def einsum(subscripts, *operands):
    operands = [_t(o) for o in operands]
    dtype = operands[0].dtype
    for operand in operands[1:]:
        dtype = torch.promote_types(dtype, operand.dtype)
    return torch.einsum(subscripts, *[o.to(dtype) for o in operands])


def equal(a, b):
    return _binary(torch.eq, a, b)


def exp(x):
    return torch.exp(_t(x))


def expand_dims(x, axis):
    x = _t(x)
    axes = _as_tuple(axis)
    rank = x.ndim + len(axes)
    for dim in sorted(d % rank for d in axes):
        x = torch.unsqueeze(x, dim)
    return x


def flip(x, axis=None):
    x = _t(x)
    if axis is None:
        return torch.flip(x, tuple(range(x.dim())))
    return torch.flip(x, tuple(axis) if isinstance(axis, (list, tuple)) else (axis,))


def floor(x):
    x = _t(x)
    return x if x.dtype == torch.bool else torch.floor(x)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return torch_dtype(dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return torch.bool
    if isinstance(fill_value, (int, np.integer)):
        return torch.int32
    if isinstance(fill_value, (torch.Tensor, np.ndarray)):
        return _t(fill_value).dtype
    return torch.float32


def full(shape, fill_value, dtype=None):
    dtype = _fill_dtype(fill_value, dtype)
    if isinstance(fill_value, (torch.Tensor, Variable, np.ndarray)):
        return torch.broadcast_to(_t(fill_value).to(dtype), tuple(shape)).clone()
    return torch.full(tuple(shape), fill_value, dtype=dtype, device=current_device())


def full_like(x, fill_value, dtype=None):
    return torch.full_like(_t(x), fill_value, dtype=None if dtype is None else torch_dtype(dtype))


def greater(a, b):
    return _binary(torch.gt, a, b)


def greater_equal(a, b):
    return _binary(torch.ge, a, b)


def isfinite(x):
    return torch.isfinite(_t(x))


def isnan(x):
    return torch.isnan(_t(x))


def less(a, b):
    return _binary(torch.lt, a, b)


def less_equal(a, b):
    return _binary(torch.le, a, b)


def log(x):
    return torch.log(_t(x))


def log1p(x):
    return torch.log1p(_t(x))


def logical_and(a, b):
    return torch.logical_and(_t(a), _t(b))


def logical_not(x):
    return torch.logical_not(_t(x))


def logical_or(a, b):
    return torch.logical_or(_t(a), _t(b))


def matmul(a, b):
    return torch.matmul(*_tensors(a, b))


def max(x, axis=None, keepdims=False):
    return _reduce(torch.amax, x, axis, keepdims) if axis is not None else _reduce(torch.max, x, None, keepdims)


def maximum(a, b):
    a, b = _tensors(a, b)
    # torch.maximum, not clamp: at ties its gradient splits in halves, as JAX's does.
    return torch.logical_or(a, b) if a.dtype == torch.bool else torch.maximum(a, b)


def mean(x, axis=None, keepdims=False):
    return _reduce(torch.mean, _floating(x), axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(torch.amin, x, axis, keepdims) if axis is not None else _reduce(torch.min, x, None, keepdims)


def minimum(a, b):
    a, b = _tensors(a, b)
    # torch.minimum, not clamp: at ties its gradient splits in halves, as JAX's does.
    return torch.logical_and(a, b) if a.dtype == torch.bool else torch.minimum(a, b)


def moveaxis(x, source, destination):
    return torch.movedim(_t(x), source, destination)


def multiply(a, b):
    a, b, _ = _promote(a, b)
    return torch.mul(a, b) if isinstance(a, torch.Tensor) else torch.mul(b, a)


def negative(x):
    return torch.neg(_t(x))


def not_equal(a, b):
    return _binary(torch.ne, a, b)


def ones(shape, dtype=None):
    return torch.ones(tuple(shape), dtype=torch_dtype(dtype or "float32"), device=current_device())


def ones_like(x, dtype=None):
    return torch.ones_like(_t(x), dtype=None if dtype is None else torch_dtype(dtype))


_INDEX_PAD_MODES = ("reflect", "symmetric", "edge", "wrap")


def pad(x, pad_width, mode="constant", constant_values=0):
    """NumPy's `pad`: "constant" on torch's kernel; "reflect", "symmetric", "edge", "wrap" by gathering."""
    x = _t(x)
    widths = _pad_widths(pad_width, x.ndim)
    if mode == "constant":
        flat = []
        for before, after in reversed(widths):
            flat.extend([before, after])
        return torch.nn.functional.pad(x, flat, mode="constant", value=constant_values)
    if mode not in _INDEX_PAD_MODES:
        raise ValueError(f"pad: unsupported mode {mode!r}; expected 'constant' or one of {_INDEX_PAD_MODES}.")
    # torch's reflect/replicate kernels cover only the last 1-3 axes; gathering with the indices NumPy
    # itself computes gives NumPy's (and JAX's) result on any axis.
    for axis, (before, after) in enumerate(widths):
        if before or after:
            index = np.pad(np.arange(x.shape[axis]), (before, after), mode=mode)
            x = torch.index_select(x, axis, torch.as_tensor(index, device=x.device))
    return x


def _pad_widths(pad_width, rank: int) -> list:
    """NumPy's forms of pad_width (an int, one pair, or a pair per axis) as a pair per axis."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype="int64"), (rank, 2))
    return [(int(before), int(after)) for before, after in widths]


def power(a, b):
    a, b, dtype = _promote(a, b)
    if dtype == torch.bool:
        a, b, dtype = _cast(a, torch.int32), _cast(b, torch.int32), torch.int32
    return torch.pow(a, b)


def prod(x, axis=None, keepdims=False):
    x = _t(x)
    accumulate = _accumulator(x)
    return _reduce_each(lambda t, **kw: torch.prod(t, dtype=accumulate, **kw), x, axis, keepdims)


def repeat(x, repeats, axis=None):
    x = _t(x)
    if axis is None:
        return torch.repeat_interleave(x.reshape(-1), repeats)
    return torch.repeat_interleave(x, repeats, dim=axis)


def reshape(x, shape):
    return torch.reshape(_t(x), tuple(shape))


def round(x):
    x = _t(x)
    return torch.round(x) if x.is_floating_point() else x


def rsqrt(x):
    return torch.rsqrt(_floating(x))


def sign(x):
    return torch.sign(_t(x))


def sin(x):
    return torch.sin(_t(x))


def sort(x, axis=-1):
    """`x` sorted in ascending order along `axis`."""
    return torch.sort(_t(x), dim=axis).values


def sqrt(x):
    return torch.sqrt(_t(x))


def square(x):
    x = _t(x)
    return torch.square(x.to(torch.int32) if x.dtype == torch.bool else x)


def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        return torch.squeeze(x)
    return torch.squeeze(x, dim=_dims(axis))


def split(x, indices_or_sections, axis=0):
    """NumPy's `split`: `n` equal parts (n must divide the axis) or the parts between `indices`; a list.

    Equal parts take `torch.split`, whose backward joins the parts' gradients in one `cat` (slicing by hand
    zero-fills a whole-size gradient for each part).
    """
    x = _t(x)
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections < 1 or size % sections:
            raise ValueError(f"split: {sections} equal parts do not divide axis {axis} of size {size}.")
        return list(torch.split(x, size // sections, dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


def stack(xs, axis=0):
    return torch.stack([_t(x) for x in xs], dim=axis)


def std(x, axis=None, keepdims=False):
    return _reduce(lambda t, **kw: torch.std(t, correction=0, **kw), _floating(x), axis, keepdims)


def subtract(a, b):
    a, b, dtype = _promote(a, b)
    if _is_weak(a):
        return torch.sub(_full(a, dtype, b.device), b)
    return torch.sub(a, b)


def sum(x, axis=None, keepdims=False):
    x = _t(x)
    accumulate = _accumulator(x)
    if axis is None:
        out = torch.sum(x, dtype=accumulate)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.sum(x, dim=_dims(axis), keepdim=keepdims, dtype=accumulate)


def take(x, indices, axis=None):
    x, indices = _t(x), _t(indices).long()
    if axis is None:
        return torch.take(x, indices)
    axis = axis % x.ndim
    if axis == 0 and x.ndim == 2 and x.is_floating_point():
        # A table lookup (Embedding): torch's embedding kernel, whose backward sums the rows' gradients in one
        # dense pass, 2x faster than that of `x[indices]` (index_put with accumulation). Negative indices count
        # from the end, as NumPy's take does, without a read back to the host.
        try:
            return F.embedding(torch.where(indices < 0, indices + x.shape[0], indices), x)
        except IndexError as error:
            raise IndexError(f"take: an index is out of range for axis 0 of size {x.shape[0]}.") from error
    x = torch.movedim(x, axis, 0)
    out = x[indices]
    return torch.movedim(out, tuple(builtins.range(indices.ndim)), tuple(builtins.range(axis, axis + indices.ndim)))


def take_along_axis(x, indices, axis):
    return torch.take_along_dim(_t(x), _t(indices).long(), dim=axis)


def tanh(x):
    return torch.tanh(_t(x))


def tensordot(a, b, axes=2):
    return torch.tensordot(*_tensors(a, b), dims=axes)


def tile(x, reps):
    return torch.tile(_t(x), tuple(reps))


def transpose(x, axes=None):
    x = _t(x)
    if axes is None:
        axes = tuple(reversed(builtins.range(x.ndim)))
    return x.permute(*axes)


def var(x, axis=None, keepdims=False):
    return _reduce(lambda t, **kw: torch.var(t, correction=0, **kw), _floating(x), axis, keepdims)


def where(condition, a, b):
    condition = _t(condition).bool()
    a, b, _ = _promote(a, b)
    return torch.where(condition, a, b)


def zeros(shape, dtype=None):
    return torch.zeros(tuple(shape), dtype=torch_dtype(dtype or "float32"), device=current_device())


def zeros_like(x, dtype=None):
    return torch.zeros_like(_t(x), dtype=None if dtype is None else torch_dtype(dtype))
