"""HDF5Matrix: a dataset in an HDF5 file used in place of a NumPy array, read only as batches need it.

Also `read_rows`, which reads any rows (in any order, with repeats) from an
array-like that only accepts increasing indices, as h5py datasets do.
"""

from __future__ import annotations

import os

import numpy as np


def read_rows(source, indices) -> np.ndarray:
    """The rows of `source` at `indices`, as one NumPy array in the order asked for.

    h5py reads only increasing, distinct indices, and each run of neighbouring
    rows is cheapest read as one slice. So the distinct rows are read in sorted
    order, run by run, then put in the order asked for in memory.

    Args:
        source: anything indexable by slices along its first axis (an h5py dataset, an HDF5Matrix, an array).
        indices: a 1-D sequence of non-negative row numbers, in any order, repeats allowed.

    Example:
        >>> read_rows(h5file["x"], [7, 2, 3, 2])  # rows 7, 2, 3, 2
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size == 0:
        return np.asarray(source[0:0])
    unique, inverse = np.unique(indices, return_inverse=True)
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [unique.size]])
    pieces = [np.asarray(source[int(unique[s]) : int(unique[e - 1]) + 1]) for s, e in zip(starts, ends)]
    block = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=0)
    if unique.size == indices.size and np.array_equal(unique, indices):
        return block
    return block[inverse.reshape(-1)]


class HDF5Matrix:
    """A dataset in an HDF5 file, used like a NumPy array but read lazily, as the Keras FAQ describes.

    Only the rows a batch needs are read from the file, so `model.fit` can train
    on data much larger than memory. Pass it wherever an array goes: `fit`,
    `evaluate` and `predict` read one batch of rows at a time. With
    `shuffle=True` each batch's rows are read in increasing order (as HDF5 needs)
    and put in the shuffled order in memory; `shuffle="batch"` shuffles whole
    batch-sized blocks, so every read is one contiguous slice.

    Args:
        datapath: the path of the HDF5 file (opened read-only, once per file).
        dataset: the name of the dataset in the file, e.g. "x_train" or "group/x".
        start: the first row to use.
        end: one past the last row to use (None: the end of the dataset).
        normalizer: a function applied to every block of rows read, e.g. `lambda x: x / 255.0`.

    Attributes:
        shape, dtype, ndim, size: as a NumPy array holding rows start..end (after the normalizer).

    Example:
        >>> x_train = lamina.utils.HDF5Matrix("data.h5", "x", end=50000, normalizer=lambda x: x / 255.0)
        >>> y_train = lamina.utils.HDF5Matrix("data.h5", "y", end=50000)
        >>> model.fit(x_train, y_train, batch_size=32, shuffle="batch")
    """

    _handles: dict = {}  # read-only file handles, shared by all matrices of one file (absolute path -> h5py.File)

    def __init__(self, datapath, dataset: str, start: int = 0, end: int | None = None, normalizer=None):
        self.datapath = os.fspath(datapath)
        self.dataset = dataset
        self.normalizer = normalizer
        self.start, self.end = start, end
        self._open()
        rows = self.data.shape[0]
        if self.end is None:
            self.end = rows
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"HDF5Matrix: `{name}` must be an int, got {type(value).__name__}.")
        self.start, self.end = int(self.start), int(self.end)
        if not 0 <= self.start <= self.end <= rows:
            raise ValueError(
                f"HDF5Matrix: expected 0 <= start <= end <= {rows} (the rows of dataset {dataset!r} in "
                f"{self.datapath!r}), got start={self.start}, end={self.end}."
            )
        if normalizer is not None and not callable(normalizer):
            raise TypeError(f"HDF5Matrix: `normalizer` must be a function or None, got {type(normalizer).__name__}.")
        probe = self._normalized(self.data[self.start : self.start + 1])
        self._row_shape = tuple(probe.shape[1:])
        self._dtype = probe.dtype

    def _open(self) -> None:
        import h5py  # only needed by programs that use HDF5 data

        path = os.path.abspath(self.datapath)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"HDF5Matrix: no file at {self.datapath!r}.")
        handle = HDF5Matrix._handles.get(path)
        if handle is None or not handle.id.valid:
            try:
                handle = h5py.File(path, "r")
            except OSError as err:
                raise OSError(f"HDF5Matrix: {self.datapath!r} is not a readable HDF5 file ({err}).") from None
            HDF5Matrix._handles[path] = handle
        data = handle.get(self.dataset)
        if not isinstance(data, h5py.Dataset):
            found = "a group" if data is not None else "nothing"
            raise ValueError(
                f"HDF5Matrix: {self.datapath!r} has {found} at {self.dataset!r}, expected a dataset; "
                f"top-level entries: {sorted(handle.keys())}."
            )
        if data.ndim == 0:
            raise ValueError(f"HDF5Matrix: dataset {self.dataset!r} in {self.datapath!r} is a scalar; it needs rows.")
        self.data = data

    def _normalized(self, block) -> np.ndarray:
        block = np.asarray(block)
        return block if self.normalizer is None else np.asarray(self.normalizer(block))

    # --------------------------------------------------------- array protocol
    @property
    def shape(self) -> tuple:
        return (self.end - self.start, *self._row_shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.end - self.start

    def __repr__(self) -> str:
        return (
            f"HDF5Matrix({self.datapath!r}, {self.dataset!r}, start={self.start}, end={self.end}, shape={self.shape})"
        )

    def __getitem__(self, key):
        """Rows by an int, a slice, or a list/array of ints (any order) or booleans, counted from `start`."""
        length = len(self)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            index = int(key) + length if key < 0 else int(key)
            if not 0 <= index < length:
                raise IndexError(f"HDF5Matrix: index {key} is out of range for {length} rows.")
            return self._normalized(self.data[self.start + index : self.start + index + 1])[0]
        if isinstance(key, slice):
            first, stop, step = key.indices(length)
            if step == 1:
                return self._normalized(self.data[self.start + first : self.start + max(first, stop)])
            key = np.arange(first, stop, step)
        if isinstance(key, (list, tuple, np.ndarray)):
            index = np.asarray(key)
            if index.dtype == bool:
                if index.shape != (length,):
                    raise IndexError(f"HDF5Matrix: a boolean index must have shape ({length},), got {index.shape}.")
                index = np.flatnonzero(index)
            if index.size and index.dtype.kind not in "iu":
                raise IndexError(f"HDF5Matrix: indices must be integers, got dtype {index.dtype}.")
            index = index.astype(np.int64).reshape(-1)
            index = np.where(index < 0, index + length, index)
            if index.size and (index.min() < 0 or index.max() >= length):
                raise IndexError(f"HDF5Matrix: indices must be in [-{length}, {length}), got {np.asarray(key)}.")
            return self._normalized(read_rows(self.data, index + self.start))
        raise TypeError(f"HDF5Matrix: rows are indexed by an int, a slice or a list of ints, got {type(key).__name__}.")

    def __array__(self, dtype=None, copy=None):
        """All rows in memory (what `np.asarray(matrix)` gives)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    # ------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        # The open file cannot be pickled (worker processes); it is reopened by path.
        state = dict(self.__dict__)
        state.pop("data", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open()


def ask_to_proceed_with_overwrite(filepath) -> bool:
    """Asks on the terminal whether to overwrite `filepath`, until the answer is y or n, as Keras 2.

    Returns:
        True to overwrite (answer "y"), False otherwise (answer "n").

    Example:
        >>> if os.path.exists(path) and not ask_to_proceed_with_overwrite(path):
        ...     return
    """
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True
