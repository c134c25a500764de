"""IMDB: 50,000 movie reviews as sequences of word indices, labelled positive (1) or negative (0)."""

from __future__ import annotations

import os

import numpy as np

from lamina.datasets import _sequences
from lamina.datasets._safe_load import load_npz
from lamina.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(
    path="imdb.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    cache_dir=None,
    **kwargs,
):
    """Loads the IMDB reviews, downloading them into the Keras cache the first time.

    Word `i` of the index (1 = most frequent) appears as `i + index_from`; each review starts
    with `start_char`; words ranked below `skip_top` or from `num_words` on become `oov_char`.

    Args:
        path: the file's name in the cache.
        num_words: keep the most frequent words up to this index (None: all).
        skip_top: treat the most frequent words below this index as out of vocabulary.
        maxlen: keep only the reviews shorter than this.
        seed: the shuffling seed.
        start_char: the index that starts every review (None: none).
        oov_char: the index that replaces dropped words (None: they are removed).
        index_from: the offset added to every word index.
        cache_dir: the cache's root (default: the Keras home).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and the labels.

    Example:
        >>> (x_train, y_train), _ = lamina.datasets.imdb.load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train)
        25000
    """
    num_words = _sequences.take_num_words(kwargs, num_words, "imdb.load_data")
    if cache_dir:
        cache_dir = os.path.expanduser(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    path = get_file(path, origin=ORIGIN_FOLDER + "imdb.npz", file_hash=FILE_HASH, cache_dir=cache_dir)
    arrays = load_npz(path)
    rng = np.random.RandomState(seed)
    x_train, labels_train = _sequences.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = _sequences.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = _sequences.offset_words(x_train, start_char, index_from)
    x_test = _sequences.offset_words(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = _sequences.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"imdb.load_data: after keeping the sequences shorter than maxlen={maxlen}, "
                "none was left. Increase maxlen."
            )
    xs = _sequences.limit_words(list(x_train) + list(x_test), num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    split = len(x_train)
    return (np.array(xs[:split], dtype="object"), labels[:split]), (
        np.array(xs[split:], dtype="object"),
        labels[split:],
    )


def get_word_index(path="imdb_word_index.json"):
    """The IMDB word index: word -> rank (1 = most frequent), before `index_from` is added.

    Example:
        >>> lamina.datasets.imdb.get_word_index()["the"]  # doctest: +SKIP
        1
    """
    path = get_file(path, origin=ORIGIN_FOLDER + "imdb_word_index.json", file_hash=WORD_INDEX_HASH)
    return _sequences.load_json(path)
