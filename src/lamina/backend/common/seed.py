"""Seed state: the process-wide generator behind `set_random_seed`, and SeedGenerator.

Initial weights are drawn with NumPy from seeds taken from one process-wide
generator, so `set_random_seed(s)` fixes them, and the same model gets the same
initial weights on every engine. Run-time randomness (Dropout) comes from a
SeedGenerator: a small non-trainable variable that each draw advances, threaded
through the jitted train step as state (DESIGN rule 4).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

_global = {"rng": np.random.default_rng()}


def reseed(seed: int) -> None:
    """Restarts the process-wide generator from `seed`."""
    _global["rng"] = np.random.default_rng(seed)


def draw_seed() -> int:
    """A fresh 31-bit seed from the process-wide generator."""
    return int(_global["rng"].integers(0, 2**31 - 1))


_scope = threading.local()


@contextlib.contextmanager
def layer_seed_scope(generator):
    """Inside, unseeded `K.random_*` draws come from `generator` (a Lambda layer's own), so that under `jit` each
    step draws new values, as Keras 2's `K.random_normal` in a Lambda did.

    Example:
        >>> with layer_seed_scope(self.seed_generator):
        ...     outputs = self.function(inputs)
    """
    stack = getattr(_scope, "stack", None)
    if stack is None:
        stack = _scope.stack = []
    stack.append(generator)
    try:
        yield generator
    finally:
        stack.pop()


def seed_for_draw(seed=None):
    """The seed of one `K.random_*` draw: `seed` when given, else the enclosing layer's generator, else a fresh int.

    Example:
        >>> ops.random.normal((2, 3), seed=seed_for_draw())
    """
    if seed is not None:
        return int(seed)
    stack = getattr(_scope, "stack", None)
    return stack[-1] if stack else draw_seed()


def numpy_rng(seed=None) -> np.random.Generator:
    """A NumPy generator: from `seed` when given, else from a fresh process-wide seed."""
    return np.random.default_rng(draw_seed() if seed is None else seed)


class SeedGenerator:
    """A stream of random keys whose position is a variable (so it survives `jit`).

    Args:
        seed: an int for a fixed stream; None draws one from the process-wide generator.

    Example:
        >>> gen = SeedGenerator(1337)
        >>> mask = lamina.ops.random.dropout(x, 0.5, seed=gen)
    """

    _is_seed_generator = True

    def __init__(self, seed=None, name="seed_generator"):
        from lamina.backend import Variable, engine

        self._engine_random = engine.random
        seed = draw_seed() if seed is None else int(seed)
        initial = engine.random.initial_seed_state(seed)
        self.state = Variable(initial, dtype=str(initial.dtype), trainable=False, name=name)

    def next(self):
        """The key for one draw; advances the state."""
        # `* 1` copies: an engine that assigns in place (torch) would otherwise hand out the advanced state.
        current = self.state.value * 1
        self.state.assign(self._engine_random.next_seed_state(current))
        return current
