"""VGG16 and VGG19: Keras's layer names, weight shapes and parameter counts and Keras 3's predictions given the same
weights (Keras 3.15.1's records in tests/fixtures/applications), the ImageNet weight files through a local HTTP
server, Keras's checks."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record
from local_http_server import LocalServer

from lamina.applications import VGG16, VGG19, vgg19

SMALL = (32, 32, 3)


@pytest.mark.parametrize("build, name", [(VGG16, "VGG16"), (VGG19, "VGG19")])
def test_vgg_matches_keras3_names_counts_and_predictions(build, name):
    check_against_record(build, load_record(name))  # Keras 3.15.1's layers, weights, count and outputs


def test_top_and_pooling_shapes_and_a_small_top_counts_as_keras():
    assert VGG16(include_top=False, weights=None, input_shape=(48, 40, 3), pooling="avg").output_shape == (None, 512)
    assert VGG19(include_top=False, weights=None, input_shape=SMALL, pooling="max").output_shape == (None, 512)
    assert VGG16(include_top=False, weights=None).output_shape == (None, None, None, 512)
    top = VGG16(weights=None, input_shape=SMALL, classes=7, classifier_activation=None)
    dense = (512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 7 + 7)  # flatten of 1x1x512, fc1, fc2, predictions
    assert top.output_shape == (None, 7) and top.count_params() == load_record("VGG16")["count"] + dense
    assert top.layers[-1].get_config()["activation"] == "linear" and top.name == "vgg16"


@LARGE_MODELS
def test_full_size_parameter_counts_are_keras_s():
    assert VGG16(weights=None).count_params() == 138_357_544
    assert VGG19(weights=None).count_params() == 143_667_240


def test_keras_argument_checks():
    with pytest.raises(ValueError, match="`weights` argument should be either `None`"):
        VGG16(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(224, 224, 3\)"):
        VGG16(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        VGG16(include_top=False, weights=None, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="The input must have 3 channels"):
        VGG16(include_top=False, weights="imagenet", input_shape=(64, 64, 1))
    with pytest.raises(ValueError, match="you should specify a static `input_shape`"):
        VGG16(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations|only `None` and `softmax`"):
        VGG16(weights="imagenet", classifier_activation="relu")


def test_imagenet_weights_come_through_get_file_and_work_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    source = VGG19(include_top=False, weights=None, input_shape=SMALL)
    rng = np.random.default_rng(1)
    source.set_weights([rng.normal(scale=0.05, size=w.shape).astype("float32") for w in source.get_weights()])
    source.save_weights(str(tmp_path / "notop.h5"))  # Keras's HDF5 weight layout, as the published files
    body = (tmp_path / "notop.h5").read_bytes()
    monkeypatch.setattr(vgg19, "NO_TOP_HASH", hashlib.md5(body).hexdigest())
    with LocalServer({f"/{vgg19.NO_TOP_FILE}": body}) as server:
        monkeypatch.setattr(vgg19, "WEIGHTS_ORIGIN", server.url + "/")
        model = VGG19(include_top=False, weights="imagenet", input_shape=SMALL)
        assert server.hits == {f"/{vgg19.NO_TOP_FILE}": 1}
    cached = tmp_path / "keras_home" / "models" / vgg19.NO_TOP_FILE
    assert cached.exists()
    for got, want in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
    again = VGG19(include_top=False, weights="imagenet", input_shape=SMALL)  # the server is gone: the cache serves
    np.testing.assert_array_equal(again.get_weights()[0], source.get_weights()[0])
    monkeypatch.setattr(vgg19, "WEIGHTS_ORIGIN", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(Exception, match=f"place it at {str(tmp_path / 'keras_home' / 'models')}"):
        VGG19(weights="imagenet")
