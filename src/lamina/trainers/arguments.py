"""The checks and small conversions of fit / evaluate / predict's arguments, shared by the Trainer's methods."""

from __future__ import annotations

import numpy as np

from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.utils import nest


def progbar_logger(verbose: int, user_callbacks: list) -> list:
    """The built-in ProgbarLogger for verbose 1 or 2, unless the caller passed one (as in Keras)."""
    if not verbose or any(isinstance(c, ProgbarLogger) for c in user_callbacks):
        return []
    return [ProgbarLogger(count_mode="steps")]


def symbolic_specs(x, batch_size=None):
    from lamina.backend import KerasTensor

    return nest.map_structure(lambda a: KerasTensor((batch_size, *a.shape[1:]), dtype=str(a.dtype)), x)


def reject_unknown(kwargs: dict, method: str) -> None:
    if kwargs:
        raise TypeError(f"{method}() got unexpected keyword argument(s): {sorted(kwargs)}.")


def loading_arguments(max_queue_size, workers, use_multiprocessing) -> dict:
    return {"max_queue_size": max_queue_size, "workers": workers, "use_multiprocessing": use_multiprocessing}


def check_batch_size(batch_size) -> int:
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return int(batch_size)


def unpack_validation(validation_data):
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
            f"got {type(validation_data).__name__}."
        )
    return tuple(validation_data)


def evaluate_result(logs: dict, return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
