"""CuDNNLSTM / CuDNNGRU built in code: Keras 2's arguments, the numbers of Keras 3's LSTM / GRU (the oracle)
given the same weights, and files that save them as the portable "LSTM" / "GRU"."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import lamina


@pytest.mark.parametrize(
    "name, options",
    [
        ("LSTM", {"return_sequences": True, "go_backwards": True, "unit_forget_bias": False}),
        ("GRU", {"return_state": True}),
    ],
)
def test_a_cudnn_layer_computes_what_keras3s_portable_twin_computes(keras3, rng, name, options):
    layer = getattr(lamina.layers, f"CuDNN{name}")(3, **options)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer.build((2, 5, 4))
    if name == "LSTM":
        assert not np.any(layer.get_weights()[2])  # unit_forget_bias=False: the forget gate's bias is zeros
    oracle = getattr(keras3.layers, name)(3, **options)  # defaults: tanh, sigmoid, reset_after=True
    oracle.build((2, 5, 4))
    oracle.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 for w in oracle.get_weights()])
    layer.set_weights(oracle.get_weights())
    ours, theirs = layer(x), oracle(x)
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(lamina.ops.convert_to_numpy(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_a_model_with_cudnn_layers_saves_as_lstm_and_gru_and_loads_back(tmp_path, rng):
    inputs = lamina.Input((5, 4))
    hidden = lamina.layers.CuDNNLSTM(3, return_sequences=True, name="cu_lstm")(inputs)
    outputs = lamina.layers.CuDNNGRU(2, name="cu_gru")(hidden)
    model = lamina.Model(inputs, outputs)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
    saved = {entry["config"]["name"]: entry for entry in layers}
    assert saved["cu_lstm"]["class_name"] == "LSTM" and saved["cu_gru"]["class_name"] == "GRU"
    assert saved["cu_gru"]["config"]["reset_after"] is True
    assert saved["cu_lstm"]["config"]["recurrent_activation"] == "sigmoid"
    loaded = lamina.models.load_model(tmp_path / "m.h5", compile=False)
    assert type(loaded.get_layer("cu_gru")) is lamina.layers.GRU
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_cudnn_layers_refuse_what_cudnn_cannot_compute():
    with pytest.raises(ValueError, match="CuDNNLSTM: recurrent_activation is fixed to 'sigmoid'"):
        lamina.layers.CuDNNLSTM(3, recurrent_activation="hard_sigmoid")
    with pytest.raises(ValueError, match="CuDNNGRU: reset_after is fixed to True"):
        lamina.layers.CuDNNGRU(3, reset_after=False)
    config = lamina.layers.CuDNNGRU(3, go_backwards=True).get_config()
    clone = lamina.layers.CuDNNGRU.from_config(config)
    assert type(clone) is lamina.layers.CuDNNGRU and clone.go_backwards and clone.cell.reset_after
