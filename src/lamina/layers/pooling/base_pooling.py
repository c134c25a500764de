"""Pooling layers: MaxPooling2D."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.convolutional.base_conv import normalize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class BasePooling(Layer):
    """Window pooling over `rank` spatial axes."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", self.name)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f'Layer "{self.name}": padding must be "valid" or "same", got {padding!r}.')
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def call(self, inputs):
        pool = ops.max_pool if self.mode == "max" else ops.average_pool
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling2D(BasePooling):
    """The maximum over each `pool_size` window.

    Example:
        >>> MaxPooling2D()(np.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """

    rank = 2
    mode = "max"
