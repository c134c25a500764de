"""Up-sampling: UpSampling1D, UpSampling2D ("nearest" or "bilinear"), UpSampling3D."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.convolutional.base_conv import normalize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.reshaping.cropping import spatial_start


class UpSampling1D(Layer):
    """Repeats each step of a sequence `(batch, steps, features)` `size` times.

    Example:
        >>> UpSampling1D(3)(np.ones((2, 4, 5))).shape
        (2, 12, 5)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 1, "size", self.name)[0]
        self.input_spec = InputSpec(ndim=3)
        self.built = True

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Scales images up by `size = (rows, cols)`.

    `interpolation="nearest"` repeats each pixel; `"bilinear"` interpolates with half-pixel centers,
    edges clamped (as Keras 3 resizes images).

    Example:
        >>> UpSampling2D((2, 3), interpolation="bilinear")(np.ones((1, 4, 4, 3))).shape
        (1, 8, 12, 3)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f'Layer "{self.name}": interpolation must be "nearest" or "bilinear", got {interpolation!r}.'
            )
        self.input_spec = InputSpec(ndim=4)
        self.built = True

    def call(self, inputs):
        rows, cols = self.size
        return ops.resize_images(inputs, rows, cols, self.data_format, self.interpolation)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "size": list(self.size),
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }


class UpSampling3D(Layer):
    """Repeats the entries of volumes `size = (d1, d2, d3)` times along the three spatial axes.

    Example:
        >>> UpSampling3D()(np.ones((1, 2, 3, 4, 5))).shape
        (1, 4, 6, 8, 5)
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 3, "size", self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=5)
        self.built = True

    def call(self, inputs):
        start = spatial_start(self.data_format)
        for i, factor in enumerate(self.size):
            inputs = ops.repeat(inputs, factor, axis=start + i)
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}
