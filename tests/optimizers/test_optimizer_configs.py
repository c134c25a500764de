"""Optimizer configs (lamina's, Keras 2's and Keras 3's), Keras 2's `decay`, weight decay, argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_optimizers import numpy_trajectory

import lamina
from lamina import optimizers
from lamina.backend import Variable

NAMES = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion"]
# Non-default settings for each, so a config that lost a key would change the trajectory.
SETTINGS = {
    "SGD": {"learning_rate": 0.1, "momentum": 0.7, "nesterov": True},
    "RMSprop": {"learning_rate": 0.02, "rho": 0.8, "momentum": 0.3, "centered": True},
    "Adam": {"learning_rate": 0.03, "beta_1": 0.8, "amsgrad": True},
    "AdamW": {"learning_rate": 0.03, "weight_decay": 0.2, "beta_2": 0.9},
    "Adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.4, "epsilon": 1e-4},
    "Adadelta": {"learning_rate": 0.5, "rho": 0.7, "epsilon": 1e-5},
    "Adamax": {"learning_rate": 0.05, "beta_1": 0.6, "beta_2": 0.8},
    "Nadam": {"learning_rate": 0.05, "beta_1": 0.7, "epsilon": 1e-5},
    "Ftrl": {"learning_rate": 0.3, "l1_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.1},
    "Lion": {"learning_rate": 0.02, "beta_1": 0.6, "beta_2": 0.95},
}
STEPS = 5


def _problem(rng):
    initial = [rng.normal(size=(3,)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")]
    grads = [[rng.normal(scale=1.5, size=w.shape).astype("float32") for w in initial] for _ in range(STEPS)]
    return initial, grads


def _run(optimizer, initial, grad_sequence, names=("w0", "w1")):
    variables = [Variable(w.copy(), name=n) for w, n in zip(initial, names)]
    trajectory = []
    for grads in grad_sequence:
        optimizer.apply(grads, variables)
        trajectory.append([v.numpy() for v in variables])
    return trajectory


def _keras_run(optimizer, keras3, initial, grad_sequence, names=("w0", "w1")):
    variables = [keras3.Variable(w.copy(), name=n) for w, n in zip(initial, names)]
    trajectory = []
    for grads in grad_sequence:
        optimizer.apply_gradients(zip(grads, variables))
        trajectory.append([np.asarray(v.numpy()) for v in variables])
    return trajectory


def _same(got, expected, rtol=1e-5, atol=1e-6):
    for step, (a_step, b_step) in enumerate(zip(got, expected)):
        for a, b in zip(a_step, b_step):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")


# ---------------------------------------------------------------- configs
@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_keeps_the_rule(name, rng):
    initial, grads = _problem(rng)
    optimizer = getattr(optimizers, name)(clipvalue=0.8, **SETTINGS[name])
    config = optimizer.get_config()
    assert config["name"] == name and config["clipvalue"] == 0.8
    restored = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(restored) is type(optimizer)
    assert restored.get_config() == config
    expected = numpy_trajectory(name, {**SETTINGS[name], "clipvalue": 0.8}, initial, grads)
    _same(_run(restored, initial, grads), expected)


@pytest.mark.parametrize("name", NAMES)
def test_reads_keras3_configs_and_keras3_reads_lamina_configs(name, rng, keras3):
    initial, grads = _problem(rng)
    oracle = getattr(keras3.optimizers, name)(global_clipnorm=1.2, **SETTINGS[name])
    # Keras 3's config carries keys lamina does not use (use_ema, loss_scale_factor, ...) at their off values.
    keras_config = {"class_name": type(oracle).__name__, "config": oracle.get_config()}
    from_keras = optimizers.deserialize(keras_config)
    assert type(from_keras) is getattr(optimizers, name)
    expected = _keras_run(oracle, keras3, initial, grads)
    _same(_run(from_keras, initial, grads), expected)
    # The other way: real Keras 3 builds the same optimizer from lamina's config.
    lamina_config = getattr(optimizers, name)(global_clipnorm=1.2, **SETTINGS[name]).get_config()
    rebuilt = getattr(keras3.optimizers, name).from_config(lamina_config)
    _same(_keras_run(rebuilt, keras3, initial, grads), expected)


KERAS2_CONFIGS = [
    # tf.keras 2.11+ (the "new" optimizers), as written in HDF5 training configs.
    {
        "class_name": "Custom>Adagrad",
        "config": {
            "name": "Adagrad",
            "weight_decay": None,
            "clipnorm": None,
            "global_clipnorm": None,
            "clipvalue": None,
            "use_ema": False,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": None,
            "jit_compile": False,
            "is_legacy_optimizer": False,
            "learning_rate": 0.1,
            "initial_accumulator_value": 0.2,
            "epsilon": 1e-07,
        },
    },
    # Keras 2's legacy optimizers: `lr`-era keys and `decay`.
    {
        "class_name": "Adadelta",
        "config": {"name": "Adadelta", "learning_rate": 1.0, "decay": 0.0, "rho": 0.95, "epsilon": 1e-07},
    },
    {"class_name": "Adamax", "config": {"name": "Adamax", "lr": 0.002, "decay": 0.05, "beta_1": 0.9, "beta_2": 0.999}},
]


@pytest.mark.parametrize("config", KERAS2_CONFIGS, ids=lambda c: c["class_name"])
def test_reads_keras2_configs(config, rng):
    optimizer = optimizers.deserialize(config)
    name = config["class_name"].split(">")[-1]
    assert type(optimizer) is getattr(optimizers, name)
    inner = {k: v for k, v in config["config"].items() if v is not None and k in _RULE_KEYS}
    if "lr" in inner:
        inner["learning_rate"] = inner.pop("lr")
    initial, grads = _problem(rng)
    _same(_run(optimizer, initial, grads), numpy_trajectory(name, inner, initial, grads))


_RULE_KEYS = {"learning_rate", "lr", "decay", "rho", "epsilon", "beta_1", "beta_2", "initial_accumulator_value"}


# ---------------------------------------------------------------- Keras 2's decay, weight decay
@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "Nadam"])
def test_keras2_decay_divides_the_learning_rate_by_one_plus_decay_times_iterations(name, rng):
    initial, grads = _problem(rng)
    config = {"learning_rate": 0.1, "decay": 0.5}
    got = _run(getattr(optimizers, name)(**config), initial, grads)
    _same(got, numpy_trajectory(name, config, initial, grads), atol=3e-6)  # small float32 steps late on
    plain = _run(getattr(optimizers, name)(learning_rate=0.1), initial, grads)
    assert not np.allclose(got[-1][0], plain[-1][0])


def test_weight_decay_skips_excluded_variables(rng, keras3):
    initial, grads = _problem(rng)
    optimizer = optimizers.AdamW(learning_rate=0.05, weight_decay=0.3)
    optimizer.exclude_from_weight_decay(var_names=["w1"])
    oracle = keras3.optimizers.AdamW(learning_rate=0.05, weight_decay=0.3)
    oracle.exclude_from_weight_decay(var_names=["w1"])
    got = _run(optimizer, initial, grads)
    _same(got, _keras_run(oracle, keras3, initial, grads))
    # w1 follows plain Adam; w0 is decayed.
    plain = numpy_trajectory("Adam", {"learning_rate": 0.05}, initial, grads)
    decayed = numpy_trajectory("Adam", {"learning_rate": 0.05, "weight_decay": 0.3}, initial, grads)
    _same([[s[1]] for s in got], [[s[1]] for s in plain])
    _same([[s[0]] for s in got], [[s[0]] for s in decayed])


def test_exclude_from_weight_decay_after_build_is_an_error():
    optimizer = optimizers.AdamW()
    optimizer.apply([np.ones(2, "float32")], [Variable(np.zeros(2, "float32"))])
    with pytest.raises(ValueError, match="exclude_from_weight_decay"):
        optimizer.exclude_from_weight_decay(var_names=["bias"])


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lambda: optimizers.Ftrl(l1_regularization_strength=-0.1), "l1_regularization_strength"),
        (lambda: optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
        (lambda: optimizers.Lion(beta_1=0.0), "beta_1"),
        (lambda: optimizers.Nadam(clipnorm=-1.0), "clipnorm"),
        (lambda: optimizers.Adamax(use_ema=True, ema_momentum=1.5), "ema_momentum"),
        (lambda: optimizers.Adadelta(gradient_accumulation_steps=4), "gradient_accumulation_steps"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_argument_and_bad_learning_rate_are_type_errors():
    with pytest.raises(TypeError, match="beta_3"):
        optimizers.Nadam(beta_3=0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.Lion(learning_rate="fast")


def test_keras3_off_arguments_are_accepted():
    optimizer = optimizers.Ftrl(use_ema=False, ema_momentum=0.99, loss_scale_factor=None, jit_compile=True)
    assert optimizer.get_config()["learning_rate"] == pytest.approx(0.001)


# ---------------------------------------------------------------- state, save and load
def test_nadam_keeps_its_momentum_product_as_state():
    optimizer = optimizers.Nadam()
    variable = Variable(np.zeros(2, "float32"), name="w")
    for _ in range(3):
        optimizer.apply([np.ones(2, "float32")], [variable])
    expected = np.prod([0.9 * (1 - 0.5 * 0.96**t) for t in (1, 2, 3)])
    state = [v for v in optimizer.variables if v.name == "u_product"]
    assert len(state) == 1
    assert float(state[0].numpy()) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_saved_model_keeps_the_optimizer_state(name, rng, tmp_path):
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=getattr(optimizers, name)(**SETTINGS[name]), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "model.h5")
    model.save(path)
    loaded = lamina.models.load_model(path)
    assert type(loaded.optimizer) is getattr(optimizers, name)
    assert int(loaded.optimizer.iterations.numpy()) == 2
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(np.asarray(b.numpy()), np.asarray(a.numpy()), rtol=1e-6)
    # Training on continues the same way in both.
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
