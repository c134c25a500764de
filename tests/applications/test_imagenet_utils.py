"""`preprocess_input` in Keras's three modes and both data formats, and `decode_predictions`, against NumPy written
out here and Keras 3's own functions."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from local_http_server import LocalServer

from lamina.applications import imagenet_utils, vgg16

RNG = np.random.default_rng(3)
IMAGES = RNG.uniform(0, 255, size=(2, 4, 5, 3)).astype("float32")


def test_modes_match_numpy_and_keras3():
    caffe = IMAGES[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    torch = (IMAGES / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    expected = {"caffe": caffe, "tf": IMAGES / 127.5 - 1.0, "torch": torch}
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from keras.applications import imagenet_utils as keras_utils

    for mode, want in expected.items():
        got = imagenet_utils.preprocess_input(IMAGES, mode=mode)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4, err_msg=mode)
        np.testing.assert_allclose(got, keras_utils.preprocess_input(IMAGES.copy(), mode=mode), rtol=1e-6, atol=1e-5)
        first = imagenet_utils.preprocess_input(IMAGES.transpose(0, 3, 1, 2), data_format="channels_first", mode=mode)
        np.testing.assert_allclose(first, want.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-4, err_msg=mode)
        single = imagenet_utils.preprocess_input(IMAGES[0].transpose(2, 0, 1), data_format="channels_first", mode=mode)
        np.testing.assert_allclose(single, want[0].transpose(2, 0, 1), rtol=1e-5, atol=1e-4, err_msg=mode)
    before = IMAGES.copy()
    vgg16.preprocess_input(IMAGES)
    np.testing.assert_array_equal(IMAGES, before)  # the caller's array is left as it was
    uint8 = imagenet_utils.preprocess_input(IMAGES.astype("uint8"), mode="tf")
    assert uint8.dtype == np.float32
    with pytest.raises(ValueError, match="`mode` must be one of"):
        imagenet_utils.preprocess_input(IMAGES, mode="keras")


def test_decode_predictions_through_get_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(imagenet_utils, "_class_index", {})
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    body = json.dumps(index).encode()
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(body).hexdigest())
    preds = RNG.uniform(size=(2, 1000)).astype("float32")
    with LocalServer({"/imagenet_class_index.json": body}) as server:
        monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", server.url + "/imagenet_class_index.json")
        decoded = vgg16.decode_predictions(preds, top=3)
    for row, result in zip(preds, decoded):
        best = np.argsort(-row)[:3]
        assert [entry[:2] for entry in result] == [(f"n{i:08d}", f"class_{i}") for i in best]
        np.testing.assert_allclose([entry[2] for entry in result], row[best])
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        vgg16.decode_predictions(preds[:, :10])


def test_model_function_has_keras_s_signature_and_names_bad_arguments():
    import inspect

    from lamina.applications.imagenet_utils import SHARED_ARGUMENTS, model_function

    calls = []
    arguments = (*SHARED_ARGUMENTS, ("name", "tiny"))
    tiny = model_function("Tiny", lambda **kw: calls.append(kw) or "built", "Tiny's doc.", arguments, "some.module")
    assert tiny(False, None, pooling="avg") == "built"
    chosen = {"include_top": False, "weights": None, "pooling": "avg", "name": "tiny"}
    assert calls[-1] == {**dict(SHARED_ARGUMENTS), **chosen}
    assert list(inspect.signature(tiny).parameters) == [name for name, _ in arguments]
    assert (tiny.__name__, tiny.__doc__, tiny.__module__) == ("Tiny", "Tiny's doc.", "some.module")
    with pytest.raises(TypeError, match=r"Tiny\(\): got an unexpected keyword argument 'alpha'"):
        tiny(alpha=0.5)
    with pytest.raises(TypeError, match=r"Tiny\(\): too many positional arguments"):
        tiny(*range(9))
