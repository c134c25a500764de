"""`timeseries_dataset_from_array`: sliding windows over an array, batched, and `split_dataset`."""

from __future__ import annotations

import functools
import random

import numpy as np

from lamina.utils.dataset_utils import BatchDataset


def _check_positive_below(name: str, value, length: int) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be higher than 0, got {name}={value}.")
    if value >= length:
        raise ValueError(f"`{name}` must be lower than the length of the data ({length}), got {name}={value}.")


def _check_indices(start_index, end_index, length: int) -> None:
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater, got start_index={start_index}.")
        if start_index >= length:
            raise ValueError(f"`start_index` must be lower than the length of the data ({length}), got {start_index}.")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`, got {start_index} and {end_index}.")
        if end_index >= length:
            raise ValueError(f"`end_index` must be lower than the length of the data ({length}), got {end_index}.")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0, got end_index={end_index}.")


def _window(position, data, sequence_length: int, sampling_rate: int):
    return data[position : position + sequence_length * sampling_rate : sampling_rate]


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None, format="tf"):  # fmt: skip
    """Batches of sliding windows over `data` (and the target at each window's start), as Keras makes them.

    Window `i` starts at `data[start_index + i * sequence_stride]` and takes `sequence_length` timesteps,
    `sampling_rate` apart; `targets[start_index + position]` goes with the window starting at `position`.
    Windows end before `end_index` (exclusive). With `shuffle`, the window order is shuffled by
    `np.random.RandomState(seed)` and again every epoch. `format` is accepted and ignored.

    Args:
        data: array-like of timesteps (first axis is time).
        targets: array-like, one target per timestep, or None.
        sequence_length: timesteps per window.
        sequence_stride: steps between the starts of consecutive windows.
        sampling_rate: steps between the timesteps of one window.
        batch_size: windows per batch (None: single windows).
        shuffle, seed: shuffle the windows.
        start_index, end_index: the part of `data` to use.
        format: ignored (kept for Keras's signature).

    Returns:
        A `BatchDataset` yielding `windows` of shape `(batch, sequence_length, ...)`, or `(windows, targets)`.

    Example:
        >>> dataset = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=2)
        >>> dataset[0]
        array([[0, 1, 2],
               [1, 2, 3]])
    """
    del format
    length = len(data)
    _check_indices(start_index, end_index, length)
    _check_positive_below("sampling_rate", sampling_rate, length)
    _check_positive_below("sequence_stride", sequence_stride, length)
    start_index = start_index or 0
    end_index = length if end_index is None else end_index
    num_windows = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_windows = min(num_windows, len(targets))
    positions = np.arange(0, max(num_windows, 0), sequence_stride)
    seed = np.random.randint(1e6) if seed is None else seed
    if shuffle:
        np.random.RandomState(seed).shuffle(positions)
    window = functools.partial(
        _window, data=np.asarray(data)[start_index:end_index], sequence_length=sequence_length,
        sampling_rate=sampling_rate,
    )  # fmt: skip
    labels = None if targets is None else np.asarray(targets)[start_index:][positions]
    dataset = BatchDataset(positions, window, None, batch_size, shuffle=False)
    dataset.labels = labels
    if shuffle:
        dataset.shuffle, dataset._rng = True, np.random.RandomState(seed)
    return dataset


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits an array (or a tuple/list/dict of arrays) into a left and a right part.

    Sizes are fractions (float in (0, 1), rounded) or sample counts (int); a missing one is the rest. As
    Keras does it, `shuffle` permutes the samples with Python's `random` seeded by `seed` first, the left part
    is the first `left_size` samples and the right part the last `right_size`. Returns two arrays (or
    tuples/lists/dicts of arrays, as `dataset` is).

    Example:
        >>> left, right = split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
        >>> len(left[0]), len(right[0])
        (8, 2)
    """
    if isinstance(dataset, dict):
        columns = {key: np.asarray(value) for key, value in dataset.items()}
        total = len(next(iter(columns.values())))
    elif isinstance(dataset, (tuple, list)):
        columns = [np.asarray(value) for value in dataset]
        total = len(columns[0])
    elif isinstance(dataset, np.ndarray):
        columns, total = None, len(dataset)
    else:
        raise TypeError(
            f"split_dataset() takes a NumPy array or a tuple/list/dict of arrays, got {type(dataset).__name__}."
        )
    left, right = _split_sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:  # Python's `random`, seeded, as Keras shuffles the samples
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(order)
    parts = (np.asarray(order[:left], dtype="int64"), np.asarray(order[total - right :], dtype="int64"))
    if isinstance(dataset, dict):
        return tuple({key: value[part] for key, value in columns.items()} for part in parts)
    if columns is None:
        return tuple(dataset[part] for part in parts)
    return tuple(type(dataset)(value[part] for value in columns) for part in parts)


def _split_sizes(left_size, right_size, total: int):
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and not (
            (isinstance(size, int) and 0 < size < total) or (isinstance(size, float) and 0 < size < 1)
        ):
            raise ValueError(f"`{name}` must be an int in (0, {total}) or a float in (0, 1), got {name}={size!r}.")
    if left_size is None and right_size is None:
        raise ValueError("split_dataset() needs `left_size` or `right_size` (or both).")
    left = None if left_size is None else (left_size if isinstance(left_size, int) else round(left_size * total))
    right = None if right_size is None else (right_size if isinstance(right_size, int) else round(right_size * total))
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"left_size + right_size ({left} + {right}) is more than the {total} samples.")
    return left, right
