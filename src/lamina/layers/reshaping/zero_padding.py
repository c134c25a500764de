"""Zero padding: ZeroPadding1D, ZeroPadding2D, ZeroPadding3D."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.reshaping.cropping import normalize_pairs, spatial_start


class BaseZeroPadding(Layer):
    """Adds `padding[i] = (before, after)` zeros at the two ends of spatial axis `i`.

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 1)))(np.ones((2, 3, 3, 4))).shape
        (2, 4, 6, 4)
    """

    rank = 2

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_pairs(padding, self.rank, "padding", self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def call(self, inputs):
        start = spatial_start(self.data_format)
        widths = [(0, 0)] * (self.rank + 2)
        widths[start : start + self.rank] = self.padding
        return ops.pad(inputs, widths)

    def get_config(self) -> dict:
        padding = [list(p) for p in self.padding]
        return {
            **super().get_config(),
            "padding": padding[0] if self.rank == 1 else padding,
            "data_format": self.data_format,
        }


class ZeroPadding1D(BaseZeroPadding):
    """Adds zeros at the start and end of sequences: `padding` is an int or `(before, after)`.

    Example:
        >>> ZeroPadding1D(2)(np.ones((2, 3, 4))).shape
        (2, 7, 4)
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding=padding, data_format=data_format, **kwargs)


class ZeroPadding2D(BaseZeroPadding):
    """Adds rows and columns of zeros around images.

    Example:
        >>> ZeroPadding2D()(np.ones((2, 3, 3, 4))).shape
        (2, 5, 5, 4)
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding=padding, data_format=data_format, **kwargs)


class ZeroPadding3D(BaseZeroPadding):
    """Adds zeros around the three spatial axes of volumes.

    Example:
        >>> ZeroPadding3D()(np.ones((2, 2, 2, 2, 1))).shape
        (2, 4, 4, 4, 1)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding=padding, data_format=data_format, **kwargs)
