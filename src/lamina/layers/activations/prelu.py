"""PReLU: a leaky rectifier whose negative slope is a learned weight."""

from __future__ import annotations

from lamina import constraints, initializers, ops, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


class PReLU(Layer):
    """`x` for x >= 0, `alpha * x` below, with `alpha` a weight of the layer.

    `alpha` has one entry per input position (the input's shape without the batch axis);
    `shared_axes` makes it shared along those axes, e.g. `shared_axes=[1, 2]` on images
    `(batch, height, width, channels)` learns one slope per channel.

    Args:
        alpha_initializer: the initial slopes (default zeros: the layer starts as a ReLU).
        alpha_regularizer, alpha_constraint: a penalty on, and a projection of, the slopes.
        shared_axes: an axis or list of axes (counting the batch axis as 0) that share one slope.

    Example:
        >>> layer = PReLU(shared_axes=[1, 2])
        >>> layer(np.ones((2, 5, 5, 3))).shape
        (2, 5, 5, 3)
        >>> layer.weights[0].shape
        (1, 1, 3)
    """

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    f'Layer "{self.name}": shared_axes must be axis indices >= 1 (axis 0 is the batch), '
                    f"got {shared_axes!r}."
                )
            self.shared_axes = axes
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(
                    f'Layer "{self.name}": shared_axes {self.shared_axes} refer to axis {axis}, but the input '
                    f"{input_shape} has only {len(input_shape)} axes."
                )
            param_shape[axis - 1] = 1
        unknown = [i + 1 for i, d in enumerate(param_shape) if d is None]
        if unknown:
            raise ValueError(
                f'Layer "{self.name}" needs known sizes on axes {unknown} of its input {input_shape} '
                "(or list those axes in shared_axes)."
            )
        self.alpha = self.add_weight(
            name="alpha",
            shape=param_shape,
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        axes = {i: size for i, size in enumerate(input_shape) if i > 0 and i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        positive = ops.relu(inputs)
        negative = ops.relu(ops.negative(inputs))
        return positive - self.alpha * negative

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": serialize_object(self.alpha_initializer),
            "alpha_regularizer": serialize_object(self.alpha_regularizer),
            "alpha_constraint": serialize_object(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
