"""The word-index processing imdb and reuters share, as Keras 2 does it."""

from __future__ import annotations

import json
import warnings

import numpy as np


def take_num_words(kwargs: dict, num_words, loader: str):
    """Keras 1's `nb_words` as `num_words`; any other keyword is a TypeError."""
    if "nb_words" in kwargs:
        warnings.warn(f"{loader}: the `nb_words` argument has been renamed `num_words`.", stacklevel=3)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"{loader}: unrecognized keyword arguments: {sorted(kwargs)}.")
    return num_words


def shuffled(rng: np.random.RandomState, *arrays):
    """The arrays in the same random order, drawn from `rng`."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [array[indices] for array in arrays]


def offset_words(sequences, start_char, index_from):
    """Each sequence's indices shifted by `index_from`, with `start_char` in front."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in sequences]
    if index_from:
        return [[w + index_from for w in x] for x in sequences]
    return sequences


def drop_long(maxlen, sequences, labels):
    """Only the sequences shorter than `maxlen`, with their labels (lists)."""
    kept_sequences, kept_labels = [], []
    for sequence, label in zip(sequences, labels):
        if len(sequence) < maxlen:
            kept_sequences.append(sequence)
            kept_labels.append(label)
    return kept_sequences, kept_labels


def limit_words(sequences, num_words, skip_top, oov_char):
    """Words outside `[skip_top, num_words)` become `oov_char`, or are dropped when it is None."""
    if not num_words:
        num_words = max(max(x) for x in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in sequences]
    return [[w for w in x if skip_top <= w < num_words] for x in sequences]


def load_json(path: str) -> dict:
    with open(path, encoding="utf8") as stream:
        return json.load(stream)
