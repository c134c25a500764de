"""use_ema (moving averages of the weights, overwrite every n steps, finalize at the end of fit) against Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina.backend import Variable

SHAPES = [(3,), (2, 2)]
STEPS = 6


def _problem(rng):
    initial = [rng.normal(size=shape).astype("float32") for shape in SHAPES]
    grads = [[rng.normal(size=shape).astype("float32") for shape in SHAPES] for _ in range(STEPS)]
    return initial, grads


def _run(optimizer, variables, grad_sequence, averages):
    out = []
    for grads in grad_sequence:
        optimizer.apply(grads, variables)
        out.append([np.asarray(v.numpy()) for v in [*variables, *averages()]])
    return out


CASES = [
    ("Adam", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 3}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "use_ema": True, "ema_momentum": 0.7}),
    # centered RMSprop keeps average-gradient slots of its own beside the EMA's averages
    ("RMSprop", {"learning_rate": 0.05, "momentum": 0.5, "centered": True, "use_ema": True, "ema_momentum": 0.7}),
]


@pytest.mark.parametrize("name, config", CASES, ids=[c[0] for c in CASES])
def test_weights_and_averages_match_keras3_step_by_step(name, config, rng, keras3):
    initial, grads = _problem(rng)
    ours = getattr(optimizers, name)(**config)
    variables = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(initial)]
    got = _run(ours, variables, grads, lambda: ours._ema_averages)
    oracle = getattr(keras3.optimizers, name)(**config)
    keras_variables = [keras3.Variable(w.copy()) for w in initial]
    expected = _run(oracle, keras_variables, grads, lambda: oracle._model_variables_moving_average)
    for step, (a_step, b_step) in enumerate(zip(got, expected)):
        for index, (a, b) in enumerate(zip(a_step, b_step)):
            # rtol 1e-5: torch runs Adam as its fused kernel, which rounds a little differently.
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step + 1}, array {index}")
    # The averages are Keras 3's first optimizer slots, before the rule's own.
    assert [v.name for v in ours.variables[2:4]] == ["average", "average"]
    if config.get("ema_overwrite_frequency"):
        # Step 3 and 6 wrote the averages into the weights.
        np.testing.assert_array_equal(got[5][0], got[5][2])
        assert not np.allclose(got[4][0], got[4][2])
    else:
        assert not np.allclose(got[-1][0], got[-1][2])
    ours.finalize_variable_values(variables)
    oracle.finalize_variable_values(keras_variables)
    for a, b in zip(variables, keras_variables):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(variables[0].numpy(), ours._ema_averages[0].numpy())


def test_fit_overwrites_every_n_steps_and_ends_with_the_averages_as_keras3_does(rng, keras3):
    x = rng.normal(size=(24, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 2))).astype("float32")
    # 6 steps: step 4 writes the averages into the weights (the second epoch's loss shows it), and
    # the end of fit writes them again (finalize_variable_values).
    config = {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.6, "ema_overwrite_frequency": 4}
    model = lamina.Sequential([lamina.layers.Dense(3, activation="tanh", input_shape=(4,)), lamina.layers.Dense(2)])
    oracle = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(3, activation="tanh"), keras3.layers.Dense(2)])
    oracle.set_weights(model.get_weights())
    model.compile(optimizer=optimizers.Adam(**config), loss="mse")
    oracle.compile(optimizer=keras3.optimizers.Adam(**config), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    expected = oracle.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-4)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # torch's fused Adam rounds differently
    for weight, average in zip(model.trainable_variables, model.optimizer._ema_averages):
        np.testing.assert_array_equal(weight.numpy(), average.numpy())


def test_config_round_trips_with_keras3(keras3):
    optimizer = optimizers.SGD(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5)
    config = optimizer.get_config()
    assert (config["use_ema"], config["ema_momentum"], config["ema_overwrite_frequency"]) == (True, 0.9, 5)
    restored = optimizers.deserialize(optimizers.serialize(optimizer))
    assert restored.get_config() == config
    oracle = keras3.optimizers.SGD.from_config(config)
    assert (oracle.use_ema, oracle.ema_momentum, oracle.ema_overwrite_frequency) == (True, 0.9, 5)
    from_keras = optimizers.get({"class_name": "SGD", "config": oracle.get_config()})
    assert (from_keras.use_ema, from_keras.ema_momentum, from_keras.ema_overwrite_frequency) == (True, 0.9, 5)
    # Without EMA the config is as before (no EMA keys).
    assert "use_ema" not in optimizers.SGD().get_config()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"use_ema": True, "ema_overwrite_frequency": -1}, ValueError, "ema_overwrite_frequency"),
        ({"use_ema": True, "ema_overwrite_frequency": 2.5}, ValueError, "ema_overwrite_frequency"),
        ({"use_ema": "yes"}, TypeError, "use_ema"),
    ],
)
def test_bad_ema_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        optimizers.Adam(**kwargs)
