"""MNIST: 70,000 28x28 grayscale images of the ten digits (60,000 to train, 10,000 to test)."""

from __future__ import annotations

import os

from lamina.datasets._safe_load import load_npz
from lamina.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz", cache_dir=None):
    """Loads MNIST, downloading it into the Keras cache the first time.

    Args:
        path: the file's name in the cache (`~/.keras/datasets/`).
        cache_dir: the cache's root (default: the Keras home).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (n, 28, 28) and uint8 labels 0-9.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()  # doctest: +SKIP
        >>> x_train.shape
        (60000, 28, 28)
    """
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file(path, origin=ORIGIN_FOLDER + "mnist.npz", file_hash=FILE_HASH, cache_dir=cache_dir)
    arrays = load_npz(path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
