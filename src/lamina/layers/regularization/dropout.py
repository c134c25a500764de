"""Dropout: zeroes a random fraction of inputs during training only."""

from __future__ import annotations

from lamina import ops
from lamina.backend.common import SeedGenerator
from lamina.layers.layer import Layer


class Dropout(Layer):
    """Sets a `rate` fraction of inputs to 0 in training and scales the rest by 1/(1 - rate).

    At inference (evaluate, predict, `training=False`) it passes inputs through.
    The randomness comes from a seed-state variable, so jitted training steps draw
    a new mask every step.

    Example:
        >>> Dropout(0.5)(np.ones((2, 4)), training=True)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # passes its input's mask on, as in Keras
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f'Layer "{self.name}": rate must be in [0, 1], got {rate}.')
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.built = True

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return ops.zeros_like(inputs)
        return ops.random.dropout(inputs, self.rate, seed=self.seed_generator, noise_shape=self._noise_shape(inputs))

    def get_config(self) -> dict:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}
