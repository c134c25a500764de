"""Functional models whose layers take several tensors and keyword arguments save and load exactly.

Each call form (`mha(q, v, use_causal_mask=True)`, `attention([q, v], use_causal_mask=True)`,
`mha(q, v, attention_mask=m)`, `bn(x, training=False)`, `lstm(x, initial_state=[h, c])`,
`lstm(x, mask=m)`) is checked four ways: lamina's own round trips (.h5, .keras, JSON), real Keras 3
loading lamina's files, lamina loading real Keras 3's files, and a Keras 2 (tf.keras) config written
out by hand, with tensors among the keywords as `[layer, node, tensor]`. Every case also checks that
dropping the call's keywords changes the numbers, so a loader that lost them would fail.
"""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

import lamina


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


Q, V = _rand(2, 4, 3, seed=1), _rand(2, 5, 3, seed=2)
ATTENTION_MASK = np.array([[[1, 0, 1, 1, 0]] * 4, [[0, 1, 1, 0, 1]] * 4], bool)
SEQ, H, C = _rand(2, 5, 3, seed=3), _rand(2, 2, seed=4), _rand(2, 2, seed=5)
STEP_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], bool)
ROWS = _rand(4, 3, seed=6)


# Each case builds the same graph with lamina (`lib` = lamina) or real Keras 3 (`lib` = keras); `keywords=False`
# builds it with the call's keywords (and keyword tensors) left out, to show they change the numbers.
def _mha_causal(lib, keywords=True):
    q, v = lib.Input((4, 3), name="q"), lib.Input((5, 3), name="v")
    out = lib.layers.MultiHeadAttention(2, 3, name="mha")(q, v, use_causal_mask=keywords)
    return lib.Model([q, v], out)


def _gated_mha_causal(lib, keywords=True):
    """Keras 3's gated attention: its gate projection sits in its own weight group in .keras files."""
    q, v = lib.Input((4, 3), name="q"), lib.Input((5, 3), name="v")
    out = lib.layers.MultiHeadAttention(2, 3, use_gate=True, name="mha")(q, v, use_causal_mask=keywords)
    return lib.Model([q, v], out)


def _attention_causal(lib, keywords=True):
    q, v = lib.Input((4, 3), name="q"), lib.Input((5, 3), name="v")
    out = lib.layers.Attention(use_scale=True, name="att")([q, v], use_causal_mask=keywords)
    return lib.Model([q, v], lib.layers.Dense(2, name="head")(out))


def _mha_attention_mask(lib, keywords=True):
    q, v = lib.Input((4, 3), name="q"), lib.Input((5, 3), name="v")
    mask = lib.Input((4, 5), name="m", dtype="bool")
    mha = lib.layers.MultiHeadAttention(2, 3, name="mha")
    out = mha(q, v, attention_mask=mask) if keywords else mha(q, v)
    return lib.Model([q, v, mask], out)


def _batchnorm_inference(lib, keywords=True):
    x = lib.Input((3,), name="x")
    norm = lib.layers.BatchNormalization(name="bn")
    out = norm(x, training=False) if keywords else norm(x)
    return lib.Model(x, lib.layers.Dense(2, name="head")(out))


def _lstm_initial_state(lib, keywords=True):
    x, h, c = lib.Input((5, 3), name="x"), lib.Input((2,), name="h"), lib.Input((2,), name="c")
    lstm = lib.layers.LSTM(2, name="lstm")
    out = lstm(x, initial_state=[h, c]) if keywords else lstm(x)
    return lib.Model([x, h, c], out)


def _lstm_mask(lib, keywords=True):
    x, mask = lib.Input((5, 3), name="x"), lib.Input((5,), name="m", dtype="bool")
    lstm = lib.layers.LSTM(2, name="lstm")
    out = lstm(x, mask=mask) if keywords else lstm(x)
    return lib.Model([x, mask], out)


# name: (builder, inputs, training) -- `training` runs the model as model(x, training=True)
CASES = {
    "mha_causal": (_mha_causal, [Q, V], False),
    "gated_mha_causal": (_gated_mha_causal, [Q, V], False),
    "attention_causal": (_attention_causal, [Q, V], False),
    "mha_attention_mask": (_mha_attention_mask, [Q, V, ATTENTION_MASK], False),
    "batchnorm_training_false": (_batchnorm_inference, ROWS, True),
    "lstm_initial_state": (_lstm_initial_state, [SEQ, H, C], False),
    "lstm_mask": (_lstm_mask, [SEQ, STEP_MASK], False),
}


def _weights(model, seed=10) -> list:
    """Random weights; variances positive so BatchNormalization stays finite."""
    out = []
    for i, weight in enumerate(model.weights):
        value = _rand(*weight.shape, seed=seed + i)
        out.append(np.abs(value) + 0.5 if "variance" in weight.path else value)
    return out


def _predict(model, inputs, training: bool) -> np.ndarray:
    if training:  # the saved training=False must keep BatchNormalization on its moving statistics
        return np.array(lamina.ops.convert_to_numpy(model(inputs, training=True)))
    return np.asarray(model.predict(inputs, verbose=0))


def _keras_predict(model, inputs) -> np.ndarray:
    """Real Keras 3's predictions (inference mode).

    Keras 3.15's functional models override a saved `training=False` with the model call's own `training`,
    where Keras 2 and lamina keep it, so Keras 3 is compared in inference mode only; the training-mode
    numbers of the BatchNormalization case are checked against NumPy instead.
    """
    return np.asarray(model.predict(inputs, verbose=0))


def _numpy_batchnorm_head(weights: list, x: np.ndarray) -> np.ndarray:
    """BatchNormalization on its moving statistics (epsilon 1e-3), then Dense."""
    gamma, beta, mean, variance, kernel, bias = weights
    return ((x - mean) / np.sqrt(variance + 1e-3) * gamma + beta) @ kernel + bias


def _reference(name: str, weights: list, keras3) -> np.ndarray:
    """Independent numbers for a case: NumPy for BatchNormalization in training mode, else real Keras 3."""
    build, inputs, training = CASES[name]
    if training:
        return _numpy_batchnorm_head(weights, inputs)
    theirs = build(keras3)
    theirs.set_weights(weights)
    return _keras_predict(theirs, inputs)


def _made(name):
    build, inputs, training = CASES[name]
    model = build(lamina)
    model.set_weights(_weights(model))
    return model, inputs, training


def _assert_close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_lamina_models_with_call_keywords_match_the_reference(name, keras3):
    model, inputs, training = _made(name)
    _assert_close(_predict(model, inputs, training), _reference(name, model.get_weights(), keras3), name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_keywords_change_the_numbers(name):
    """Without this, a loader that dropped the call's keywords could still pass the round trips."""
    model, inputs, training = _made(name)
    plain = CASES[name][0](lamina, keywords=False)  # same inputs; the keyword tensors go unused
    plain.set_weights(model.get_weights())
    difference = np.max(np.abs(_predict(model, inputs, training) - _predict(plain, inputs, training)))
    assert difference > 1e-3, f"{name}: the keywords do not change the output (max difference {difference})"


@pytest.mark.parametrize("route", ["h5", "keras", "json"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_lamina_round_trips_keep_the_call(name, route, tmp_path):
    model, inputs, training = _made(name)
    if route == "json":
        loaded = lamina.models.model_from_json(model.to_json())
        loaded.set_weights(model.get_weights())
    else:
        path = os.fspath(tmp_path / f"model.{route}")
        model.save(path)
        loaded = lamina.models.load_model(path)
    _assert_close(_predict(loaded, inputs, training), _predict(model, inputs, training), f"{name} via {route}")
    again = loaded.get_config()
    assert json.dumps(again, sort_keys=True, default=str) == json.dumps(model.get_config(), sort_keys=True, default=str)


# Keras 3.15's .h5 reader turns Attention's score_mode "dot" into the function keras.ops.dot and then rejects it,
# for its own files too; strict, so the mark goes when Keras fixes it.
KERAS3_H5_ATTENTION_BUG = pytest.mark.xfail(
    strict=True, raises=TypeError, reason="Keras 3.15 cannot read Attention(score_mode='dot') from any .h5 file"
)
KERAS3_READS = [
    pytest.param(name, route, marks=KERAS3_H5_ATTENTION_BUG if (name, route) == ("attention_causal", "h5") else ())
    for name in sorted(CASES)
    for route in ("h5", "keras")
]


@pytest.mark.parametrize("name, route", KERAS3_READS)
def test_keras3_loads_lamina_files_with_call_arguments(name, route, tmp_path, keras3):
    model, inputs, _ = _made(name)
    path = os.fspath(tmp_path / f"model.{route}")
    model.save(path)
    theirs = keras3.models.load_model(path, compile=False)
    _assert_close(_keras_predict(theirs, inputs), _predict(model, inputs, False), f"Keras 3 reads {name}")


@pytest.mark.parametrize("route", ["h5", "keras"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_lamina_loads_keras3_files_with_call_arguments(name, route, tmp_path, keras3):
    build, inputs, _ = CASES[name]
    theirs = build(keras3)
    theirs.set_weights(_weights(theirs))
    path = os.fspath(tmp_path / f"keras3.{route}")
    theirs.save(path)
    mine = lamina.models.load_model(path, compile=False)
    _assert_close(_predict(mine, inputs, False), _keras_predict(theirs, inputs), f"lamina reads {name}")


def test_h5_config_writes_keras2_nodes_where_exact_and_keras3_nodes_elsewhere(tmp_path):
    """Keras 2's node form for calls whose tensors are all in the first argument; Keras 3's for the rest."""
    model, _, _ = _made("batchnorm_training_false")
    model.save(tmp_path / "bn.h5")
    with h5py.File(tmp_path / "bn.h5", "r") as f:
        nodes = {e["name"]: e["inbound_nodes"] for e in json.loads(f.attrs["model_config"])["config"]["layers"]}
    assert nodes["bn"] == [[["x", 0, 0, {"training": False}]]]
    assert nodes["head"] == [[["bn", 0, 0, {}]]]
    model, _, _ = _made("mha_causal")
    model.save(tmp_path / "mha.h5")
    with h5py.File(tmp_path / "mha.h5", "r") as f:
        nodes = {e["name"]: e["inbound_nodes"] for e in json.loads(f.attrs["model_config"])["config"]["layers"]}
    (node,) = nodes["mha"]
    assert node["kwargs"] == {"use_causal_mask": True}
    assert [a["config"]["keras_history"] for a in node["args"]] == [["q", 0, 0], ["v", 0, 0]]
    assert node["args"][1]["config"]["shape"] == [None, 5, 3]


def _keras2_file(model, nodes: dict) -> str:
    """`model`'s JSON with the given layers' inbound nodes replaced by tf.keras-style ones."""
    config = json.loads(model.to_json())
    for entry in config["config"]["layers"]:
        if entry["name"] in nodes:
            entry["inbound_nodes"] = nodes[entry["name"]]
    return json.dumps(config)


# tf.keras writes every argument after the first as a keyword, tensors as [layer, node, tensor].
KERAS2_NODES = {
    "mha_causal": {"mha": [[["q", 0, 0, {"value": ["v", 0, 0], "use_causal_mask": True}]]]},
    "gated_mha_causal": {"mha": [[["q", 0, 0, {"value": ["v", 0, 0], "use_causal_mask": True}]]]},
    "attention_causal": {
        "att": [[["q", 0, 0, {"use_causal_mask": True}], ["v", 0, 0, {"use_causal_mask": True}]]],
    },
    "mha_attention_mask": {"mha": [[["q", 0, 0, {"value": ["v", 0, 0], "attention_mask": ["m", 0, 0]}]]]},
    "batchnorm_training_false": {"bn": [[["x", 0, 0, {"training": False}]]]},
    "lstm_initial_state": {"lstm": [[["x", 0, 0, {"initial_state": [["h", 0, 0], ["c", 0, 0]]}]]]},
    "lstm_mask": {"lstm": [[["x", 0, 0, {"mask": ["m", 0, 0]}]]]},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lamina_reads_keras2_nodes_with_tensor_keywords(name, keras3):
    """A tf.keras-style config loads; the numbers match real Keras 3 running the same graph and weights."""
    model, inputs, training = _made(name)
    loaded = lamina.models.model_from_json(_keras2_file(model, KERAS2_NODES[name]))
    loaded.set_weights(model.get_weights())
    want = _reference(name, model.get_weights(), keras3)
    _assert_close(_predict(loaded, inputs, training), want, f"{name} (Keras 2)")


def test_a_broken_inbound_node_names_the_problem():
    model, _, _ = _made("mha_causal")
    text = _keras2_file(model, {"mha": [["not", "a", "node"]]})
    with pytest.raises(ValueError, match=r"inbound node must be a dict or a list of \[layer, node, tensor, kwargs\]"):
        lamina.models.model_from_json(text)
    text = _keras2_file(model, {"mha": [[["q", 0, 0, {"value": ["nowhere", 0, 0]}]]]})
    with pytest.raises(ValueError, match=r"graph cannot be built.*nowhere"):
        lamina.models.model_from_json(text)


def test_keras3_tuples_in_call_keywords(keras3):
    """Keras 3 may write a tuple argument as `{"class_name": "__tuple__", "config": {"value": [...]}}`."""
    model, inputs, training = _made("lstm_initial_state")
    config = json.loads(model.to_json())
    (lstm,) = [e for e in config["config"]["layers"] if e["name"] == "lstm"]
    (node,) = lstm["inbound_nodes"]
    node["kwargs"]["initial_state"] = {"class_name": "__tuple__", "config": {"value": node["kwargs"]["initial_state"]}}
    loaded = lamina.models.model_from_json(json.dumps(config))
    loaded.set_weights(model.get_weights())
    want = _reference("lstm_initial_state", model.get_weights(), keras3)
    _assert_close(_predict(loaded, inputs, training), want, "initial_state as a Keras 3 tuple")


def test_keras2_constant_in_a_call_reaches_the_layer():
    """tf.keras writes a constant in the first argument as ["_CONSTANT_VALUE", -1, value, kwargs]."""
    a = lamina.Input((2,), name="a")
    b = lamina.Input((2,), name="b")
    model = lamina.Model([a, b], lamina.layers.Add(name="add")([a, b]))
    text = _keras2_file(model, {"add": [[["a", 0, 0, {}], ["_CONSTANT_VALUE", -1, [1.0, 2.0], {}]]]})
    with pytest.raises(TypeError, match=r'Layer "add" was called on a mix of symbolic tensors and float'):
        lamina.models.model_from_json(text)
