"""Noise layers, active only in training: GaussianNoise, GaussianDropout, AlphaDropout.

Their randomness comes from a SeedGenerator (a state variable), so a jitted train
step draws new noise every step (DESIGN rule 4). At inference they pass inputs through.
"""

from __future__ import annotations

import math

from lamina import ops
from lamina.backend.common import SeedGenerator
from lamina.layers.layer import Layer

# SELU's constants: AlphaDropout keeps SELU activations at mean 0 and variance 1.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _checked_rate(layer_name: str, rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(f'Layer "{layer_name}": rate must be a number in [0, 1), got {rate!r}.')
    return float(rate)


class _NoiseLayer(Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self.built = True


class GaussianNoise(_NoiseLayer):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` in training.

    Example:
        >>> GaussianNoise(0.1)(np.zeros((2, 3)), training=True)  # values of spread about 0.1
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f'Layer "{self.name}": stddev must be a number >= 0, got {stddev!r}.')
        self.stddev = float(stddev)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0.0:
            return inputs
        shape = tuple(inputs.shape)
        noise = ops.random.normal(shape, stddev=self.stddev, dtype=self.compute_dtype, seed=self.seed_generator)
        return inputs + ops.cast(noise, inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_NoiseLayer):
    """Multiplies inputs by Gaussian noise of mean 1 and variance `rate / (1 - rate)` in training.

    Example:
        >>> GaussianDropout(0.2)(np.ones((2, 3)), training=True)  # values around 1, spread 0.5
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _checked_rate(self.name, rate)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = ops.random.normal(
            tuple(inputs.shape), mean=1.0, stddev=stddev, dtype=self.compute_dtype, seed=self.seed_generator
        )
        return inputs * ops.cast(noise, inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_NoiseLayer):
    """Dropout for SELU networks: keeps the mean and variance of its inputs in training.

    Dropped entries are set to SELU's negative saturation value `-alpha * scale` (not 0),
    then everything is scaled and shifted by the affine map that restores mean 0 and
    variance 1 for standardized inputs (Klambauer et al., 2017).

    Args:
        rate: the fraction of entries dropped, in [0, 1).
        noise_shape: the mask's shape, broadcast over the input (None entries: the input's size).
        seed: for a fixed stream of masks.

    Example:
        >>> AlphaDropout(0.1)(np.random.normal(size=(4, 8)), training=True)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _checked_rate(self.name, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _noise_shape(self, inputs) -> tuple:
        if self.noise_shape is None:
            return tuple(inputs.shape)
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        rate = self.rate
        dropped_value = -_SELU_ALPHA * _SELU_SCALE
        draws = ops.random.uniform(self._noise_shape(inputs), dtype=self.compute_dtype, seed=self.seed_generator)
        kept = ops.cast(ops.greater_equal(draws, rate), inputs.dtype)
        scale = ((1.0 - rate) * (1.0 + rate * dropped_value**2)) ** -0.5
        shift = -scale * dropped_value * rate
        mixed = inputs * kept + dropped_value * (1.0 - kept)
        return scale * mixed + shift

    def get_config(self) -> dict:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise}
