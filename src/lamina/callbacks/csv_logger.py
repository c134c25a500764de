"""CSVLogger: one CSV row per epoch with the epoch's logs."""

from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.distribution.multi_host import is_chief


def _cell(value):
    """A log value as CSV text: strings as they are, sequences as "[a, b]", numbers as Python prints them."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Streams the epoch results to a CSV file: `epoch` then the log entries in sorted order.

    The columns are fixed by the first epoch's logs. When those have no `val_` entry,
    a `val_` column is still made for each (filled with "NA" until validation runs, e.g.
    with `validation_freq` > 1), as Keras does. Rows use the CSV "excel" dialect
    (`\\r\\n` line ends) and are flushed to disk after every epoch.

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: add to an existing file (writing the header only if the file is empty)
            instead of overwriting it.

    Example:
        >>> model.fit(x, y, callbacks=[CSVLogger("training.log", separator=";", append=True)])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger: filename must be a path, got {type(filename).__name__}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be a single character, got {separator!r}.")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.append_header = True
        self.keys = None
        self.writer = None
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if not is_chief():  # in a multi-process job only process 0 writes the log
            return
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self._close()
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115 - open for the whole of fit
        self.writer = None
        self.keys = None

    def _columns(self, logs: dict) -> list:
        keys = sorted(logs)
        if keys and not any(key.startswith("val_") for key in keys):
            # Validation may start later (validation_freq > 1): make room for its columns now.
            keys.extend(f"val_{key}" for key in list(keys))
        return keys

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None:  # not process 0 of a multi-process job
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = self._columns(logs)
        if self.writer is None:
            separator = self.sep

            class Dialect(csv.excel):
                delimiter = separator

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None
