"""Files written by real Keras 2 and Keras 3 (tests/fixtures) load and reproduce Keras's own predictions."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import lamina
from lamina.ops import convert_to_numpy

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
CASES = [
    pytest.param(version, name, id=f"{version}-{name}")
    for version in ("keras2", "keras3")
    for name in ("mlp", "cnn", "functional", "lstm")
]


def _stored(version: str, name: str):
    data = np.load(FIXTURES / version / f"{name}.npz")
    inputs = [data[f"x{i}"] for i in range(len([k for k in data.files if k.startswith("x")]))]
    outputs = [data[f"y_pred{i}"] for i in range(len([k for k in data.files if k.startswith("y_pred")]))]
    return inputs, outputs


def _check_predictions(model, version: str, name: str) -> None:
    inputs, expected = _stored(version, name)
    got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(convert_to_numpy(ours), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("version,name", CASES)
def test_h5_file_loads_compiled_and_predicts_as_keras(version, name):
    model = lamina.models.load_model(FIXTURES / version / f"{name}.h5")
    _check_predictions(model, version, name)
    assert model.compiled
    assert int(convert_to_numpy(model.optimizer.iterations.value)) > 0, "the optimizer state was not restored"


@pytest.mark.parametrize("version,name", CASES)
def test_json_architecture_plus_h5_weights_predicts_as_keras(version, name):
    text = (FIXTURES / version / f"{name}.json").read_text()
    model = lamina.models.model_from_json(text)
    assert not model.compiled
    model.load_weights(FIXTURES / version / f"{name}.h5")
    _check_predictions(model, version, name)


@pytest.mark.parametrize("version", ["keras2", "keras3"])
@pytest.mark.parametrize("name", ["mlp", "cnn", "functional"])
def test_weights_h5_file_loads(version, name):
    model = lamina.models.load_model(FIXTURES / version / f"{name}.h5", compile=False)
    reference = [w.copy() for w in model.get_weights()]
    for layer in model.layers:
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    model.load_weights(FIXTURES / version / f"{name}.weights.h5")
    for ours, theirs in zip(model.get_weights(), reference):
        np.testing.assert_array_equal(ours, theirs)
    _check_predictions(model, version, name)


def test_fixture_compile_arguments_are_understood():
    model = lamina.models.load_model(FIXTURES / "keras2" / "mlp.h5")
    assert type(model.optimizer).__name__ == "Adam"  # written as "Custom>Adam"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    x, _ = _stored("keras2", "mlp")
    y = np.arange(len(x[0])) % 3
    logs = model.evaluate(x[0], y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_functional_fixture_keeps_names_and_loss_weights():
    model = lamina.models.load_model(FIXTURES / "keras3" / "functional.h5")
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["reg", "cls"]
    assert model._compile_config["loss_weights"] == [1.0, 0.5]


def test_keras3_model_config_dict_loads():
    config = json.loads((FIXTURES / "keras3" / "cnn.json").read_text())
    model = lamina.models.model_from_config(config)
    assert [layer.name for layer in model.layers][:2] == ["conv2d", "batch_normalization"]
