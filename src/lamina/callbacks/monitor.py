"""What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: a monitored quantity and its direction.

Each of those callbacks watches one entry of the epoch logs (`monitor`) and
needs to know whether smaller or larger is better (`mode`). Keras 2 guesses
the direction in "auto" mode from the name, with a rule that differs a little
between the three callbacks; each passes its own rule here.

Example:
    >>> better = Monitor("EarlyStopping", "val_accuracy", "auto", auto_max=accuracy_like)
    >>> better.is_max
    True
"""

from __future__ import annotations

import math
import numbers
import warnings

_MODES = ("auto", "min", "max")


def accuracy_like(monitor: str) -> bool:
    """EarlyStopping's "auto" rule (Keras 2): names ending in acc/accuracy/auc are maximized."""
    return monitor.endswith(("acc", "accuracy", "auc"))


def contains_acc(monitor: str) -> bool:
    """ReduceLROnPlateau's "auto" rule (Keras 2): a name containing "acc" is maximized."""
    return "acc" in monitor


def contains_acc_or_fmeasure(monitor: str) -> bool:
    """ModelCheckpoint's "auto" rule (Keras 2): "acc" anywhere in the name, or a name starting with "fmeasure"."""
    return "acc" in monitor or monitor.startswith("fmeasure")


def check_number(owner: str, name: str, value, minimum=None, integer=False) -> None:
    """Raises a TypeError/ValueError naming `owner` and the argument when `value` is not a fitting number.

    Example:
        >>> check_number("EarlyStopping", "patience", 2, minimum=0, integer=True)
    """
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise TypeError(f"{owner}: {name} must be {expected}, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}.")


class Monitor:
    """The direction of one monitored log entry.

    Args:
        owner: the callback's class name, for messages.
        monitor: the key in the epoch logs, e.g. "val_loss".
        mode: "min", "max", or "auto" (decided from the name by `auto_max`).
        auto_max: the callback's rule for "auto": True when a larger value is better.

    Example:
        >>> Monitor("ReduceLROnPlateau", "val_loss", "auto", contains_acc).better(0.1, 0.2)
        True
    """

    def __init__(self, owner: str, monitor: str, mode: str, auto_max):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"{owner}: monitor must name a logged quantity, e.g. 'val_loss'; got {monitor!r}.")
        if mode not in _MODES:
            raise ValueError(f"{owner}: mode must be one of {list(_MODES)}, got {mode!r}.")
        self.owner = owner
        self.monitor = monitor
        self.mode = mode
        self.is_max = mode == "max" or (mode == "auto" and auto_max(monitor))

    @property
    def worst(self) -> float:
        """The starting "best" value: anything beats it."""
        return -math.inf if self.is_max else math.inf

    def better(self, current, reference, min_delta: float = 0.0) -> bool:
        """True when `current` beats `reference` by more than `min_delta` (>= 0) in this direction."""
        if self.is_max:
            return current - min_delta > reference
        return current + min_delta < reference

    def value(self, logs, what: str):
        """The monitored value from `logs` as a float, or None (with a warning naming what is available)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            available = ", ".join(sorted(logs)) or "none"
            warnings.warn(
                f"{self.owner} {what} conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {available}.",
                stacklevel=3,
            )
            return None
        return float(value)
