"""CIFAR-10: 60,000 32x32 colour images in ten classes (50,000 to train, 10,000 to test)."""

from __future__ import annotations

import os

import numpy as np

from lamina import config
from lamina.datasets.cifar import load_batch
from lamina.utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data(cache_dir=None):
    """Loads CIFAR-10, downloading and unpacking it into the Keras cache the first time.

    Args:
        cache_dir: the cache's root (default: the Keras home).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images, (n, 32, 32, 3) with
        `image_data_format() == "channels_last"` else (n, 3, 32, 32), and uint8 labels of shape (n, 1).

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.cifar10.load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape
        ((50000, 32, 32, 3), (50000, 1))
    """
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file("cifar-10-batches-py", origin=ORIGIN, untar=True, file_hash=FILE_HASH, cache_dir=cache_dir)
    batches = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in batches]).astype("uint8")
    y_train = np.concatenate([np.asarray(y) for _, y in batches]).astype("uint8")
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    x_test = np.asarray(x_test).astype(x_train.dtype)
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test), (len(y_test), 1)).astype(y_train.dtype)
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
