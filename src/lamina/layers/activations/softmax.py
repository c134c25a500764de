"""Softmax as a layer, with an optional mask of the positions that take part."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer

# Added to masked-out logits: exp() of it underflows to 0 in float16 and up.
_LARGE_NEGATIVE = -1e9


class Softmax(Layer):
    """exp(x) / sum(exp(x)) over `axis`.

    Called with `mask` (True where a position takes part, broadcastable to the input),
    masked positions get probability 0 and the others share all of it, as in Keras; a
    slice with every position masked gives zeros.

    Args:
        axis: the axis, or a list of axes, the probabilities sum to 1 over (default: the last).

    Example:
        >>> Softmax()(np.array([[1.0, 2.0, 3.0]]), mask=np.array([[True, False, True]]))
        # [[0.119, 0., 0.881]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, int) for a in axis):
                raise ValueError(f'Layer "{self.name}": axis must be an int or a list of ints, got {axis!r}.')
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise ValueError(f'Layer "{self.name}": axis must be an int or a list of ints, got {axis!r}.')
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        if mask is None:
            return ops.softmax(inputs, axis=axis)
        keep = ops.cast(ops.convert_to_tensor(mask), inputs.dtype)
        self._check_mask(tuple(inputs.shape), tuple(keep.shape))
        logits = inputs + (1.0 - keep) * _LARGE_NEGATIVE
        return ops.softmax(logits, axis=axis) * keep

    def _check_mask(self, shape: tuple, mask_shape: tuple) -> None:
        fits = len(mask_shape) <= len(shape) and all(m in (1, d) for m, d in zip(reversed(mask_shape), reversed(shape)))
        if not fits:
            raise ValueError(
                f'Layer "{self.name}" needs a mask that broadcasts to its input (each mask axis 1 or the '
                f"input's size, counted from the last), got a mask of shape {mask_shape} for inputs of shape {shape}."
            )

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
