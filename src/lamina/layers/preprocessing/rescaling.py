"""Rescaling: `inputs * scale + offset`."""

from __future__ import annotations

import numpy as np

from lamina import config, ops
from lamina.layers.layer import Layer


def _plain(value):
    """A scale or offset as Keras writes it in configs: a number, or a list for per-channel values."""
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array.tolist()


class Rescaling(Layer):
    """Multiplies its input by `scale` and adds `offset` (in floats).

    Args:
        scale: a number, or one number per channel.
        offset: a number, or one number per channel.

    Example:
        >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 255.0]]))  # [[-1, 1]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            if not np.issubdtype(np.asarray(value).dtype, np.number):
                raise TypeError(f'Layer "{self.name}": {name} must be a number or a list of numbers, got {value!r}.')
        self.scale = _plain(scale)
        self.offset = _plain(offset)
        self.supports_masking = True

    def _channel_values(self, value):
        array = np.asarray(value, dtype=self.dtype)
        if array.ndim > 0 and config.image_data_format() == "channels_first":
            array = array.reshape(array.shape + (1,) * (3 - array.ndim))  # per-channel values, channels first
        return ops.convert_to_tensor(array)

    def call(self, inputs):
        inputs = ops.cast(inputs, self.dtype)
        return inputs * self._channel_values(self.scale) + self._channel_values(self.offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
