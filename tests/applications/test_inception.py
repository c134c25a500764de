"""Xception, InceptionV3 and InceptionResNetV2 against Keras 3's records (tests/fixtures/applications/<Model>.json):
layer classes, order, names, weights, counts and, for the models CI checks numerically, the logits given seeded
weights; the pooling and channels_first shapes, Keras's argument checks and the CustomScaleLayer of Keras 3."""

from __future__ import annotations

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record, seeded_images, seeded_weights

from lamina import config
from lamina.applications import inception_resnet_v2, inception_v3, xception
from lamina.applications.inception_resnet_v2 import CustomScaleLayer, InceptionResNetV2
from lamina.applications.inception_v3 import InceptionV3
from lamina.applications.xception import Xception

XCEPTION_TOP_PARAMS = 2048 * 1000 + 1000  # avg_pool + predictions


def test_xception_matches_keras3_record_and_logits():
    model = check_against_record(Xception, load_record("Xception"))
    assert model.name == "xception"


def test_inception_v3_matches_keras3_record_and_logits():
    model = check_against_record(InceptionV3, load_record("InceptionV3"))
    assert model.name == "inception_v3"


def test_inception_resnet_v2_matches_keras3_record():
    model = check_against_record(InceptionResNetV2, load_record("InceptionResNetV2"), predictions=False)
    scales = [layer.scale for layer in model.layers if isinstance(layer, CustomScaleLayer)]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]  # Keras's residual scaling, block by block


@LARGE_MODELS
def test_inception_resnet_v2_logits_match_keras3_given_the_same_weights():
    check_against_record(InceptionResNetV2, load_record("InceptionResNetV2"))


def test_without_top_average_pooling_shape_and_count():
    pooled = Xception(include_top=False, weights=None, input_shape=(80, 90, 3), pooling="avg")
    assert pooled.output_shape == (None, 2048) and pooled.layers[-2].output_shape == (None, 3, 3, 2048)
    assert type(pooled.layers[-1]).__name__ == "GlobalAveragePooling2D"
    assert pooled.count_params() == load_record("Xception")["count"] - XCEPTION_TOP_PARAMS  # pooling adds none


def test_channels_first_shapes_and_max_pooling():
    config.set_image_data_format("channels_first")
    try:
        model = Xception(include_top=False, weights=None, input_shape=(3, 71, 72), pooling="max")
    finally:
        config.set_image_data_format("channels_last")
    assert model.layers[-2].output_shape == (None, 2048, 3, 3) and model.output_shape == (None, 2048)
    assert type(model.layers[-1]).__name__ == "GlobalMaxPooling2D"
    assert model.get_layer("block1_conv1_bn").axis in (1, [1])


@LARGE_MODELS
@pytest.mark.parametrize("build, side", [(InceptionV3, 75), (InceptionResNetV2, 75), (Xception, 71)])
def test_channels_first_equals_channels_last_given_the_same_weights(build, side):
    last = build(include_top=False, weights=None, input_shape=(side, side, 3))
    weights = seeded_weights([(w.name, w.shape) for w in last.weights])
    last.set_weights(weights)
    config.set_image_data_format("channels_first")
    try:
        first = build(include_top=False, weights=None, input_shape=(3, side, side))
    finally:
        config.set_image_data_format("channels_last")
    first.set_weights(weights)  # kernels are (rows, cols, in, out) in both formats, as in Keras
    images = seeded_images((side, side, 3))
    expected = last.predict(images, verbose=0)
    got = first.predict(images.transpose(0, 3, 1, 2), verbose=0).transpose(0, 2, 3, 1)
    assert np.isfinite(expected).all() and np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("build, side", [(Xception, 71), (InceptionV3, 75), (InceptionResNetV2, 75)])
def test_keras_argument_checks(build, side):
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        build(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(299, 299, 3\)"):
        build(weights="imagenet", input_shape=(side, side, 3))
    with pytest.raises(ValueError, match=f"Input size must be at least {side}x{side}"):
        build(include_top=False, weights=None, input_shape=(side - 1, 100, 3))
    with pytest.raises(ValueError, match="`weights` argument should be either `None`"):
        build(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="only `None` and `softmax`"):
        build(weights="imagenet", classifier_activation="relu")


def test_custom_scale_layer_adds_the_scaled_residual_and_reloads_by_name(tmp_path):
    from lamina import layers, models

    shortcut, residual = np.arange(6.0).reshape(2, 3), np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    layer = CustomScaleLayer(0.17)
    np.testing.assert_allclose(np.asarray(layer([shortcut, residual])), shortcut + 0.17 * residual, rtol=1e-6)
    assert layer.get_config()["scale"] == 0.17 and layer.name.startswith("custom_scale_layer")
    a, b = layers.Input((3,)), layers.Input((3,))
    model = models.Model([a, b], CustomScaleLayer(0.5, name="block35_1")([a, b]))
    model.save(str(tmp_path / "scale.h5"))
    loaded = models.load_model(str(tmp_path / "scale.h5"))  # no custom_objects: lamina knows the class
    assert type(loaded.layers[-1]) is CustomScaleLayer and loaded.layers[-1].scale == 0.5
    np.testing.assert_allclose(np.asarray(loaded.predict([shortcut, residual], verbose=0)), shortcut + 0.5 * residual)
    with pytest.raises(ValueError, match="expects a list of 2 tensors"):
        layer([shortcut])
    with pytest.raises(ValueError, match='Expects "block35", "block17" or "block8", but got: block36'):
        inception_resnet_v2.inception_resnet_block(None, 0.1, "block36", 1)


@pytest.mark.parametrize("module", [xception, inception_v3, inception_resnet_v2])
def test_preprocess_input_is_keras_tf_mode(module):
    images = np.array([[[[0.0, 127.5, 255.0], [10.0, 20.0, 30.0]]]])
    np.testing.assert_allclose(module.preprocess_input(images), images / 127.5 - 1.0, rtol=1e-6)
    first = module.preprocess_input(images.transpose(0, 3, 1, 2), data_format="channels_first")
    np.testing.assert_allclose(first, images.transpose(0, 3, 1, 2) / 127.5 - 1.0, rtol=1e-6)


def test_custom_scale_layer_files_cross_with_keras3(keras3, tmp_path):
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer as Keras3Scale

    from lamina import layers, models

    shortcut, residual = np.ones((1, 3), "float32"), np.arange(3.0, dtype="float32").reshape(1, 3)
    a, b = keras3.Input((3,)), keras3.Input((3,))
    keras3.Model([a, b], Keras3Scale(0.3)([a, b])).save(str(tmp_path / "keras3.keras"))
    mine = models.load_model(str(tmp_path / "keras3.keras"))
    assert type(mine.layers[-1]) is CustomScaleLayer
    np.testing.assert_allclose(np.asarray(mine.predict([shortcut, residual], verbose=0)), shortcut + 0.3 * residual)
    a, b = layers.Input((3,)), layers.Input((3,))
    models.Model([a, b], CustomScaleLayer(0.2)([a, b])).save(str(tmp_path / "lamina.keras"))
    theirs = keras3.models.load_model(str(tmp_path / "lamina.keras"))  # Keras 3 finds its own class
    assert type(theirs.layers[-1]) is Keras3Scale and theirs.layers[-1].scale == 0.2
