"""Keras 2 HDF5 files whose structure lamina must follow: nested models, layer names, Theano and Keras 1 layouts.

- tf-keras 2.21 fixtures (tests/fixtures/structure/, written by make_structure.py): a Sequential holding a
  Sequential holding a functional model with BatchNormalization, trainable and frozen, and a two-input
  seq2seq model; lamina loads each and predicts what tf-keras predicted.
- Files this test writes with h5py as old Keras wrote them: Theano-backend kernels (true convolutions,
  flipped on load), Keras 1 per-gate LSTM/GRU arrays, CuDNNLSTM/CuDNNGRU weights. Expected numbers are
  written out in NumPy here.
"""

from __future__ import annotations

import json
import pathlib

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "structure"


def _strings(values) -> list:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _fixture(name: str):
    data = np.load(FIXTURES / f"{name}.npz")
    inputs = [data[key] for key in sorted(data.files) if key.startswith("x")]
    return FIXTURES / f"{name}.h5", inputs[0] if len(inputs) == 1 else inputs, data["y_pred"]


@pytest.mark.parametrize("name", ["nested_bn", "nested_bn_frozen", "seq2seq"])
def test_tf_keras_files_load_and_predict(name):
    path, x, expected = _fixture(name)
    model = lamina.models.load_model(path, compile=False)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_tf_keras_seq2seq_weights_load_by_position_into_code_built_model():
    """Keras's seq2seq example rebuilt in code under other names: only Keras's layer order matches the file."""
    path, x, expected = _fixture("seq2seq")
    encoder_in = lamina.Input(shape=(None,))
    _, h, c = layers.LSTM(3, return_state=True)(layers.Embedding(9, 4)(encoder_in))
    decoder_in = lamina.Input(shape=(None,))
    decoded = layers.LSTM(3, return_sequences=True)(layers.Embedding(7, 4)(decoder_in), initial_state=[h, c])
    model = lamina.Model([encoder_in, decoder_in], layers.Dense(7, activation="softmax")(decoded))
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def _nested_bn_like_fixture():
    """The fixture's nested_bn architecture, built with lamina under the same names."""
    inputs = lamina.Input(shape=(6, 6, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = layers.BatchNormalization(name="conv_bn")(x)
    x = layers.ReLU(name="conv_relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = layers.BatchNormalization(name="depthwise_bn")(x)
    x = layers.ReLU(name="depthwise_relu")(x)
    backbone = lamina.Model(inputs, x, name="backbone")
    features = lamina.Sequential([backbone, layers.GlobalAveragePooling2D(name="pool")], name="features")
    head = lamina.Sequential([layers.Dense(3, activation="softmax", name="probabilities")], name="head")
    return lamina.Sequential([lamina.Input(shape=(6, 6, 3)), features, head], name="classifier")


def test_nested_model_saves_weight_names_in_tf_keras_order(tmp_path):
    """The .h5 stores a nested model as ONE layer, its trainable weights first, as tf-keras wrote the fixture."""
    with h5py.File(FIXTURES / "nested_bn.h5", "r") as f:
        tf_keras_names = _strings(f["model_weights"]["features"].attrs["weight_names"])
    model = _nested_bn_like_fixture()
    features = model.get_layer("features")
    assert [f"{v.path}:0" for v in features.trainable_weights + features.non_trainable_weights] == tf_keras_names
    model.set_weights([np.abs(w) + 0.5 for w in model.get_weights()])  # moving statistics matter, variances > 0
    model.save(tmp_path / "nested.h5")
    with h5py.File(tmp_path / "nested.h5", "r") as f:
        assert _strings(f["model_weights"].attrs["layer_names"]) == ["features", "head"]
        assert _strings(f["model_weights"]["features"].attrs["weight_names"]) == tf_keras_names
    _, x, _ = _fixture("nested_bn")
    expected = model.predict(x, verbose=0)
    reloaded = lamina.models.load_model(tmp_path / "nested.h5", compile=False)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-6)


def _two_branch_model():
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(5,), name="b")
    merged = layers.Concatenate(name="cat")([layers.Dense(2, name="da")(a), layers.Dense(4, name="db")(b)])
    return lamina.Model([a, b], layers.Dense(1, name="out")(merged))


def test_load_model_matches_layers_by_name_load_weights_by_position(tmp_path):
    """A file listing the layers in another order: load_model goes by name, load_weights by order (and says why not)."""
    model = _two_branch_model()
    path = tmp_path / "reordered.h5"
    model.save(path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        names = _strings(group.attrs["layer_names"])
        swapped = [n for n in names if n not in ("da", "db")]
        group.attrs["layer_names"] = np.array([n.encode() for n in ["db", "da", *swapped]])
    x = [np.ones((2, 3), "float32"), np.arange(10, dtype="float32").reshape(2, 5)]
    loaded = lamina.models.load_model(path, compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(
        ValueError, match=r"layer 'da' weight 'kernel' has shape \(3, 2\).*layer 'db' holds shape \(5, 4\)"
    ):
        _two_branch_model().load_weights(path)
    by_name = _two_branch_model()
    by_name.load_weights(path, by_name=True)
    np.testing.assert_allclose(by_name.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# --------------------------------------------------------------- files as old Keras wrote them
def _write_keras2_file(path, model_config: dict, weights: dict, keras_version="2.2.4", backend="theano"):
    """A whole-model .h5 as Keras 2.2.4 wrote it: `weights` maps layer name -> [(weight name, array)]."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version.encode()
        f.attrs["backend"] = backend.encode()
        f.attrs["model_config"] = json.dumps(model_config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name in weights])
        group.attrs["keras_version"] = keras_version.encode()
        group.attrs["backend"] = backend.encode()
        for layer_name, items in weights.items():
            layer_group = group.create_group(layer_name)
            layer_group.attrs["weight_names"] = np.array([f"{layer_name}/{n}".encode() for n, _ in items])
            for weight_name, array in items:
                layer_group.create_dataset(f"{layer_name}/{weight_name}", data=array)


def _sequential_config(layer_class: str, input_shape: list, **config) -> dict:
    layer = {
        "class_name": layer_class,
        "config": {"name": "layer", "batch_input_shape": [None, *input_shape], **config},
    }
    return {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [layer]}}


def _correlate_1d(x, kernel, bias):
    """Valid 1-D correlation: out[b, i, o] = sum_k,c x[b, i + k, c] * kernel[k, c, o] + bias[o]."""
    length = x.shape[1] - kernel.shape[0] + 1
    return np.stack([np.einsum("bkc,kco->bo", x[:, i : i + kernel.shape[0]], kernel) for i in range(length)], 1) + bias


def _correlate_2d(x, kernel, bias):
    rows, cols = x.shape[1] - kernel.shape[0] + 1, x.shape[2] - kernel.shape[1] + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[-1]))
    for i in range(rows):
        for j in range(cols):
            window = x[:, i : i + kernel.shape[0], j : j + kernel.shape[1]]
            out[:, i, j] = np.einsum("bhwc,hwco->bo", window, kernel)
    return out + bias


@pytest.mark.parametrize(
    "layer_class, input_shape, kernel_shape, reference",
    [
        ("Conv1D", [7, 2], (3, 2, 4), _correlate_1d),
        ("Conv2D", [5, 6, 2], (3, 2, 2, 3), _correlate_2d),
    ],
)
def test_theano_file_kernels_are_flipped(tmp_path, rng, layer_class, input_shape, kernel_shape, reference):
    """Theano convolved: its stored kernel is our correlation kernel reversed along every spatial axis."""
    theano_kernel = rng.normal(size=kernel_shape).astype("float32")
    bias = rng.normal(size=kernel_shape[-1]).astype("float32")
    size = list(kernel_shape[:-2])
    config = _sequential_config(layer_class, input_shape, filters=kernel_shape[-1], kernel_size=size, padding="valid")
    _write_keras2_file(tmp_path / "th.h5", config, {"layer": [("kernel", theano_kernel), ("bias", bias)]})
    model = lamina.models.load_model(tmp_path / "th.h5", compile=False)
    x = rng.normal(size=(2, *input_shape)).astype("float32")
    flipped = theano_kernel[(slice(None, None, -1),) * len(size)]
    np.testing.assert_allclose(model.predict(x, verbose=0), reference(x, flipped, bias), rtol=1e-4, atol=1e-5)
    # The same file said to come from TensorFlow loads the kernel untouched.
    _write_keras2_file(
        tmp_path / "tf.h5", config, {"layer": [("kernel", theano_kernel), ("bias", bias)]}, backend="tensorflow"
    )
    np.testing.assert_array_equal(
        lamina.models.load_model(tmp_path / "tf.h5", compile=False).get_weights()[0], theano_kernel
    )


def test_theano_weights_file_flips_conv3d_and_transpose_not_depthwise(tmp_path, rng):
    """load_weights of a Theano weights file: Conv3D and Conv2DTranspose flipped, DepthwiseConv2D kept (as Keras 2)."""
    model = lamina.Sequential(
        [
            lamina.Input((4, 4, 4, 2)),
            layers.Conv3D(3, 2, name="c3"),
            layers.Reshape((3, 3, 9), name="r"),
            layers.Conv2DTranspose(2, (3, 2), name="ct"),
            layers.DepthwiseConv2D(2, name="dw"),
        ]
    )
    arrays = {layer.name: [rng.normal(size=v.shape).astype("float32") for v in layer.weights] for layer in model.layers}
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.2.4", b"theano"
        f.attrs["layer_names"] = np.array([name.encode() for name in arrays])
        for name, values in arrays.items():
            group = f.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/w{i}".encode() for i in range(len(values))])
            for i, value in enumerate(values):
                group.create_dataset(f"{name}/w{i}", data=value)
    model.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(model.get_layer("c3").get_weights()[0], arrays["c3"][0][::-1, ::-1, ::-1])
    np.testing.assert_array_equal(model.get_layer("ct").get_weights()[0], arrays["ct"][0][::-1, ::-1])
    np.testing.assert_array_equal(model.get_layer("dw").get_weights()[0], arrays["dw"][0])
    np.testing.assert_array_equal(model.get_layer("ct").get_weights()[1], arrays["ct"][1])


def _weights_file(path, layer_name: str, arrays: list, keras_version=None):
    with h5py.File(path, "w") as f:
        if keras_version is not None:
            f.attrs["keras_version"] = keras_version.encode()
        f.attrs["layer_names"] = np.array([layer_name.encode()])
        group = f.create_group(layer_name)
        group.attrs["weight_names"] = np.array([f"{layer_name}/p{i}".encode() for i in range(len(arrays))])
        for i, array in enumerate(arrays):
            group.create_dataset(f"{layer_name}/p{i}", data=array)


def test_keras1_per_gate_lstm_and_gru_weights(tmp_path, rng):
    """Keras 1 kept one (W, U, b) per gate: LSTM gates i, c, f, o; GRU z, r, h. Keras 2 stacks i, f, c, o / z, r, h."""
    units, features = 2, 3

    def gate():
        return [rng.normal(size=s).astype("float32") for s in ((features, units), (units, units), (units,))]

    for rnn, gates, order in ((layers.LSTM, 4, [0, 2, 1, 3]), (layers.GRU, 3, [0, 1, 2])):
        per_gate = [gate() for _ in range(gates)]
        options = {} if rnn is layers.LSTM else {"reset_after": False}
        model = lamina.Sequential([lamina.Input((4, features)), rnn(units, name="rnn", **options)])
        _weights_file(tmp_path / "k1.h5", "rnn", [a for triple in per_gate for a in triple])  # no keras_version
        model.load_weights(tmp_path / "k1.h5")
        for index, loaded in enumerate(model.get_weights()):
            np.testing.assert_array_equal(loaded, np.concatenate([per_gate[g][index] for g in order], axis=-1))


def test_cudnn_lstm_and_gru_weights_load_into_lstm_and_gru(tmp_path, rng):
    """CuDNN kept each gate's input kernel as a raw (units, inputs) matrix and two biases per gate."""
    units, features = 2, 3
    for rnn, gates in ((layers.LSTM, 4), (layers.GRU, 3)):
        kernel = rng.normal(size=(features, gates * units)).astype("float32")
        recurrent = rng.normal(size=(units, gates * units)).astype("float32")
        bias = rng.normal(size=(2 * gates * units,)).astype("float32")
        model = lamina.Sequential([lamina.Input((4, features)), rnn(units, name="rnn")])
        _weights_file(tmp_path / "cudnn.h5", "rnn", [kernel, recurrent, bias], keras_version="2.2.4")
        model.load_weights(tmp_path / "cudnn.h5")
        blocks = range(gates)
        want_kernel = np.hstack([kernel[:, g * units : (g + 1) * units].reshape(units, features).T for g in blocks])
        want_recurrent = np.hstack([recurrent[:, g * units : (g + 1) * units].T for g in blocks])
        want_bias = bias[: gates * units] + bias[gates * units :] if rnn is layers.LSTM else bias.reshape(2, -1)
        got = model.get_weights()
        np.testing.assert_array_equal(got[0], want_kernel)
        np.testing.assert_array_equal(got[1], want_recurrent)
        np.testing.assert_allclose(got[2], want_bias, rtol=1e-6)


def test_convert_all_kernels_in_model_flips_convolutions_only(rng):
    model = lamina.Sequential([lamina.Input((5, 5, 2)), layers.Conv2D(3, (3, 2), name="c"), layers.DepthwiseConv2D(2)])
    before = [w.copy() for w in model.get_weights()]
    lamina.utils.convert_all_kernels_in_model(model)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0][::-1, ::-1])
    for unchanged, original in zip(after[1:], before[1:]):
        np.testing.assert_array_equal(unchanged, original)


@pytest.mark.parametrize("target", ["channels_first", "channels_last"])
def test_convert_dense_weights_data_format_keeps_the_output(rng, target):
    """A Dense after Flatten gives the same numbers on the feature map flattened in the other data format."""
    channels_last_map = rng.normal(size=(2, 3, 4, 5)).astype("float32")  # (batch, rows, cols, channels)
    channels_first_map = channels_last_map.transpose(0, 3, 1, 2)
    old_map, new_map = (
        (channels_last_map, channels_first_map)
        if target == "channels_first"
        else (channels_first_map, channels_last_map)
    )
    dense = layers.Dense(2)
    dense.build((None, 60))
    dense.set_weights([rng.normal(size=(60, 2)).astype("float32"), rng.normal(size=2).astype("float32")])
    expected = old_map.reshape(2, -1) @ dense.get_weights()[0] + dense.get_weights()[1]
    lamina.utils.layer_utils.convert_dense_weights_data_format(dense, new_map.shape[1:], target)
    np.testing.assert_allclose(
        new_map.reshape(2, -1) @ dense.get_weights()[0] + dense.get_weights()[1], expected, rtol=1e-5, atol=1e-5
    )
