"""Reading one batch file of the CIFAR-10/100 python tarballs, without unrestricted pickle."""

from __future__ import annotations

import numpy as np

from lamina.datasets._safe_load import load_pickle


def load_batch(fpath, label_key="labels"):
    """One CIFAR batch: its images as uint8 (n, 3, 32, 32) and its labels (a list).

    The batch is a Python 2 pickle of a dict; it is read with a restricted unpickler
    (`lamina.datasets._safe_load.SafeUnpickler`) that builds only NumPy arrays and builtins.

    Args:
        fpath: the batch file (`data_batch_1`, `test_batch`, `train`, `test`).
        label_key: "labels" (CIFAR-10), "fine_labels" or "coarse_labels" (CIFAR-100).

    Example:
        >>> x, y = load_batch("cifar-10-batches-py/test_batch")  # doctest: +SKIP
        >>> x.shape
        (10000, 3, 32, 32)
    """
    batch = load_pickle(fpath, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"Cannot read {fpath!r} as a CIFAR batch: it holds a {type(batch).__name__}, not a dict.")
    batch = {key.decode("utf8") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    for key in ("data", label_key):
        if key not in batch:
            raise ValueError(f"Cannot read {fpath!r} as a CIFAR batch: it has no {key!r} entry.")
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]
