"""Fashion-MNIST: 70,000 28x28 grayscale images of ten kinds of clothing, in the MNIST layout."""

from __future__ import annotations

import gzip
import os

import numpy as np

from lamina.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)


def _read_idx(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def load_data(cache_dir=None):
    """Loads Fashion-MNIST (four gzipped IDX files), downloading them the first time.

    Args:
        cache_dir: the cache's root (default: the Keras home); the files go to `datasets/fashion-mnist`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (n, 28, 28) and uint8 labels 0-9.

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.fashion_mnist.load_data()  # doctest: +SKIP
        >>> x_train.shape
        (60000, 28, 28)
    """
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=ORIGIN_FOLDER + name, cache_dir=cache_dir, cache_subdir=subdir) for name in FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
