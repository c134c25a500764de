"""UnitNormalization: scales each sample to unit L2 norm over the given axes."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.normalization.layer_normalization import check_axis_argument, resolve_axes

_MAX_INVERSE_NORM = 1e12  # an all-zero slice stays zero instead of becoming nan (Keras's epsilon of 1e-12)


class UnitNormalization(Layer):
    """`x / ||x||_2`, the norm taken over `axis` for each sample. No weights.

    Args:
        axis: an int or a list of ints, the axes the norm is taken over (default the last).

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]], "float32"))  # [[0.6, 0.8]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis_argument(self.name, axis)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        axes = resolve_axes(self.name, self.axis, len(inputs.shape))
        inverse_norm = ops.rsqrt(ops.sum(ops.square(inputs), axis=axes, keepdims=True))
        return inputs * ops.minimum(inverse_norm, _MAX_INVERSE_NORM)

    def compute_output_shape(self, input_shape):
        resolve_axes(self.name, self.axis, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
