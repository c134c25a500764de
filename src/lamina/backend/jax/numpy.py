"""NumPy-style array functions on JAX. Every name here exists in backend/torch/numpy.py too."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lamina.backend.common import Variable, standardize_dtype

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


def _v(x):
    return x.value if isinstance(x, Variable) else x


def _dt(dtype):
    return None if dtype is None else standardize_dtype(dtype)


def abs(x):
    return jnp.abs(_v(x))


def add(a, b):
    return jnp.add(_v(a), _v(b))


def all(x, axis=None, keepdims=False):
    return jnp.all(_v(x), axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return jnp.any(_v(x), axis=axis, keepdims=keepdims)


def arange(start, stop=None, step=1, dtype=None):
    return jnp.arange(start, stop, step, dtype=_dt(dtype))


def argmax(x, axis=None):
    return jnp.argmax(_v(x), axis=axis)


def argmin(x, axis=None):
    return jnp.argmin(_v(x), axis=axis)


def broadcast_to(x, shape):
    return jnp.broadcast_to(_v(x), shape)


def clip(x, low, high):
    return jnp.clip(_v(x), low, high)


def concatenate(xs, axis=0):
    return jnp.concatenate([_v(x) for x in xs], axis=axis)


def cos(x):
    return jnp.cos(_v(x))


def cumprod(x, axis=None):
    return jnp.cumprod(_v(x), axis=axis)


def cumsum(x, axis=None):
    return jnp.cumsum(_v(x), axis=axis)


def divide(a, b):
    return jnp.divide(_v(a), _v(b))


def einsum(subscripts, *operands):
    return jnp.einsum(subscripts, *[_v(o) for o in operands])


def equal(a, b):
    return jnp.equal(_v(a), _v(b))


def exp(x):
    return jnp.exp(_v(x))


def expand_dims(x, axis):
    return jnp.expand_dims(_v(x), axis)


def flip(x, axis=None):
    return jnp.flip(_v(x), axis=axis)


def floor(x):
    return jnp.floor(_v(x))


def full(shape, fill_value, dtype=None):
    return jnp.full(shape, fill_value, dtype=_dt(dtype))


def full_like(x, fill_value, dtype=None):
    return jnp.full_like(_v(x), fill_value, dtype=_dt(dtype))


def greater(a, b):
    return jnp.greater(_v(a), _v(b))


def greater_equal(a, b):
    return jnp.greater_equal(_v(a), _v(b))


def isfinite(x):
    return jnp.isfinite(_v(x))


def isnan(x):
    return jnp.isnan(_v(x))


def less(a, b):
    return jnp.less(_v(a), _v(b))


def less_equal(a, b):
    return jnp.less_equal(_v(a), _v(b))


def log(x):
    return jnp.log(_v(x))


def log1p(x):
    return jnp.log1p(_v(x))


def logical_and(a, b):
    return jnp.logical_and(_v(a), _v(b))


def logical_not(x):
    return jnp.logical_not(_v(x))


def logical_or(a, b):
    return jnp.logical_or(_v(a), _v(b))


def matmul(a, b):
    return jnp.matmul(_v(a), _v(b))


def max(x, axis=None, keepdims=False):
    return jnp.max(_v(x), axis=axis, keepdims=keepdims)


def maximum(a, b):
    return jnp.maximum(_v(a), _v(b))


def mean(x, axis=None, keepdims=False):
    return jnp.mean(_v(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return jnp.min(_v(x), axis=axis, keepdims=keepdims)


def minimum(a, b):
    return jnp.minimum(_v(a), _v(b))


def moveaxis(x, source, destination):
    return jnp.moveaxis(_v(x), source, destination)


def multiply(a, b):
    return jnp.multiply(_v(a), _v(b))


def negative(x):
    return jnp.negative(_v(x))


def not_equal(a, b):
    return jnp.not_equal(_v(a), _v(b))


def ones(shape, dtype=None):
    return jnp.ones(shape, dtype=_dt(dtype) or "float32")


def ones_like(x, dtype=None):
    return jnp.ones_like(_v(x), dtype=_dt(dtype))


def pad(x, pad_width, mode="constant", constant_values=0):
    if mode == "constant":
        return jnp.pad(_v(x), pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(_v(x), pad_width, mode=mode)


def power(a, b):
    return jnp.power(_v(a), _v(b))


def prod(x, axis=None, keepdims=False):
    return jnp.prod(_v(x), axis=axis, keepdims=keepdims)


def repeat(x, repeats, axis=None):
    return jnp.repeat(_v(x), repeats, axis=axis)


def reshape(x, shape):
    return jnp.reshape(_v(x), shape)


def round(x):
    return jnp.round(_v(x))


def rsqrt(x):
    return 1.0 / jnp.sqrt(_v(x))


def sign(x):
    return jnp.sign(_v(x))


def sin(x):
    return jnp.sin(_v(x))


def sort(x, axis=-1):
    """`x` sorted in ascending order along `axis`."""
    return jnp.sort(_v(x), axis=axis)


def sqrt(x):
    return jnp.sqrt(_v(x))


def square(x):
    return jnp.square(_v(x))


def squeeze(x, axis=None):
    return jnp.squeeze(_v(x), axis=axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's `split`: `n` equal parts (n must divide the axis) or the parts between `indices`; a list."""
    x = _v(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        sections, size = int(indices_or_sections), x.shape[axis]
        if sections < 1 or size % sections:
            raise ValueError(f"split: {sections} equal parts do not divide axis {axis} of size {size}.")
    return list(jnp.split(x, indices_or_sections, axis=axis))


def stack(xs, axis=0):
    return jnp.stack([_v(x) for x in xs], axis=axis)


def std(x, axis=None, keepdims=False):
    return jnp.std(_v(x), axis=axis, keepdims=keepdims)


def subtract(a, b):
    return jnp.subtract(_v(a), _v(b))


def sum(x, axis=None, keepdims=False):
    return jnp.sum(_v(x), axis=axis, keepdims=keepdims)


def take(x, indices, axis=None):
    return jnp.take(_v(x), _v(indices), axis=axis)


def take_along_axis(x, indices, axis):
    return jnp.take_along_axis(_v(x), _v(indices), axis=axis)


def tanh(x):
    return jnp.tanh(_v(x))


def tensordot(a, b, axes=2):
    return jnp.tensordot(_v(a), _v(b), axes=axes)


def tile(x, reps):
    return jnp.tile(_v(x), reps)


def transpose(x, axes=None):
    return jnp.transpose(_v(x), axes)


def var(x, axis=None, keepdims=False):
    return jnp.var(_v(x), axis=axis, keepdims=keepdims)


def where(condition, a, b):
    return jnp.where(_v(condition), _v(a), _v(b))


def zeros(shape, dtype=None):
    return jnp.zeros(shape, dtype=_dt(dtype) or "float32")


def zeros_like(x, dtype=None):
    return jnp.zeros_like(_v(x), dtype=_dt(dtype))
