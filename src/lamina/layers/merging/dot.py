"""Dot: the dot product of two batches of tensors, sample by sample."""

from __future__ import annotations

import math

from lamina import ops
from lamina.layers.merging.base_merge import Merge


def _l2_normalize(x, axis):
    """x / ||x|| along `axis` (the norm floored at 1e-6, i.e. its square at 1e-12)."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squares, 1e-12))


def batch_dot(x, y, axes):
    """For each sample, contracts axis `axes[0]` of `x` with axis `axes[1]` of `y`.

    The result has `x`'s other axes, then `y`'s; when neither has any left, it is `(batch, 1)`.
    """
    ax_x, ax_y = axes
    rest_x = [d for i, d in enumerate(x.shape) if i not in (0, ax_x)]
    rest_y = [d for i, d in enumerate(y.shape) if i not in (0, ax_y)]
    batch, depth = x.shape[0], x.shape[ax_x]
    left = ops.reshape(ops.moveaxis(x, ax_x, -1), (batch, math.prod(rest_x), depth))
    right = ops.reshape(ops.moveaxis(y, ax_y, 1), (batch, depth, math.prod(rest_y)))
    out = ops.matmul(left, right)
    return ops.reshape(out, (batch, *rest_x, *rest_y) if rest_x or rest_y else (batch, 1))


class Dot(Merge):
    """Dot products between the samples of two tensors.

    Args:
        axes: the axis to contract (an int, for both inputs) or a pair `(axis_of_x, axis_of_y)`;
            axes count the batch axis as 0, and negative ones count from the end.
        normalize: L2-normalize both inputs along the contracted axes first, which gives
            cosine similarities.

    Example:
        >>> Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))])  # [[3.], [3.]]
    """

    max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f'Layer "{self.name}": axes must be an int or a list of 2 ints, got {axes!r}.')
            axes = [int(a) for a in axes]
        elif isinstance(axes, bool) or not isinstance(axes, int):
            raise TypeError(f'Layer "{self.name}": axes must be an int or a list of 2 ints, got {axes!r}.')
        self.axes = axes
        self.normalize = bool(normalize)

    def _shapes(self, inputs) -> list:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            count = len(inputs) if isinstance(inputs, (list, tuple)) else "a single tensor"
            raise ValueError(f'Layer "{self.name}" expects exactly 2 inputs, got {count}.')
        return [tuple(t.shape) for t in inputs]

    def _resolved_axes(self, shapes) -> list:
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        out = []
        for axis, shape in zip(axes, shapes):
            if len(shape) < 2 or not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
                raise ValueError(
                    f'Layer "{self.name}": axes {self.axes} do not fit inputs of shapes {shapes[0]} and '
                    f"{shapes[1]} (each axis must be a non-batch axis of its input)."
                )
            out.append(axis % len(shape))
        return out

    def _check_shapes(self, shapes) -> None:
        ax_x, ax_y = self._resolved_axes(shapes)
        a, b = shapes[0][ax_x], shapes[1][ax_y]
        if a is not None and b is not None and a != b:
            raise ValueError(
                f'Layer "{self.name}" contracts axis {ax_x} of {shapes[0]} ({a} values) with axis {ax_y} of '
                f"{shapes[1]} ({b} values): the sizes must be equal."
            )
        batch_x, batch_y = shapes[0][0], shapes[1][0]
        if batch_x is not None and batch_y is not None and batch_x != batch_y:
            raise ValueError(
                f'Layer "{self.name}" expects inputs of the same batch size, got {shapes[0]} and {shapes[1]}.'
            )

    def call(self, inputs):
        shapes = self._shapes(inputs)
        axes = self._resolved_axes(shapes)
        x, y = inputs
        if self.normalize:
            x, y = _l2_normalize(x, axes[0]), _l2_normalize(y, axes[1])
        return batch_dot(x, y, axes)

    def compute_mask(self, inputs, mask=None):
        return None  # the contracted axis is gone: no time-step mask carries over (as in Keras)

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of `Dot`.

    Example:
        >>> similarity = dot([lamina.Input((8,)), lamina.Input((8,))], axes=1, normalize=True)
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
