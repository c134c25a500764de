"""Data that arrives batch by batch: Python generators, `lamina.utils.Sequence`, and re-iterables (DataLoader).

A stream hands the training loop one raw batch at a time, `(x, y)`,
`(x, y, sample_weight)` or (for predict) `x`; `to_batch` checks and converts
it into an `ArrayData` of one batch. How each kind behaves across epochs
follows Keras 2:

* a generator is drawn from continuously: epoch 2 starts where epoch 1 stopped;
* a Sequence is read by index, in a new random order every epoch with
  `shuffle=True`, and `on_epoch_end()` is called after every pass over it;
* a re-iterable with a length (e.g. a torch `DataLoader`) is iterated anew every epoch.
"""

from __future__ import annotations

import collections.abc
import contextlib
import warnings

import numpy as np

from lamina.backend.common.seed import numpy_rng
from lamina.trainers.data.array_data import ArrayData
from lamina.trainers.data.enqueuers import GeneratorPump, make_fetcher
from lamina.trainers.data.lazy_arrays import is_lazy_array
from lamina.utils.sequence import Sequence


def is_stream(x) -> bool:
    """True for data that arrives batch by batch rather than as arrays."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes, range)):
        return False
    if isinstance(x, Sequence):
        return True
    if is_lazy_array(x) or hasattr(x, "shape"):  # arrays, framework tensors, h5py datasets
        return False
    return isinstance(x, collections.abc.Iterator) or hasattr(x, "__iter__")


def _kind(x) -> str:
    if isinstance(x, Sequence):
        return "Sequence"
    return "generator" if isinstance(x, collections.abc.Iterator) else "iterable"


def _name(x) -> str:
    """What the user passed, for messages: "generator", "Sequence", or the class name ("DataLoader")."""
    kind = _kind(x)
    return type(x).__name__ if kind == "iterable" else kind


def check_stream_arguments(method: str, x, **given) -> None:
    """A stream carries its own targets and weights, and cannot be split: reject what would be ignored."""
    kind = _name(x)
    for name, value in given.items():
        if value is not None and not (name == "validation_split" and not value):
            raise ValueError(
                f"{method}(): `{name}` cannot be used when x is a {kind}; the {kind} must yield "
                "(x, y) or (x, y, sample_weight) batches itself"
                + (" (pass validation_data instead)." if name == "validation_split" else ".")
            )


def _steps(x, steps, kind: str, steps_name: str, method: str) -> int:
    if steps is not None:
        if (
            not isinstance(steps, (int, float, np.integer, np.floating))
            or isinstance(steps, bool)
            or not 0 < steps < np.inf
        ):
            raise ValueError(f"{method}(): `{steps_name}` must be a positive int, got {steps!r}.")
        # Keras 2 drew batches `while steps_done < steps`: a fraction (`len(x) / batch_size`) rounds up.
        return int(np.ceil(steps))
    try:
        length = len(x)
    except TypeError:
        length = None
    if length is None:
        raise ValueError(
            f"{method}(): `{steps_name}` is required when the data is a {kind} without a length: "
            f"say how many batches to draw, e.g. {steps_name}=len(x_train) // batch_size."
        )
    if length < 1:
        raise ValueError(f"{method}(): the {kind} has no batches (its len() is {length}).")
    return int(length)


def make_stream(x, method: str, steps, steps_name: str, shuffle=False, passes: int = 1, loading=None):
    """The stream for `x` (see `is_stream`).

    Args:
        x: a generator, a Sequence, or a re-iterable with a length.
        method: "fit", "evaluate", ... for error messages.
        steps: batches per pass (None: the length of x).
        steps_name: the argument `steps` came from, for error messages.
        shuffle: a Sequence's batch order is shuffled every pass.
        passes: how many passes the caller will make (bounds how far a generator is read ahead).
        loading: {"workers", "use_multiprocessing", "max_queue_size"}.

    Example:
        >>> stream = make_stream(batches(), "fit", 100, "steps_per_epoch", passes=5)
    """
    kind = _kind(x)
    loading = _check_loading(method, **(loading or {}))
    steps = _steps(x, steps, _name(x), steps_name, method)
    if kind == "Sequence":
        return SequenceStream(x, steps, bool(shuffle), loading)
    if kind == "generator":
        return GeneratorStream(x, steps, method, loading, steps * max(0, passes))
    return IterableStream(x, steps, method)


def _check_loading(method: str, workers=1, use_multiprocessing=False, max_queue_size=10) -> dict:
    for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{method}(): `{name}` must be an int >= 0, got {value!r}.")
    return {"workers": int(workers), "use_multiprocessing": bool(use_multiprocessing), "max_queue_size": max_queue_size}


class _Stream:
    kind = "stream"
    lists_are_tuples = False  # a DataLoader collates (x, y) into a list

    def __init__(self, steps: int):
        self.steps = steps
        self._first = []  # a batch read early (to build the model) and not yet handed out

    def first_batch(self):
        """The first batch of the next pass, read now; `batches()` hands it out again."""
        if not self._first:
            self._first.append(self._next_first())
        return self._first[0]

    def end_pass(self) -> None:
        """Called after each pass (epoch)."""

    def close(self) -> None:
        """Releases worker threads or processes."""


class GeneratorStream(_Stream):
    """A Python generator (or any iterator), drawn from continuously across epochs, as Keras 2 does."""

    kind = "generator"

    def __init__(self, generator, steps: int, method: str, loading: dict, batches_needed):
        super().__init__(steps)
        self.generator = generator
        self._drawn = 0
        self._pump = None
        if loading["use_multiprocessing"]:
            warnings.warn(
                f"{method}(): use_multiprocessing=True needs a lamina.utils.Sequence (a generator cannot be sent "
                "to other processes); this generator is read in a background thread instead.",
                stacklevel=4,
            )
        if loading["workers"] > 0:
            self._pump = GeneratorPump(generator, loading["max_queue_size"], batches_needed)

    def _draw(self):
        return self._pump.next() if self._pump is not None else next(self.generator)

    def _next_first(self):
        return self._draw_step(0)

    def _draw_step(self, step: int):
        try:
            batch = self._draw()
        except StopIteration:
            raise ValueError(
                f"The generator ran out of data at step {step} of {self.steps} (after {self._drawn} batches in all). "
                "A generator is drawn from continuously, so it must yield steps_per_epoch * epochs batches "
                "(validation_steps per validation run): loop forever, e.g. `while True:` around the yields."
            ) from None
        self._drawn += 1
        return batch

    def batches(self):
        for step in range(self.steps):
            yield self._first.pop() if self._first else self._draw_step(step)

    def close(self) -> None:
        if self._pump is not None:
            self._pump.close()


class SequenceStream(_Stream):
    """A `lamina.utils.Sequence`: batches by index, shuffled per pass, loaded ahead by workers."""

    kind = "Sequence"

    def __init__(self, sequence, steps: int, shuffle: bool, loading: dict):
        super().__init__(steps)
        self.sequence = sequence
        self.shuffle = shuffle
        self._rng = numpy_rng() if shuffle else None
        self._order = None
        self._fetcher = make_fetcher(sequence, **loading)

    def _pass_order(self) -> np.ndarray:
        if self._order is None:
            length = len(self.sequence)
            parts = [self._rng.permutation(length) if self.shuffle else np.arange(length)]
            while sum(len(p) for p in parts) < self.steps:  # more steps than batches: go round again
                parts.append(self._rng.permutation(length) if self.shuffle else np.arange(length))
            self._order = np.concatenate(parts)[: self.steps]
        return self._order

    def _next_first(self):
        return self.sequence[int(self._pass_order()[0])]

    def draw_orders_from(self, rng) -> None:
        """Shuffles from `rng` (fit's generator, which BackupAndRestore saves and restores) from the next pass on.

        An order drawn earlier (to read the first batch and build the model) is dropped, so a resumed `fit`
        shuffles its first epoch as the uninterrupted one did.
        """
        if self.shuffle:
            self._rng, self._order, self._first = rng, None, []

    def batches(self):
        order = self._pass_order()
        if self._first:
            yield self._first.pop()
            order = order[1:]
        with contextlib.closing(self._fetcher.fetch(order)) as fetched:
            yield from fetched

    def end_pass(self) -> None:
        self._order = None
        self.sequence.on_epoch_end()
        self._fetcher.refresh()

    def close(self) -> None:
        self._fetcher.close()


class IterableStream(_Stream):
    """A re-iterable with a length (a torch DataLoader): iterated anew every epoch."""

    kind = "iterable"
    lists_are_tuples = True

    def __init__(self, iterable, steps: int, method: str):
        super().__init__(steps)
        self.iterable = iterable
        self.kind = type(iterable).__name__
        self._iterator = None

    def _next_first(self):
        self._iterator = iter(self.iterable)
        return self._draw_step(0)

    def _draw_step(self, step: int):
        try:
            return next(self._iterator)
        except StopIteration:
            raise ValueError(
                f"The {type(self.iterable).__name__} ran out of data at step {step} of {self.steps}: it yields fewer "
                "batches per pass than the steps asked for."
            ) from None

    def batches(self):
        if not self._first:
            self._iterator = iter(self.iterable)
        for step in range(self.steps):
            yield self._first.pop() if self._first else self._draw_step(step)
        self._iterator = None


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item(s): ({', '.join(_describe_leaf(v) for v in value)})"
    return _describe_leaf(value)


def _describe_leaf(value) -> str:
    if hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(value)}"
    return type(value).__name__


def unpack_batch(raw, predict: bool, lists_are_tuples: bool, where: str):
    """(x, y, sample_weight) from one raw batch of a stream.

    For fit/evaluate a batch is a tuple (or list) of 2 or 3 items, as Keras 2
    took them. For predict a tuple's first item is x, and anything else is x
    itself (a list is a model's several inputs), except that a DataLoader's
    lists are tuples (its collation turns tuples into lists).
    """
    if isinstance(raw, list) and (lists_are_tuples or not predict):
        raw = tuple(raw)
    if predict:
        if isinstance(raw, tuple):
            if len(raw) not in (1, 2, 3):
                raise ValueError(f"{where} must be x, (x,), (x, y) or (x, y, sample_weight), got {_describe(raw)}.")
            raw = raw[0]
        return raw, None, None
    if not isinstance(raw, tuple) or len(raw) not in (2, 3):
        raise ValueError(f"{where} must be a tuple (x, y) or (x, y, sample_weight), got {_describe(raw)}.")
    return raw[0], raw[1], (raw[2] if len(raw) == 3 else None)


def to_batch(model, stream: _Stream, raw, step: int, method: str, class_weight=None) -> ArrayData:
    """One raw batch of `stream`, checked and converted (NumPy arrays matched to the model's inputs/outputs)."""
    where = f"Batch {step} of the {stream.kind} passed to {method}()"
    x, y, sample_weight = unpack_batch(raw, method == "predict", stream.lists_are_tuples, where)
    if x is None:
        raise ValueError(f"{where} has no inputs: x is None.")
    try:
        return ArrayData(model, x, y, sample_weight, class_weight)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{where}: {err}") from None
