"""Boston housing: 506 houses, 13 features each, and their median value in thousands of dollars."""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets._safe_load import load_npz
from lamina.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """Loads the Boston housing prices, shuffled with `seed` and split.

    Args:
        path: the file's name in the cache.
        test_split: the share kept for testing, in [0, 1).
        seed: the shuffling seed.
        cache_dir: the cache's root (default: the Keras home).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 features (n, 13) and prices (n,).

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.boston_housing.load_data()  # doctest: +SKIP
        >>> x_train.shape
        (404, 13)
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: `test_split` must be in [0, 1), got {test_split!r}.")
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file(path, origin=ORIGIN_FOLDER + "boston_housing.npz", file_hash=FILE_HASH, cache_dir=cache_dir)
    arrays = load_npz(path)
    rng = np.random.RandomState(seed)
    indices = np.arange(len(arrays["x"]))
    rng.shuffle(indices)
    x, y = arrays["x"][indices], arrays["y"][indices]
    split = int(len(x) * (1 - test_split))
    return (np.array(x[:split]), np.array(y[:split])), (np.array(x[split:]), np.array(y[split:]))
