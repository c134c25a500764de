"""Dtype policies and mixed precision: policies as Keras 3 defines them, autocasting, loss scaling, files.

The fixtures under fixtures/mixed_precision/ were written by tf-keras 2.21 (.h5) and Keras 3.15 (.keras)
under mixed_float16 (see make_mixed_precision.py); their predictions are Keras's.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers, mixed_precision
from lamina.dtype_policies import ALLOWED_NAMES, DTypePolicy
from lamina.saving.serialization import deserialize_layer

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "mixed_precision"
F16 = {"rtol": 1e-2, "atol": 1e-3}  # float16 has 11 significant bits


@pytest.fixture
def global_policy():
    """Sets the global policy for one test and restores the one before afterwards (None: floatx's, which
    set_global_policy("float32") would pin for the tests after), even if the test fails."""
    dtype_policy = importlib.import_module("lamina.dtype_policies.dtype_policy")  # the module, not the function

    before = dtype_policy._GLOBAL[0]
    yield mixed_precision.set_global_policy
    dtype_policy._GLOBAL[0] = before


def _numpy(x) -> np.ndarray:
    return np.asarray(lamina.ops.convert_to_numpy(x))


def _dtype(x) -> str:
    return lamina.backend.standardize_dtype(x.dtype)


def test_policies_match_keras3(keras3):
    for name in ALLOWED_NAMES:
        ours, theirs = DTypePolicy(name), keras3.dtype_policies.DTypePolicy(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
            theirs.name,
            theirs.compute_dtype,
            theirs.variable_dtype,
        )
        assert ours.get_config() == theirs.get_config()
        assert DTypePolicy.from_config(ours.get_config()) == ours
        assert repr(ours) == repr(theirs)
    assert mixed_precision.Policy is DTypePolicy
    assert mixed_precision.LossScaleOptimizer is lamina.optimizers.LossScaleOptimizer


def test_mixed_dense_computes_in_float16_with_float32_weights(rng):
    x = rng.normal(size=(4, 5)).astype("float32")
    kernel = rng.normal(size=(5, 3)).astype("float32")
    bias = rng.normal(size=(3,)).astype("float32")
    layer = layers.Dense(3, activation="relu", dtype="mixed_float16")
    layer.build((None, 5))
    layer.set_weights([kernel, bias])
    assert (layer.dtype, layer.variable_dtype, layer.compute_dtype) == ("float32", "float32", "float16")
    assert layer.dtype_policy == DTypePolicy("mixed_float16")
    assert [v.dtype for v in layer.weights] == ["float32", "float32"]
    out = layer(x)
    expected = np.maximum(x.astype(np.float16) @ kernel.astype(np.float16) + bias.astype(np.float16), 0)
    assert _dtype(out) == "float16"
    np.testing.assert_allclose(_numpy(out).astype(np.float32), expected.astype(np.float32), **F16)


class _Probe(layers.Layer):
    """Records the dtypes its call sees: the input, an autocast weight and a weight that is not."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
        self.counter = self.add_weight(name="counter", shape=(), initializer="zeros", autocast=False)

    def call(self, inputs):
        self.seen = (_dtype(inputs), _dtype(self.scale.value), _dtype(self.counter.value))
        return inputs * self.scale


def test_autocast_inputs_weights_and_outputs(rng):
    probe = _Probe(dtype="mixed_bfloat16")
    out = probe(rng.normal(size=(2, 3)))  # float64 NumPy in: cast to the compute dtype
    assert probe.seen == ("bfloat16", "bfloat16", "float32")
    assert _dtype(out) == "bfloat16" and _dtype(probe.scale.value) == "float32"  # outside the call: as stored
    ints = layers.Embedding(10, 4, dtype="mixed_float16")(np.array([[1, 2]]))  # integer inputs stay integers
    assert _dtype(ints) == "float16"
    back = layers.Activation("linear", dtype="float32")(out)  # a float32 layer casts float16 inputs up
    assert _dtype(back) == "float32"
    np.testing.assert_allclose(_numpy(back), _numpy(lamina.ops.cast(out, "float32")))


def test_batch_normalization_normalizes_in_float32(rng):
    """As Keras: the statistics of the float16 inputs in float32, the output in float16."""
    x = (rng.normal(size=(16, 3)) * 3 + 40).astype("float32")
    layer = layers.BatchNormalization(momentum=0.5, dtype="mixed_float16")
    out = layer(x, training=True)
    seen = x.astype(np.float16).astype(np.float32)
    mean, variance = seen.mean(0), seen.var(0)
    expected = ((seen - mean) / np.sqrt(variance + 1e-3)).astype(np.float16)
    assert _dtype(out) == "float16" and layer.moving_mean.dtype == "float32"
    np.testing.assert_allclose(_numpy(out).astype(np.float32), expected.astype(np.float32), atol=2e-3)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-5)


def test_global_policy_applies_to_new_layers(global_policy):
    assert mixed_precision.global_policy().name == "float32"
    global_policy("mixed_float16")
    assert mixed_precision.global_policy() == DTypePolicy("mixed_float16")
    inputs = lamina.Input((4,))
    assert inputs.dtype == "float32"  # Input keeps floatx
    hidden = layers.Dense(3)(inputs)
    outputs = layers.Activation("softmax", dtype="float32")(hidden)
    assert (hidden.dtype, outputs.dtype) == ("float16", "float32")
    assert layers.Dense(2, dtype="float64").compute_dtype == "float64"  # an explicit dtype wins
    model = lamina.Sequential([lamina.Input((3,)), layers.Activation("linear", dtype="float32")])
    x = np.array([[1.0001, 2.0002, 3.0003]], "float32")  # not float16 numbers: the model must not round them
    assert model.compute_dtype == "float16"
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    global_policy("float32")
    assert layers.Dense(2).compute_dtype == "float32"
    with pytest.raises(ValueError, match="mixed_float16"):
        global_policy(3)


def _model(policy: str):
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="softmax", dtype=policy)])


def test_compile_scales_the_loss_for_mixed_float16_only(rng):
    wrapped = {}
    for policy in ("mixed_float16", "mixed_bfloat16", "float32"):
        model = _model(policy)
        model.compile(lamina.optimizers.SGD(0.1), "categorical_crossentropy")
        wrapped[policy] = type(model.optimizer).__name__
    assert wrapped == {"mixed_float16": "LossScaleOptimizer", "mixed_bfloat16": "SGD", "float32": "SGD"}
    model = _model("mixed_float16")
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert type(model.optimizer).__name__ == "SGD"
    scaled = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD())
    model.compile(scaled, "mse")
    assert model.optimizer is scaled  # not wrapped twice


def test_loss_of_float16_predictions_is_computed_in_float32(rng):
    """Softmax on float16 outputs; Keras casts the predictions to float32 before the loss."""
    x = rng.normal(size=(8, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=8)]
    model = _model("mixed_float16")
    model.compile("sgd", "categorical_crossentropy")
    predictions = model.predict(x, verbose=0)
    assert predictions.dtype == np.float16
    np.testing.assert_allclose(predictions.astype(np.float32).sum(-1), 1.0, atol=2e-3)
    p = np.clip(predictions.astype(np.float32), 1e-7, 1 - 1e-7)
    expected = np.mean(-np.sum(y * np.log(p / p.sum(-1, keepdims=True)), -1))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["tfkeras_cnn.h5", "tfkeras_lstm.h5", "keras3_cnn.keras", "keras3_lstm.keras"])
def test_keras_mixed_precision_files_load_and_predict(name):
    data = np.load(FIXTURES / (name.split(".")[0] + ".npz"))
    model = lamina.models.load_model(FIXTURES / name)
    policies = [layer.dtype_policy.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert policies[-1] == "float32" and set(policies[:-1]) == {"mixed_float16"}
    assert {v.dtype for v in model.weights} == {"float32"}
    predictions = model.predict(data["x"], verbose=0)
    assert predictions.dtype == np.float32  # the last layer is Activation("linear", dtype="float32")
    np.testing.assert_allclose(predictions, data["predictions"], **F16)
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(data["x"], data["y"], batch_size=6, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert any(changed) and all(np.isfinite(w).all() for w in model.get_weights())


def _dense_dtype_in_file(path: pathlib.Path):
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
    else:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    return [entry["config"]["dtype"] for entry in config["config"]["layers"] if entry["class_name"] == "Dense"][0]


_POLICY = {"name": "mixed_float16"}
_WRITTEN = {
    ".h5": {"class_name": "Policy", "config": _POLICY},  # tf-keras's form
    ".keras": {"module": "keras", "class_name": "DTypePolicy", "config": _POLICY, "registered_name": None},
}


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_save_load_keeps_the_policy(tmp_path, rng, suffix, keras3):
    x = rng.normal(size=(5, 4)).astype("float32")
    inputs = lamina.Input((4,))
    hidden = layers.Dense(3, dtype="mixed_float16")(inputs)
    model = lamina.Model(inputs, layers.Activation("linear", dtype="float32")(hidden))
    model.compile("adam", "mse")
    model.fit(x, x[:, :3], verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    assert _dense_dtype_in_file(path) == _WRITTEN[suffix]
    loaded = lamina.models.load_model(path)
    assert [layer.dtype_policy.name for layer in loaded.layers[1:]] == ["mixed_float16", "float32"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert int(loaded.optimizer.iterations.numpy()) == 1
    if suffix == ".keras":  # Keras 3 reads it back: policies, predictions and the loss-scaled optimizer's state
        theirs = keras3.models.load_model(path)
        assert [layer.dtype_policy.name for layer in theirs.layers[1:]] == ["mixed_float16", "float32"]
        np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), **F16)
        assert int(theirs.optimizer.inner_optimizer.iterations) == 1


def test_older_policy_configs():
    legacy = {"class_name": "PolicyV1", "config": {"name": "mixed_float16", "loss_scale": "dynamic"}}
    dense = deserialize_layer({"class_name": "Dense", "config": {"units": 2, "dtype": legacy}})
    assert (dense.compute_dtype, dense.variable_dtype) == ("float16", "float32")
    inferred = deserialize_layer({"class_name": "Dense", "config": {"units": 2, "dtype": "_infer"}})
    assert inferred.dtype_policy.name == "float32"


def test_unknown_policy_names_the_layer_and_the_choices():
    with pytest.raises(ValueError, match=r'Layer "head".*mixed_float8.*mixed_float16'):
        layers.Dense(2, dtype="mixed_float8", name="head")
    with pytest.raises(ValueError, match="QuantizedDTypePolicy"):
        layers.Dense(2, dtype={"class_name": "QuantizedDTypePolicy", "config": {"mode": "int8"}})
