"""Dtype names as strings, the one spelling every engine agrees on."""

from __future__ import annotations

import numpy as np

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_ALIASES = {"float": "float32", "int": "int32", "double": "float64", "half": "float16", "bool_": "bool"}
_ALIASES.update({"str": "string", "bytes": "string", "tf.string": "string"})  # spellings of string inputs in configs


def standardize_dtype(dtype) -> str | None:
    """Returns a dtype's name as a string ('float32', 'int64', ...).

    Accepts strings, NumPy dtypes and types, and engine dtypes (anything whose
    `str()` or `.name` is a dtype name, e.g. `jnp.float32` or `torch.float32`).

    Example:
        >>> standardize_dtype(np.float32)
        'float32'
    """
    if dtype is None:
        return None
    try:
        return _KNOWN[dtype]  # layers ask this of every input, every step
    except (KeyError, TypeError):
        pass
    name = _standardize(dtype)
    try:
        _KNOWN[dtype] = name
    except TypeError:
        pass
    return name


_KNOWN: dict = {}


def _standardize(dtype) -> str:
    if isinstance(dtype, str):
        name = dtype
    elif hasattr(dtype, "name") and isinstance(dtype.name, str):
        name = dtype.name
    elif isinstance(dtype, type) and issubclass(dtype, np.generic):
        name = np.dtype(dtype).name
    elif hasattr(dtype, "dtype"):
        name = np.dtype(dtype.dtype).name
    else:
        name = str(dtype)
    name = name.replace("torch.", "")
    name = _ALIASES.get(name, name)
    if name not in _FLOATS + _INTS + ("bool", "complex64", "complex128", "string"):
        raise ValueError(f"Unknown dtype {dtype!r}: expected one of {_FLOATS + _INTS + ('bool',)}.")
    return name


def is_float_dtype(dtype) -> bool:
    """True for float16/bfloat16/float32/float64."""
    return standardize_dtype(dtype) in _FLOATS


def is_int_dtype(dtype) -> bool:
    """True for signed and unsigned integer dtypes."""
    return standardize_dtype(dtype) in _INTS
