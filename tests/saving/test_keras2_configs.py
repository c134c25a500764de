"""Configs written by older Keras versions: hard_sigmoid's two meanings, Keras 1/2 config keys, safe mode scopes.

The Keras 2 files under tests/fixtures/configs/ were written by tf-keras 2.21 (make_configs.py there).
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import lamina
from lamina import activations, layers
from lamina.saving import hdf5, keras_zip, model_config, serialization

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "configs")


def _fixture(name):
    return os.path.join(FIXTURES, name)


def _activation_names(config) -> set:
    """Every activation name in a saved config, however deep."""
    found = set()
    if isinstance(config, dict):
        for key, value in config.items():
            if key in ("activation", "recurrent_activation") and isinstance(value, str):
                found.add(value)
            found |= _activation_names(value)
    elif isinstance(config, list):
        for value in config:
            found |= _activation_names(value)
    return found


# ---------------------------------------------------------------- hard_sigmoid
def test_hard_sigmoid_is_keras2s_and_keras3_hard_sigmoid_is_keras3s(keras3):
    x = np.linspace(-4.0, 4.0, 33).astype("float32")
    np.testing.assert_allclose(np.asarray(activations.hard_sigmoid(x)), np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)
    theirs = np.asarray(keras3.activations.hard_sigmoid(x))
    np.testing.assert_allclose(np.asarray(activations.keras3_hard_sigmoid(x)), theirs, atol=1e-7)
    assert activations.get("hard_sigmoid") is activations.hard_sigmoid  # new lamina code: the Keras 2 FAQ's meaning


def _outputs(model, x):
    """The model's outputs as NumPy (a direct call: the engines reuse compiled recurrent loops across models)."""
    return lamina.backend.get_value(model(x))


def test_keras2_gru_lstm_with_hard_sigmoid_predict_as_tf_keras(tmp_path):
    data = np.load(_fixture("keras2_hard_sigmoid.npz"))
    model = hdf5.load_model(_fixture("keras2_hard_sigmoid.h5"))
    np.testing.assert_allclose(_outputs(model, data["x"]), data["y_pred"], rtol=1e-5, atol=1e-6)
    # The fixture tells the formulas apart: read as Keras 3 would read it, the predictions move by more than 0.01.
    with open(_fixture("keras2_hard_sigmoid.json")) as f:
        text = f.read()
    with serialization.writer_scope(keras_version="3.0.0"):
        as_keras3 = model_config.model_from_json(text)
    as_keras3.set_weights(model.get_weights())
    assert np.abs(_outputs(as_keras3, data["x"]) - data["y_pred"]).max() > 0.01
    # Saved again by lamina (HDF5 and .keras) and reloaded, it computes the same.
    model.save(tmp_path / "again.h5")
    model.save(tmp_path / "again.keras")
    for path in ("again.h5", "again.keras"):
        again = lamina.models.load_model(tmp_path / path)
        np.testing.assert_allclose(_outputs(again, data["x"]), data["y_pred"], rtol=1e-5, atol=1e-6)
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        zip_names = _activation_names(json.loads(archive.read("config.json")))
    assert "keras2_hard_sigmoid" in zip_names and "hard_sigmoid" not in zip_names  # Keras 3 would misread it
    assert "hard_sigmoid" in _activation_names(json.loads(text))  # the JSON file reads as Keras 2 by itself:
    np.testing.assert_allclose(
        _outputs(_with_weights(model_config.model_from_json(text), model), data["x"]), data["y_pred"], rtol=1e-5
    )


def _with_weights(model, source):
    model.set_weights(source.get_weights())
    return model


def test_keras3_files_keep_keras3s_hard_sigmoid_through_lamina(tmp_path, keras3, rng):
    # Dense and Activation layers: their `activation` is read by the same code as GRU's `recurrent_activation`.
    theirs = keras3.Sequential(
        [keras3.Input((3,)), keras3.layers.Dense(4, activation="hard_sigmoid"), keras3.layers.Dense(2),
         keras3.layers.Activation("hard_sigmoid")]
    )  # fmt: skip
    theirs.set_weights([w + rng.normal(0, 2.0, w.shape).astype("float32") for w in theirs.get_weights()])
    x = rng.normal(0, 2.0, (8, 3)).astype("float32")
    expected = np.asarray(theirs(x))
    theirs.save(tmp_path / "k3.keras")
    theirs.save(tmp_path / "k3.h5")
    for name in ("k3.keras", "k3.h5"):
        ours = lamina.models.load_model(tmp_path / name)
        np.testing.assert_allclose(_outputs(ours, x), expected, rtol=1e-5, atol=1e-6)
    w1, b1, w2, b2 = theirs.get_weights()
    keras2_formula = np.clip(0.2 * (np.clip(0.2 * (x @ w1 + b1) + 0.5, 0, 1) @ w2 + b2) + 0.5, 0, 1)
    assert np.abs(keras2_formula - expected).max() > 0.05  # the data tells the two formulas apart
    ours.save(tmp_path / "lamina.h5")
    ours.save(tmp_path / "lamina.keras")
    for name in ("lamina.h5", "lamina.keras"):
        np.testing.assert_allclose(_outputs(lamina.models.load_model(tmp_path / name), x), expected, rtol=1e-5)
    # In Keras 2-form files the Keras 3 formula has its own name (Keras 2 refuses it rather than misreading it).
    assert "keras3_hard_sigmoid" in _activation_names(json.loads(ours.to_json()))
    # Keras 3 reads lamina's .keras file with its own meaning of "hard_sigmoid".
    back = keras3.models.load_model(tmp_path / "lamina.keras")
    np.testing.assert_allclose(np.asarray(back(x)), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ Keras 1/2 config keys
def _tf_keras_layer_configs() -> dict:
    with open(_fixture("tf_keras_layer_configs.json")) as f:
        return json.load(f)


def _lamina_class(name):
    try:
        return lamina.saving.object_registration.get_layer_class(name, None)
    except ValueError:
        return None


def test_every_tf_keras_layer_config_lamina_has_builds():
    configs = _tf_keras_layer_configs()
    built = 0
    for name, entry in configs.items():
        if _lamina_class(name) is None or name == "Discretization":  # never adapted: no bins to rebuild
            continue
        layer = serialization.deserialize_layer(entry, safe_mode=False)
        assert type(layer).__name__ == name
        built += 1
    assert built >= 90, built


# Keys tf-keras 2.21 writes that no lamina constructor names: taken from **kwargs (RNN's time_major, applied),
# or dropped because they change nothing in lamina (why, for each).
TF_KERAS_KEYS_LAMINA_DROPS = {
    "GRU": {"implementation": "kernel layout only", "time_major": "applied by RNN"},
    "GRUCell": {"implementation": "kernel layout only"},
    "LSTM": {"implementation": "kernel layout only", "time_major": "applied by RNN"},
    "LSTMCell": {"implementation": "kernel layout only"},
    "SimpleRNN": {"time_major": "applied by RNN"},
    "RNN": {"time_major": "applied by RNN"},
    "ConvLSTM1D": {"time_major": "always False there"},
    "ConvLSTM2D": {"time_major": "always False there"},
    "ConvLSTM3D": {"time_major": "always False there"},
    "Conv1DTranspose": {"groups": "1"},
    "Conv2DTranspose": {"groups": "1"},
    "Conv3DTranspose": {"groups": "1"},
    "DepthwiseConv1D": {"groups": "1"},
    "DepthwiseConv2D": {"groups": "1"},
    "SeparableConv1D": dict.fromkeys(["groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"],
                                     "inherited from Conv, never used by tf-keras's separable conv"),
    "SeparableConv2D": dict.fromkeys(["groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"],
                                     "inherited from Conv, never used by tf-keras's separable conv"),
    "InputLayer": {"sparse": "False", "ragged": "False", "optional": "False"},
    "MultiHeadAttention": dict.fromkeys(["query_shape", "key_shape", "value_shape", "softmax_robust_masking"],
                                        "None/False: shapes come from the first call"),
    "Lambda": dict.fromkeys(["function_type", "module", "output_shape_type", "output_shape_module"],
                            "how tf-keras stored the function"),
}  # fmt: skip


def test_tf_keras_config_keys_are_taken_or_known_inert():
    from lamina.layers.layer import _LAYER_KWARGS

    configs = _tf_keras_layer_configs()
    for name, entry in configs.items():
        cls = _lamina_class(name)
        if cls is None:
            continue
        taken, _ = serialization._accepted_arguments(cls)
        extra = set(entry["config"]) - taken - set(_LAYER_KWARGS)
        listed = set(TF_KERAS_KEYS_LAMINA_DROPS.get(name, {}))
        # Keys a layer pops from **kwargs itself (LeakyReLU's alpha, Attention's causal, ...) build above.
        assert extra <= listed | {"alpha"}, (name, sorted(extra - listed))
    # The separable convs' inherited keys are dropped whatever their value (tf-keras never used them).
    config = dict(configs["SeparableConv1D"]["config"], groups=2, kernel_initializer="ones", kernel_constraint=None)
    assert serialization.deserialize_layer({"class_name": "SeparableConv1D", "config": config}).filters == 2


def test_separable_conv_config_from_tf_keras_computes_as_written(rng):
    entry = _tf_keras_layer_configs()["SeparableConv2D"]
    config = dict(entry["config"], kernel_regularizer={"class_name": "L2", "config": {"l2": 0.5}}, groups=1)
    layer = serialization.deserialize_layer({"class_name": "SeparableConv2D", "config": config})
    x = rng.normal(size=(1, 5, 5, 3)).astype("float32")
    layer(x)
    depthwise, pointwise, bias = layer.get_weights()
    assert depthwise.shape == (3, 3, 3, 1) and pointwise.shape == (1, 1, 3, 2)
    pointwise = pointwise[0, 0]
    # An independent separable conv: per-channel 3x3 valid correlation, then the 1x1 mix.
    per_channel = np.zeros((3, 3, 3), "float32")
    for i in range(3):
        for j in range(3):
            per_channel[i, j] = np.einsum("abc,abc->c", x[0, i : i + 3, j : j + 3], depthwise[..., 0])
    out = lamina.backend.get_value(layer(x))[0]
    np.testing.assert_allclose(out, per_channel @ pointwise + bias, rtol=1e-5, atol=1e-5)
    assert not layer.losses  # tf-keras never applied kernel_regularizer to a separable conv


def test_initializer_config_with_dtype_from_tf_keras_2_1():
    entry = {
        "class_name": "Dense",
        "config": {
            "units": 2,
            "name": "d",
            "kernel_initializer": {"class_name": "Constant", "config": {"value": 0.25, "dtype": "float32"}},
            "bias_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
                                 "distribution": "uniform", "seed": None, "dtype": "float32"}},
        },
    }  # fmt: skip
    layer = serialization.deserialize_layer(entry)
    layer.build((None, 3))
    np.testing.assert_array_equal(np.asarray(layer.kernel), np.full((3, 2), 0.25, "float32"))


def test_keras1_list_form_sequential_with_keras1_names(rng):
    config = {
        "class_name": "Sequential",
        "config": [
            {"class_name": "Convolution2D", "config": {"name": "conv", "nb_filter": 2, "nb_row": 3, "nb_col": 2,
             "border_mode": "same", "subsample": [1, 1], "dim_ordering": "th", "init": "glorot_uniform",
             "activation": "linear", "bias": True, "W_regularizer": None, "b_regularizer": None,
             "batch_input_shape": [None, 1, 4, 4], "input_dtype": "float32", "trainable": True}},
            {"class_name": "Flatten", "config": {"name": "flat"}},
            {"class_name": "Dropout", "config": {"name": "drop", "p": 0.25}},
            {"class_name": "Dense", "config": {"name": "out", "output_dim": 3, "init": "uniform", "bias": False,
             "activation": "softmax"}},
        ],
    }  # fmt: skip
    model = model_config.model_from_config(config)
    conv, _, drop, dense = model.layers
    assert conv.get_config()["kernel_size"] in ((3, 2), [3, 2]) and conv.data_format == "channels_first"
    assert conv.padding == "same" and drop.rate == 0.25 and dense.units == 3 and not dense.use_bias
    weights = [rng.normal(size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    x = rng.normal(size=(2, 1, 4, 4)).astype("float32")
    kernel, bias, dense_kernel = weights
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 1)))  # "same" for a 3x2 kernel: 1+1 rows, 0+1 columns
    conv_out = np.zeros((2, 2, 4, 4), "float32")
    for i in range(4):
        for j in range(4):
            conv_out[:, :, i, j] = np.einsum("nchw,hwco->no", padded[:, :, i : i + 3, j : j + 2], kernel) + bias
    logits = conv_out.reshape(2, -1) @ dense_kernel
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_keras1_recurrent_names_and_inner_activation():
    entry = {"class_name": "LSTM", "config": {"name": "l", "output_dim": 4, "inner_activation": "hard_sigmoid",
             "consume_less": "gpu", "dropout_W": 0.1, "dropout_U": 0.2, "forget_bias_init": "one",
             "init": "glorot_uniform", "inner_init": "orthogonal", "U_regularizer": None}}  # fmt: skip
    with serialization.writer_scope(keras_version="1.2.2"):
        layer = serialization.deserialize_layer(entry)
    assert (layer.units, layer.dropout, layer.recurrent_dropout) == (4, 0.1, 0.2)
    assert layer.cell.recurrent_activation is activations.hard_sigmoid and layer.cell.unit_forget_bias


def test_keras2_time_major_recurrent_layers_compute_as_tf_keras(tmp_path):
    data = np.load(_fixture("keras2_time_major.npz"))  # x: (time 5, batch 3, features 2)
    model = hdf5.load_model(_fixture("keras2_time_major.h5"))
    np.testing.assert_allclose(_outputs(model, data["x"]), data["y_pred"], rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "again.h5")
    again = hdf5.load_model(tmp_path / "again.h5")
    assert again.layers[0].get_config()["time_major"] is True
    np.testing.assert_allclose(_outputs(again, data["x"]), data["y_pred"], rtol=1e-5, atol=1e-6)


def test_keras2_recurrent_keys_time_major_unroll_implementation():
    layer = serialization.deserialize_layer(
        {"class_name": "GRU", "config": {"units": 2, "unroll": True, "implementation": 1, "time_major": False}}
    )
    assert layer.unroll
    with pytest.raises(TypeError, match=r'Layer "dd": Dense got unexpected keyword argument\(s\): \[\'frobnicate\'\]'):
        serialization.deserialize_layer({"class_name": "Dense", "config": {"units": 2, "frobnicate": 3, "name": "dd"}})


# ------------------------------------------------------------------ safe mode
def _lambda_model():
    return lamina.Sequential([layers.Lambda(lambda x: x * 3.0 + 1.0, input_shape=(2,), name="lam")])


def test_an_enclosing_safe_mode_scope_is_respected(tmp_path):
    model = _lambda_model()
    text = model.to_json()
    model.save(tmp_path / "lam.h5")
    x = np.array([[1.0, -2.0]], "float32")
    with pytest.raises(ValueError, match="safe mode"):
        model_config.model_from_json(text)
    with serialization.safe_mode_scope(False):
        loaded = model_config.model_from_json(text)
        from_file = hdf5.load_model(tmp_path / "lam.h5")
        with pytest.raises(ValueError, match="safe mode"):  # an explicit argument still wins
            model_config.model_from_json(text, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), [[4.0, -5.0]])
    np.testing.assert_allclose(from_file.predict(x, verbose=0), [[4.0, -5.0]])
    with serialization.safe_mode_scope(True):
        assert model_config.model_from_json(text, safe_mode=False).layers[0].name == "lam"
    assert serialization.in_safe_mode()
    model.save(tmp_path / "lam.keras")
    with serialization.safe_mode_scope(False):  # the .keras loader follows the scope too
        from_zip = keras_zip.load_model(tmp_path / "lam.keras")
    np.testing.assert_allclose(from_zip.predict(x, verbose=0), [[4.0, -5.0]])
