"""Reuters: 11,228 newswires as sequences of word indices, labelled with one of 46 topics."""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets import _sequences
from lamina.datasets._safe_load import load_npz
from lamina.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"
_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail",
    "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    cache_dir=None,
    **kwargs,
):
    """Loads the Reuters newswires, downloading them into the Keras cache the first time.

    The arguments are those of `lamina.datasets.imdb.load_data`, plus `test_split`: the share of
    the (shuffled, filtered) newswires kept for testing.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and topic labels 0-45.

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.reuters.load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train)
        8982
    """
    num_words = _sequences.take_num_words(kwargs, num_words, "reuters.load_data")
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file(path, origin=ORIGIN_FOLDER + "reuters.npz", file_hash=FILE_HASH, cache_dir=cache_dir)
    arrays = load_npz(path)
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = _sequences.offset_words(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_words(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    x_train, y_train = np.array(xs[:split], dtype="object"), np.array(labels[:split])
    x_test, y_test = np.array(xs[split:], dtype="object"), np.array(labels[split:])
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path="reuters_word_index.json"):
    """The Reuters word index: word -> rank (1 = most frequent), before `index_from` is added.

    Example:
        >>> lamina.datasets.reuters.get_word_index()["the"]  # doctest: +SKIP
        1
    """
    path = get_file(path, origin=ORIGIN_FOLDER + "reuters_word_index.json", file_hash=WORD_INDEX_HASH)
    return _sequences.load_json(path)


def get_label_names():
    """The 46 topic names, in label order.

    Example:
        >>> lamina.datasets.reuters.get_label_names()[3]
        'earn'
    """
    return _LABEL_NAMES
