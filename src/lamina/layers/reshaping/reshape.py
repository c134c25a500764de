"""Reshape: a new shape for each sample."""

from __future__ import annotations

import math

from lamina import ops
from lamina.layers.layer import Layer


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1).

    Example:
        >>> Reshape((2, 6))(np.ones((4, 12))).shape
        (4, 2, 6)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f'Layer "{self.name}": target_shape may hold at most one -1, got {self.target_shape}.')

    def _resolved(self, sample_shape) -> tuple:
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ValueError(
                    f'Layer "{self.name}" cannot reshape samples of shape {tuple(sample_shape)} to {self.target_shape}.'
                )
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(
                f'Layer "{self.name}" cannot reshape samples of shape {tuple(sample_shape)} ({size} values) '
                f"to {self.target_shape} ({known} values)."
            )
        return self.target_shape

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], *self._resolved(inputs.shape[1:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
