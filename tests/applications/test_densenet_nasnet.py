"""DenseNet and NASNet: Keras's layer classes, order, names, weight shapes and parameter counts and Keras 3's
logits given the same weights (Keras 3.15.1's records in tests/fixtures/applications), pooling shapes, the
ImageNet files each model asks for, preprocessing, and Keras's argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record

from lamina import config
from lamina.applications import densenet, imagenet_utils, nasnet


def test_densenet121_matches_keras3_layers_weights_count_and_logits():
    check_against_record(densenet.DenseNet121, load_record("DenseNet121"))


def test_nasnet_mobile_matches_keras3_layers_weights_and_count():
    # 771 layers: its logits (5-6 s of compiling on JAX) run with the big models
    check_against_record(nasnet.NASNetMobile, load_record("NASNetMobile"), predictions=False)


@LARGE_MODELS
@pytest.mark.parametrize(
    "build, name",
    [(densenet.DenseNet169, "DenseNet169"), (densenet.DenseNet201, "DenseNet201"), (nasnet.NASNetLarge, "NASNetLarge")],
)
def test_large_models_match_keras3_layers_weights_and_count(build, name):
    check_against_record(build, load_record(name))  # NASNetLarge has no recorded logits: structure only


@LARGE_MODELS
def test_nasnet_mobile_logits_match_keras3():
    check_against_record(nasnet.NASNetMobile, load_record("NASNetMobile"))


def test_pooling_shapes_and_layer_names_without_the_top():
    # DenseNet([1, 1, 1, 1]) on 64x64: 64 + 32 channels, halved, and so on: 96 -> 48 -> 80 -> 40 -> 72 -> 36 -> 68.
    small = {"include_top": False, "weights": None, "input_shape": (64, 64, 3)}
    features = densenet.DenseNet([1, 1, 1, 1], **small)
    assert features.output_shape == (None, 2, 2, 68) and features.layers[-1].name == "relu"
    for pooling, layer_name in (("avg", "avg_pool"), ("max", "max_pool")):
        pooled = densenet.DenseNet([1, 1, 1, 1], pooling=pooling, **small)
        assert pooled.output_shape == (None, 68) and pooled.layers[-1].name == layer_name
    # NASNet (1 @ 96): stacks 4, 8 and 16 filters wide; the last normal cell concatenates six branches of 16.
    tiny = {"penultimate_filters": 96, "num_blocks": 1, "stem_block_filters": 8, **small}
    pooled = nasnet.NASNet(pooling="max", **tiny)  # one build: NASNet's cells are many layers even when tiny
    assert pooled.output_shape == (None, 96) and type(pooled.layers[-1]).__name__ == "GlobalMaxPooling2D"
    assert tuple(pooled.layers[-2].output.shape) == (None, 2, 2, 96)  # the output with pooling=None


def test_nasnet_mobile_without_the_top_defaults_to_224_as_keras(monkeypatch):
    seen = {}
    monkeypatch.setattr(nasnet, "NASNet", lambda input_shape, **kwargs: seen.update(kwargs, input_shape=input_shape))
    nasnet.NASNetMobile(include_top=False, weights=None)
    assert seen["input_shape"] == (224, 224, 3) and seen["default_size"] == 224
    assert (seen["penultimate_filters"], seen["num_blocks"], seen["stem_block_filters"]) == (1056, 4, 32)
    nasnet.NASNetLarge(include_top=False, weights=None)
    assert seen["input_shape"] is None and seen["default_size"] == 331 and seen["skip_reduction"] is True


class FetchedError(Exception):
    pass


@pytest.mark.parametrize(
    "build, include_top, fname, url_end, md5",
    [
        (nasnet.NASNetMobile, True, "nasnet_mobile.h5", "nasnet/NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
        (
            nasnet.NASNetLarge,
            False,
            "nasnet_large_no_top.h5",
            "/NASNet-large-no-top.h5",
            "d81d89dc07e6e56530c4e77faddd61b5",
        ),
        (
            densenet.DenseNet169,
            False,
            "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "densenet/densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "b8c4d4c20dd625c148057b9ff1c1176b",
        ),
    ],
)
def test_imagenet_weights_are_keras_s_files(monkeypatch, build, include_top, fname, url_end, md5):
    def fetch(name, origin, file_hash, what):
        raise FetchedError(name, origin, file_hash)

    monkeypatch.setattr(imagenet_utils, "fetch", fetch)
    with pytest.raises(FetchedError) as fetched:
        build(include_top=include_top, weights="imagenet")
    name, origin, file_hash = fetched.value.args
    assert name == fname and origin.endswith(url_end) and file_hash == md5
    assert origin.startswith("https://storage.googleapis.com/tensorflow/keras-applications/")


def test_preprocess_input_modes():
    rgb = np.array([[[[0.0, 127.5, 255.0], [51.0, 102.0, 204.0]]]])
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(densenet.preprocess_input(rgb), (rgb / 255.0 - mean) / std, rtol=1e-6)
    np.testing.assert_allclose(nasnet.preprocess_input(rgb), rgb / 127.5 - 1.0, rtol=1e-6, atol=1e-7)
    first = np.moveaxis(rgb, -1, 1)
    np.testing.assert_allclose(
        densenet.preprocess_input(first, data_format="channels_first"),
        np.moveaxis((rgb / 255.0 - mean) / std, -1, 1),
        rtol=1e-6,
    )


def test_keras_argument_checks():
    with pytest.raises(ValueError, match="must be static"):
        nasnet.NASNetLarge(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match=r"multiple of 24 \* \(`filter_multiplier` \*\* 2\). Current value: 100"):
        nasnet.NASNet((64, 64, 3), penultimate_filters=100, weights=None, include_top=False)
    with pytest.raises(ValueError, match="only be loaded with NASNetLarge or NASNetMobile"):
        nasnet.NASNet(default_size=128)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(224, 224, 3\)"):
        nasnet.NASNetMobile(input_shape=(331, 331, 3))
    with pytest.raises(ValueError, match=r"`input_shape` should be \(331, 331, 3\)"):
        nasnet.NASNetLarge(input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        nasnet.NASNetMobile(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        nasnet.NASNetMobile(include_top=False, weights=None, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        densenet.DenseNet121(weights="no/such/file.h5")
    with pytest.raises(ValueError, match=r"ImageNet weights exist only for blocks.*Received: blocks=\[1, 2, 3, 4\]"):
        densenet.DenseNet([1, 2, 3, 4], include_top=False)
    with pytest.raises(ValueError, match="`blocks` must be four positive integers"):
        densenet.DenseNet([6, 12, 24], weights=None)


def test_channels_first_is_refused_as_keras():
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="DenseNet does not support the `channels_first`"):
            densenet.DenseNet121(weights=None)
        with pytest.raises(ValueError, match="NASNet does not support the `channels_first`"):
            nasnet.NASNetMobile(weights=None)
    finally:
        config.set_image_data_format(previous)
