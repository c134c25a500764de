"""Reading the datasets' files without pickle's arbitrary-object loading (DESIGN rule 9).

Two of Keras's dataset formats hold pickles: the CIFAR batches (Python 2 pickles of dicts of NumPy
arrays, lists and bytes) and the object arrays of variable-length sequences inside imdb.npz and
reuters.npz. `SafeUnpickler` reads them with a restricted unpickler: the only callables it will
resolve are NumPy's array and dtype reconstruction and `_codecs.encode` (how Python 3 pickles bytes);
any other global (a class, `os.system`, ...) in the file raises an error naming the file.
"""

from __future__ import annotations

import codecs
import os
import pickle
import zipfile

import numpy as np

_ARRAY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


def _reconstruct(subtype, shape, dtype):
    """An empty array to be filled by `__setstate__`, as NumPy's own pickles build one."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"only numpy.ndarray may be rebuilt, got {subtype!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only latin1-encoded bytes may be rebuilt")
    return codecs.encode(text, encoding)


class SafeUnpickler(pickle.Unpickler):
    """A pickle reader that builds only builtins (dict, list, int, bytes, ...) and NumPy arrays.

    Example:
        >>> with open("data_batch_1", "rb") as f:  # doctest: +SKIP
        ...     batch = SafeUnpickler(f, encoding="bytes").load()
    """

    def find_class(self, module, name):
        if module in _ARRAY_MODULES and name == "_reconstruct":
            return _reconstruct
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        if module == "_codecs" and name == "encode":
            return _encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays and builtins are allowed")


def load_pickle(path: str, encoding: str = "bytes"):
    """The object pickled in the file at `path`, read with `SafeUnpickler`."""
    with open(path, "rb") as stream:
        try:
            return SafeUnpickler(stream, encoding=encoding).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
            raise ValueError(f"Cannot read {path!r} as a dataset batch: {error}") from error


def _read_npy(stream, path: str, key: str) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject:
        data = stream.read()
        order = "F" if fortran_order else "C"
        return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape))).reshape(shape, order=order).copy()
    try:
        array = SafeUnpickler(stream, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(f"Cannot read array {key!r} of {path!r}: {error}") from error
    if not isinstance(array, np.ndarray):
        raise ValueError(f"Array {key!r} of {path!r} holds a {type(array).__name__}, not an array.")
    return array


def load_npz(path) -> dict:
    """Every array of an `.npz` file, object arrays included, read without unrestricted pickle.

    Example:
        >>> arrays = load_npz("imdb.npz")  # doctest: +SKIP
        >>> arrays["x_train"].dtype
        dtype('O')
    """
    path = os.fspath(path)
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                key = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as stream:
                    arrays[key] = _read_npy(stream, path, key)
    except zipfile.BadZipFile as error:
        raise ValueError(f"Cannot read {path!r} as an .npz file: {error}") from error
    return arrays
