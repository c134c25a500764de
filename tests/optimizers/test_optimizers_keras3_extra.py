"""Keras 3's newer optimizers (Adafactor, Lamb, Muon, ScheduleFreeAdamW) against real Keras 3.

Each trajectory starts both optimizers from the same variables and feeds them the same gradients;
the variables must agree after every step, and the slots must come out in Keras 3's order.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina.backend import Variable

STEPS = 3
# A vector (not factored / Adam path in Muon), a tall and a wide matrix (Muon transposes the tall one),
# and a rank-3 tensor (Adafactor factors its last two axes).
SHAPES = {"w0": (3,), "w1": (4, 3), "w2": (2, 5), "w3": (2, 3, 4)}


def _problem(rng):
    initial = {name: rng.normal(size=shape).astype("float32") for name, shape in SHAPES.items()}
    grads = [[rng.normal(scale=1.5, size=shape).astype("float32") for shape in SHAPES.values()] for _ in range(STEPS)]
    return initial, grads


def _lamina_run(optimizer, initial, grad_sequence):
    variables = [Variable(value.copy(), name=name) for name, value in initial.items()]
    out = []
    for grads in grad_sequence:
        optimizer.apply(grads, variables)
        out.append([v.numpy() for v in variables])
    return out, optimizer


def _keras_run(keras3, name, config, initial, grad_sequence):
    optimizer = getattr(keras3.optimizers, name)(**config)
    variables = [keras3.Variable(value.copy(), name=key) for key, value in initial.items()]
    out = []
    for grads in grad_sequence:
        optimizer.apply_gradients(zip(grads, variables))
        out.append([np.asarray(v.numpy()) for v in variables])
    return out, optimizer


def _same(got, expected, rtol=1e-5, atol=1e-6):
    for step, (a_step, b_step) in enumerate(zip(got, expected)):
        for index, (a, b) in enumerate(zip(a_step, b_step)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step + 1}, variable {index}")


# Defaults are checked by test_defaults_and_config_round_trip_both_ways; these runs change every argument
# that alters the numbers (Muon also at its defaults: Nesterov, rms_rate, its two weight decays).
CONFIGS = [
    ("Adafactor", {"learning_rate": 0.05, "beta_2_decay": -0.5, "clip_threshold": 0.5, "epsilon_2": 0.01}),
    ("Lamb", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "weight_decay": 0.1, "clipnorm": 1.0}),
    ("Muon", {}),
    (
        "Muon",
        {
            "learning_rate": 0.02,
            "nesterov": False,
            "rms_rate": None,
            "exclude_layers": ["w2"],
            "weight_decay": 0.1,
            "adam_weight_decay": 0.2,
            "adam_lr_ratio": 0.5,
            "ns_steps": 3,
            "momentum": 0.9,
        },
    ),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "beta_1": 0.8, "warmup_steps": 3, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_and_state_match_keras3(name, config, rng, keras3):
    initial, grads = _problem(rng)
    got, optimizer = _lamina_run(getattr(optimizers, name)(**config), initial, grads)
    expected, oracle = _keras_run(keras3, name, config, initial, grads)
    _same(got, expected)
    assert not np.allclose(got[-1][1], initial["w1"])
    # Same optimizer variables, in Keras 3's order (what a .keras file lists by position).
    ours = [np.asarray(v.numpy()) for v in optimizer.variables]
    theirs = [np.asarray(v.numpy()) for v in oracle.variables]
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for index, (a, b) in enumerate(zip(ours[2:], theirs[2:])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"optimizer variable {index + 2}")
    assert int(ours[0]) == STEPS == int(theirs[0])


def test_learning_rate_schedule_matches_keras3(rng, keras3):
    initial, grads = _problem(rng)
    ours = optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    theirs = keras3.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    got, _ = _lamina_run(optimizers.Lamb(learning_rate=ours), initial, grads)
    expected, _ = _keras_run(keras3, "Lamb", {"learning_rate": theirs}, initial, grads)
    _same(got, expected)


DEFAULTS = {
    "Adafactor": {"learning_rate": 0.001, "beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3},
    "Lamb": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Muon": {"learning_rate": 0.001, "weight_decay": 0.004, "adam_weight_decay": 0.004, "momentum": 0.95},
    "ScheduleFreeAdamW": {"learning_rate": 0.0025, "beta_1": 0.9, "epsilon": 1e-8, "warmup_steps": 0},
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_and_config_round_trip_both_ways(name, keras3):
    ours = getattr(optimizers, name)().get_config()
    theirs = getattr(keras3.optimizers, name)().get_config()
    for key in set(theirs) & set(ours) - {"name"}:
        assert ours[key] == pytest.approx(theirs[key]), key
    for key, value in DEFAULTS[name].items():
        assert ours[key] == pytest.approx(value), key
    # Keras 3's config (snake-case name, extra keys) builds lamina's optimizer, and the other way round.
    from_keras = optimizers.get({"class_name": name, "config": theirs})
    assert type(from_keras) is getattr(optimizers, name)
    assert from_keras.get_config() == {**ours, "name": theirs["name"]}
    assert getattr(keras3.optimizers, name).from_config(ours).get_config()["name"] == name
    assert type(optimizers.get(name.lower())) is getattr(optimizers, name)


def test_muon_weight_decay_none_round_trips():
    optimizer = optimizers.Muon(weight_decay=None, exclude_layers=["head"])
    restored = optimizers.deserialize(optimizers.serialize(optimizer))
    assert restored.weight_decay is None and restored.exclude_layers == ["head"]


def test_muon_skips_embeddings_and_non_matrices():
    model = lamina.Sequential([lamina.layers.Embedding(6, 4, input_shape=(3,)), lamina.layers.Dense(2)])
    optimizer = optimizers.Muon()
    optimizer.build(model.trainable_variables)
    kinds = [slot.name for slot in optimizer.variables[2:]]
    # embeddings (Adam: momentum + velocity), kernel (Muon: momentum), bias (Adam).
    assert kinds == ["momentum", "velocity", "momentum", "momentum", "velocity"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: optimizers.Muon(ns_steps=-1), "ns_steps"),
        (lambda: optimizers.Muon(exclude_layers="dense"), "exclude_layers"),
        (lambda: optimizers.ScheduleFreeAdamW(warmup_steps=1.5), "warmup_steps"),
        (lambda: optimizers.Lamb(beta_3=0.1), "beta_3"),
    ],
)
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_fit_matches_keras3(rng, keras3):
    # ScheduleFreeAdamW's slot starts as a copy of its variable: inside the compiled train step the two
    # must stay separate buffers.
    x = rng.normal(size=(16, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 2))).astype("float32")
    model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(5,))])
    oracle = keras3.Sequential([keras3.Input((5,)), keras3.layers.Dense(2)])
    oracle.set_weights(model.get_weights())
    model.compile(optimizer=optimizers.ScheduleFreeAdamW(learning_rate=0.05), loss="mse")
    oracle.compile(optimizer=keras3.optimizers.ScheduleFreeAdamW(learning_rate=0.05), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    expected = oracle.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
