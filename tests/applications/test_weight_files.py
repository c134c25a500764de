"""Keras's published weight files: a file in Keras 2's HDF5 layout, written from Keras 3's record of the model
(not from lamina), loads by topological order and by name; `weights="imagenet"`
refuses a file whose hash differs and leaves nothing behind when the download is cut."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from app_oracle import load_record, seeded_weights, write_keras_h5
from local_http_server import LocalServer

import lamina.applications
from lamina.applications import vgg16
from lamina.backend import clear_session


def assert_holds(model, values):
    got = model.get_weights()
    assert len(got) == len(values)
    for mine, theirs in zip(got, values):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("name", ["MobileNetV2", "EfficientNetB0"])  # small: the files are written twice
def test_a_keras_layout_file_loads_by_order_and_by_name(name, tmp_path):
    # The values are compared, not the outputs: that the layers compute Keras's outputs is each family's test.
    record = load_record(name)
    clear_session()
    build = getattr(lamina.applications, name)
    values = seeded_weights([w for row in record["layers"] for w in row[2]])
    write_keras_h5(record, values, tmp_path / "ordered.h5")
    assert_holds(build(weights=str(tmp_path / "ordered.h5"), **record["kwargs"]), values)
    shuffled = np.random.default_rng(3).permutation(len(record["layers"]))
    write_keras_h5(record, values, tmp_path / "shuffled.h5", order=shuffled)
    clear_session()  # Keras's EfficientNet leaves its Normalization layer unnamed: a fresh session's name matches
    by_name = build(weights=None, **record["kwargs"])
    by_name.load_weights(str(tmp_path / "shuffled.h5"), by_name=True)
    assert_holds(by_name, values)
    with pytest.raises(ValueError):  # and a shuffled file read by order is refused, not loaded wrongly
        build(weights=None, **record["kwargs"]).load_weights(str(tmp_path / "shuffled.h5"))


def serve_vgg16_notop(monkeypatch, tmp_path, body, truncate=False):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    server = LocalServer({f"/{vgg16.NO_TOP_FILE}": body}, truncate=[f"/{vgg16.NO_TOP_FILE}"] if truncate else [])
    monkeypatch.setattr(vgg16, "WEIGHTS_ORIGIN", server.url + "/")
    return server


def test_imagenet_weights_with_a_different_hash_are_refused(monkeypatch, tmp_path):
    body = b"not the published file" * 100
    monkeypatch.setattr(vgg16, "NO_TOP_HASH", hashlib.md5(b"the published file").hexdigest())
    with serve_vgg16_notop(monkeypatch, tmp_path, body):
        with pytest.raises(ValueError, match=f"hash is {hashlib.md5(body).hexdigest()}, expected"):
            vgg16.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert not (tmp_path / "keras_home" / "models" / vgg16.NO_TOP_FILE).exists()
    assert list((tmp_path / "keras_home" / "models").iterdir()) == []  # no partial file either


def test_an_interrupted_download_leaves_nothing_and_says_where_to_place_the_file(monkeypatch, tmp_path):
    body = b"\x89HDF" * 5000
    monkeypatch.setattr(vgg16, "NO_TOP_HASH", hashlib.md5(body).hexdigest())
    with serve_vgg16_notop(monkeypatch, tmp_path, body, truncate=True):
        with pytest.raises(OSError, match="closed after 10000 of 20000 bytes") as error:
            vgg16.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert str(tmp_path / "keras_home" / "models" / vgg16.NO_TOP_FILE) in str(error.value)
    assert list((tmp_path / "keras_home" / "models").iterdir()) == []
