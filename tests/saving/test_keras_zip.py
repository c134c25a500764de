"""Keras 3's `.keras` zip format: real Keras 3 files load in lamina, lamina's files load in real Keras 3."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from lamina.ops import convert_to_numpy
from lamina.saving import keras_zip

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "keras3"
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _stored(name: str):
    data = np.load(FIXTURES / f"{name}.npz")
    inputs = [data[f"x{i}"] for i in range(len([k for k in data.files if k.startswith("x")]))]
    outputs = [data[f"y_pred{i}"] for i in range(len([k for k in data.files if k.startswith("y_pred")]))]
    return inputs, outputs


def _outputs(model, inputs) -> list:
    got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return [convert_to_numpy(t) for t in (got if isinstance(got, (list, tuple)) else [got])]


def _load_quietly(path, expect_warning: bool):
    """Loads a fixture; those whose compile_config names no optimizer warn that their optimizer state is unused."""
    with pytest.warns(UserWarning, match="names no optimizer") if expect_warning else contextlib.nullcontext():
        return lamina.models.load_model(path)


# ------------------------------------------------------------ Keras 3's fixtures
@pytest.mark.parametrize("name", ["mlp", "cnn", "functional", "lstm"], ids=str)
def test_keras3_fixture_loads_and_predicts_as_keras(name):
    # The fixtures' compile_config names no optimizer: Keras 3 then compiles with RMSprop, and so does lamina.
    model = _load_quietly(FIXTURES / f"{name}.keras", expect_warning=name in ("mlp", "cnn"))
    inputs, expected = _stored(name)
    got = _outputs(model, inputs)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)
    assert model.compiled
    assert type(model.optimizer).__name__ == "RMSprop"


def test_keras3_fixture_compile_config_is_understood():
    model = _load_quietly(FIXTURES / "mlp.keras", expect_warning=True)
    (x,), _ = _stored("mlp")
    logs = model.evaluate(x, np.arange(len(x)) % 3, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert np.isfinite(logs["loss"])


def test_keras3_functional_fixture_keeps_loss_weights_and_its_rmsprop_state():
    model = lamina.models.load_model(FIXTURES / "functional.keras")
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "cat", "reg", "cls"]
    assert int(convert_to_numpy(model.optimizer.iterations.value)) > 0, "the RMSprop state was not restored"
    (a, b), _ = _stored("functional")
    logs = model.evaluate([a, b], [np.zeros((len(a), 1)), np.arange(len(a)) % 4], verbose=0, return_dict=True)
    assert "loss" in logs and np.isfinite(logs["loss"])


def test_compile_false_leaves_the_model_uncompiled():
    model = lamina.models.load_model(FIXTURES / "cnn.keras", compile=False)
    assert not model.compiled


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_keras3_file_with_optimizer_restores_its_state(tmp_path, keras3, optimizer):
    make = {
        "adam": lambda: keras3.optimizers.Adam(0.01),
        "sgd": lambda: keras3.optimizers.SGD(0.05, momentum=0.9),
        "rmsprop": lambda: keras3.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    }[optimizer]
    theirs = keras3.Sequential(
        [keras3.Input((5,)), keras3.layers.Dense(4, activation="relu"), keras3.layers.Dense(2, activation="softmax")]
    )
    theirs.compile(make(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.random((12, 5)).astype("float32")
    theirs.fit(x, rng.integers(0, 2, 12), epochs=2, batch_size=4, verbose=0)
    theirs.save(tmp_path / "k3.keras")
    model = lamina.models.load_model(tmp_path / "k3.keras")
    np.testing.assert_allclose(_outputs(model, [x])[0], theirs.predict(x, verbose=0), **TOLERANCE)
    assert type(model.optimizer).__name__.lower() == optimizer
    ours = keras_zip.keras3_optimizer_variables(model.optimizer)
    assert len(ours) == len(theirs.optimizer.variables)
    for mine, their in zip(ours, theirs.optimizer.variables):
        np.testing.assert_allclose(convert_to_numpy(mine.value), np.asarray(their), **TOLERANCE)


# ---------------------------------------------------- lamina writes, Keras 3 reads
def _sequential():
    model = lamina.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1)).astype("float32")
    model.fit(x, rng.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    return model, x


def _functional():
    a = lamina.Input(shape=(4,), name="a")
    b = lamina.Input(shape=(4,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(b)])
    outputs = [layers.Dense(1, name="reg")(merged), layers.Dense(3, activation="softmax", name="cls")(merged)]
    model = lamina.Model([a, b], outputs, name="two_heads")
    model.compile("rmsprop", ["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5])
    rng = np.random.default_rng(1)
    x = [rng.random((8, 4)).astype("float32"), rng.random((8, 4)).astype("float32")]
    model.fit(x, [rng.random((8, 1)), rng.integers(0, 3, 8)], epochs=2, batch_size=4, verbose=0)
    return model, x


def test_the_archive_is_keras3s_layout(tmp_path):
    model, _ = _sequential()
    model.save(tmp_path / "seq.keras")
    with zipfile.ZipFile(tmp_path / "seq.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
    assert set(metadata) == {"keras_version", "date_saved", "lamina_version"}  # Keras 3 ignores the last
    assert metadata["keras_version"].startswith("3.") and metadata["lamina_version"] == lamina.__version__
    assert {"module", "class_name", "config", "registered_name", "compile_config"} <= set(config)
    assert config["class_name"] == "Sequential" and config["compile_config"]["optimizer"]["class_name"] == "Adam"
    entries = config["config"]["layers"]
    assert [e["class_name"] for e in entries][:2] == ["InputLayer", "Conv2D"]
    assert all({"module", "class_name", "config", "registered_name"} <= set(e) for e in entries)


def test_weights_groups_are_named_as_keras3_names_them(tmp_path):
    import h5py

    model, _ = _functional()
    model.save(tmp_path / "f.keras")
    with zipfile.ZipFile(tmp_path / "f.keras") as archive:
        (tmp_path / "w.h5").write_bytes(archive.read("model.weights.h5"))
    with h5py.File(tmp_path / "w.h5", "r") as f:
        groups = sorted(f["layers"].keys())
        assert groups == ["concatenate", "dense", "dense_1", "dense_2", "input_layer", "input_layer_1"]
        assert f["layers/dense/vars"].attrs["name"] == "shared"
        assert f["layers/dense/vars/0"].shape == (4, 5)
        assert f["optimizer/vars"].attrs["name"] == model.optimizer.name
        assert len(f["optimizer/vars"]) == len(model.optimizer.variables)


def test_keras3_loads_a_lamina_sequential_keras_file(tmp_path, keras3):
    model, x = _sequential()
    model.save(tmp_path / "seq.keras")
    theirs = keras3.models.load_model(tmp_path / "seq.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), _outputs(model, [x])[0], **TOLERANCE)
    assert type(theirs.optimizer).__name__ == "Adam"
    ours = keras_zip.keras3_optimizer_variables(model.optimizer)
    assert len(theirs.optimizer.variables) == len(ours)
    for their, mine in zip(theirs.optimizer.variables, ours):
        np.testing.assert_allclose(np.asarray(their), convert_to_numpy(mine.value), **TOLERANCE)


def test_keras3_loads_a_lamina_functional_keras_file(tmp_path, keras3):
    model, x = _functional()
    model.save(tmp_path / "functional.keras")
    theirs = keras3.models.load_model(tmp_path / "functional.keras")
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in model.layers]
    for mine, their in zip(_outputs(model, x), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(their, mine, **TOLERANCE)
    assert type(theirs.optimizer).__name__ == "RMSprop"
    assert int(np.asarray(theirs.optimizer.iterations)) == int(convert_to_numpy(model.optimizer.iterations.value))


# ------------------------------------------------------------ lamina round trip
@pytest.mark.parametrize("build", [_sequential, _functional], ids=["sequential", "functional"])
def test_lamina_round_trip(tmp_path, build):
    model, x = build()
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    for ours, theirs in zip(_outputs(loaded, x), _outputs(model, x)):
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)
    assert type(loaded.optimizer) is type(model.optimizer)
    for mine, saved in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(convert_to_numpy(mine.value), convert_to_numpy(saved.value), **TOLERANCE)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_uncompiled_model_and_include_optimizer_false(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "plain.keras")
    assert not lamina.models.load_model(tmp_path / "plain.keras").compiled
    model.compile("sgd", "mse")
    model.save(tmp_path / "no_opt.keras", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "no_opt.keras") as archive:
        assert "compile_config" not in json.loads(archive.read("config.json"))
    x = np.ones((2, 3), "float32")
    loaded = lamina.models.load_model(tmp_path / "no_opt.keras")
    np.testing.assert_allclose(_outputs(loaded, [x])[0], _outputs(model, [x])[0], **TOLERANCE)


def test_nested_model_round_trip(tmp_path):
    inner = lamina.Sequential([layers.Dense(3, activation="relu", input_shape=(4,)), layers.Dense(2)], name="inner")
    inputs = lamina.Input(shape=(4,))
    model = lamina.Model(inputs, layers.Dense(1)(inner(inputs)))
    model.save(tmp_path / "nested.keras")
    loaded = lamina.models.load_model(tmp_path / "nested.keras")
    x = np.random.default_rng(4).random((3, 4)).astype("float32")
    np.testing.assert_allclose(_outputs(loaded, [x])[0], _outputs(model, [x])[0], **TOLERANCE)


# ------------------------------------------------------------- safety, errors
def test_save_is_atomic_and_overwrite_false_refuses(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    model, _ = _sequential()
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)

    def broken(self, name, data, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"], "the temporary file was left behind"


def test_lambda_in_a_keras_file_needs_safe_mode_false(tmp_path):
    offset = 3.0
    model = lamina.Sequential([layers.Lambda(lambda x: x + offset, input_shape=(2,), name="lam")])
    model.save(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.load_model(tmp_path / "lam.keras")
    loaded = lamina.models.load_model(tmp_path / "lam.keras", safe_mode=False)
    np.testing.assert_allclose(_outputs(loaded, [np.zeros((1, 2), "float32")])[0], [[3.0, 3.0]])


def test_named_function_lambda_and_relu_layer_round_trip(tmp_path):
    model = lamina.Sequential([layers.Lambda(ops.relu, input_shape=(2,), name="lam")])
    model.save(tmp_path / "fn.keras")
    loaded = lamina.models.load_model(tmp_path / "fn.keras")
    np.testing.assert_allclose(_outputs(loaded, [np.array([[-1.0, 2.0]], "float32")])[0], [[0.0, 2.0]])


def test_zip_without_config_json(tmp_path):
    path = tmp_path / "weights_only.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"weights_only\.keras.*config\.json"):
        lamina.models.load_model(path)


def test_corrupt_zip(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "good.keras")
    data = (tmp_path / "good.keras").read_bytes()
    for member in (b"metadata.json", b"config.json", b"model.weights.h5"):
        damaged = bytearray(data)
        start = data.index(member) + len(member)  # its local header's name; the compressed bytes follow
        damaged[start : start + 40] = b"\xff" * 40  # garble them, keep the central directory
        (tmp_path / "damaged.keras").write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=r"damaged\.keras.*(damaged|not valid)"):
            lamina.models.load_model(tmp_path / "damaged.keras")
    (tmp_path / "truncated.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated\.keras.*not a zip"):
        lamina.models.load_model(tmp_path / "truncated.keras")


def test_non_zip_keras_file_and_bad_config(tmp_path):
    (tmp_path / "text.keras").write_text("not a model")
    with pytest.raises(ValueError, match=r"text\.keras.*not a zip"):
        lamina.models.load_model(tmp_path / "text.keras")
    with zipfile.ZipFile(tmp_path / "badjson.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(ValueError, match=r"badjson\.keras.*not valid JSON"):
        lamina.models.load_model(tmp_path / "badjson.keras")
    with pytest.raises(FileNotFoundError, match="missing"):
        lamina.models.load_model(tmp_path / "missing.keras")


def test_weights_that_do_not_fit_name_the_file(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,), name="d")])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    config["config"]["layers"][1]["config"]["units"] = 5
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    with pytest.raises(ValueError, match=r"other\.keras.*shape"):
        lamina.models.load_model(tmp_path / "other.keras")


@lamina.saving.register_keras_serializable(package="ZipTest")
class ScaleBy(layers.Layer):
    """A custom layer with a weight: multiplies by a learned vector and a fixed factor."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="random_uniform")

    def call(self, inputs):
        return inputs * self.scale * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_registered_custom_layer_round_trip(tmp_path):
    model = lamina.Sequential([layers.Dense(3, input_shape=(2,)), ScaleBy(2.0, name="scale_by")])
    model.save(tmp_path / "custom.keras")
    with zipfile.ZipFile(tmp_path / "custom.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][-1]
    assert (entry["class_name"], entry["registered_name"]) == ("ScaleBy", "ZipTest>ScaleBy")
    x = np.ones((2, 2), "float32")
    loaded = lamina.models.load_model(tmp_path / "custom.keras")
    np.testing.assert_allclose(_outputs(loaded, [x])[0], _outputs(model, [x])[0], **TOLERANCE)
    assert loaded.layers[-1].factor == 2.0
