"""Limits that keep a hostile or damaged file from costing memory before lamina can say what is wrong.

Every size a file declares is checked before anything that size is read, inflated or allocated:

- **Config nesting.** `config.json` (`.keras`), the `model_config` attribute (`.h5`) and the text given to
  `model_from_json` / `model_from_yaml` may nest at most `MAX_CONFIG_DEPTH` levels of lists and objects; the depth
  is measured on the raw text, without parsing it, so a file of a million brackets gets a `ValueError` naming the
  file, the member, the depth and the limit instead of a bare `RecursionError`.
- **Zip members.** A `.keras` member is inflated only when the size its zip directory declares is sane: the
  config and metadata at most `MAX_CONFIG_BYTES`; `model.weights.h5` at most what the re-created model's weights
  (with room for optimizer slots and HDF5's bookkeeping) can fill, and never more than the machine's memory; an
  asset at most `MAX_ASSET_BYTES`. (Python's zipfile never inflates past the declared size.)
- **Weight datasets.** A stored weight's shape (HDF5 metadata, no read) is compared with the model's before the
  array is read (`check_datasets`).
- **New weights.** A layer whose declared weight would need more bytes than the machine has is refused by
  `check_weight_size` before its initializer runs.

The module's constants can be raised by a user who trusts an unusual file.

Example:
    >>> from lamina.saving import file_limits
    >>> file_limits.MAX_CONFIG_DEPTH = 400  # a model nested unusually deep
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np

MAX_CONFIG_DEPTH = 128  # Keras configs of real models nest a few dozen levels
MAX_CONFIG_BYTES = 256 * 2**20  # config.json / metadata.json / a model_config attribute
MAX_ASSET_BYTES = 2**30  # one file under a `.keras` archive's assets/ (a lookup layer's vocabulary)
_SLOTS = 6  # a weight plus up to five optimizer arrays of its size (Adam's m, v, vhat, EMA, ...)
_SLACK_BYTES = 64 * 2**20  # HDF5 headers, attributes, whatever a custom layer's save_own_variables adds
_PER_VARIABLE_BYTES = 16 * 2**10  # HDF5 object header and index per stored array
# A JSON string, possessive so that it never backtracks; an unterminated one runs to the end of the text.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.|\\\Z)*+(?:"|\Z)', re.DOTALL)
_CHUNK = 1 << 22


def _size(nbytes: float) -> str:
    """`nbytes` as people read it: 37.3 GiB, 512 B."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover


def physical_memory() -> int:
    """The machine's memory in bytes (2**40 where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 2**40


# ------------------------------------------------------------------ config nesting
def json_depth(text, stop_above: int | None = None) -> int:
    """How deeply `text` (JSON, str or bytes) nests lists and objects, counted without parsing it.

    Brackets inside strings do not count. Linear in the text's length, in bounded memory; with `stop_above`, the
    count stops at the first block of text (4 MiB) in which the depth passes it (a lower bound then).

    Example:
        >>> json_depth('{"a": [1, [2]], "b": "[[["}')
        3
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    data = _JSON_STRING.sub(b'""', data)
    codes = np.frombuffer(data, dtype=np.uint8)
    depth = deepest = 0
    for start in range(0, len(codes), _CHUNK):
        part = codes[start : start + _CHUNK]
        steps = (part == ord("[")).astype(np.int32) + (part == ord("{"))
        steps -= (part == ord("]")).astype(np.int32) + (part == ord("}"))
        running = np.cumsum(steps, dtype=np.int64) + depth
        if len(running):
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def _too_deep(where: str, depth, limit: int) -> ValueError:
    return ValueError(
        f"{where} nests lists and objects {depth} levels deep; lamina reads configs up to {limit} levels "
        "(a damaged or hostile file?). If you trust it, raise lamina.saving.file_limits.MAX_CONFIG_DEPTH."
    )


def check_config_size(where: str, nbytes: int) -> None:
    """A ValueError when a config of `nbytes` bytes is over `MAX_CONFIG_BYTES`."""
    if nbytes > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{where} is {_size(nbytes)} ({nbytes} bytes); lamina reads configs up to {_size(MAX_CONFIG_BYTES)} "
            "(a damaged or hostile file?). If you trust it, raise lamina.saving.file_limits.MAX_CONFIG_BYTES."
        )


def load_json(text, where: str):
    """`json.loads(text)` once its size and nesting are within the limits; a ValueError naming `where` otherwise.

    Example:
        >>> load_json('{"class_name": "Sequential"}', "'m.keras' member 'config.json'")
        {'class_name': 'Sequential'}
    """
    check_config_size(where, len(text))
    depth = json_depth(text, stop_above=MAX_CONFIG_DEPTH)
    if depth > MAX_CONFIG_DEPTH:
        raise _too_deep(where, f"at least {depth}", MAX_CONFIG_DEPTH)
    try:
        return json.loads(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where} is not valid JSON ({error}).") from error


def load_yaml(text, where: str):
    """`yaml.safe_load(text)` once its nesting (measured on the parser's events) is within the limit."""
    import yaml

    text = text.read() if hasattr(text, "read") else text  # a stream is read once, then parsed twice
    check_config_size(where, len(text))
    # PyYAML's scanner slows down with the square of flow nesting: brackets far past the limit are refused on
    # the raw text first (loosely: a bracket in a plain or single-quoted scalar may count).
    brackets = json_depth(text, stop_above=4 * MAX_CONFIG_DEPTH)
    if brackets > 4 * MAX_CONFIG_DEPTH:
        raise _too_deep(where, f"at least {brackets}", MAX_CONFIG_DEPTH)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):  # the event parser does not recurse
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_CONFIG_DEPTH:
                    raise _too_deep(where, f"more than {MAX_CONFIG_DEPTH}", MAX_CONFIG_DEPTH)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{where} is not valid (safe) YAML: {error}") from error


# --------------------------------------------------------------------- zip members
def _model_bytes(model) -> tuple[int, int]:
    """(bytes, count) of what the model stores in its weights file: its variables, and lookup layers' IDF weights."""
    variables = list(getattr(model, "weights", []))
    nbytes = sum(math.prod(v.shape) * np.dtype(_numpy_dtype(v.dtype)).itemsize for v in variables)
    flatten = getattr(model, "_flatten_layers", None)
    for layer in flatten() if flatten is not None else []:
        if hasattr(layer, "save_own_variables") and hasattr(layer, "vocabulary_size"):
            try:
                nbytes += 8 * int(layer.vocabulary_size() or 0)  # `idf_weights`, one float64 per token at most
            except (AttributeError, TypeError, ValueError, RuntimeError):  # not adapted yet: nothing stored
                pass
    return nbytes, len(variables)


def _numpy_dtype(dtype) -> str:
    return "float32" if str(dtype) == "bfloat16" else str(dtype)


def check_member(filename: str, info, limit: int, why: str) -> None:
    """A ValueError when zip member `info` declares more than `limit` bytes uncompressed (`why` says the limit)."""
    if info.file_size > limit:
        raise ValueError(
            f"Cannot load {filename!r}: its member {info.filename!r} declares {_size(info.file_size)} "
            f"({info.file_size} bytes) uncompressed, more than {why} ({_size(limit)}); it is refused before "
            "inflating (a damaged or hostile file?)."
        )


def check_weights_member(filename: str, info, model) -> None:
    """Refuses a `model.weights.h5` member larger than `model`'s weights, optimizer slots and overhead can fill."""
    memory = physical_memory()
    check_member(filename, info, memory, "this machine's memory")
    nbytes, count = _model_bytes(model)
    if count == 0:  # an unbuilt model says nothing about its weights' sizes
        return
    limit = _SLOTS * (nbytes + count * _PER_VARIABLE_BYTES) + _SLACK_BYTES
    why = f"model {model.name!r}'s {count} weights ({_size(nbytes)}) with optimizer state could need"
    check_member(filename, info, limit, why)


# ----------------------------------------------------------------- weight datasets
def check_datasets(
    datasets: list, variables: list, filename: str, where: str, exact: bool, positional: bool = True
) -> None:
    """Compares stored arrays' shapes (h5py datasets: metadata only) with the variables they are to fill.

    With `exact`, each dataset must have its variable's shape. Otherwise (a Keras 2 layout that may be converted:
    Theano kernels, CuDNN or Keras 1 RNNs) a dataset is refused only when it holds more values than all the
    variables together could take, twice over. With `positional`, the error names the variable at the dataset's
    position as the one it was to fill (not so for optimizer state, whose arrays follow their own order).
    """
    if exact:
        for dataset, variable in zip(datasets, variables):
            if tuple(dataset.shape) != tuple(variable.shape):
                raise _shape_error(dataset, variable, filename, where)
        return
    room = 2 * sum(math.prod(v.shape) for v in variables) + 1024
    for index, dataset in enumerate(datasets):
        if math.prod(dataset.shape) > room:
            variable = variables[index] if positional and index < len(variables) else None
            raise _shape_error(dataset, variable, filename, where, variables)


def _shape_error(dataset, variable, filename: str, where: str, variables=()) -> ValueError:
    shape = tuple(dataset.shape)
    stored = f"{_size(math.prod(shape) * dataset.dtype.itemsize)} if read"
    name = getattr(dataset, "name", None) or "?"
    if variable is not None:
        expected = f"weight {getattr(variable, 'path', variable.name)!r} of shape {tuple(variable.shape)}"
    else:
        expected = f"weights of shapes {[tuple(v.shape) for v in variables]}"
    return ValueError(
        f"Cannot load weights from {filename!r}: {where}: the stored array {name!r} has shape {shape} "
        f"({stored}), but it is to fill {expected}. Nothing was read."
    )


def read(value) -> np.ndarray:
    """An h5py dataset's values (or an array as given)."""
    return np.asarray(value[()]) if hasattr(value, "id") and hasattr(value, "shape") else np.asarray(value)


# ---------------------------------------------------------------------- new weights
def check_weight_size(layer_name: str, weight_name: str, shape: tuple, dtype) -> None:
    """A ValueError naming the layer when one weight of `shape` would need more than the machine's memory.

    Example:
        >>> check_weight_size("dense", "kernel", (10**6, 10**6), "float32")  # doctest: +SKIP
        ValueError: Layer 'dense' weight 'kernel' of shape (1000000, 1000000) float32 needs 3.6 TiB, ...
    """
    try:
        itemsize = np.dtype(_numpy_dtype(dtype)).itemsize
    except TypeError:  # a dtype NumPy does not know (strings): count 4 bytes a value
        itemsize = 4
    nbytes = math.prod(shape) * itemsize
    memory = physical_memory()
    if nbytes > memory:
        raise ValueError(
            f"Layer {layer_name!r} weight {weight_name!r} of shape {tuple(shape)} {dtype} needs {_size(nbytes)}, "
            f"more than this machine's memory ({_size(memory)}); check the layer's sizes (units, kernel_size, "
            "input_dim) or the config it came from."
        )
