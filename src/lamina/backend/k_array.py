"""Keras 2's K.* array functions over lamina's ops: padding, resizing, reversing, cumulative sums, top-k tests.

They take engine tensors, Variables, NumPy arrays or Python numbers, and return engine tensors
(or Python values where Keras 2 did). lamina has no sparse tensors: `is_sparse` is always False.

Example:
    >>> from lamina import backend as K
    >>> K.eval(K.cumsum(np.array([[1, 2], [3, 4]]), axis=1))
    array([[1, 3],
           [3, 7]])
"""

from __future__ import annotations

import builtins

import numpy as np

from lamina import ops
from lamina.backend.common import KerasTensor, Variable
from lamina.config import floatx, image_data_format

__all__ = [
    "all", "any", "arange", "batch_flatten", "cast_to_floatx", "cumprod", "cumsum", "dropout",
    "get_variable_shape", "greater_equal", "identity", "in_top_k", "is_sparse", "is_tensor", "less_equal",
    "logsumexp", "normalize_data_format", "prod", "repeat", "resize_images", "resize_volumes", "reverse",
    "size", "slice", "softsign", "spatial_2d_padding", "spatial_3d_padding", "temporal_padding", "to_dense",
]  # fmt: skip


def _tensor(x):
    return ops.convert_to_tensor(x.value if isinstance(x, Variable) else x)


def normalize_data_format(value) -> str:
    """`value` checked and lower-cased; None gives `K.image_data_format()`.

    Example:
        >>> K.normalize_data_format(None)
        'channels_last'
    """
    data_format = image_data_format() if value is None else str(value).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'data_format must be "channels_last" or "channels_first", got {value!r}.')
    return data_format


def cast_to_floatx(x) -> np.ndarray:
    """`x` as a NumPy array of dtype `K.floatx()`.

    Example:
        >>> K.cast_to_floatx([1, 2]).dtype
        dtype('float32')
    """
    return np.asarray(x, dtype=floatx())


def is_tensor(x) -> bool:
    """Whether `x` is an engine tensor or a symbolic tensor (not a NumPy array or a Variable)."""
    return isinstance(x, KerasTensor) or ops.is_tensor(x)


def is_sparse(tensor) -> bool:
    """Always False: lamina's tensors are dense (Keras 2 code checks this before calling `to_dense`)."""
    return False


def to_dense(tensor):
    """The tensor itself, as a tensor: lamina has no sparse tensors to densify."""
    return _tensor(tensor)


def get_variable_shape(x) -> tuple:
    """The static shape of a Variable or tensor (Keras 2's older name for `int_shape`)."""
    return tuple(x.shape)


def identity(x, name=None):
    """A tensor with the same value as `x` (a Variable's current value)."""
    x = _tensor(x)
    return ops.add(x, ops.zeros_like(x))


def prod(x, axis=None, keepdims=False):
    """The product of the entries along `axis` (all of them by default)."""
    return ops.prod(_tensor(x), axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """Whether any entry along `axis` is nonzero (booleans)."""
    return ops.any(ops.not_equal(_tensor(x), 0), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every entry along `axis` is nonzero (booleans)."""
    return ops.all(ops.not_equal(_tensor(x), 0), axis=axis, keepdims=keepdims)


def greater_equal(x, y):
    """Elementwise `x >= y` (booleans)."""
    return ops.greater_equal(_tensor(x), _tensor(y))


def less_equal(x, y):
    """Elementwise `x <= y` (booleans)."""
    return ops.less_equal(_tensor(x), _tensor(y))


def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` along `axis`, computed without overflow."""
    return ops.logsumexp(_tensor(x), axis=axis, keepdims=keepdims)


def softsign(x):
    """`x / (1 + |x|)`, elementwise."""
    return ops.softsign(_tensor(x))


def cumsum(x, axis=0):
    """Cumulative sum along `axis` (Keras 2's default: the first axis)."""
    return ops.cumsum(_tensor(x), axis=axis)


def cumprod(x, axis=0):
    """Cumulative product along `axis` (Keras 2's default: the first axis)."""
    return ops.cumprod(_tensor(x), axis=axis)


def arange(start, stop=None, step=1, dtype="int32"):
    """`[start, start + step, ...)` below `stop`; one argument is the stop (a negative one gives an empty range).

    Example:
        >>> K.eval(K.arange(5))
        array([0, 1, 2, 3, 4], dtype=int32)
    """
    if stop is None:
        start, stop = 0, builtins.max(start, 0)
    return ops.cast(ops.convert_to_tensor(np.arange(start, stop, step)), dtype)


def batch_flatten(x):
    """`x` reshaped to (batch, everything else).

    Example:
        >>> K.int_shape(K.batch_flatten(np.zeros((2, 3, 4))))
        (2, 12)
    """
    x = _tensor(x)
    return ops.reshape(x, (x.shape[0], -1))


def size(x, name=None):
    """The number of entries of `x`, as an int32 scalar tensor."""
    return ops.convert_to_tensor(np.array(int(np.prod(tuple(_tensor(x).shape))), dtype="int32"))


def slice(x, start, size):
    """The block of `x` starting at `start` with extent `size` per axis (-1: to the end).

    Example:
        >>> K.int_shape(K.slice(np.zeros((4, 5)), (1, 2), (2, -1)))
        (2, 3)
    """
    x = _tensor(x)
    start, size = [int(v) for v in start], [int(v) for v in size]
    if len(start) != len(x.shape) or len(size) != len(x.shape):
        raise ValueError(
            f"K.slice: start and size need one entry per axis of x (shape {tuple(x.shape)}), "
            f"got start={start}, size={size}."
        )
    index = tuple(builtins.slice(b, None if n == -1 else b + n) for b, n in zip(start, size))
    return x[index]


def repeat(x, n):
    """A 2-D `x` (batch, dim) repeated `n` times along a new axis 1: (batch, n, dim).

    Example:
        >>> K.int_shape(K.repeat(np.zeros((2, 3)), 4))
        (2, 4, 3)
    """
    x = _tensor(x)
    if len(x.shape) != 2:
        raise ValueError(f"K.repeat expects a 2-D input (batch, dim), got shape {tuple(x.shape)}.")
    return ops.repeat(ops.expand_dims(x, 1), n, axis=1)


def reverse(x, axes):
    """`x` with the order of its entries reversed along `axes` (an int or a list)."""
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    return ops.flip(_tensor(x), axis=axes)


def in_top_k(predictions, targets, k):
    """Whether each sample's `targets` class is among its `k` highest `predictions` (ties count as in).

    As TensorFlow's `in_top_k`: the target is in when fewer than `k` classes score strictly higher;
    a non-finite target score is never in.

    Example:
        >>> K.eval(K.in_top_k(np.array([[0.1, 0.9, 0.0]]), np.array([0]), 2))
        array([ True])
    """
    predictions = _tensor(predictions)
    targets = ops.cast(ops.reshape(_tensor(targets), (-1, 1)), "int32")
    target_score = ops.take_along_axis(predictions, targets, axis=1)
    higher = ops.sum(ops.cast(ops.greater(predictions, target_score), "int32"), axis=1)
    finite = ops.isfinite(ops.squeeze(target_score, 1))
    return ops.logical_and(ops.less(higher, k), finite)


def dropout(x, level, noise_shape=None, seed=None):
    """Zeroes a `level` fraction of `x` (at random) and scales the rest by `1 / (1 - level)`; always active.

    Example:
        >>> K.dropout(np.ones((2, 3), "float32"), 0.5, seed=1)
    """
    from lamina.backend.common.seed import seed_for_draw

    if not 0.0 <= level < 1.0:
        raise ValueError(f"K.dropout: level must be in [0, 1), got {level!r}.")
    seed = seed_for_draw(seed)  # inside a Lambda, its own generator: new masks every step
    shape = None if noise_shape is None else tuple(noise_shape)
    return ops.random.dropout(_tensor(x), level, seed, noise_shape=shape)


def temporal_padding(x, padding=(1, 1)):
    """Zeros added before and after the time axis (axis 1) of a 3-D tensor."""
    x = _tensor(x)
    if len(x.shape) != 3 or len(padding) != 2:
        raise ValueError(f"K.temporal_padding expects a 3-D input and 2 pads, got {tuple(x.shape)} and {padding}.")
    return ops.pad(x, [(0, 0), tuple(padding), (0, 0)])


def _spatial_padding(x, padding, data_format, rank: int, function: str):
    x = _tensor(x)
    padding = [tuple(p) for p in padding]
    if len(x.shape) != rank + 2 or len(padding) != rank or builtins.any(len(p) != 2 for p in padding):
        raise ValueError(
            f"K.{function} expects a {rank + 2}-D input and {rank} (before, after) pairs, got shape "
            f"{tuple(x.shape)} and padding {padding}."
        )
    if normalize_data_format(data_format) == "channels_last":
        return ops.pad(x, [(0, 0), *padding, (0, 0)])
    return ops.pad(x, [(0, 0), (0, 0), *padding])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zeros around the rows and columns of a 4-D tensor: `padding` is ((top, bottom), (left, right))."""
    return _spatial_padding(x, padding, data_format, 2, "spatial_2d_padding")


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zeros around the three spatial axes of a 5-D tensor: one (before, after) pair per axis."""
    return _spatial_padding(x, padding, data_format, 3, "spatial_3d_padding")


def resize_images(x, height_factor, width_factor, data_format=None, interpolation="nearest"):
    """Images scaled up by integer factors; "nearest" repeats pixels, "bilinear" interpolates (half-pixel centers).

    Example:
        >>> K.int_shape(K.resize_images(np.zeros((1, 2, 3, 4)), 2, 3, "channels_last"))
        (1, 4, 9, 4)
    """
    x = _tensor(x)
    if len(x.shape) != 4:
        raise ValueError(f"K.resize_images expects a 4-D input, got shape {tuple(x.shape)}.")
    return ops.resize_images(
        x, int(height_factor), int(width_factor), normalize_data_format(data_format), interpolation
    )


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format=None):
    """Volumes scaled up by repeating each voxel `depth_factor x height_factor x width_factor` times."""
    x = _tensor(x)
    if len(x.shape) != 5:
        raise ValueError(f"K.resize_volumes expects a 5-D input, got shape {tuple(x.shape)}.")
    first = 1 if normalize_data_format(data_format) == "channels_last" else 2
    for offset, factor in enumerate((depth_factor, height_factor, width_factor)):
        x = ops.repeat(x, int(factor), axis=first + offset)
    return x
