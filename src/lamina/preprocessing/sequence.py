"""Keras 2's `keras.preprocessing.sequence`: padding, skip-gram pairs and time-series batches, in NumPy.

`pad_sequences` pads ragged lists of token ids; `skipgrams` and
`make_sampling_table` make word2vec training pairs; `TimeseriesGenerator` is a
`lamina.utils.Sequence` of (window, target) batches cut from one long series.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np

from lamina.utils.sequence import Sequence
from lamina.utils.sequence_utils import pad_sequences as pad_sequences

__all__ = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]


def make_sampling_table(size: int, sampling_factor: float = 1e-5) -> np.ndarray:
    """The probability of keeping each word rank in `skipgrams`, for Zipf-distributed words.

    Word `i` (the i-th most frequent) is kept with probability
    `min(1, sqrt(sampling_factor / frequency_i))`, the frequency estimated from
    Zipf's law as `1 / (i * (log(i) + gamma) + 1/2 - 1 / (12 * i))`, gamma being
    the Euler–Mascheroni constant (0.577, as Keras had it). Rank 0 is treated as rank 1.

    Args:
        size: The vocabulary size.
        sampling_factor: The word2vec `sample` parameter.

    Returns:
        A float array of shape `(size,)`.

    Example:
        >>> table = make_sampling_table(10_000)
        >>> couples, labels = skipgrams([1, 5, 7, 5], 10_000, sampling_table=table)
    """
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    scaled = sampling_factor * inverse_frequency
    return np.minimum(1.0, scaled / np.sqrt(scaled))


def _positive_pairs(sequence, window_size: int, categorical: bool, sampling_table) -> tuple[list, list]:
    """(word, context word) pairs within the window, index 0 (padding) skipped."""
    couples: list = []
    labels: list = []
    for i, word in enumerate(sequence):
        if not word:
            continue
        # Draws from Python's `random` in the same order Keras 2 did, so a seeded run matches it.
        if sampling_table is not None and sampling_table[word] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j == i or not sequence[j]:
                continue
            couples.append([word, sequence[j]])
            labels.append([0, 1] if categorical else 1)
    return couples, labels


def skipgrams(
    sequence,
    vocabulary_size: int,
    window_size: int = 4,
    negative_samples: float = 1.0,
    shuffle: bool = True,
    categorical: bool = False,
    sampling_table=None,
    seed: int | None = None,
) -> tuple[list, list]:
    """Skip-gram pairs from a sequence of word indices: near words (label 1) and random words (label 0).

    Index 0 is padding and never appears. Negative pairs take a shuffled
    positive word with a random word from `[1, vocabulary_size - 1]`. Randomness
    comes from Python's `random` module as in Keras 2: `seed` fixes the final
    shuffle; call `random.seed(...)` first to fix the sampling and negatives too.

    Args:
        sequence: A list of word indices.
        vocabulary_size: One more than the largest word index.
        window_size: How far (each side) a context word may be.
        negative_samples: Negative pairs per positive pair (0 for none).
        shuffle: Whether to shuffle the pairs (labels shuffled the same way).
        categorical: Labels as `[0, 1]` / `[1, 0]` instead of `1` / `0`.
        sampling_table: `make_sampling_table(vocabulary_size)`: word `i` is
            used with probability `sampling_table[i]`.
        seed: The seed of the shuffle.

    Returns:
        `(couples, labels)`: a list of `[word, context]` pairs and their labels.

    Example:
        >>> couples, labels = skipgrams([1, 2, 3], vocabulary_size=4, window_size=1, seed=0)
    """
    couples, labels = _positive_pairs(sequence, window_size, categorical, sampling_table)
    if negative_samples > 0:
        num_negative = int(len(labels) * negative_samples)
        words = [pair[0] for pair in couples]
        random.shuffle(words)
        couples += [[words[i % len(words)], random.randint(1, int(vocabulary_size - 1))] for i in range(num_negative)]
        labels += [[1, 0] if categorical else 0 for _ in range(num_negative)]
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(10e6))
        # The same seed for both shuffles keeps each label with its pair.
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels


def _to_json_text(values, what: str) -> str:
    """`values` (a NumPy array or plain Python data) as JSON text, as the generator's config stores it."""
    if type(values).__module__ == np.__name__:
        values = values.tolist()
    try:
        return json.dumps(values)
    except TypeError as error:
        raise TypeError(f"TimeseriesGenerator: {what} is not JSON serializable: {values!r}") from error


class TimeseriesGenerator(Sequence):
    """Batches of (window of past steps, target) cut from a series, as a `lamina.utils.Sequence`.

    The sample for step `t` is `data[t - length : t : sampling_rate]` and its
    target is `targets[t]`, for `t` from `start_index + length` to `end_index`
    (inclusive) every `stride` steps.

    Args:
        data: An array (or list) of steps; the first axis is time.
        targets: The targets, as long as `data`.
        length: How many steps back each window reaches.
        sampling_rate: Keep every `sampling_rate`-th step in a window.
        stride: Steps between two consecutive windows.
        start_index: The first step a window may use.
        end_index: The last step that may be a target (default: the last one).
        shuffle: Draw the target steps at random (with NumPy's global random state).
        reverse: Steps in each window in reverse order.
        batch_size: Windows per batch (the last batch may be smaller).

    Example:
        >>> series = np.arange(50, dtype="float32").reshape(-1, 1)
        >>> batches = TimeseriesGenerator(series, series, length=5, batch_size=8)
        >>> x, y = batches[0]  # x: (8, 5, 1), y: (8, 1)
        >>> model.fit(batches, epochs=2)
    """

    def __init__(
        self,
        data,
        targets,
        length: int,
        sampling_rate: int = 1,
        stride: int = 1,
        start_index: int = 0,
        end_index: int | None = None,
        shuffle: bool = False,
        reverse: bool = False,
        batch_size: int = 128,
    ):
        if len(data) != len(targets):
            raise ValueError(
                "TimeseriesGenerator: data and targets have to be of same length. "
                f"Data length is {len(data)} while target length is {len(targets)}."
            )
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        # Keras 2 stores the first usable target step here (its config shows it too).
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(
                f"TimeseriesGenerator: `start_index+length={self.start_index} > end_index={self.end_index}` is "
                "disallowed, as no part of the sequence would be left to be used as current step."
            )

    def __len__(self) -> int:
        """The number of batches."""
        step = self.batch_size * self.stride
        return (self.end_index - self.start_index + step) // step

    def _rows(self, index: int) -> np.ndarray:
        """The target steps of batch `index`."""
        if self.shuffle:
            return np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        first = self.start_index + self.batch_size * self.stride * index
        return np.arange(first, min(first + self.batch_size * self.stride, self.end_index + 1), self.stride)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch `index`: `(samples, targets)`."""
        rows = self._rows(index)
        samples = np.array([self.data[row - self.length : row : self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self) -> dict[str, Any]:
        """The arguments, `data` and `targets` as JSON text, as tf.keras wrote them."""
        return {
            "data": _to_json_text(self.data, "data"),
            "targets": _to_json_text(self.targets, "targets"),
            "length": self.length,
            "sampling_rate": self.sampling_rate,
            "stride": self.stride,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "shuffle": self.shuffle,
            "reverse": self.reverse,
            "batch_size": self.batch_size,
        }

    def to_json(self, **kwargs) -> str:
        """`{"class_name": "TimeseriesGenerator", "config": get_config()}` as JSON; `kwargs` go to `json.dumps`."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)
