"""ModelCheckpoint: saves the model (or its weights) during fit, every epoch or every N batches."""

from __future__ import annotations

import os
import warnings

from lamina.callbacks.callback import Callback
from lamina.callbacks.monitor import Monitor, check_number, contains_acc_or_fmeasure
from lamina.distribution.multi_host import is_chief


class ModelCheckpoint(Callback):
    """Saves the model or its weights at some frequency, optionally only when a monitored value improves.

    `filepath` may hold format fields filled from the epoch (counting from 1), the
    batch (with an integer `save_freq`, counting from 1) and the log entries:
    `"weights.{epoch:02d}-{val_loss:.2f}.h5"`. A name ending in `.keras` gives Keras 3's
    zip format, any other the Keras HDF5 layout. Every save writes a temporary file
    and moves it into place, so an interrupted save leaves the previous file intact.

    Args:
        filepath: where to save (a template, see above). Missing folders are created.
        monitor: the log entry compared for `save_best_only`.
        verbose: 1 prints a line at each save.
        save_best_only: save only when `monitor` beats the best value so far (a fixed
            `filepath` then always holds the best model).
        save_weights_only: `model.save_weights(filepath)` instead of `model.save(filepath)`.
        mode: "min", "max", or "auto" ("acc" in the name, or a name starting with "fmeasure", is maximized).
        save_freq: "epoch", or an integer: save after every that many batches (the logs are then
            the running values of the epoch so far).
        options: accepted for Keras 2 compatibility (TensorFlow save options); must be None.
        initial_value_threshold: the "best" value to beat at the start, for `save_best_only`.
        period: Keras 2's deprecated "save every `period` epochs".

    Example:
        >>> checkpoint = ModelCheckpoint("weights.{epoch:02d}-{val_loss:.2f}.h5", save_weights_only=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        options=None,
        initial_value_threshold=None,
        **kwargs,
    ):
        super().__init__()
        owner = "ModelCheckpoint"
        self.period = kwargs.pop("period", 1)
        kwargs.pop("load_weights_on_restart", None)  # Keras 2 multi-worker option without effect here
        if kwargs:
            raise TypeError(f"{owner} got unexpected keyword argument(s): {sorted(kwargs)}.")
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise TypeError(f"{owner}: filepath must be a file path (str), got {filepath!r}.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or integer")
        check_number(owner, "period", self.period, minimum=1, integer=True)
        if options is not None:
            raise ValueError(f"{owner}: options (TensorFlow save options) are not supported; got {options!r}.")
        if initial_value_threshold is not None:
            check_number(owner, "initial_value_threshold", initial_value_threshold)
        self._monitor = Monitor(owner, monitor, mode, contains_acc_or_fmeasure)
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = self._monitor.worst if initial_value_threshold is None else float(initial_value_threshold)
        self.epochs_since_last_save = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def needs_every_batch(self) -> bool:
        """Only an integer save_freq needs the batch hooks; per-epoch saving lets fit fuse steps."""
        return self.save_freq != "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch started: batch counts from 0 again
            seen = batch + 1
        else:
            seen = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch: int, batch, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            available = ["epoch"] + ([] if batch is None else ["batch"]) + sorted(logs)
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {error} is not one of '
                f"the available fields {available}."
            ) from None

    def _save_model(self, epoch: int, batch, logs) -> None:
        if not is_chief():  # in a multi-process job only process 0 writes (and says so)
            return
        logs = dict(logs or {})
        if not isinstance(self.save_freq, int) and self.epochs_since_last_save < self.period:
            return
        self.epochs_since_last_save = 0
        filepath = self._get_file_path(epoch, batch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            self._write(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", stacklevel=3)
            return
        current = float(current)
        if self._monitor.better(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                    f"saving model to {filepath}"
                )
            self.best = current
            self._write(filepath)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")

    def _write(self, filepath: str) -> None:
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
