"""Layer configs written by real Keras (tests/fixtures) re-create the same layers in lamina."""

from __future__ import annotations

import json
import pathlib

from lamina import layers

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
MODELS = ("mlp", "cnn", "functional", "lstm")
NOT_YET_IN_LAMINA = {"LSTM"}
SHARED_KEYS = (
    "units", "activation", "use_bias", "filters", "kernel_size", "strides", "padding", "data_format",
    "dilation_rate", "pool_size", "momentum", "epsilon", "center", "scale", "rate", "input_dim", "output_dim",
    "name", "trainable",
)  # fmt: skip


def _layer_configs(version: str) -> list:
    found = []
    for model in MODELS:
        model_config = json.loads((FIXTURES / version / f"{model}.json").read_text())
        for entry in model_config["config"]["layers"]:
            found.append((model, entry["class_name"], entry["config"]))
    return found


def _normalize(value):
    return [_normalize(v) for v in value] if isinstance(value, (list, tuple)) else value


def _check(version: str) -> int:
    checked = 0
    for model, class_name, config in _layer_configs(version):
        if class_name in NOT_YET_IN_LAMINA:
            continue
        layer = getattr(layers, class_name).from_config(config)
        ours = layer.get_config()
        for key in SHARED_KEYS:
            if key in config:
                assert _normalize(ours[key]) == _normalize(config[key]), f"{version}/{model}: {class_name}.{key}"
        checked += 1
    return checked


def test_fixture_layer_classes_are_known():
    for version in ("keras2", "keras3"):
        names = {class_name for _, class_name, _ in _layer_configs(version)}
        assert names - NOT_YET_IN_LAMINA <= set(dir(layers)), version
        assert {"Dense", "Conv2D", "BatchNormalization", "MaxPooling2D", "Embedding", "InputLayer"} <= names


def test_keras2_layer_configs_load():
    assert _check("keras2") >= 20


def test_keras3_layer_configs_load():
    assert _check("keras3") >= 20
