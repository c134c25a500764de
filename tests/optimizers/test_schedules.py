"""Learning-rate schedules: values against NumPy formulas and Keras 3, optimizers driven by them, configs, fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy_optimizers import numpy_trajectory

import lamina
from lamina import optimizers
from lamina.backend import Variable
from lamina.optimizers import schedules


# ---------------------------------------------------------------- NumPy references
def np_exponential(t, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    return initial_learning_rate * decay_rate ** (math.floor(p) if staircase else p)


def np_piecewise(t, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if t <= boundary:
            return value
    return values[-1]


def np_polynomial(t, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * (1.0 if t == 0 else math.ceil(t / decay_steps))
    else:
        t = min(t, decay_steps)
    return (initial_learning_rate - end_learning_rate) * (1 - t / decay_steps) ** power + end_learning_rate


def np_inverse_time(t, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    return initial_learning_rate / (1 + decay_rate * (math.floor(p) if staircase else p))


def _cosine(fraction, alpha):
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha


def np_cosine(t, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    if warmup_target is None:
        return initial_learning_rate * _cosine(min(t, decay_steps) / decay_steps, alpha)
    if t < warmup_steps:
        return initial_learning_rate + (warmup_target - initial_learning_rate) * t / warmup_steps
    t = min(t, decay_steps + warmup_steps)
    return warmup_target * _cosine((t - warmup_steps) / decay_steps, alpha)


def np_cosine_restarts(t, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    # Walk the periods one by one: period i lasts first_decay_steps * t_mul**i and peaks at m_mul**i.
    start, length, peak = 0.0, float(first_decay_steps), 1.0
    while t >= start + length:
        start, length, peak = start + length, length * t_mul, peak * m_mul
    fraction = (t - start) / length
    return initial_learning_rate * ((1 - alpha) * peak * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha)


CASES = [
    ("ExponentialDecay", np_exponential, {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    (
        "ExponentialDecay",
        np_exponential,
        {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True},
    ),
    ("PiecewiseConstantDecay", np_piecewise, {"boundaries": [2, 5, 9], "values": [1.0, 0.5, 0.2, 0.05]}),
    ("PolynomialDecay", np_polynomial, {"initial_learning_rate": 0.1, "decay_steps": 8}),
    (
        "PolynomialDecay",
        np_polynomial,
        {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01, "power": 2.0, "cycle": True},
    ),
    ("InverseTimeDecay", np_inverse_time, {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.7}),
    (
        "InverseTimeDecay",
        np_inverse_time,
        {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7, "staircase": True},
    ),
    ("CosineDecay", np_cosine, {"initial_learning_rate": 0.1, "decay_steps": 10}),
    ("CosineDecay", np_cosine, {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.2}),
    (
        "CosineDecay",
        np_cosine,
        {"initial_learning_rate": 0.0, "decay_steps": 8, "alpha": 0.1, "warmup_target": 0.2, "warmup_steps": 4},
    ),
    ("CosineDecayRestarts", np_cosine_restarts, {"initial_learning_rate": 0.1, "first_decay_steps": 3}),
    (
        "CosineDecayRestarts",
        np_cosine_restarts,
        {"initial_learning_rate": 0.1, "first_decay_steps": 2, "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1},
    ),
    (
        "CosineDecayRestarts",
        np_cosine_restarts,
        {"initial_learning_rate": 0.1, "first_decay_steps": 2, "t_mul": 1.5, "m_mul": 0.8},
    ),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]
STEPS = list(range(0, 25))


@pytest.mark.parametrize("name, reference, config", CASES, ids=IDS)
def test_values_match_numpy_and_keras3(name, reference, config, keras3):
    schedule = getattr(schedules, name)(**config)
    oracle = getattr(keras3.optimizers.schedules, name)(**config)
    got = np.array([float(np.asarray(schedule(step))) for step in STEPS])
    expected = np.array([reference(step, **config) for step in STEPS])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, [float(oracle(step)) for step in STEPS], rtol=1e-5, atol=1e-7)
    assert len(set(np.round(got, 7))) > 2  # the schedule does change over these steps
    # The step may be an int32 array (an optimizer's `iterations`), not only a Python int.
    assert float(np.asarray(schedule(lamina.ops.convert_to_tensor(np.int32(7))))) == pytest.approx(got[7], rel=1e-6)


@pytest.mark.parametrize("name, reference, config", CASES, ids=IDS)
def test_config_round_trip_and_keras3_form(name, reference, config, keras3):
    schedule = getattr(schedules, name)(**config)
    serialized = schedules.serialize(schedule)
    assert serialized["class_name"] == name
    assert serialized["config"] == getattr(keras3.optimizers.schedules, name)(**config).get_config()
    restored = schedules.deserialize(serialized)
    assert type(restored) is type(schedule) and restored.get_config() == schedule.get_config()
    # Keras 3's own serialized form, and Keras 2's (no module key), both load.
    keras_form = keras3.optimizers.schedules.serialize(getattr(keras3.optimizers.schedules, name)(**config))
    assert schedules.deserialize(keras_form).get_config() == schedule.get_config()
    keras2_form = {"class_name": name, "config": schedule.get_config()}
    assert schedules.deserialize(keras2_form).get_config() == schedule.get_config()
    # Real Keras 3 reads lamina's form.
    rebuilt = keras3.optimizers.schedules.deserialize(serialized)
    assert float(rebuilt(6)) == pytest.approx(reference(6, **config), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.PolynomialDecay(0.1, -2), "decay_steps"),
        (lambda: schedules.InverseTimeDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
        (lambda: schedules.CosineDecay(0.1, 5, warmup_target=0.2, warmup_steps=-1), "warmup_steps"),
        (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5]), "boundaries"),
        (lambda: schedules.deserialize({"class_name": "NoSuchDecay", "config": {}}), "NoSuchDecay"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------- optimizers driven by schedules
def _problem(rng, steps=8):
    initial = [rng.normal(size=(3,)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in initial] for _ in range(steps)]
    return initial, grads


OPTIMIZER_CASES = [
    ("SGD", {"momentum": 0.5}, 4),
    ("Adam", {}, 2),
    ("Adagrad", {}, 7),
    ("AdamW", {"weight_decay": 0.1}, 9),
]


@pytest.mark.parametrize("name, config, case", OPTIMIZER_CASES, ids=[c[0] for c in OPTIMIZER_CASES])
def test_optimizer_evaluates_the_schedule_at_iterations(name, config, case, rng, keras3):
    schedule_name, reference, schedule_config = CASES[case]
    initial, grads = _problem(rng)
    optimizer = getattr(optimizers, name)(learning_rate=getattr(schedules, schedule_name)(**schedule_config), **config)
    variables = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(initial)]
    got = []
    for step, grad in enumerate(grads):
        # Before each step, learning_rate reads as the schedule's value at the current iterations.
        assert float(optimizer.learning_rate.numpy()) == pytest.approx(reference(step, **schedule_config), rel=1e-5)
        optimizer.apply(grad, variables)
        got.append([v.numpy() for v in variables])
    expected = numpy_trajectory(name, config, initial, grads, schedule=lambda t: reference(t, **schedule_config))
    oracle = getattr(keras3.optimizers, name)(
        learning_rate=getattr(keras3.optimizers.schedules, schedule_name)(**schedule_config), **config
    )
    keras_vars = [keras3.Variable(w.copy()) for w in initial]
    for step, grad in enumerate(grads):
        oracle.apply_gradients(zip(grad, keras_vars))
        for a, b, c in zip(got[step], expected[step], keras_vars):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step + 1}")
            np.testing.assert_allclose(a, np.asarray(c.numpy()), rtol=1e-5, atol=1e-6, err_msg=f"step {step + 1}")


def test_optimizer_config_holds_the_schedule(keras3):
    schedule = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.5, warmup_steps=10)
    optimizer = optimizers.Adam(learning_rate=schedule, beta_1=0.8)
    config = optimizer.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    assert config["learning_rate"]["config"] == schedule.get_config()
    restored = optimizers.Adam.from_config(config)
    assert isinstance(restored._schedule, schedules.CosineDecay)
    assert restored.get_config() == config
    # Real Keras 3 reads it, and lamina reads Keras 3's.
    oracle = keras3.optimizers.Adam.from_config(config)
    assert type(oracle.learning_rate) is not float and float(oracle.learning_rate) == pytest.approx(0.1)
    back = optimizers.deserialize({"class_name": "Adam", "config": oracle.get_config()})
    assert back._schedule.get_config() == schedule.get_config()


def test_a_scheduled_learning_rate_cannot_be_set():
    optimizer = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        optimizer.learning_rate = 0.5


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_fit_with_a_schedule_matches_keras3(name, rng, keras3):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 2))).astype("float32")
    config = {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}
    model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(4,))])
    oracle = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(2)])
    oracle.set_weights(model.get_weights())
    model.compile(optimizer=getattr(optimizers, name)(learning_rate=schedules.ExponentialDecay(**config)), loss="mse")
    oracle.compile(
        optimizer=getattr(keras3.optimizers, name)(
            learning_rate=keras3.optimizers.schedules.ExponentialDecay(**config)
        ),
        loss="mse",
    )
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    oracle_history = oracle.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], oracle_history.history["loss"], rtol=1e-4)
    for got, expected in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # 12 steps were taken; the learning rate now reads as the schedule at step 12.
    assert int(model.optimizer.iterations.numpy()) == 12
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(np_exponential(12, **config), rel=1e-5)
