"""lamina.datasets against tf-keras 2.21: the same tiny files in Keras's formats give the same arrays.

The tiny files and tf-keras's outputs on them are in tests/fixtures/datasets (make_datasets.py).
A local HTTP server stands in for Keras's hosts: each loader's URL constant and expected hash are
pointed at it and at the tiny files; the real URLs and hashes stay in the code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import pickle

import numpy as np
import pytest
from local_http_server import LocalServer

import lamina
from lamina.datasets import _safe_load, boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
FILES = {f"/{path.name}": path.read_bytes() for path in (FIXTURES / "files").iterdir()}
EXPECTED = dict(np.load(FIXTURES / "expected.npz"))
SEQUENCES = json.loads((FIXTURES / "expected.json").read_text())


def digest(name: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, FILES["/" + name]).hexdigest()


@pytest.fixture
def server(monkeypatch, tmp_path):
    """The tiny files served locally, every loader pointed at them, and a fresh Keras home."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with LocalServer(FILES) as local:
        for module in (mnist, fashion_mnist, imdb, reuters, boston_housing):
            monkeypatch.setattr(module, "ORIGIN_FOLDER", local.url + "/")
        for module, name in ((mnist, "mnist.npz"), (imdb, "imdb.npz"), (reuters, "reuters.npz")):
            monkeypatch.setattr(module, "FILE_HASH", digest(name))
        monkeypatch.setattr(boston_housing, "FILE_HASH", digest("boston_housing.npz"))
        monkeypatch.setattr(imdb, "WORD_INDEX_HASH", digest("imdb_word_index.json", "md5"))
        monkeypatch.setattr(reuters, "WORD_INDEX_HASH", digest("reuters_word_index.json", "md5"))
        monkeypatch.setattr(cifar10, "ORIGIN", local.url + "/cifar-10-python.tar.gz")
        monkeypatch.setattr(cifar10, "FILE_HASH", digest("cifar-10-python.tar.gz"))
        monkeypatch.setattr(cifar100, "ORIGIN", local.url + "/cifar-100-python.tar.gz")
        monkeypatch.setattr(cifar100, "FILE_HASH", digest("cifar-100-python.tar.gz"))
        yield local


def assert_same(outputs, prefix: str):
    (x_train, y_train), (x_test, y_test) = outputs
    for name, got in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        want = EXPECTED[f"{prefix}_{name}"]
        assert got.dtype == want.dtype and got.shape == want.shape, (prefix, name, got.dtype, got.shape)
        np.testing.assert_array_equal(got, want)


def test_real_urls_and_hashes_stay_in_the_code():
    assert mnist.ORIGIN_FOLDER == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    assert cifar10.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert imdb.FILE_HASH.startswith("69664113") and cifar100.FILE_HASH.startswith("85cd44d0")


def test_mnist_and_fashion_mnist(server, tmp_path):
    assert_same(lamina.datasets.mnist.load_data(cache_dir=tmp_path / "c"), "mnist")
    assert_same(lamina.datasets.mnist.load_data(cache_dir=tmp_path / "c"), "mnist")  # from the cache
    assert server.hits["/mnist.npz"] == 1
    assert os.path.exists(tmp_path / "c" / "datasets" / "mnist.npz")
    assert_same(lamina.datasets.fashion_mnist.load_data(), "fashion")
    assert os.path.exists(tmp_path / "keras_home" / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")


def test_cifar10(server, tmp_path):
    assert_same(lamina.datasets.cifar10.load_data(cache_dir=tmp_path), "cifar10")
    assert sorted(os.listdir(tmp_path / "datasets")) == ["cifar-10-batches-py", "cifar-10-batches-py.tar.gz"]
    lamina.config.set_image_data_format("channels_first")
    try:
        (x_train, _), (x_test, _) = lamina.datasets.cifar10.load_data(cache_dir=tmp_path)
    finally:
        lamina.config.set_image_data_format("channels_last")
    np.testing.assert_array_equal(x_test, EXPECTED["cifar10_x_test"].transpose(0, 3, 1, 2))
    assert x_train.shape == (10, 3, 32, 32) and server.hits["/cifar-10-python.tar.gz"] == 1


def test_cifar100(server, tmp_path):
    assert_same(lamina.datasets.cifar100.load_data(cache_dir=tmp_path), "cifar100_fine")
    assert_same(lamina.datasets.cifar100.load_data("coarse", cache_dir=tmp_path), "cifar100_coarse")
    with pytest.raises(ValueError, match="label_mode"):
        lamina.datasets.cifar100.load_data(label_mode="medium")


def test_boston_housing(server):
    for split in (0.2, 0.5):
        assert_same(lamina.datasets.boston_housing.load_data(test_split=split, seed=3), f"boston_{split}")


@pytest.mark.parametrize("dataset", ["imdb", "reuters"])
def test_imdb_and_reuters_sequences(server, dataset):
    module = getattr(lamina.datasets, dataset)
    for case in ("default", "num_words", "maxlen", "no_start"):
        want = SEQUENCES[f"{dataset}_{case}"]
        (x_train, y_train), (x_test, y_test) = module.load_data(**want["kwargs"])
        assert x_train.dtype == object and y_train.dtype == np.dtype(want["y_dtype"])
        assert [list(x) for x in x_train] == want["x_train"] and [list(x) for x in x_test] == want["x_test"]
        assert y_train.tolist() == want["y_train"] and y_test.tolist() == want["y_test"]
    assert module.get_word_index() == SEQUENCES[f"{dataset}_word_index"]
    with pytest.warns(UserWarning, match="num_words"):
        (x_train, _), _ = module.load_data(nb_words=20, skip_top=3)
    assert [list(x) for x in x_train] == SEQUENCES[f"{dataset}_num_words"]["x_train"]
    with pytest.raises(TypeError, match="unrecognized keyword"):
        module.load_data(num_word=3)
    assert server.hits[f"/{dataset}.npz"] == 1


def test_reuters_label_names():
    names = lamina.datasets.reuters.get_label_names()
    assert len(names) == 46 and names[:4] == ("cocoa", "grain", "veg-oil", "earn") and names[-1] == "lead"


def test_restricted_unpickler_reads_numpy_1_pickles_and_refuses_other_objects(tmp_path):
    array = np.array([[1, 2], [3]], dtype=object)
    # NumPy 1.x wrote `numpy.core.multiarray`, as in Keras's real imdb.npz; NumPy 2 writes `numpy._core`.
    old_style = pickle.dumps(array, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    loaded = _safe_load.SafeUnpickler(io.BytesIO(old_style)).load()
    assert loaded.dtype == object and loaded.tolist() == [[1, 2], [3]]
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with pytest.raises(ValueError, match="refusing to load os.system"):
        lamina.datasets.cifar.load_batch(evil)
    np.savez(tmp_path / "evil.npz", x=np.array([pathlib.PurePosixPath("a")], dtype=object))
    with pytest.raises(ValueError, match="evil.npz"):
        _safe_load.load_npz(tmp_path / "evil.npz")
