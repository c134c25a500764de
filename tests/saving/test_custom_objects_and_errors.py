"""Custom objects, Keras 3 configs, Lambda safe mode, and the errors a user sees for bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from lamina.ops import convert_to_numpy
from lamina.saving import deserialize_layer


class Scale(layers.Layer):
    """A custom layer: multiplies by a learned vector."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _model():
    return lamina.Sequential([layers.Dense(3, input_shape=(2,), name="d"), Scale(2.0, name="scale")])


def test_unknown_class_names_it_and_custom_objects(tmp_path):
    _model().save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"'Scale'.*custom_objects"):
        lamina.models.load_model(tmp_path / "m.h5")


def test_custom_objects_dict_and_scope(tmp_path):
    model = _model()
    model.get_layer("scale").set_weights([np.array([1.0, 2.0, 3.0], "float32")])
    model.save(tmp_path / "m.h5")
    x = np.ones((2, 2), "float32")
    expected = convert_to_numpy(model.predict(x, verbose=0))
    loaded = lamina.models.load_model(tmp_path / "m.h5", custom_objects={"Scale": Scale})
    np.testing.assert_allclose(convert_to_numpy(loaded.predict(x, verbose=0)), expected, rtol=1e-6)
    assert loaded.get_layer("scale").factor == 2.0
    with lamina.utils.CustomObjectScope({"Scale": Scale}):
        assert isinstance(lamina.models.model_from_json(model.to_json()).get_layer("scale"), Scale)
        assert isinstance(lamina.models.model_from_yaml(model.to_yaml()).get_layer("scale"), Scale)


def test_register_keras_serializable():
    @lamina.utils.register_keras_serializable(package="Tests")
    class Shift(layers.Layer):
        def call(self, inputs):
            return inputs + 1.0

    try:
        model = lamina.Sequential([Shift(input_shape=(2,), name="shift")])
        config = json.loads(model.to_json())
        assert [entry["class_name"] for entry in config["config"]["layers"]] == ["InputLayer", "Tests>Shift"]
        assert isinstance(lamina.models.model_from_json(model.to_json()).layers[0], Shift)
    finally:  # the registry is global: a class local to this test must not stay in it for the next ones
        for name in ("Tests>Shift", "Shift"):
            lamina.utils.get_custom_objects().pop(name, None)


def test_custom_activation_and_initializer_by_name():
    def scaled_relu(x):
        return ops.relu(x) * 2.0

    layer = layers.Dense(2, activation=scaled_relu, name="d")
    config = {"class_name": "Dense", "config": layer.get_config()}
    with pytest.raises(ValueError, match="scaled_relu"):
        deserialize_layer(config)
    assert deserialize_layer(config, {"scaled_relu": scaled_relu}).activation is scaled_relu


def test_keras3_layer_config_keys_are_understood():
    config = {
        "module": "keras.layers",
        "class_name": "Dense",
        "registered_name": None,
        "config": {
            "name": "hidden",
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}},
            "units": 4,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": 3, "input_axes": None, "output_axes": None},
                "registered_name": None,
            },
            "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}},
            "quantization_config": None,
        },
        "build_config": {"input_shape": [None, 3]},
    }
    layer = deserialize_layer(config)
    assert layer.dtype == "float32" and layer.units == 4
    assert layer.kernel_initializer.seed == 3
    assert layer.kernel_regularizer.l2 == 0.5


def test_a_used_keras3_option_is_not_silently_dropped():
    config = {"class_name": "Dense", "config": {"units": 2, "quantization_config": {"mode": "int8"}}}
    with pytest.raises(TypeError, match="quantization_config"):
        deserialize_layer(config)


def test_unknown_constraint_names_custom_objects():
    config = {"class_name": "Dense", "config": {"units": 2, "kernel_constraint": {"class_name": "ClipToOne"}}}
    with pytest.raises(ValueError, match=r"'ClipToOne'.*MaxNorm.*custom_objects"):
        deserialize_layer(config)


def test_built_in_constraints_load_from_keras_configs():
    config = {"class_name": "Dense", "config": {"units": 2, "kernel_constraint": {"class_name": "MaxNorm"}}}
    assert deserialize_layer(config).kernel_constraint.get_config() == {"max_value": 2.0, "axis": 0}


def test_keras3_functional_inbound_nodes():
    ref = {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}
    config = {
        "class_name": "Functional",
        "config": {
            "name": "k3",
            "layers": [
                {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 3], "name": "x"},
                 "inbound_nodes": []},
                {"class_name": "Dense", "name": "d", "config": {"units": 2, "name": "d"},
                 "inbound_nodes": [{"args": [ref], "kwargs": {}}]},
            ],
            "input_layers": ["x", 0, 0],
            "output_layers": ["d", 0, 0],
        },
    }  # fmt: skip
    model = lamina.models.model_from_config(config)
    assert model.output_shape == (None, 2)


def test_lambda_named_function_round_trip():
    model = lamina.Sequential([layers.Lambda(ops.relu, input_shape=(2,), name="lam")])
    clone = lamina.models.model_from_json(model.to_json())
    out = convert_to_numpy(clone.predict(np.array([[-1.0, 2.0]], "float32"), verbose=0))
    np.testing.assert_allclose(out, [[0.0, 2.0]])


def test_lambda_bytecode_needs_safe_mode_false(tmp_path):
    offset = 3.0
    model = lamina.Sequential([layers.Lambda(lambda x: x + offset, input_shape=(2,), name="lam")])
    text = model.to_json()
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.model_from_json(text)
    model.save(tmp_path / "lam.h5")
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.load_model(tmp_path / "lam.h5")
    loaded = lamina.models.load_model(tmp_path / "lam.h5", safe_mode=False)
    out = convert_to_numpy(loaded.predict(np.zeros((1, 2), "float32"), verbose=0))
    np.testing.assert_allclose(out, [[3.0, 3.0]])


def test_yaml_loader_is_safe():
    with pytest.raises(ValueError, match="safe"):
        lamina.models.model_from_yaml("!!python/object/apply:os.system ['echo unsafe']")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        lamina.models.load_model(tmp_path / "nothere.h5")


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"this is not hdf5")
    with pytest.raises(ValueError, match=r"junk\.h5.*not an HDF5 file"):
        lamina.models.load_model(path)
    with pytest.raises(ValueError, match=r"junk\.h5.*not an HDF5 file"):
        _model().load_weights(path)


def test_truncated_file(tmp_path):
    good = tmp_path / "good.h5"
    lamina.Sequential([layers.Dense(2, input_shape=(3,))]).save(good)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(good.read_bytes()[:1000])
    with pytest.raises((ValueError, OSError), match=r"bad\.h5"):
        lamina.models.load_model(bad)


def test_weights_only_file_given_to_load_model(tmp_path):
    lamina.Sequential([layers.Dense(2, input_shape=(3,))]).save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"w\.h5.*no model_config.*load_weights"):
        lamina.models.load_model(tmp_path / "w.h5")


def test_hdf5_without_keras_layout(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"other\.h5.*layer_names"):
        _model().load_weights(tmp_path / "other.h5")


def test_bad_model_config_json(tmp_path):
    import h5py

    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.attrs["model_config"] = "{not json"
    with pytest.raises(ValueError, match=r"bad\.h5.*model_config.*JSON"):
        lamina.models.load_model(tmp_path / "bad.h5")


def test_keras_name_picks_the_zip_format(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")  # Keras 3's zip; tests/saving/test_keras_zip.py checks it in depth
    assert zipfile.is_zipfile(tmp_path / "m.keras")
    twin = _model()
    twin.load_weights(tmp_path / "m.keras")
    for ours, theirs in zip(twin.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
