"""RMSNormalization: `x / sqrt(mean(x**2) + epsilon) * scale` over the given axes."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer


class RMSNormalization(Layer):
    """Root-mean-square normalization with a learned `scale` (Keras 3's RMSNormalization).

    Args:
        axis: the axis (or list of axes) to normalize over, each with its own scale.
        epsilon: added to the mean square before the square root.

    Example:
        >>> RMSNormalization()(np.array([[3.0, 4.0]]))  # [[0.8485, 1.1314]]
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) and not (
            isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis)
        ):
            raise TypeError(f'Layer "{self.name}": axis must be an int or a list of ints, got {axis!r}.')
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.epsilon = float(epsilon)

    def _axes(self, ndim: int) -> list:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for axis in axes:
            if not -ndim <= axis < ndim:
                raise ValueError(f'Layer "{self.name}": axis {axis} is out of range for inputs of rank {ndim}.')
        return sorted(axes)

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        self.axis = axes  # a list once built, as Keras keeps it (and writes it in configs)
        self.scale = self.add_weight(name="scale", shape=tuple(input_shape[a] for a in axes), initializer="ones")
        self.built = True

    def call(self, inputs):
        ndim = len(inputs.shape)
        axes = [a % ndim for a in self._axes(ndim)]
        mean_square = ops.mean(ops.square(inputs), axis=tuple(axes), keepdims=True)
        scale_shape = [inputs.shape[a] if a in axes else 1 for a in range(ndim)]
        return inputs * ops.rsqrt(mean_square + self.epsilon) * ops.reshape(self.scale, scale_shape)

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
