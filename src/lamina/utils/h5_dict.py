"""Keras 2.2's `H5Dict`: one dict-like view over an HDF5 file, an h5py group, or a plain in-memory dict.

Arrays are stored as datasets, other values (strings, numbers, lists of them) as attributes, and
reading a missing key creates a nested group (a sub-`H5Dict`), as Keras 2 did. Unlike Keras 2, the
in-memory form keeps arrays as arrays instead of pickling them, so reading one never unpickles data.

Example:
    >>> with H5Dict("weights.h5", mode="w") as store:
    ...     store["model_config"] = '{"class_name": "Sequential"}'
    ...     store["layers"]["dense"]["kernel"] = np.ones((2, 3))
    >>> H5Dict("weights.h5", mode="r")["layers"]["dense"]["kernel"].shape
    (2, 3)
"""

from __future__ import annotations

import os

import h5py
import numpy as np

HDF5_OBJECT_HEADER_LIMIT = 64512  # bytes an HDF5 attribute may hold; longer lists are split over name0, name1, ...


class H5Dict:
    """A dict-like wrapper of an HDF5 file, an h5py group, or a dict (Keras 2.2's `keras.utils.io_utils.H5Dict`).

    Args:
        path: a file path (str or os.PathLike, opened with h5py in `mode`), an `h5py.Group`, or a dict.
        mode: the h5py file mode ("r", "r+", "w", "a"...); "r" makes the view read-only, "w" empties a dict.

    Raises:
        TypeError: for any other kind of `path`.
    """

    def __init__(self, path, mode="a"):
        self._is_file = False
        if isinstance(path, h5py.Group):
            self.data = path
        elif isinstance(path, (str, os.PathLike)):
            self.data = h5py.File(path, mode=mode)
            self._is_file = True
        elif isinstance(path, dict):
            self.data = path
            if mode == "w":
                path.clear()
        else:
            raise TypeError(f"H5Dict: `path` must be an h5py Group, a str or Path, or a dict. Received: {type(path)}.")
        self.read_only = mode == "r"

    def __setitem__(self, attr, val):
        if self.read_only:
            raise ValueError("Cannot set item in read-only mode.")
        if isinstance(attr, bytes):
            attr = attr.decode("utf-8")
        if isinstance(self.data, dict):
            self.data[attr] = np.array(val) if isinstance(val, np.ndarray) else val
            return
        if attr in self.data:
            raise KeyError(f'Cannot set attribute. Group with name "{attr}" exists.')
        if isinstance(val, (np.ndarray, np.generic)):
            dataset = self.data.create_dataset(attr, val.shape, dtype=val.dtype)
            dataset[()] = val
        elif isinstance(val, (list, tuple)):
            self._set_list(attr, val)
        else:
            self.data.attrs[attr] = val

    def _set_list(self, attr, val):
        if not val or not all(isinstance(item, (str, bytes)) for item in val):
            self.data.attrs[attr] = val  # numbers: one attribute
            return
        encoded = np.asarray([item.encode("utf-8") if isinstance(item, str) else item for item in val])
        if encoded.itemsize > HDF5_OBJECT_HEADER_LIMIT:
            raise RuntimeError(
                f"H5Dict: cannot store {attr!r}: it holds a string longer than {HDF5_OBJECT_HEADER_LIMIT} bytes."
            )
        chunks = 1
        while any(part.nbytes > HDF5_OBJECT_HEADER_LIMIT for part in np.array_split(encoded, chunks)):
            chunks += 1
        if chunks == 1:
            self.data.attrs[attr] = encoded
            return
        for index, part in enumerate(np.array_split(encoded, chunks)):
            self.data.attrs[f"{attr}{index}"] = part

    def __getitem__(self, attr):
        if isinstance(attr, bytes):
            attr = attr.decode("utf-8")
        if isinstance(self.data, dict):
            if attr in self.data:
                val = self.data[attr]
                return H5Dict(val) if isinstance(val, dict) and val.get("_is_group") else val
            self._check_writable()
            self.data[attr] = {"_is_group": True}
            return H5Dict(self.data[attr])
        if attr in self.data.attrs:
            val = self.data.attrs[attr]
            if isinstance(val, np.ndarray) and val.dtype.kind in "SO":
                return val.tolist()
            return val
        if attr in self.data:
            val = self.data[attr]
            return np.asarray(val) if isinstance(val, h5py.Dataset) else H5Dict(val)
        if f"{attr}0" in self.data.attrs:
            return self._get_chunks(attr)
        self._check_writable()
        return H5Dict(self.data.create_group(attr))

    def _get_chunks(self, attr):
        values, index = [], 0
        while f"{attr}{index}" in self.data.attrs:
            values.extend(item.decode("utf-8") for item in self.data.attrs[f"{attr}{index}"])
            index += 1
        return values

    def _check_writable(self):
        if self.read_only:
            raise ValueError("Cannot create group in read-only mode.")

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        return iter(self.data)

    def iter(self):
        """An iterator over the names of the groups and datasets (the keys, for a dict)."""
        return iter(self.data)

    def __contains__(self, key):
        return key in self.data

    def get(self, key, default=None):
        """`self[key]` when `key` is a group, dataset or key; `default` otherwise (nothing is created)."""
        return self[key] if key in self else default

    def update(self, *args, **kwargs):
        """`dict.update` for the in-memory form; an HDF5 file is written one key at a time instead."""
        if not isinstance(self.data, dict):
            raise NotImplementedError("H5Dict.update works on the in-memory (dict) form only.")
        self.data.update(*args, **kwargs)

    def close(self):
        """Flushes the file, and closes it when this H5Dict opened it."""
        if isinstance(self.data, h5py.Group):
            self.data.file.flush()
            if self._is_file:
                self.data.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
