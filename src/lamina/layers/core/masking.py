"""Masking: marks the time steps whose features all equal `mask_value` as padding."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer


class Masking(Layer):
    """Masks every time step whose features all equal `mask_value`.

    The output is the input with those steps set to 0; the output's mask (False at
    those steps) goes on to later layers in a model, and recurrent layers skip the
    masked steps.

    Args:
        mask_value: the padding value (default 0.0).

    Example:
        >>> model = Sequential([Masking(mask_value=0.0, input_shape=(5, 3)), LSTM(8)])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(mask_value, (int, float)) or isinstance(mask_value, bool):
            raise TypeError(f'Layer "{self.name}": mask_value must be a number, got {mask_value!r}.')
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def _keep(self, inputs):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)

    def call(self, inputs):
        return inputs * ops.cast(self._keep(inputs), ops.dtype_of(inputs))

    def compute_mask(self, inputs, mask=None):
        """True at the time steps with at least one feature different from `mask_value`."""
        return ops.squeeze(self._keep(ops.convert_to_tensor(inputs)), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
