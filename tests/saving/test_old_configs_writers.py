"""Old configs that load, and which Keras wrote a config that names no `keras_version`.

- Keras 1's regularizer and constraint dicts (`{"name": "L1L2Regularizer", "l1": 0.0, "l2": 0.01}`,
  `{"name": "MaxNorm", "m": 2, "axis": 0}`), written here from Keras 1.2's `get_config()` structure,
  checked against the penalty and the constraint written out in NumPy.
- tf-keras 2.13+ configs (`tests/fixtures/configs/tf_keras_writer.*`, written by tf-keras 2.21 with
  `make_tfkeras_writer.py`): they carry Keras 3-like `module` keys, yet `hard_sigmoid` and RandomCrop
  must keep tf-keras's meaning; a Discretization never adapted builds and adapts later, as in tf-keras.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import lamina
from lamina.saving.serialization import deserialize_layer
from lamina.saving.writer_detection import written_by_keras3

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "configs"
TF_KERAS = json.loads((FIXTURES / "tf_keras_writer.json").read_text())


def _keras1_dense(**extra) -> dict:
    """A Keras 1.2 Dense config, as its `get_config()` wrote it."""
    config = {"name": "dense_1", "trainable": True, "batch_input_shape": [None, 4], "input_dtype": "float32"}
    config.update({"output_dim": 3, "input_dim": 4, "init": "glorot_uniform", "activation": "linear", "bias": True})
    config.update({"activity_regularizer": None, "b_constraint": None, **extra})
    return {"class_name": "Dense", "config": config}


def test_keras1_regularizer_and_constraint_dicts():
    dense = _keras1_dense(
        W_regularizer={"name": "L1L2Regularizer", "l1": 0.0, "l2": 0.01},
        b_regularizer={"name": "WeightRegularizer", "l1": 0.02, "l2": 0.0},  # Keras 1.0-1.1's name
        W_constraint={"name": "MaxNorm", "m": 2, "axis": 0},
        activity_regularizer={"name": "ActivityRegularizer", "l1": 0.0, "l2": 0.1},
    )
    model = lamina.models.model_from_config({"class_name": "Sequential", "config": [dense]})
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype("float32") * 2, rng.normal(size=3).astype("float32")
    model.set_weights([kernel, bias])
    model.compile(loss="mse")
    x, y = rng.normal(size=(5, 4)).astype("float32"), rng.normal(size=(5, 3)).astype("float32")
    out = x @ kernel + bias
    expected = np.mean((out - y) ** 2) + 0.01 * np.sum(kernel**2) + 0.02 * np.sum(np.abs(bias))
    expected += 0.1 * np.sum(out**2) / len(x)  # Keras 1's per-sample mean of the penalty, as Keras 2 computes it
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)
    norms = np.sqrt(np.sum(kernel**2, axis=0, keepdims=True))
    constrained = lamina.ops.convert_to_numpy(model.layers[0].kernel_constraint(lamina.ops.convert_to_tensor(kernel)))
    np.testing.assert_allclose(constrained, kernel * np.clip(norms, 0, 2) / (1e-7 + norms), rtol=1e-5)


def test_keras1_recurrent_embedding_and_batchnorm_spellings():
    lstm = deserialize_layer(
        {
            "class_name": "LSTM",
            "config": {"output_dim": 3, "init": "uniform", "inner_init": "orthogonal", "forget_bias_init": "one",
                       "U_regularizer": {"name": "L1L2Regularizer", "l1": 0.0, "l2": 0.03},
                       "U_constraint": {"name": "MinMaxNorm", "low": 0.5, "high": 1.5, "rate": 1.0, "axis": 0}},
        }
    )  # fmt: skip
    assert (lstm.units, lstm.unit_forget_bias, lstm.recurrent_regularizer.l2) == (3, True, pytest.approx(0.03))
    assert (lstm.recurrent_constraint.min_value, lstm.recurrent_constraint.max_value) == (0.5, 1.5)
    embedding = deserialize_layer(
        {"class_name": "Embedding", "config": {"input_dim": 5, "output_dim": 2, "init": "uniform",
                                               "W_regularizer": {"name": "L1L2Regularizer", "l1": 0.1, "l2": 0.0}}}
    )  # fmt: skip
    assert embedding.embeddings_regularizer.l1 == pytest.approx(0.1)
    keras1_bn = {"epsilon": 0.001, "mode": 0, "axis": -1, "momentum": 0.99, "beta_init": "zero", "gamma_init": "one"}
    bn = deserialize_layer({"class_name": "BatchNormalization", "config": keras1_bn})
    assert bn.epsilon == 0.001
    with pytest.raises(ValueError, match=r'"bn": Keras 1\'s BatchNormalization\(mode=2\)'):
        deserialize_layer({"class_name": "BatchNormalization", "config": {**keras1_bn, "mode": 2, "name": "bn"}})


def _check_tf_keras_model(model):
    model.set_weights([np.array(TF_KERAS["kernel"], "float32"), np.array(TF_KERAS["bias"], "float32")])
    got = np.asarray(model.predict(np.array(TF_KERAS["x"], "float32"), verbose=0))
    np.testing.assert_allclose(got, np.array(TF_KERAS["y_pred"]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("source", ["to_json", "serialized_model", "serialized_sequential", "keras_archive"])
def test_tf_keras_configs_keep_tf_keras_meaning(source):
    """hard_sigmoid is clip(0.2 x + 0.5) and RandomCrop crops at inference, as tf-keras 2.21 predicted."""
    if source == "to_json":
        model = lamina.models.model_from_json(TF_KERAS["to_json"])
    elif source == "keras_archive":
        model = lamina.models.load_model(FIXTURES / "tf_keras_writer.keras")
    else:
        assert not written_by_keras3(TF_KERAS[source])
        model = deserialize_layer(TF_KERAS[source])
    _check_tf_keras_model(model)


def test_bare_layer_configs_follow_their_writer(keras3):
    z = np.linspace(-4.0, 4.0, 9, dtype="float32")[:, None]
    for config, formula in (
        (TF_KERAS["serialized_dense"], np.clip(0.2 * z + 0.5, 0, 1)),  # tf-keras 2.21: Keras 2's hard_sigmoid
        (keras3.layers.serialize(keras3.layers.Dense(3, activation="hard_sigmoid")), np.clip(z + 3, 0, 6) / 6),
    ):
        layer = deserialize_layer(json.loads(json.dumps(config)))
        layer.build((None, 1))
        layer.set_weights([np.ones((1, 3), "float32"), np.zeros(3, "float32")])
        np.testing.assert_allclose(lamina.ops.convert_to_numpy(layer(z)), np.tile(formula, (1, 3)), atol=1e-6)
    assert written_by_keras3(json.loads(keras3.Sequential([keras3.Input((2,)), keras3.layers.Dense(1)]).to_json()))


def test_writer_markers():
    keras3_input = {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 2]}}
    tf_input = {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_input_shape": [None, 2]}}
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 1}}
    cases = [
        ({"class_name": "Dense", "config": {"units": 1}}, False),  # Keras 1/2: no module keys
        ({**dense, "config": {"units": 1, "dtype": policy}}, True),
        ({**dense, "config": {"units": 1, "dtype": "float32"}}, False),
        (dense, True),
        ({"module": "keras", "class_name": "Sequential", "config": {"layers": [keras3_input, dense]}}, True),
        ({"module": "keras", "class_name": "Sequential", "config": {"layers": [tf_input, dense]}}, False),
        ({"module": "tf_keras.src.engine.functional", "class_name": "Functional", "config": {}}, False),
        ({"module": "keras.src.engine.sequential", "class_name": "Sequential", "config": {}}, False),  # tf-keras 2.13
        ({"module": "keras.src.models.functional", "class_name": "Functional", "config": {}}, True),
        ({**dense, "inbound_nodes": [[["input_1", 0, 0, {}]]]}, False),
        ({**dense, "inbound_nodes": [{"args": [], "kwargs": {}}]}, True),
    ]
    for config, keras3 in cases:
        assert written_by_keras3(config) is keras3, config


def test_unadapted_tf_keras_discretization_builds_then_adapts():
    layer = deserialize_layer(TF_KERAS["discretization"])  # bin_boundaries None, num_bins 4
    model = lamina.Sequential([lamina.Input((3,)), layer])
    assert model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="has no bin_boundaries"):
        layer(np.zeros((1, 3), "float32"))
    data = np.arange(40.0, dtype="float32")[:, None] * np.ones((1, 3), "float32")
    layer.adapt(data)
    np.testing.assert_allclose(
        layer.bin_boundaries, [9.0, 19.0, 29.0], atol=1e-3
    )  # tf-keras: 9.00003, 19.00006, 29.00003
    x = np.array([[0.0, 15.0, 39.0], [9.5, 19.5, 28.0]], "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.digitize(x, layer.bin_boundaries))
