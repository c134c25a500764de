"""In-memory arrays as training data: checking, splitting, batching, class weights.

Everything here is NumPy on the host; engines only ever see whole batches.
"""

from __future__ import annotations

import numpy as np

from lamina import config
from lamina.backend import engine
from lamina.layers.string_tensors import STRING_LAYERS, is_text
from lamina.trainers.data.lazy_arrays import LAZY_CHUNK_BYTES, RowView, is_lazy_array, take_rows
from lamina.utils import nest


def _check_lazy(value, what: str):
    """A file-backed array (h5py dataset, HDF5Matrix) is kept as it is: batches read their rows."""
    dtype = np.dtype(value.dtype)
    if dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers (bool, int or float), got a file-backed array of dtype {dtype}.")
    if len(value.shape) == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar dataset.")
    return value


def _as_array(value, what: str) -> np.ndarray:
    if is_lazy_array(value):
        return _check_lazy(value, what)
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = engine.core.convert_to_numpy(value)  # a framework tensor (e.g. from a torch DataLoader)
    try:
        array = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - report any conversion failure with the argument's name
        raise TypeError(f"{what} must be array-like, got {type(value).__name__}: {err}") from None
    if what.startswith("x") and is_text(array):
        raise TypeError(
            f"{what} must hold numbers (bool, int or float), got an array of dtype {array.dtype}. A model takes "
            f'strings through Input(..., dtype="string") feeding a layer that takes strings ({STRING_LAYERS}).'
        )
    if array.dtype == object:
        raise TypeError(f"{what} must be a numeric array, got an array of Python objects (ragged or mixed data?).")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers (bool, int or float), got an array of dtype {array.dtype}.")
    if array.dtype.kind == "f" and array.dtype != np.dtype(config.floatx()):
        array = array.astype(config.floatx())
    elif what == "y" and array.dtype == bool:  # Keras 2 fed targets as the output's float dtype
        array = array.astype(config.floatx())
    if array.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar.")
    return array


def _host_inputs(stage, arrays: list) -> list:
    """The inputs of a model with string inputs: strings checked by its host stage, numbers as usual."""
    if len(arrays) != len(stage.input_tensors):
        expected = f"{len(stage.input_tensors)}: {stage.input_names}"
        raise ValueError(f"x has {len(arrays)} arrays, but the model has {expected}.")
    strings = set(stage.string_positions)
    return [
        stage.string_input(i, value) if i in strings else _as_array(value, f"x[{stage.input_names[i]!r}]")
        for i, value in enumerate(arrays)
    ]


def _by_names(value, names: list, what: str) -> list:
    """A list in `names` order from a dict keyed by name, a list, or a single array."""
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"{what} is missing entries {missing}; expected keys {names}, got {sorted(value)}.")
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)):
        if len(names) == 1 and not (len(value) == 1 and hasattr(value[0], "shape")):
            return [value]
        if len(value) != len(names):
            raise ValueError(f"{what} has {len(value)} arrays, but the model has {len(names)}: {names}.")
        return list(value)
    return [value]


class ArrayData:
    """x, y and sample weights as lists of NumPy arrays of equal length.

    Args:
        model: the model (for its input and output names).
        x: an array, a list of arrays, or a dict by input name.
        y: the same for the outputs, or None.
        sample_weight: an array of per-sample weights (or a list/dict per output), or None.
        class_weight: `{class index: weight}`, multiplied into the sample weights.
    """

    def __init__(self, model, x, y=None, sample_weight=None, class_weight=None):
        if x is None:
            raise ValueError("No input data: pass `x` (an array, a list of arrays, or a dict by input name).")
        if not getattr(model, "built", True) and hasattr(model, "_build_for_strings"):
            model._build_for_strings(x)  # a Sequential starting with a layer on strings, given strings
        input_names = _input_names(model, x)
        self.host_stage = getattr(model, "_host_stage", None)  # string inputs: turned into numbers in take()
        if self.host_stage is not None:
            self.x = _host_inputs(self.host_stage, _by_names(x, input_names, "x"))
        else:
            self.x = [_as_array(v, f"x[{n!r}]" if len(input_names) > 1 else "x") for v, n in
                      zip(_by_names(x, input_names, "x"), input_names)]  # fmt: skip
        self.single_input = len(self.x) == 1 and not isinstance(x, (list, dict))
        self.input_names = input_names
        self.y = None
        if y is not None:
            output_names = _output_names(model, y)
            self.y = [_as_array(v, "y") for v in _by_names(y, output_names, "y")]
        self.n = len(self.x[0])
        self._check_lengths()
        self.sample_weight = self._sample_weights(sample_weight, class_weight)

    def _check_lengths(self) -> None:
        sizes = {f"x[{i}]" if len(self.x) > 1 else "x": len(a) for i, a in enumerate(self.x)}
        for i, array in enumerate(self.y or []):
            sizes[f"y[{i}]" if len(self.y) > 1 else "y"] = len(array)
        if len(set(sizes.values())) > 1:
            described = ", ".join(f"{k} has {v}" for k, v in sizes.items())
            raise ValueError(f"x and y must have the same number of samples: {described}.")

    def _sample_weights(self, sample_weight, class_weight):
        outputs = len(self.y) if self.y is not None else 1
        weights = None
        if sample_weight is not None:
            listed = sample_weight if isinstance(sample_weight, (list, tuple, dict)) else [sample_weight] * outputs
            if isinstance(listed, dict):
                listed = list(listed.values())
            weights = []
            for array in listed:
                array = np.asarray(array, dtype="float32")
                if len(array) != self.n:
                    raise ValueError(f"sample_weight has {len(array)} entries, but x has {self.n} samples.")
                weights.append(array)
        if class_weight is not None:
            if self.y is None:
                raise ValueError("class_weight needs targets `y`.")
            weights = weights or [np.ones(self.n, dtype="float32") for _ in self.y]
            weights = [w * _class_weights(y, class_weight) for w, y in zip(weights, self.y)]
        return weights

    @property
    def lazy(self) -> bool:
        """True when some array is read from disk batch by batch (h5py dataset, HDF5Matrix)."""
        return any(is_lazy_array(a) for a in self.x + (self.y or []))

    def fused_steps_limit(self, batch_size: int) -> int:
        """At most this many batches per read: file-backed data is read in small chunks so memory stays flat."""
        if not self.lazy:
            return 2**30
        return max(1, LAZY_CHUNK_BYTES // (self.bytes_per_sample() * batch_size))

    def take(self, indices):
        """(x, y, sample_weight) for the samples at `indices` (an index array in any order, or a slice)."""
        x = [_rows(a, indices) for a in self.x]
        y = None if self.y is None else [_rows(a, indices) for a in self.y]
        sw = None if self.sample_weight is None else [a[indices] for a in self.sample_weight]
        if self.host_stage is not None:  # the model's layers on strings run here, on the host, batch by batch
            return self.host_stage.run(x), y, sw
        return (x[0] if self.single_input else x), y, sw

    def split(self, validation_split: float):
        """(train, validation): the validation set is the *last* fraction, taken before any shuffling."""
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split}.")
        split_at = int(self.n * (1.0 - validation_split))
        if split_at == 0 or split_at == self.n:
            raise ValueError(
                f"validation_split={validation_split} of {self.n} samples leaves an empty training or validation set."
            )
        return self._subset(slice(0, split_at)), self._subset(slice(split_at, self.n))

    def _subset(self, part: slice):
        subset = object.__new__(ArrayData)
        subset.x = [_view(a, part) for a in self.x]
        subset.y = None if self.y is None else [_view(a, part) for a in self.y]
        subset.sample_weight = None if self.sample_weight is None else [a[part] for a in self.sample_weight]
        subset.single_input, subset.input_names = self.single_input, self.input_names
        subset.host_stage = self.host_stage
        subset.n = len(subset.x[0])
        return subset

    def bytes_per_sample(self) -> int:
        arrays = nest.flatten([self.x, self.y or [], self.sample_weight or []])
        return int(sum(np.dtype(a.dtype).itemsize * int(np.prod(a.shape[1:])) for a in arrays)) or 1


def _rows(array, indices) -> np.ndarray:
    """Rows of an in-memory or file-backed array; floats of a file-backed one come as floatx, like in-memory ones."""
    if isinstance(array, np.ndarray):
        return array[indices]
    block = take_rows(array, indices)
    if block.dtype.kind == "f" and block.dtype != np.dtype(config.floatx()):
        block = block.astype(config.floatx())
    return block


def _view(array, part: slice):
    """Rows `part` of an array: a NumPy view, or a lazy RowView that reads nothing yet."""
    if isinstance(array, np.ndarray):
        return array[part]
    return RowView(array, part.start, part.stop)


def _labels(y) -> np.ndarray:
    """Class labels of targets (one-hot or indices); a file-backed y is read in chunks."""
    if not isinstance(y, np.ndarray):
        chunk = max(1, LAZY_CHUNK_BYTES // (np.dtype(y.dtype).itemsize * max(1, int(np.prod(y.shape[1:])))))
        parts = [_labels(_rows(y, slice(i, i + chunk))) for i in range(0, len(y), chunk)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if y.ndim >= 2 and y.shape[-1] > 1:
        return np.argmax(y, axis=-1)
    return np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)


def _class_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    labels = _labels(y)
    unknown = set(np.unique(labels).tolist()) - set(int(k) for k in class_weight)
    if unknown:
        raise ValueError(
            f"class_weight has no weight for class(es) {sorted(unknown)}; it covers {sorted(class_weight)}."
        )
    table = np.zeros(int(max(max(class_weight), labels.max())) + 1, dtype="float32")
    for key, value in class_weight.items():
        table[int(key)] = value
    weights = table[labels]
    return weights.reshape(len(y), -1)[:, 0] if weights.ndim > 1 else weights


def _names(model, data, attribute: str, prefix: str) -> list:
    """The model's input (or output) names that `data` is matched to; placeholders when they do not fit."""
    names = list(getattr(model, attribute, None) or [])
    if isinstance(data, dict):
        return names or sorted(data)
    count = len(data) if isinstance(data, (list, tuple)) and data and hasattr(data[0], "shape") else 1
    if len(names) == count:
        return names
    if count == 1 and prefix == "input":
        return names[:1] or ["input"]
    return [f"{prefix}_{i}" for i in range(count)]


def _input_names(model, x) -> list:
    return _names(model, x, "input_names", "input")


def _output_names(model, y) -> list:
    return _names(model, y, "output_names", "output")


def batch_shuffle(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Keras 2's `shuffle="batch"`: blocks of `batch_size` neighbouring samples in a random order.

    The full blocks are permuted and the short last block stays last, so each
    batch is one contiguous read of a file-backed array.
    """
    full = n // batch_size
    blocks = np.arange(full * batch_size).reshape(full, batch_size)[rng.permutation(full)]
    return np.concatenate([blocks.reshape(-1), np.arange(full * batch_size, n)])


def _one_pass(n: int, batch_size: int, shuffle, rng) -> np.ndarray:
    if shuffle == "batch":
        return batch_shuffle(n, batch_size, rng)
    return rng.permutation(n) if shuffle else np.arange(n)


def epoch_order(n: int, batch_size: int, steps, shuffle, rng: np.random.Generator):
    """(sample order, number of steps) for one epoch; with `steps` the data repeats as needed.

    `shuffle` is False, True (samples in a random order) or "batch" (see `batch_shuffle`).
    """
    if isinstance(shuffle, str) and shuffle != "batch":
        raise ValueError(f'shuffle must be True, False or "batch", got {shuffle!r}.')
    if steps is None:
        return _one_pass(n, batch_size, shuffle, rng), -(-n // batch_size)
    needed = steps * batch_size
    parts, total = [], 0
    while total < needed:
        parts.append(_one_pass(n, batch_size, shuffle, rng))
        total += n
    return np.concatenate(parts)[:needed], steps


def balanced_chunk(full_left: int, cap: int) -> int:
    """How many full batches the next call takes: at most `cap`, split evenly over the calls left."""
    if full_left <= 0:
        return 1
    calls = -(-full_left // cap)
    return -(-full_left // calls)


def planned_chunk(step: int, full_batches: int, cap: int, lead: int = 0) -> int:
    """How many full batches the `fit` call at `step` takes: up to the next boundary of the epoch's plan.

    The plan is `lead` single steps (those `fit` times to size its calls), then the other full batches in calls of
    at most `cap`, as even as they can be. It is the same at every epoch, so each epoch reuses the compiled calls of
    the one before: a call size first met in the second epoch would compile there, inside what the user times (the
    "bimodal" mlp of issue 17). 1 once only a partial batch is left.

    Example:
        >>> [planned_chunk(step, 156, 32, lead=2) for step in (0, 1, 2, 33, 126)]
        [1, 1, 31, 31, 30]
    """
    if full_batches - step <= 0:
        return 1
    lead = min(lead, full_batches)
    if step < lead:
        return 1
    rest = full_batches - lead
    calls = -(-rest // cap)
    small, bigger = divmod(rest, calls)  # the first `bigger` calls take one batch more
    boundary = lead
    for call in range(calls):
        boundary += small + (call < bigger)
        if boundary > step:
            return boundary - step
    return 1


def batch_chunks(n: int, batch_size: int, steps: int, fused: int):
    """(start, end, k, first step) for evaluate/predict: up to `fused` full batches per call."""
    step = 0
    limit = min(n, steps * batch_size)
    full_batches = limit // batch_size
    while step < steps and step * batch_size < limit:
        k = balanced_chunk(full_batches - step, fused)
        start = step * batch_size
        yield start, min(start + k * batch_size, limit), k, step
        step += k
