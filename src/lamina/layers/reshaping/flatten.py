"""Flatten: one axis per sample."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.layer import Layer


class Flatten(Layer):
    """Reshapes `(batch, d1, d2, ...)` to `(batch, d1 * d2 * ...)`.

    With `data_format="channels_first"` the channels are moved last first, so a
    channels_first model flattens in the same order as its channels_last twin.

    Example:
        >>> Flatten()(np.ones((2, 3, 4))).shape
        (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.moveaxis(inputs, 1, -1)
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}
