"""set_random_seed: one call makes a run repeatable."""

from __future__ import annotations

import random

import numpy as np

from lamina.backend.common import seed as seed_state


def set_random_seed(seed: int) -> None:
    """Seeds Python's `random`, NumPy's global generator and lamina's own generator.

    lamina's generator supplies the seeds of initializers, Dropout layers and
    fit's shuffling, so after this call the same code gives bit-identical
    weights after `fit`. (The FAQ also asks for PYTHONHASHSEED=0 before start-up;
    on a GPU, CUDA_VISIBLE_DEVICES="" avoids non-deterministic kernels.)

    Example:
        >>> set_random_seed(42)
    """
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed expects an int, got {type(seed).__name__}.")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    seed_state.reseed(int(seed))
