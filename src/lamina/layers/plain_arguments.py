"""Keras 2's leniency about NumPy integers in layer arguments.

Keras 2 programs pass sizes computed with NumPy (`Dense(np.max(y_train) + 1)`, `Conv2D(n, (k, k))` with `k`
an `np.int64`). Every layer's `__init__` sees such numbers as plain Python ints, so the layers' own checks
accept them and configs stay JSON-serializable.
"""

from __future__ import annotations

import functools

import numpy as np

from lamina.layers.keras1_arguments import built_in_conversion


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


def _plain_arguments(init, keras1=None):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):  # noqa: N807 - it replaces the layer's own __init__
        args = tuple(plain_numbers(arg) for arg in args)
        kwargs = {name: plain_numbers(arg) for name, arg in kwargs.items()}
        if keras1 is not None:  # Keras 1 arguments (`Dense(output_dim=3)`) in their Keras 2 form, as Keras 2 did
            args, kwargs = keras1(self, args, kwargs)
        init(self, *args, **kwargs)

    __init__._takes_numpy_integers = True
    return __init__


def accept_numpy_integers(cls) -> None:
    """Wraps `cls.__init__` (when the class defines one) so that NumPy integer arguments arrive as ints.

    Called by `Layer.__init_subclass__` for every layer class, built in or user-defined. A lamina layer class
    that Keras 2 gave a legacy interface (`lamina.layers.keras1_arguments`) also takes its Keras 1 arguments,
    even when it inherits its `__init__`.
    """
    keras1 = built_in_conversion(cls)
    init = cls.__dict__.get("__init__")
    if init is None and keras1 is not None:
        init = cls.__init__
    if init is not None and (keras1 is not None or not getattr(init, "_takes_numpy_integers", False)):
        cls.__init__ = _plain_arguments(init, keras1)
