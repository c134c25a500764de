"""In-memory arrays as training data: checking, splitting, batching, class weights.

Everything here is NumPy on the host; engines only ever see whole batches.
"""

from __future__ import annotations

import numpy as np

from lamina import config
from lamina.utils import nest


def _as_array(value, what: str) -> np.ndarray:
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - report any conversion failure with the argument's name
        raise TypeError(f"{what} must be array-like, got {type(value).__name__}: {err}") from None
    if array.dtype == object:
        raise TypeError(f"{what} must be a numeric array, got an array of Python objects (ragged or mixed data?).")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers (bool, int or float), got an array of dtype {array.dtype}.")
    if array.dtype.kind == "f" and array.dtype != np.dtype(config.floatx()):
        array = array.astype(config.floatx())
    if array.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar.")
    return array


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
        input_names = _input_names(model, x)
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

    def take(self, indices):
        """(x, y, sample_weight) for the samples at `indices`."""
        x = [a[indices] for a in self.x]
        y = None if self.y is None else [a[indices] for a in self.y]
        sw = None if self.sample_weight is None else [a[indices] for a in self.sample_weight]
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
        subset.x = [a[part] for a in self.x]
        subset.y = None if self.y is None else [a[part] for a in self.y]
        subset.sample_weight = None if self.sample_weight is None else [a[part] for a in self.sample_weight]
        subset.single_input, subset.input_names = self.single_input, self.input_names
        subset.n = len(subset.x[0])
        return subset

    def bytes_per_sample(self) -> int:
        arrays = nest.flatten([self.x, self.y or [], self.sample_weight or []])
        return int(sum(a.itemsize * int(np.prod(a.shape[1:])) for a in arrays)) or 1


def _class_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    if y.ndim >= 2 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    else:
        labels = np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
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


def epoch_order(n: int, batch_size: int, steps, shuffle: bool, rng: np.random.Generator):
    """(sample order, number of steps) for one epoch; with `steps` the data repeats as needed."""
    if steps is None:
        order = rng.permutation(n) if shuffle else np.arange(n)
        return order, -(-n // batch_size)
    needed = steps * batch_size
    parts, total = [], 0
    while total < needed:
        parts.append(rng.permutation(n) if shuffle else np.arange(n))
        total += n
    return np.concatenate(parts)[:needed], steps
