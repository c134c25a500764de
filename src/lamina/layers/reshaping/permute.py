"""Permute: reorders the non-batch axes of each sample."""

from __future__ import annotations

from lamina import ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class Permute(Layer):
    """Permutes the axes of each sample; `dims` counts from 1 (the batch axis stays first).

    Args:
        dims: a permutation of `1 .. rank - 1`, e.g. `(2, 1)` swaps the two axes of `(batch, steps, features)`.

    Example:
        >>> Permute((2, 1))(np.ones((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dims, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            raise TypeError(f'Layer "{self.name}": dims must be a tuple of ints, got {dims!r}.')
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f'Layer "{self.name}": dims must be a permutation of 1..{len(dims)} '
                f"(axis 0, the batch, is not permuted), got {tuple(dims)}."
            )
        self.dims = tuple(int(d) for d in dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self.built = True

    def call(self, inputs):
        return ops.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}
