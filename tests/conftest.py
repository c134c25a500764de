"""Shared test set-up: the engine under test, the Keras 3 oracle, fresh names per test."""

from __future__ import annotations

import os

# The oracle (real Keras 3) always runs on JAX, whatever engine lamina is tested on.
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    """Every test starts with fresh layer names and a fixed seed."""
    lamina.backend.clear_session()
    lamina.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def keras3():
    """Real Keras 3 (test-only oracle), imported once."""
    import keras

    return keras


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def engine() -> str:
    return lamina.backend.backend()
