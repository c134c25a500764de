"""NumPy-style array functions on PyTorch. Every name here exists in backend/jax/numpy.py too."""

from __future__ import annotations

import builtins

import torch

from lamina.backend.common import Variable
from lamina.backend.torch.core import _DEVICE, convert_to_tensor, torch_dtype

__all__ = [
    "abs", "add", "all", "any", "arange", "argmax", "argmin", "broadcast_to", "clip", "concatenate",
    "cos", "cumsum", "divide", "einsum", "equal", "exp", "expand_dims", "floor", "full", "full_like",
    "greater", "greater_equal", "isfinite", "isnan", "less", "less_equal", "log", "log1p",
    "logical_and", "logical_not", "logical_or", "matmul", "max", "maximum", "mean", "min", "minimum",
    "moveaxis", "multiply", "negative", "not_equal", "ones", "ones_like", "pad", "power", "prod",
    "repeat", "reshape", "round", "rsqrt", "sign", "sin", "sqrt", "square", "squeeze", "stack", "std",
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


def _pair(a, b):
    """Two operands as tensors; Python numbers stay numbers so torch's type promotion treats them as weak."""
    a = a if isinstance(a, (int, float, bool)) else _t(a)
    b = b if isinstance(b, (int, float, bool)) else _t(b)
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        a = _t(a)
    return a, b


def _dims(axis):
    if axis is None:
        return None
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _reduce(fn, x, axis, keepdims):
    x = _t(x)
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_dims(axis), keepdim=keepdims)


def abs(x):
    return torch.abs(_t(x))


def add(a, b):
    a, b = _pair(a, b)
    return torch.add(a, b) if isinstance(a, torch.Tensor) else torch.add(b, a)


def all(x, axis=None, keepdims=False):
    x = _t(x).bool()
    if axis is None:
        return torch.all(x)
    for dim in sorted(_as_tuple(axis), reverse=True):
        x = torch.all(x, dim=dim, keepdim=keepdims)
    return x


def any(x, axis=None, keepdims=False):
    x = _t(x).bool()
    if axis is None:
        return torch.any(x)
    for dim in sorted(_as_tuple(axis), reverse=True):
        x = torch.any(x, dim=dim, keepdim=keepdims)
    return x


def _as_tuple(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, step, dtype=None if dtype is None else torch_dtype(dtype), device=_DEVICE)


def argmax(x, axis=None):
    return torch.argmax(_t(x), dim=axis)


def argmin(x, axis=None):
    return torch.argmin(_t(x), dim=axis)


def broadcast_to(x, shape):
    return torch.broadcast_to(_t(x), tuple(shape))


def clip(x, low, high):
    return torch.clamp(_t(x), low, high)


def concatenate(xs, axis=0):
    return torch.cat([_t(x) for x in xs], dim=axis)


def cos(x):
    return torch.cos(_t(x))


def cumsum(x, axis=None):
    x = _t(x)
    return torch.cumsum(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis)


def divide(a, b):
    a, b = _t(a), b if isinstance(b, (int, float)) else _t(b)
    return torch.true_divide(a, b)


def einsum(subscripts, *operands):
    return torch.einsum(subscripts, *[_t(o) for o in operands])


def equal(a, b):
    a, b = _t(a), b if isinstance(b, (int, float, bool)) else _t(b)
    return torch.eq(a, b)


def exp(x):
    return torch.exp(_t(x))


def expand_dims(x, axis):
    return torch.unsqueeze(_t(x), axis)


def floor(x):
    return torch.floor(_t(x))


def full(shape, fill_value, dtype=None):
    return torch.full(tuple(shape), fill_value, dtype=torch_dtype(dtype or "float32"), device=_DEVICE)


def full_like(x, fill_value, dtype=None):
    return torch.full_like(_t(x), fill_value, dtype=None if dtype is None else torch_dtype(dtype))


def greater(a, b):
    return torch.gt(_t(a), b if isinstance(b, (int, float)) else _t(b))


def greater_equal(a, b):
    return torch.ge(_t(a), b if isinstance(b, (int, float)) else _t(b))


def isfinite(x):
    return torch.isfinite(_t(x))


def isnan(x):
    return torch.isnan(_t(x))


def less(a, b):
    return torch.lt(_t(a), b if isinstance(b, (int, float)) else _t(b))


def less_equal(a, b):
    return torch.le(_t(a), b if isinstance(b, (int, float)) else _t(b))


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
    return torch.matmul(_t(a), _t(b))


def max(x, axis=None, keepdims=False):
    return _reduce(torch.amax, x, axis, keepdims) if axis is not None else _reduce(torch.max, x, None, keepdims)


def maximum(a, b):
    a, b = _t(a), _t(b)
    return torch.maximum(a, b.to(a.dtype) if b.dtype != a.dtype and b.ndim == 0 else b)


def mean(x, axis=None, keepdims=False):
    x = _t(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    return _reduce(torch.mean, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(torch.amin, x, axis, keepdims) if axis is not None else _reduce(torch.min, x, None, keepdims)


def minimum(a, b):
    a, b = _t(a), _t(b)
    return torch.minimum(a, b.to(a.dtype) if b.dtype != a.dtype and b.ndim == 0 else b)


def moveaxis(x, source, destination):
    return torch.movedim(_t(x), source, destination)


def multiply(a, b):
    a, b = _pair(a, b)
    return torch.mul(a, b) if isinstance(a, torch.Tensor) else torch.mul(b, a)


def negative(x):
    return torch.neg(_t(x))


def not_equal(a, b):
    return torch.ne(_t(a), b if isinstance(b, (int, float, bool)) else _t(b))


def ones(shape, dtype=None):
    return torch.ones(tuple(shape), dtype=torch_dtype(dtype or "float32"), device=_DEVICE)


def ones_like(x, dtype=None):
    return torch.ones_like(_t(x), dtype=None if dtype is None else torch_dtype(dtype))


def pad(x, pad_width, mode="constant", constant_values=0):
    x = _t(x)
    flat = []
    for before, after in reversed([tuple(p) for p in pad_width]):
        flat.extend([before, after])
    if mode == "constant":
        return torch.nn.functional.pad(x, flat, mode="constant", value=constant_values)
    return torch.nn.functional.pad(x, flat, mode=mode)


def power(a, b):
    if not isinstance(a, (torch.Tensor, Variable)):
        base = _t(b)
        return torch.pow(torch.as_tensor(a, dtype=base.dtype, device=base.device), base)
    return torch.pow(_t(a), b if isinstance(b, (int, float)) else _t(b))


def prod(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        return torch.prod(x)
    for dim in sorted(_as_tuple(axis), reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keepdims)
    return x


def repeat(x, repeats, axis=None):
    x = _t(x)
    if axis is None:
        return torch.repeat_interleave(x.reshape(-1), repeats)
    return torch.repeat_interleave(x, repeats, dim=axis)


def reshape(x, shape):
    return torch.reshape(_t(x), tuple(shape))


def round(x):
    return torch.round(_t(x))


def rsqrt(x):
    return torch.rsqrt(_t(x))


def sign(x):
    return torch.sign(_t(x))


def sin(x):
    return torch.sin(_t(x))


def sqrt(x):
    return torch.sqrt(_t(x))


def square(x):
    return torch.square(_t(x))


def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        return torch.squeeze(x)
    return torch.squeeze(x, dim=_dims(axis))


def stack(xs, axis=0):
    return torch.stack([_t(x) for x in xs], dim=axis)


def std(x, axis=None, keepdims=False):
    return _reduce(lambda t, **kw: torch.std(t, correction=0, **kw), x, axis, keepdims)


def subtract(a, b):
    a, b = _pair(a, b)
    return torch.sub(a, b) if isinstance(a, torch.Tensor) else torch.sub(torch.as_tensor(a, dtype=b.dtype), b)


def sum(x, axis=None, keepdims=False):
    return _reduce(torch.sum, x, axis, keepdims)


def take(x, indices, axis=None):
    x, indices = _t(x), _t(indices).long()
    if axis is None:
        return torch.take(x, indices)
    x = torch.movedim(x, axis, 0)
    out = x[indices]
    return torch.movedim(out, tuple(builtins.range(indices.ndim)), tuple(builtins.range(axis, axis + indices.ndim)))


def take_along_axis(x, indices, axis):
    return torch.take_along_dim(_t(x), _t(indices).long(), dim=axis)


def tanh(x):
    return torch.tanh(_t(x))


def tensordot(a, b, axes=2):
    return torch.tensordot(_t(a), _t(b), dims=axes)


def tile(x, reps):
    return torch.tile(_t(x), tuple(reps))


def transpose(x, axes=None):
    x = _t(x)
    if axes is None:
        axes = tuple(reversed(builtins.range(x.ndim)))
    return x.permute(*axes)


def var(x, axis=None, keepdims=False):
    return _reduce(lambda t, **kw: torch.var(t, correction=0, **kw), x, axis, keepdims)


def where(condition, a, b):
    condition = _t(condition).bool()
    if not isinstance(a, (torch.Tensor, Variable)) and not isinstance(b, (torch.Tensor, Variable)):
        a, b = _t(a), _t(b)
    a = _t(a) if isinstance(a, Variable) or not isinstance(a, (int, float)) else a
    b = _t(b) if isinstance(b, Variable) or not isinstance(b, (int, float)) else b
    return torch.where(condition, a, b)


def zeros(shape, dtype=None):
    return torch.zeros(tuple(shape), dtype=torch_dtype(dtype or "float32"), device=_DEVICE)


def zeros_like(x, dtype=None):
    return torch.zeros_like(_t(x), dtype=None if dtype is None else torch_dtype(dtype))
