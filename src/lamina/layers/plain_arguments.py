"""Keras 2's leniency about NumPy integers in layer arguments.

Keras 2 programs pass sizes computed with NumPy (`Dense(np.max(y_train) + 1)`, `Conv2D(n, (k, k))` with `k`
an `np.int64`). Every layer's `__init__` sees such numbers as plain Python ints, so the layers' own checks
accept them and configs stay JSON-serializable.
"""

from __future__ import annotations

import functools

import numpy as np


def plain_numbers(value):
    """`value` with NumPy integers (alone or inside tuples and lists) turned into Python ints.

    Anything else, including arrays and bools, comes back as it is (the same object when nothing changed).

    Example:
        >>> plain_numbers((np.int64(3), 3))
        (3, 3)
    """
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (tuple, list)) and type(value) in (tuple, list):
        items = [plain_numbers(item) for item in value]
        if any(new is not old for new, old in zip(items, value)):
            return type(value)(items)
    return value


def _plain_arguments(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):  # noqa: N807 - it replaces the layer's own __init__
        args = tuple(plain_numbers(arg) for arg in args)
        kwargs = {name: plain_numbers(arg) for name, arg in kwargs.items()}
        init(self, *args, **kwargs)

    __init__._takes_numpy_integers = True
    return __init__


def accept_numpy_integers(cls) -> None:
    """Wraps `cls.__init__` (when the class defines one) so that NumPy integer arguments arrive as ints.

    Called by `Layer.__init_subclass__` for every layer class, built in or user-defined.
    """
    init = cls.__dict__.get("__init__")
    if init is not None and not getattr(init, "_takes_numpy_integers", False):
        cls.__init__ = _plain_arguments(init)
