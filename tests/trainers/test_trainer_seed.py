"""set_random_seed makes a whole build + fit (Dropout, shuffling) repeat bit for bit."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import lamina
from lamina import layers


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, labels


def build():
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(5,)),
            layers.Dropout(0.5),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def train(seed, initial=None):
    """(initial weights, final weights, epoch losses) of a fresh run after set_random_seed(seed)."""
    lamina.backend.clear_session()
    lamina.utils.set_random_seed(seed)
    model = build()
    if initial is not None:
        model.set_weights(initial)
    start = model.get_weights()
    x, labels = data()
    history = model.fit(x, labels, batch_size=16, epochs=2, shuffle=True, verbose=0)
    return start, model.get_weights(), history.history["loss"]


@functools.cache
def reference_run(seed):
    """One run per seed, shared by the tests below (runs are slow to compile, and deterministic)."""
    return train(seed)


def test_same_seed_gives_bit_identical_weights():
    start_a, end_a, losses_a = reference_run(1)
    start_b, end_b, losses_b = train(1)
    for a, b in zip(start_a + end_a, start_b + end_b):
        np.testing.assert_array_equal(a, b)
    assert losses_a == losses_b
    assert not np.array_equal(start_a[0], end_a[0])


def test_different_seeds_give_different_weights():
    start_a, end_a, _ = reference_run(1)
    start_b, end_b, _ = reference_run(2)
    assert not np.array_equal(start_a[0], start_b[0])
    assert not np.array_equal(end_a[0], end_b[0])


def test_seed_also_drives_dropout_and_shuffling():
    start, end_a, losses_a = reference_run(1)
    _, end_b, losses_b = train(2, initial=start)  # same initial weights: only dropout and order differ
    assert losses_a != losses_b
    assert not np.array_equal(end_a[0], end_b[0])


def test_set_random_seed_rejects_a_non_integer():
    with pytest.raises(TypeError, match="set_random_seed expects an int"):
        lamina.utils.set_random_seed("7")
