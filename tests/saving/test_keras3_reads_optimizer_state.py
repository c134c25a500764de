"""Keras 3 (test-only oracle) reads the optimizer state of lamina's `.keras` files, variable for variable.

Keras 3 restores optimizer variables by position, so lamina must write them in Keras 3's order: iteration,
learning rate, the EMA averages (`use_ema`), then each optimizer's slots as its `build` creates them.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, optimizers


def _trained(optimizer):
    model = lamina.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(2)])
    model.compile(optimizer, "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 3)), rng.random((8, 2)), batch_size=4, epochs=1, verbose=0)
    return model


WEIGHTS = ["dense_kernel", "dense_bias", "dense_1_kernel", "dense_1_bias"]

# Keras 3's order, written out from its optimizers' `build`: the variables lamina's must land in, one by one.
CASES = {
    "adam_ema": (
        lambda: optimizers.Adam(learning_rate=0.01, use_ema=True, ema_overwrite_frequency=None),
        [f"Adam/{w}_average" for w in WEIGHTS] + [f"Adam/{w}_{slot}" for w in WEIGHTS for slot in ("m", "v")],
    ),
    "lamb": (
        lambda: optimizers.Lamb(learning_rate=0.01),
        [f"Lamb/{w}_{slot}" for w in WEIGHTS for slot in ("momentum", "velocity")],
    ),
    "adafactor": (
        lambda: optimizers.Adafactor(learning_rate=0.01),
        [f"Adafactor/{w}_{slot}" for w in WEIGHTS for slot in ("r", "c", "velocity")],
    ),
    "nadam": (
        lambda: optimizers.Nadam(learning_rate=0.01),
        [f"Nadam/{w}_{slot}" for w in WEIGHTS for slot in ("momentum", "velocity")] + ["Nadam/u_product"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras3_restores_each_optimizer_variable(tmp_path, keras3, case):
    make, slots = CASES[case]
    model = _trained(make())
    model.save(tmp_path / "model.keras")
    theirs = keras3.models.load_model(tmp_path / "model.keras")
    ours = {variable.path: np.asarray(variable.numpy()) for variable in model.optimizer.variables}
    expected = ["iteration", "learning_rate", *slots]
    assert len(theirs.optimizer.variables) == len(expected) == len(ours)
    for path, variable in zip(expected, theirs.optimizer.variables):
        np.testing.assert_allclose(np.asarray(variable), ours[path], rtol=1e-6, atol=1e-7, err_msg=path)
