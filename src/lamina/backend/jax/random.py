"""Random numbers on JAX from explicit seed state (never from a constant baked in at trace time)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend.common import Variable, standardize_dtype

__all__ = ["dropout", "initial_seed_state", "next_seed_state", "normal", "uniform"]


def initial_seed_state(seed: int) -> np.ndarray:
    """The starting value of a SeedGenerator's state variable."""
    return np.array([0, seed & 0xFFFFFFFF], dtype="uint32")


def next_seed_state(state):
    """The state after one draw; the draw itself uses the old state as its key."""
    return state + jnp.array([1, 0], dtype="uint32")


def _key(seed):
    """A raw uint32[2] key from a SeedGenerator, a state array, or an int."""
    if hasattr(seed, "next"):
        return seed.next()
    if isinstance(seed, Variable):
        return seed.value
    if isinstance(seed, int):
        return jax.random.PRNGKey(seed)
    return seed


def uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    return jax.random.uniform(_key(seed), shape, standardize_dtype(dtype), minval, maxval)


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    return mean + stddev * jax.random.normal(_key(seed), shape, standardize_dtype(dtype))


def dropout(x, rate, seed, noise_shape=None):
    """Zeroes a `rate` fraction of `x` and scales the rest by 1/(1-rate)."""
    x = x.value if isinstance(x, Variable) else x
    keep = 1.0 - rate
    mask = jax.random.bernoulli(_key(seed), keep, noise_shape or x.shape)
    return jnp.where(mask, x / keep, jnp.zeros_like(x))
