"""Keras 2 model files with CuDNNLSTM / CuDNNGRU layers load as the LSTM / GRU that computes the same.

The file is written here with h5py as Keras 2.2.4 wrote it (a Sequential config naming the cuDNN class,
its weights in cuDNN's layout); the expected outputs run the portable cell in NumPy on the converted
weights, with a true sigmoid for the gates (cuDNN has no hard sigmoid) and, for the GRU, the reset gate
after the recurrent matmul.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving.serialization import deserialize_layer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from recurrent_reference import gru_step, lstm_step, run_rnn, zeros_states  # noqa: E402

UNITS, FEATURES, STEPS = 2, 3, 4


def _write_keras2_file(path, class_name: str, layer_name: str, arrays: list) -> None:
    config = {
        "name": layer_name,
        "trainable": True,
        "batch_input_shape": [None, STEPS, FEATURES],
        "dtype": "float32",
        "return_sequences": True,
        "return_state": False,
        "go_backwards": False,
        "stateful": False,
        "units": UNITS,
        "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg"}},
        "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "recurrent_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "recurrent_constraint": None,
        "bias_constraint": None,
    }
    if class_name == "CuDNNLSTM":
        config["unit_forget_bias"] = True
    model_config = {
        "class_name": "Sequential",
        "config": {"name": "sequential_1", "layers": [{"class_name": class_name, "config": config}]},
    }
    names = [f"{layer_name}/{weight}:0" for weight in ("kernel", "recurrent_kernel", "bias")]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([layer_name.encode()])
        weights.attrs["keras_version"] = b"2.2.4"
        weights.attrs["backend"] = b"tensorflow"
        group = weights.create_group(layer_name)
        group.attrs["weight_names"] = np.array([name.encode() for name in names])
        for name, array in zip(names, arrays):
            group.create_dataset(name, data=array)


@pytest.mark.parametrize("class_name, gates", [("CuDNNLSTM", 4), ("CuDNNGRU", 3)])
def test_a_keras2_cudnn_layer_loads_and_predicts_as_its_portable_twin(tmp_path, rng, class_name, gates):
    arrays = [
        rng.normal(size=(FEATURES, gates * UNITS)).astype("float32"),
        rng.normal(size=(UNITS, gates * UNITS)).astype("float32"),
        rng.normal(size=(2 * gates * UNITS,)).astype("float32"),
    ]
    _write_keras2_file(tmp_path / "cudnn.h5", class_name, "cu_dnn_1", arrays)
    model = lamina.models.load_model(tmp_path / "cudnn.h5", compile=False)
    layer = model.get_layer("cu_dnn_1")
    assert type(layer).__name__ == class_name[len("CuDNN") :]
    kernel, recurrent, bias = model.get_weights()
    x = rng.normal(size=(2, STEPS, FEATURES)).astype("float32")
    if gates == 4:
        step, states = lstm_step(kernel, recurrent, bias), zeros_states(2, UNITS, 2)
    else:
        step, states = gru_step(kernel, recurrent, bias, reset_after=True), zeros_states(2, UNITS, 1)
    expected, _ = run_rnn(step, x, states)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_a_class_the_caller_registers_under_the_cudnn_name_is_used():
    class CuDNNGRU(lamina.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

    serialized = {"class_name": "CuDNNGRU", "config": {"units": 3, "name": "mine"}}
    layer = deserialize_layer(serialized, custom_objects={"CuDNNGRU": CuDNNGRU})
    assert type(layer) is CuDNNGRU and layer.units == 3
    portable = deserialize_layer(serialized)
    assert type(portable) is lamina.layers.GRU and portable.reset_after and portable.units == 3
