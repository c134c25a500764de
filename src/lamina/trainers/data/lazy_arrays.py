"""Arrays that stay on disk (h5py datasets, HDF5Matrix) inside the in-memory data path.

`ArrayData` keeps such an array as it is and reads only the rows a batch
needs, through `take_rows`. `RowView` is a lazy window of rows, so a
validation split of a file-backed array reads nothing until it is used.
"""

from __future__ import annotations

import numpy as np

from lamina.utils.io_utils import HDF5Matrix, read_rows

# One read of a lazy array (several fused steps) stays under this many bytes, so memory stays flat.
LAZY_CHUNK_BYTES = 2 * 2**20


def is_h5py_dataset(value) -> bool:
    # Recognized by its module, so h5py is imported only by programs that use it.
    return (type(value).__module__ or "").split(".")[0] == "h5py" and hasattr(value, "shape")


def is_lazy_array(value) -> bool:
    """True for arrays read from disk batch by batch: h5py datasets, HDF5Matrix, RowView."""
    return isinstance(value, (HDF5Matrix, RowView)) or is_h5py_dataset(value)


def take_rows(array, indices) -> np.ndarray:
    """The rows of `array` at `indices` (an index array in any order, or a slice), as a NumPy array."""
    if isinstance(array, np.ndarray):
        return array[indices]
    if is_h5py_dataset(array) and not isinstance(indices, slice):
        return read_rows(array, indices)
    return np.asarray(array[indices])


class RowView:
    """Rows `start:stop` of a lazy array, itself lazy: nothing is read until rows are asked for.

    Args:
        base: an h5py dataset, an HDF5Matrix or another RowView.
        start: the first row of `base` in the view.
        stop: one past the last row.

    Example:
        >>> validation = RowView(h5file["x"], 800, 1000)  # reads nothing
        >>> validation[[0, 1]]  # rows 800 and 801
    """

    def __init__(self, base, start: int, stop: int):
        self.base, self.start, self.stop = base, int(start), int(stop)

    @property
    def shape(self) -> tuple:
        return (self.stop - self.start, *tuple(self.base.shape[1:]))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.base.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            first, stop, step = key.indices(len(self))
            if step == 1:
                return np.asarray(self.base[self.start + first : self.start + max(first, stop)])
            key = np.arange(first, stop, step)
        index = np.asarray(key, dtype=np.int64)
        if index.ndim == 0:
            return self[index.reshape(1)][0]
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"Row index out of range for a view of {len(self)} rows.")
        return take_rows(self.base, index + self.start)
