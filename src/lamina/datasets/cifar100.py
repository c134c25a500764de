"""CIFAR-100: 60,000 32x32 colour images in 100 fine classes grouped into 20 coarse ones."""

from __future__ import annotations

import os

import numpy as np

from lamina import config
from lamina.datasets.cifar import load_batch
from lamina.utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine", cache_dir=None):
    """Loads CIFAR-100, downloading and unpacking it into the Keras cache the first time.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 superclasses).
        cache_dir: the cache's root (default: the Keras home).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images as for CIFAR-10 and int64 labels of shape (n, 1).

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.cifar100.load_data(label_mode="coarse")  # doctest: +SKIP
        >>> int(y_train.max())
        19
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'cifar100.load_data: `label_mode` must be "fine" or "coarse", got {label_mode!r}.')
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file("cifar-100-python", origin=ORIGIN, untar=True, file_hash=FILE_HASH, cache_dir=cache_dir)
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=label_mode + "_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=label_mode + "_labels")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
