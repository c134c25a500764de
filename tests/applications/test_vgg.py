"""VGG16 and VGG19: Keras's layer names, weight shapes and parameter counts, Keras 3's predictions given the same
weights (Keras 3 as a test-only oracle), the ImageNet weight files through a local HTTP server, Keras's checks."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from local_http_server import LocalServer

from lamina.applications import VGG16, VGG19, vgg16, vgg19

SMALL = (32, 32, 3)
LARGE_MODELS = pytest.mark.skipif(
    not os.environ.get("LAMINA_LARGE_MODELS"),
    reason="the full-size models (138M parameters) run with LAMINA_LARGE_MODELS=1",
)


def keras3_model(name, **kwargs):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    return getattr(keras.applications, name)(weights=None, **kwargs)


@pytest.mark.parametrize(
    "build, name, params",
    [(VGG16, "VGG16", 14_714_688), (VGG19, "VGG19", 20_024_384)],  # Keras's counts without the top
)
def test_vgg_matches_keras3_names_counts_and_predictions(build, name, params):
    model = build(include_top=False, weights=None, input_shape=SMALL)
    oracle = keras3_model(name, include_top=False, input_shape=SMALL)
    assert model.count_params() == oracle.count_params() == params
    assert [layer.name for layer in model.layers[1:]] == [layer.name for layer in oracle.layers[1:]]  # not the Input
    assert [w.shape for w in model.get_weights()] == [tuple(w.shape) for w in oracle.get_weights()]
    rng = np.random.default_rng(0)
    weights = [rng.normal(scale=0.05, size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    oracle.set_weights(weights)
    images = rng.uniform(0, 255, size=(2, *SMALL)).astype("float32")
    x = vgg16.preprocess_input(images)
    expected = np.asarray(oracle.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_top_and_pooling_shapes_and_a_small_top_counts_as_keras3():
    assert VGG16(include_top=False, weights=None, input_shape=(48, 40, 3), pooling="avg").output_shape == (None, 512)
    assert VGG19(include_top=False, weights=None, input_shape=SMALL, pooling="max").output_shape == (None, 512)
    assert VGG16(include_top=False, weights=None).output_shape == (None, None, None, 512)
    top = VGG16(weights=None, input_shape=SMALL, classes=7, classifier_activation=None)
    oracle = keras3_model("VGG16", input_shape=SMALL, classes=7, classifier_activation=None)
    assert top.output_shape == (None, 7) and top.count_params() == oracle.count_params()
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
