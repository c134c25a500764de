"""Changing the learning rate during fit: LearningRateScheduler and ReduceLROnPlateau.

Both write `model.optimizer.learning_rate`, a variable the compiled train step
reads on every call, so the change takes effect at the next step without
recompiling. Both add the learning rate of the epoch to the epoch logs under
Keras 2's name `lr` and Keras 3's name `learning_rate`.
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.callbacks.monitor import Monitor, check_number, contains_acc


def _optimizer(callback, owner: str):
    optimizer = getattr(callback.model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{owner}: the model\'s optimizer must have a "learning_rate" (Keras 2: "lr") attribute.')
    return optimizer


def get_learning_rate(optimizer) -> float:
    """The optimizer's current learning rate as a Python float."""
    return float(np.asarray(optimizer.learning_rate))


def _log_learning_rate(logs, optimizer) -> None:
    if logs is not None:
        value = get_learning_rate(optimizer)
        logs["lr"] = value
        logs["learning_rate"] = value


def _takes_learning_rate(schedule) -> bool | None:
    """Whether `schedule` accepts (epoch, lr); None when its signature cannot be read."""
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch from `schedule`.

    Args:
        schedule: `schedule(epoch)` or `schedule(epoch, lr)` (epoch counts from 0, `lr` is the
            current learning rate) returning the new learning rate as a number.
        verbose: 1 prints the new learning rate every epoch.

    Example:
        >>> def halve_after_ten(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.5
        >>> model.fit(x, y, epochs=20, callbacks=[LearningRateScheduler(halve_after_ten)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be a function schedule(epoch) or schedule(epoch, lr), "
                f"got {type(schedule).__name__}."
            )
        self.schedule = schedule
        self.verbose = verbose

    def _new_rate(self, epoch: int, current: float):
        takes_lr = _takes_learning_rate(self.schedule)
        if takes_lr is None:  # a builtin or C function: try Keras 2's way, the (epoch, lr) form first
            try:
                return self.schedule(epoch, current)
            except TypeError:
                return self.schedule(epoch)
        return self.schedule(epoch, current) if takes_lr else self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer(self, "LearningRateScheduler")
        lr = self._new_rate(epoch, get_learning_rate(optimizer))
        if isinstance(lr, np.ndarray) and lr.ndim == 0:
            lr = lr.item()
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise ValueError(
                f"LearningRateScheduler: the schedule must return a float, got {lr!r} "
                f"({type(lr).__name__}) for epoch {epoch}."
            )
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        _log_learning_rate(logs, _optimizer(self, "LearningRateScheduler"))


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when a monitored quantity stops improving.

    After `patience` epochs without an improvement larger than `min_delta`, the
    learning rate becomes `max(lr * factor, min_lr)` (only while it is above
    `min_lr`); then `cooldown` epochs pass before epochs count towards patience again.

    Args:
        monitor: the log entry to watch.
        factor: the multiplier, in [0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a line at each reduction.
        mode: "min", "max", or "auto" (a name containing "acc" is maximized).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before watching again.
        min_lr: the learning rate never goes below this.
        epsilon: Keras 1's name for min_delta.

    Example:
        >>> reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
        >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce])
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0,
        **kwargs,
    ):
        super().__init__()
        owner = "ReduceLROnPlateau"
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: `epsilon` is deprecated, use `min_delta` instead.", stacklevel=2)
        if kwargs:
            raise TypeError(f"{owner} got unexpected keyword argument(s): {sorted(kwargs)}.")
        check_number(owner, "factor", factor, minimum=0)
        if factor >= 1.0:
            raise ValueError(f"{owner} does not support a factor >= 1.0. Got {factor}")
        check_number(owner, "patience", patience, minimum=0, integer=True)
        check_number(owner, "min_delta", min_delta)
        check_number(owner, "cooldown", cooldown, minimum=0, integer=True)
        check_number(owner, "min_lr", min_lr, minimum=0)
        self._monitor = Monitor(owner, monitor, mode, contains_acc)
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        self.min_delta = float(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = self._monitor.worst
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current: float) -> bool:
        if self._monitor.is_max:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = _optimizer(self, "ReduceLROnPlateau")
        _log_learning_rate(logs, optimizer)  # the rate this epoch trained with, before any reduction
        current = self._monitor.value(logs, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch, optimizer)

    def _reduce(self, epoch: int, optimizer) -> None:
        old_lr = get_learning_rate(optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
