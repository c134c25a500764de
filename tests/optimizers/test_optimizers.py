"""Optimizers: trajectories against Keras's update rules written out in NumPy and against real Keras 3."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_optimizers import numpy_trajectory

import lamina
from lamina import optimizers
from lamina.backend import Variable

STEPS = 6
SHAPES = [(3,), (2, 2)]  # two variables, so global_clipnorm has something to be global over


# ---------------------------------------------------------------- the runs
def _problem(rng):
    initial = [rng.normal(size=shape).astype("float32") for shape in SHAPES]
    # Gradients large enough that every clipping option below bites on most steps.
    grads = [[rng.normal(scale=1.5, size=shape).astype("float32") for shape in SHAPES] for _ in range(STEPS)]
    return initial, grads


def lamina_trajectory(optimizer, initial, grad_sequence):
    variables = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(initial)]
    trajectory = []
    for grads in grad_sequence:
        optimizer.apply(grads, variables)
        trajectory.append([v.numpy() for v in variables])
    return trajectory


def keras3_trajectory(keras3, name, config, initial, grad_sequence):
    optimizer = getattr(keras3.optimizers, name)(**config)
    variables = [keras3.Variable(w.copy()) for w in initial]
    trajectory = []
    for grads in grad_sequence:
        optimizer.apply_gradients(zip(grads, variables))
        trajectory.append([np.asarray(v.numpy()) for v in variables])
    return trajectory


def assert_same_trajectory(got, expected, rtol=1e-5, atol=1e-6):
    assert len(got) == len(expected)
    for step, (got_step, expected_step) in enumerate(zip(got, expected)):
        for index, (a, b) in enumerate(zip(got_step, expected_step)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step + 1}, variable {index}")


CONFIGS = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.3, "rho": 0.8}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.8}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.05, "beta_1": 0.7, "beta_2": 0.9}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95}),
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.2, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.05}),
    ("Ftrl", {"learning_rate": 0.2, "learning_rate_power": -0.3, "l2_shrinkage_regularization_strength": 0.1}),
    ("Ftrl", {"learning_rate": 0.2, "beta": 0.5, "initial_accumulator_value": 0.3}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.2}),
    ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.2}),
]
CLIPS = [{}, {"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 1.5}]


def _id(value):
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "defaults"
    return str(value)


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: _id(c) if c else "noclip")
@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}[{_id(c)}]" for n, c in CONFIGS])
def test_trajectory_matches_numpy_and_keras3(name, config, clip, rng, keras3):
    config = {**config, **clip}
    initial, grad_sequence = _problem(rng)
    got = lamina_trajectory(getattr(optimizers, name)(**config), initial, grad_sequence)
    assert_same_trajectory(got, numpy_trajectory(name, config, initial, grad_sequence))
    assert_same_trajectory(got, keras3_trajectory(keras3, name, config, initial, grad_sequence))
    # The variables moved: a trajectory that stays put would match any rule.
    assert not np.allclose(got[-1][0], initial[0])


def test_clipping_changes_the_steps(rng):
    initial, grad_sequence = _problem(rng)
    plain = lamina_trajectory(optimizers.SGD(learning_rate=0.1), initial, grad_sequence)
    for clip in CLIPS[1:]:
        clipped = lamina_trajectory(optimizers.SGD(learning_rate=0.1, **clip), initial, grad_sequence)
        assert not np.allclose(clipped[0][0], plain[0][0]), clip


def test_at_most_one_clipping_option():
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


# ---------------------------------------------------------------- defaults, aliases, get()
@pytest.mark.parametrize(
    "name, defaults",
    [
        ("SGD", {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
        ("RMSprop", {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}),
        ("Adam", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
        ("AdamW", {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "amsgrad": False}),
        ("Adagrad", {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}),
        ("Adadelta", {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}),
        ("Adamax", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
        ("Nadam", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
        (
            "Ftrl",
            {
                "learning_rate": 0.001,
                "learning_rate_power": -0.5,
                "initial_accumulator_value": 0.1,
                "l1_regularization_strength": 0.0,
                "l2_regularization_strength": 0.0,
                "l2_shrinkage_regularization_strength": 0.0,
                "beta": 0.0,
            },
        ),
        ("Lion", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99}),
    ],
)
def test_keras_defaults(name, defaults, keras3):
    optimizer = getattr(optimizers, name)()
    oracle = getattr(keras3.optimizers, name)()
    for key, value in defaults.items():
        got = float(optimizer.learning_rate.numpy()) if key == "learning_rate" else getattr(optimizer, key)
        assert got == pytest.approx(value), key
        expected = float(oracle.learning_rate.numpy()) if key == "learning_rate" else getattr(oracle, key)
        assert got == pytest.approx(expected), key
    config = optimizer.get_config()
    for key, value in defaults.items():
        assert config[key] == pytest.approx(value), key
    assert optimizer.clipnorm is optimizer.clipvalue is optimizer.global_clipnorm is None


ALL_NAMES = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion"]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_lr_alias(name, rng):
    optimizer = getattr(optimizers, name)(lr=0.25)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.25)
    assert float(optimizer.lr.numpy()) == pytest.approx(0.25)
    initial, grad_sequence = _problem(rng)
    got = lamina_trajectory(optimizer, initial, grad_sequence)
    expected = lamina_trajectory(getattr(optimizers, name)(learning_rate=0.25), initial, grad_sequence)
    assert_same_trajectory(got, expected, rtol=0, atol=0)
    assert_same_trajectory(got, numpy_trajectory(name, {"learning_rate": 0.25}, initial, grad_sequence))


def test_setting_the_learning_rate_changes_later_steps():
    optimizer = optimizers.SGD(learning_rate=0.1)
    variable = Variable(np.zeros(2, "float32"))
    optimizer.apply([np.ones(2, "float32")], [variable])
    optimizer.learning_rate = 0.5
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.5)
    optimizer.apply([np.ones(2, "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-0.6, -0.6], rtol=1e-6)


def test_iterations_count_applied_steps(rng):
    optimizer = optimizers.Adam()
    assert int(optimizer.iterations.numpy()) == 0
    assert "int" in optimizer.iterations.dtype
    initial, grad_sequence = _problem(rng)
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(initial)]
    for step, grads in enumerate(grad_sequence, start=1):
        optimizer.apply(grads, variables)
        assert int(optimizer.iterations.numpy()) == step


def test_apply_gradients_takes_pairs(rng, keras3):
    initial, grad_sequence = _problem(rng)
    optimizer = optimizers.RMSprop(learning_rate=0.01, momentum=0.5)
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(initial)]
    for grads in grad_sequence:
        optimizer.apply_gradients(zip(grads, variables))
    assert int(optimizer.iterations.numpy()) == STEPS
    expected = keras3_trajectory(keras3, "RMSprop", {"learning_rate": 0.01, "momentum": 0.5}, initial, grad_sequence)
    assert_same_trajectory([[v.numpy() for v in variables]], expected[-1:])


def test_an_optimizer_is_bound_to_its_variables():
    optimizer = optimizers.SGD(momentum=0.9)
    optimizer.apply([np.ones(2, "float32")], [Variable(np.zeros(2, "float32"))])
    with pytest.raises(ValueError, match="SGD"):
        optimizer.apply([np.ones(2, "float32")], [Variable(np.zeros(2, "float32"))])


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("sgd", optimizers.SGD),
        ("SGD", optimizers.SGD),
        ("rmsprop", optimizers.RMSprop),
        ("RMSprop", optimizers.RMSprop),
        ("adam", optimizers.Adam),
        ("Adam", optimizers.Adam),
        (optimizers.Adam, optimizers.Adam),
        ("adamw", optimizers.AdamW),
        ("AdamW", optimizers.AdamW),
        ("adagrad", optimizers.Adagrad),
        ("adadelta", optimizers.Adadelta),
        ("adamax", optimizers.Adamax),
        ("nadam", optimizers.Nadam),
        ("Nadam", optimizers.Nadam),
        ("ftrl", optimizers.Ftrl),
        ("lion", optimizers.Lion),
        ("Custom>Adagrad", optimizers.Adagrad),
    ],
)
def test_get_by_name_and_class(identifier, cls):
    optimizer = optimizers.get(identifier)
    assert type(optimizer) is cls
    default_lr = 0.01 if cls is optimizers.SGD else 0.001
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(default_lr)


def test_get_from_an_instance_and_a_config():
    optimizer = optimizers.RMSprop(learning_rate=0.02)
    assert optimizers.get(optimizer) is optimizer
    restored = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.03, "amsgrad": True}})
    assert type(restored) is optimizers.Adam
    assert float(restored.learning_rate.numpy()) == pytest.approx(0.03)
    assert restored.amsgrad is True
    round_trip = optimizers.SGD.from_config(optimizers.SGD(learning_rate=0.2, momentum=0.5, clipnorm=2.0).get_config())
    assert (round_trip.momentum, round_trip.clipnorm) == (0.5, 2.0)
    assert float(round_trip.learning_rate.numpy()) == pytest.approx(0.2)


def test_get_unknown_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="adamwhat"):
        optimizers.get("adamwhat")
    with pytest.raises(ValueError, match="Nadamish"):
        optimizers.get({"class_name": "Nadamish", "config": {}})


def test_unknown_keyword_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="momentum_typo"):
        optimizers.Adam(momentum_typo=0.9)


# ---------------------------------------------------------------- end to end: fit() against Keras 3
END_TO_END = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}, "mse", "regression"),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.2}, "categorical_crossentropy", "one_hot"),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}, "sparse_categorical_crossentropy", "labels"),
    ("Nadam", {"learning_rate": 0.01}, "categorical_crossentropy", "one_hot"),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05}, "mse", "regression"),
    ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.5}, "sparse_categorical_crossentropy", "labels"),
]


def _fit_data(kind, rng):
    x = rng.normal(size=(32, 5)).astype("float32")
    if kind == "regression":
        return x, (x @ rng.normal(size=(5, 2)) + 0.1).astype("float32"), (2, None)
    labels = rng.integers(0, 3, size=(32,))
    return x, (labels if kind == "labels" else np.eye(3, dtype="float32")[labels]), (3, "softmax")


@pytest.mark.parametrize("name, config, loss, kind", END_TO_END, ids=[c[0] for c in END_TO_END])
def test_fit_matches_keras3(name, config, loss, kind, rng, keras3):
    x, y, (units, activation) = _fit_data(kind, rng)
    model = lamina.Sequential(
        [lamina.layers.Dense(8, activation="tanh", input_shape=(5,)), lamina.layers.Dense(units, activation=activation)]
    )
    oracle = keras3.Sequential(
        [
            keras3.Input((5,)),
            keras3.layers.Dense(8, activation="tanh"),
            keras3.layers.Dense(units, activation=activation),
        ]
    )
    initial = model.get_weights()
    oracle.set_weights(initial)
    model.compile(optimizer=getattr(optimizers, name)(**config), loss=loss)
    oracle.compile(optimizer=getattr(keras3.optimizers, name)(**config), loss=loss)

    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    oracle_history = oracle.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

    assert int(model.optimizer.iterations.numpy()) == 8 == int(oracle.optimizer.iterations.numpy())
    np.testing.assert_allclose(history.history["loss"], oracle_history.history["loss"], rtol=1e-4)
    assert history.history["loss"][1] < history.history["loss"][0]
    for got, expected, start in zip(model.get_weights(), oracle.get_weights(), initial):
        assert not np.allclose(got, start)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
