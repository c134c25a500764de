"""Concatenate: joins its inputs along one axis."""

from __future__ import annotations

from lamina import ops
from lamina.layers.merging.base_merge import Merge, _compatible


class Concatenate(Merge):
    """Joins its inputs along `axis` (the last by default); the other axes must match.

    Example:
        >>> Concatenate()([np.ones((2, 3)), np.ones((2, 4))]).shape
        (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f'Layer "{self.name}": axis must be an int, got {axis!r}.')
        self.axis = int(axis)

    def _check_shapes(self, shapes) -> None:
        rank = len(shapes[0])
        if rank == 0 or not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of range for inputs of shape {shapes[0]}.')
        axis = self.axis % rank
        for shape in shapes[1:]:
            if len(shape) != rank or not all(
                _compatible(a, b) for i, (a, b) in enumerate(zip(shapes[0], shape)) if i != axis
            ):
                raise ValueError(
                    f'Layer "{self.name}" expects inputs whose shapes match except on axis {self.axis}, '
                    f"got {' and '.join(map(str, shapes))}."
                )

    def call(self, inputs):
        self._shapes(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """As Keras: each input's mask (all True where it has none) joined along `axis`, then any() over the last
        axis, so a (batch, time) mask survives concatenating features."""
        if mask is None or all(m is None for m in mask):
            return None
        if len(mask) != len(inputs):
            raise ValueError(f'Layer "{self.name}" expects one mask (or None) per input, got {len(mask)} masks.')
        full = []
        for tensor, tensor_mask in zip(inputs, mask):
            if tensor_mask is None:
                full.append(ops.ones_like(tensor, dtype="bool"))
                continue
            tensor_mask = ops.cast(tensor_mask, "bool")
            if len(tensor_mask.shape) < len(tensor.shape):
                tensor_mask = ops.broadcast_to(ops.expand_dims(tensor_mask, -1), tuple(tensor.shape))
            full.append(tensor_mask)
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`.

    Example:
        >>> joined = concatenate([lamina.Input((3,)), lamina.Input((5,))])  # shape (None, 8)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
