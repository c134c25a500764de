"""Window pooling: MaxPooling1D/2D/3D and AveragePooling1D/2D/3D."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.convolutional.base_conv import normalize_padding, normalize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class BasePooling(Layer):
    """The maximum or mean over `pool_size` windows of `rank` spatial axes.

    With `padding="same"` the output has `ceil(size / strides)` entries per axis; a max never picks the
    padding, and an average counts only the real entries of its window (as Keras computes it).

    Example:
        >>> AveragePooling1D(3, strides=2, padding="same")(np.ones((2, 7, 4))).shape
        (2, 4, 4)
    """

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
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


class MaxPooling1D(BasePooling):
    """The maximum over each `pool_size` window of steps.

    Example:
        >>> MaxPooling1D()(np.ones((2, 6, 3))).shape
        (2, 3, 3)
    """

    rank = 1
    mode = "max"


class MaxPooling2D(BasePooling):
    """The maximum over each `pool_size` window.

    Example:
        >>> MaxPooling2D()(np.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """

    rank = 2
    mode = "max"


class MaxPooling3D(BasePooling):
    """The maximum over each `pool_size` window of a volume.

    Example:
        >>> MaxPooling3D()(np.ones((1, 4, 4, 4, 2))).shape
        (1, 2, 2, 2, 2)
    """

    rank = 3
    mode = "max"


class AveragePooling1D(BasePooling):
    """The mean over each `pool_size` window of steps.

    Example:
        >>> AveragePooling1D(2)(np.ones((2, 6, 3))).shape
        (2, 3, 3)
    """

    rank = 1
    mode = "average"


class AveragePooling2D(BasePooling):
    """The mean over each `pool_size` window.

    Example:
        >>> AveragePooling2D(2)(np.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """

    rank = 2
    mode = "average"


class AveragePooling3D(BasePooling):
    """The mean over each `pool_size` window of a volume.

    Example:
        >>> AveragePooling3D(2)(np.ones((1, 4, 4, 4, 2))).shape
        (1, 2, 2, 2, 2)
    """

    rank = 3
    mode = "average"
