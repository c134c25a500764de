"""Keras 2.2/2.3's `keras.applications.resnet50.ResNet50` (keras-applications 1.0.8's graph) as
`resnet50.ResNet50Legacy`, checked against its record written by keras-applications 1.0.8 on tf-keras 2.21
(make_resnet50_legacy.py): layer classes, order, names, weights, count and logits given seeded weights.

`resnet50.ResNet50` given a file in that graph's layout (written here from the record, not by lamina) returns the
legacy graph with the file loaded and predicts Keras 2's logits; given anything else it is `resnet.ResNet50`.
To build the 177-layer model once per engine in the default run, that model is the one `check_against_record`
checks (it is `ResNet50Legacy`'s); `ResNet50Legacy` called directly, and in channels_first, are LARGE_MODELS tests.
Layer names Keras chose by counter (`activation_3`, `add_1`) are not compared, as for ResNeXt.
"""

from __future__ import annotations

import inspect

import h5py
import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record, seeded_images, seeded_weights, write_keras_h5

from lamina import config, layers
from lamina.applications import imagenet_utils, resnet, resnet50
from lamina.models.functional import Functional


@pytest.fixture(scope="module")
def record():
    return load_record("ResNet50Legacy")


@pytest.fixture(scope="module")
def files(record, tmp_path_factory):
    """(seeded weight values, {kind: path}): Keras 2's layouts of `model.save` (the weights under `model_weights`)
    and of `save_weights` with the layers shuffled."""
    folder = tmp_path_factory.mktemp("resnet50_legacy")
    values = seeded_weights([w for row in record["layers"] for w in row[2]])
    paths = {"whole_model": folder / "whole_model.h5", "shuffled": folder / "shuffled.h5"}
    # Stored with res2a_branch2c and res2a_branch1 (the same shape) in each other's place: read by order, the file
    # would load without error and predict wrongly; the legacy graph's names make `ResNet50` read it by name.
    names = [row[0] for row in record["layers"]]
    order = list(range(len(names)))
    first, second = names.index("res2a_branch2c"), names.index("res2a_branch1")
    order[first], order[second] = second, first
    write_keras_h5(record, values, paths["whole_model"], order=np.array(order))
    with h5py.File(paths["whole_model"], "r+") as file:  # moved, not copied: the same arrays under model_weights
        group = file.create_group("model_weights")
        for key in list(file.attrs):
            group.attrs[key] = file.attrs[key]
            del file.attrs[key]
        for name in [name for name in file if name != "model_weights"]:
            file.move(name, f"model_weights/{name}")
    write_keras_h5(record, values, paths["shuffled"], order=np.random.default_rng(3).permutation(len(record["layers"])))
    return values, paths


@pytest.fixture(scope="module")
def loaded_model(record, files):
    """`resnet50.ResNet50` given Keras 2.3's whole-model file, checked by `check_against_record` as the record's
    graph (one build per engine: this model serves the tests below), with the weights it loaded."""
    loaded = []

    def from_keras_2_3_file(weights, **kwargs):
        assert weights is None  # check_against_record's; the file is given instead
        model = resnet50.ResNet50(weights=str(files[1]["whole_model"]), **kwargs)
        loaded.extend(model.get_weights())
        return model

    return check_against_record(from_keras_2_3_file, record, predictions=False), loaded


def test_resnet50_given_a_keras_2_3_file_is_its_graph_with_the_file_loaded(loaded_model, record, files):
    model, loaded = loaded_model
    assert model.name == "resnet50" and model.layers[-1].name == "fc1000"
    norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    assert len(norms) == 53 and {layer.epsilon for layer in norms} == {1e-3}  # Keras's default, not 1.001e-5
    assert model.get_layer("res2a_branch2a").get_config()["kernel_initializer"]["class_name"] == "HeNormal"
    assert len(loaded) == len(files[0])
    for mine, theirs in zip(loaded, files[0]):
        np.testing.assert_array_equal(mine, theirs)


def test_resnet50_given_a_keras_2_3_file_predicts_keras_2_s_logits(loaded_model, record):
    expected = np.asarray(record["logits"], dtype="float32")
    got = loaded_model[0].predict(seeded_images(record["kwargs"]["input_shape"]), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_a_shuffled_keras_2_3_file_loads_by_name(loaded_model, files):
    legacy_model, (values, paths) = loaded_model[0], files
    legacy_model.set_weights([np.zeros_like(v) for v in values])
    legacy_model.load_weights(str(paths["shuffled"]), by_name=True)
    for mine, theirs in zip(legacy_model.get_weights(), values):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError):  # read by order, the shuffled file is refused, not loaded wrongly
        legacy_model.load_weights(str(paths["shuffled"]))


def test_only_files_of_the_legacy_graph_are_taken_for_legacy(files, tmp_path):
    _, paths = files
    assert all(resnet50.weights_are_legacy(str(path)) for path in paths.values())
    assert resnet50.weights_are_legacy(paths["shuffled"])  # a PathLike too
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as file:
        file.attrs["layer_names"] = np.array([b"conv1_pad", b"conv1_conv", b"conv2_block1_1_conv"])
    not_h5 = tmp_path / "weights.txt"
    not_h5.write_text("res2a_branch2a")
    for weights in (None, "imagenet", str(newer), str(not_h5), str(tmp_path / "missing.h5")):
        assert not resnet50.weights_are_legacy(weights), weights


def test_resnet50_is_resnet_s_for_anything_but_a_legacy_file(monkeypatch, tmp_path):
    assert inspect.signature(resnet50.ResNet50) == inspect.signature(resnet.ResNet50)
    calls = []
    monkeypatch.setattr(resnet, "ResNet50", lambda **arguments: calls.append(arguments) or "newer")
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as file:
        file.attrs["layer_names"] = np.array([b"conv1_conv"])
    assert resnet50.ResNet50(False, None, pooling="avg") == "newer"
    assert resnet50.ResNet50(weights=str(newer), classes=7, name="mine") == "newer"
    shared = {"input_tensor": None, "input_shape": None, "classifier_activation": "softmax"}
    assert calls == [
        {"include_top": False, "weights": None, "pooling": "avg", "classes": 1000, "name": "resnet50", **shared},
        {"include_top": True, "weights": str(newer), "pooling": None, "classes": 7, "name": "mine", **shared},
    ]
    assert "res2a_branch2a" in resnet50.ResNet50.__doc__ and "res2a_branch2a" in resnet50.__doc__


def test_legacy_imagenet_weight_files_are_keras_2_2_s(monkeypatch):
    asked = []

    def fetch(fname, origin, file_hash, what):
        asked.append((fname, origin, file_hash))
        raise OSError("no network in tests")

    monkeypatch.setattr(imagenet_utils, "fetch", fetch)
    for kwargs in ({}, {"include_top": False}):
        with pytest.raises(OSError):
            resnet50.ResNet50Legacy(weights="imagenet", **kwargs)
    origin = "https://github.com/fchollet/deep-learning-models/releases/download/v0.2/"
    assert asked == [
        (name, origin + name, md5)
        for name, md5 in [
            ("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "a7b3fe01876f51b976af0dea6bc144eb"),
            ("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "a268eb855778b3df3c7506639542a6af"),
        ]
    ]


def test_legacy_blocks_in_channels_first():
    # the whole model in channels_first is the LARGE_MODELS test below; a block shows the axis and the strides
    config.set_image_data_format("channels_first")
    try:
        inputs = layers.Input((8, 9, 7))
        model = Functional(inputs, resnet50.legacy_block(inputs, (4, 4, 16), "3a", strides=2, conv_shortcut=True))
    finally:
        config.set_image_data_format("channels_last")
    assert model.output_shape == (None, 16, 5, 4)
    assert [layer.name for layer in model.layers if layer.weights] == [
        "res3a_branch2a",
        "bn3a_branch2a",
        "res3a_branch2b",
        "bn3a_branch2b",
        "res3a_branch2c",
        "res3a_branch1",
        "bn3a_branch2c",
        "bn3a_branch1",
    ]
    assert {tuple(np.atleast_1d(layer.axis)) for layer in model.layers if hasattr(layer, "axis")} == {(1,)}


@LARGE_MODELS
def test_resnet50_legacy_itself_matches_keras_2_3_s_record():
    check_against_record(resnet50.ResNet50Legacy, load_record("ResNet50Legacy"))


@LARGE_MODELS
def test_legacy_channels_first_and_pooling_shapes():
    config.set_image_data_format("channels_first")
    try:
        model = resnet50.ResNet50Legacy(include_top=False, weights=None, input_shape=(3, 32, 40), pooling="max")
        assert model.output_shape == (None, 2048) and model.get_layer("bn5c_branch2c").axis in (1, [1])
        assert tuple(model.get_layer("res5c_branch2c").output.shape) == (None, 2048, 1, 2)
        assert type(model.layers[-1]).__name__ == "GlobalMaxPooling2D"
    finally:
        config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        resnet50.ResNet50Legacy(include_top=False, weights=None, input_shape=(31, 64, 3))
