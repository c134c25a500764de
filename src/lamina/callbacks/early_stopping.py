"""Stopping training early: EarlyStopping (no more improvement) and TerminateOnNaN (the loss blew up)."""

from __future__ import annotations

import math

from lamina.callbacks.callback import Callback
from lamina.callbacks.monitor import Monitor, accuracy_like, check_number


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving.

    At the end of every epoch the monitored value is compared with the best so
    far; an epoch that does not beat it by more than `min_delta` counts towards
    `patience`. After `patience` such epochs in a row (and never at epoch 0),
    `model.stop_training` is set.

    Args:
        monitor: the log entry to watch, e.g. "val_loss" or "val_accuracy".
        min_delta: the smallest change that counts as an improvement.
        patience: how many epochs without improvement to allow before stopping.
        verbose: 1 prints a line when training stops.
        mode: "min", "max", or "auto" (names ending in acc/accuracy/auc are maximized).
        baseline: training stops unless the monitored value beats this within `patience` epochs.
        restore_best_weights: when stopping, set the weights back to those of the best epoch
            (Keras 2: only when this callback stops training, not at a normal end).
        start_from_epoch: epochs before this one are not watched (a warm-up).

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        owner = "EarlyStopping"
        self._monitor = Monitor(owner, monitor, mode, accuracy_like)
        check_number(owner, "min_delta", min_delta)
        check_number(owner, "patience", patience, minimum=0, integer=True)
        check_number(owner, "start_from_epoch", start_from_epoch, minimum=0, integer=True)
        if baseline is not None:
            check_number(owner, "baseline", baseline)
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._monitor.worst
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor.value(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first watched epoch is the fallback, even if it never counts as an improvement.
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._monitor.better(current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only for a value that also beats the baseline.
            if self.baseline is None or self._monitor.better(current, self.baseline, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")

    def get_monitor_value(self, logs):
        """The monitored value in `logs`, or None (with a warning listing the available entries)."""
        return self._monitor.value(logs, "Early stopping")


class TerminateOnNaN(Callback):
    """Stops training right after a batch whose loss is NaN or infinite.

    It looks at every batch, so fit runs one step per compiled call while it is in use.

    Example:
        >>> model.fit(x, y, callbacks=[TerminateOnNaN()])
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
