"""GroupNormalization: normalizes each sample over groups of channels (and all other non-batch axes)."""

from __future__ import annotations

from lamina import constraints, initializers, ops, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


class GroupNormalization(Layer):
    """Splits the channels on `axis` into `groups` and normalizes each group of each sample.

    Mean and variance are taken per sample and group, over the group's channels and every
    other non-batch axis; then each channel is scaled by `gamma` and shifted by `beta`.
    `groups=1` is layer normalization over all axes; `groups=-1` (one channel per group) is
    instance normalization.

    Args:
        groups: the number of groups; it must divide the number of channels (-1: one per channel).
        axis: the channel axis (-1 for channels_last, 1 for channels_first).
        epsilon: added to the variance before the square root.
        center, scale: whether to learn `beta` / `gamma` (one value per channel).
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: for the weights.

    Example:
        >>> gn = GroupNormalization(groups=2)
        >>> gn(np.random.rand(2, 5, 4).astype("float32")).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(
                f'Layer "{self.name}": groups must be a positive integer (or -1 for one group per channel), '
                f"got {groups!r}."
            )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f'Layer "{self.name}": axis must be an int, got {axis!r}.')
        self.groups, self.axis = groups, axis
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is not a channel axis of shape {input_shape}.')
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f'Layer "{self.name}" needs a known size on axis {self.axis}, got shape {input_shape}.')
        if self.groups == -1:
            self.groups = channels  # Keras writes the resolved number of groups once built
        if channels < self.groups or channels % self.groups:
            raise ValueError(
                f'Layer "{self.name}": groups ({self.groups}) must divide the number of channels on axis '
                f"{self.axis} ({channels})."
            )
        shape = (channels,)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
            )  # fmt: skip
        if self.center:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
            )  # fmt: skip
        self._channel_axis = self.axis % rank
        self._broadcast = tuple(channels if i == self._channel_axis else 1 for i in range(rank))
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        axis = self._channel_axis
        # (batch, ..., groups, channels // groups, ...): statistics over everything but batch and group.
        grouped_shape = (-1, *shape[1:axis], self.groups, shape[axis] // self.groups, *shape[axis + 1 :])
        grouped = ops.reshape(inputs, grouped_shape)
        reduce = tuple(i for i in range(1, len(grouped_shape)) if i != axis)
        mean, variance = ops.moments(grouped, reduce, keepdims=True)
        normalized = ops.reshape((grouped - mean) * ops.rsqrt(variance + self.epsilon), (-1, *shape[1:]))
        if self.gamma is not None:
            normalized = normalized * ops.reshape(self.gamma, self._broadcast)
        if self.beta is not None:
            normalized = normalized + ops.reshape(self.beta, self._broadcast)
        return normalized

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of range for shape {input_shape}.')
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "groups": self.groups,
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
