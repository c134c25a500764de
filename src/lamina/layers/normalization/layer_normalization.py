"""LayerNormalization: normalizes each sample over its feature axes (no batch statistics, no state)."""

from __future__ import annotations

from lamina import constraints, initializers, ops, regularizers
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def check_axis_argument(layer_name: str, axis):
    """`axis` as Keras writes it: an int, or a list of ints (a tuple becomes a list).

    Example:
        >>> check_axis_argument("layer_normalization", (1, 2))
        [1, 2]
    """
    if isinstance(axis, (list, tuple)):
        if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
            raise TypeError(f'Layer "{layer_name}": axis must be an int or a list of ints, got {axis!r}.')
        if len(set(axis)) != len(axis):
            raise ValueError(f'Layer "{layer_name}": axis has repeated entries: {axis!r}.')
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(f'Layer "{layer_name}": axis must be an int or a list of ints, got {axis!r}.')


def resolve_axes(layer_name: str, axis, rank: int) -> tuple:
    """The non-negative, sorted axes `axis` names in an input of `rank` dimensions.

    Example:
        >>> resolve_axes("layer_normalization", [-1, 1], 3)
        (1, 2)
    """
    axes = axis if isinstance(axis, list) else [axis]
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f'Layer "{layer_name}": axis {a} is out of range for an input of rank {rank}.')
    resolved = sorted(a % rank for a in axes)
    if len(set(resolved)) != len(resolved):
        raise ValueError(f'Layer "{layer_name}": axis {axis!r} names the same axis twice for rank {rank}.')
    return tuple(resolved)


class LayerNormalization(Layer):
    """Normalizes each sample over `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Mean and variance are taken per sample over the axes in `axis`; `gamma` and `beta` have
    the shape of those axes. Training and inference compute the same thing.

    Args:
        axis: an int or a list of ints, the axes to normalize over (default the last).
        epsilon: added to the variance before the square root.
        center, scale: whether to learn `beta` / `gamma`.
        rms_scaling: Keras 3's option: `x * rsqrt(var + epsilon) * gamma`, without centering
            and without `beta` (note: it divides by the standard deviation, as Keras 3 does,
            not by the root mean square). `gamma` is then made even with `scale=False`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: for the weights.

    Example:
        >>> ln = LayerNormalization(axis=[1, 2])
        >>> ln(np.random.rand(2, 3, 4).astype("float32")).shape
        (2, 3, 4)
    """

    _normalizes_in_float32 = True  # under mixed precision, as Keras: float32 statistics, output in compute dtype

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        rms_scaling=False,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = check_axis_argument(self.name, axis)
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = resolve_axes(self.name, self.axis, rank)
        shape = tuple(input_shape[a] for a in self._axes)
        if None in shape:
            raise ValueError(f'Layer "{self.name}" needs known sizes on axis {self.axis}, got shape {input_shape}.')
        # Keras keeps the axes as a sorted list once built, and writes them so.
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self.gamma = self.beta = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
            )  # fmt: skip
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
            )  # fmt: skip
        self._broadcast = tuple(input_shape[i] if i in self._axes else 1 for i in range(rank))
        self.built = True

    def call(self, inputs):
        if self.rms_scaling:
            inv = ops.rsqrt(ops.var(inputs, axis=self._axes, keepdims=True) + self.epsilon)
            out = inputs * inv
            return out * ops.reshape(self.gamma, self._broadcast) if self.gamma is not None else out
        mean, variance = ops.moments(inputs, self._axes, keepdims=True)
        inv = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * ops.reshape(self.gamma, self._broadcast)
        offset = -mean * inv
        if self.beta is not None:
            offset = offset + ops.reshape(self.beta, self._broadcast)
        return inputs * inv + offset

    def compute_output_shape(self, input_shape):
        resolve_axes(self.name, self.axis, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_object(self.beta_initializer),
            "gamma_initializer": serialize_object(self.gamma_initializer),
            "beta_regularizer": serialize_object(self.beta_regularizer),
            "gamma_regularizer": serialize_object(self.gamma_regularizer),
            "beta_constraint": serialize_object(self.beta_constraint),
            "gamma_constraint": serialize_object(self.gamma_constraint),
        }
        if self.rms_scaling:
            config["rms_scaling"] = True  # written only when on: tf.keras 2 configs do not know the key
        return config
