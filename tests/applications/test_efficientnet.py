"""EfficientNet B0-B7 and EfficientNetV2 B0-B3/S/M/L against Keras 3's records (layer classes, order, names,
weights, counts, and for B0 and V2B0 the logits given the same seeded weights); the extra ImageNet `Rescaling` by
1/sqrt(stddev) with a weights file served in place of Keras's; pooling, channels_first and Keras's argument checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record, seeded_images, seeded_weights

from lamina import config, layers
from lamina.applications import efficientnet, efficientnet_v2, imagenet_utils
from lamina.applications.efficientnet import EfficientNetB0, EfficientNetB1, EfficientNetB3, EfficientNetB7
from lamina.applications.efficientnet_v2 import EfficientNetV2B0, EfficientNetV2L, EfficientNetV2S
from lamina.backend import clear_session

SMALL = (32, 32, 3)
MEAN_RGB, STDDEV_RGB = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def check_record(module, name, predictions=True):
    """Keras 3's record of `name`; logits through `predict` (one compiled graph: on JAX far quicker than running
    ~240 layers eagerly, each op compiled on its own)."""
    clear_session()  # the record holds a fresh session's names: `normalization`, not `normalization_1`
    record = load_record(name)
    model = check_against_record(getattr(module, name), record, predictions=False)
    if predictions:
        model.set_weights(seeded_weights([(w.name, w.shape) for w in model.weights]))
        expected = np.asarray(record["logits"], dtype="float32")
        got = model.predict(seeded_images(record["kwargs"]["input_shape"]), verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    return model


def test_efficientnet_b0_matches_keras3_record_and_loads_imagenet_weights(tmp_path, monkeypatch):
    source = check_record(efficientnet, "EfficientNetB0")  # now holds the seeded weights
    assert source.name == "efficientnetb0" and [w.name for w in source.weights[:3]] == ["mean", "variance", "count"]
    drops = [layer for layer in source.layers if layer.name.endswith("_drop")]  # drop-connect: whole samples
    assert drops[0].name == "block2b_drop" and drops[0].noise_shape == (None, 1, 1, 1)
    assert drops[-1].name == "block6d_drop" and drops[-1].rate == pytest.approx(0.2 * 14 / 16)  # 15th of 16 blocks
    assert type(source.layers[3]).__name__ == "ZeroPadding2D"  # without ImageNet weights: no extra Rescaling
    values = source.get_weights()
    values[:2] = [MEAN_RGB.astype("float32"), (STDDEV_RGB**2).astype("float32")]  # as in Keras's published files
    source.set_weights(values)
    source.save_weights(str(tmp_path / "top.h5"))
    asked = []

    def served(fname, origin, file_hash, what):  # stands in for the download of Keras's file
        asked.append((fname, origin, file_hash))
        return str(tmp_path / "top.h5")

    monkeypatch.setattr(imagenet_utils, "fetch", served)
    model = EfficientNetB0(weights="imagenet", input_tensor=layers.Input(SMALL))  # a given tensor: any size
    url = "https://storage.googleapis.com/keras-applications/efficientnetb0.h5"
    assert asked == [("efficientnetb0.h5", url, "902e53a9f72be733fc0bcb005b3ebbac")]
    kinds = ["InputLayer", "Rescaling", "Normalization", "Rescaling", "ZeroPadding2D"]
    assert [type(layer).__name__ for layer in model.layers[:5]] == kinds
    assert len(model.get_weights()) == len(values)
    for got, want in zip(model.get_weights(), values):
        np.testing.assert_array_equal(got, want)
    images = np.random.default_rng(2).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    x = images
    for layer in model.layers[1:4]:
        x = layer(x)
    expected = (images / 255.0 - MEAN_RGB) / STDDEV_RGB / np.sqrt(STDDEV_RGB)
    np.testing.assert_allclose(np.asarray(x), expected, rtol=1e-5, atol=1e-5)


def test_efficientnet_v2_b0_matches_keras3_record():
    model = check_record(efficientnet_v2, "EfficientNetV2B0")
    normalization = model.layers[2]
    assert type(normalization).__name__ == "Normalization" and normalization.weights == []  # fixed statistics
    assert model.name == "efficientnetv2-b0"


@LARGE_MODELS
@pytest.mark.parametrize("name", [f"EfficientNetB{i}" for i in range(1, 8)])
def test_larger_efficientnets_match_keras3_records(name):
    check_record(efficientnet, name, predictions=False)


@LARGE_MODELS
@pytest.mark.parametrize("name", [f"EfficientNetV2{v}" for v in ("B1", "B2", "B3", "S", "M", "L")])
def test_larger_efficientnet_v2s_match_keras3_records(name):
    check_record(efficientnet_v2, name, predictions=False)


def test_weight_files_and_hashes_are_keras_s(monkeypatch):
    asked = []

    def refuse(fname, origin, file_hash, what):
        asked.append((fname, origin, file_hash))
        raise OSError("offline")

    monkeypatch.setattr(imagenet_utils, "fetch", refuse)
    for build, kwargs in [(EfficientNetB7, {}), (EfficientNetV2L, {"include_top": False}), (EfficientNetV2B0, {})]:
        with pytest.raises(OSError, match="offline"):  # asked for before anything is built
            build(weights="imagenet", **kwargs)
    v1, v2 = "https://storage.googleapis.com/keras-applications/", efficientnet_v2.WEIGHTS_ORIGIN
    assert v2 == "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
    assert asked == [
        ("efficientnetb7.h5", v1 + "efficientnetb7.h5", "8c03f828fec3ef71311cd463b6759d99"),
        ("efficientnetv2-l_notop.h5", v2 + "efficientnetv2-l_notop.h5", "b0b66b5c863aef5b46e8608fe1711615"),
        ("efficientnetv2-b0.h5", v2 + "efficientnetv2-b0.h5", "21ecbf6da12460d5c40bb2f29ceb2188"),
    ]


def test_pooling_preprocessing_and_channels_first_shapes():
    bare = EfficientNetV2B0(False, None, None, SMALL, "max", 1000, "softmax", False)  # Keras's order, positionally
    assert bare.output_shape == (None, 1280) and bare.layers[-1].name == "max_pool"
    assert bare.layers[1].name == "stem_conv"  # no Rescaling/Normalization in front
    config.set_image_data_format("channels_first")
    try:
        first = EfficientNetB0(include_top=False, weights=None, input_shape=(3, 33, 32), pooling="avg")
    finally:
        config.set_image_data_format("channels_last")
    assert first.output_shape == (None, 1280) and first.layers[-1].name == "avg_pool"
    # odd sides: Keras's asymmetric padding before each stride 2 (33 -> 17 -> 9 -> 5 -> 3 -> 2)
    assert first.get_layer("top_activation").output_shape == (None, 1280, 2, 1)
    assert first.get_layer("block1a_se_reshape").output_shape == (None, 32, 1, 1)


def test_signatures_and_docstrings_are_keras_s():
    shared = ["include_top", "weights", "input_tensor", "input_shape", "pooling", "classes", "classifier_activation"]
    for function, extra, name in [
        (EfficientNetB7, [], "efficientnetb7"),
        (EfficientNetV2L, ["include_preprocessing"], "efficientnetv2-l"),
    ]:
        parameters = inspect.signature(function).parameters
        assert list(parameters) == shared + extra + ["name"] and parameters["name"].default == name
        assert [parameters[key].default for key in ("weights", "classes")] == ["imagenet", 1000]
    assert EfficientNetB7.__name__ == "EfficientNetB7" and "66,658,687 parameters" in EfficientNetB7.__doc__
    assert "(None, 2560)" in EfficientNetB7.__doc__ and "(600, 600, 3)" in EfficientNetB7.__doc__
    assert "include_preprocessing:" in EfficientNetV2L.__doc__ and "(480, 480, 3)" in EfficientNetV2L.__doc__
    with pytest.raises(TypeError, match=r"EfficientNetB1\(\): got an unexpected keyword argument 'alpha'"):
        EfficientNetB1(alpha=1.0)


def test_keras_argument_checks():
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        EfficientNetB3(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(240, 240, 3\)"):
        EfficientNetB1(weights="imagenet", input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        EfficientNetV2S(include_top=False, weights=None, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="`weights` argument should be either `None`"):
        EfficientNetV2B0(weights="no/such/file.h5")
    images = np.zeros((1, 4, 4, 3))
    assert efficientnet.preprocess_input(images) is images and efficientnet_v2.preprocess_input(images) is images
