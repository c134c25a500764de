"""Autocasting: inside a mixed-precision layer's call, float variables read as the compute dtype.

A layer under "mixed_float16" stores its weights in float32 and computes in float16. While its `call`
runs, an `AutocastScope("float16")` is open, and reading a float variable's `value` gives it cast to
float16 (a differentiable cast, so gradients reach the float32 weight). A variable created with
`add_weight(..., autocast=False)` is never cast. A layer whose policy is not mixed opens
`AutocastScope(None)`, so a float32 layer inside a mixed one reads its weights as they are.

Example:
    >>> with AutocastScope("float16"):
    ...     kernel = layer.kernel.value  # float16
"""

from __future__ import annotations

import threading

from lamina.backend.common.dtypes import is_float_dtype

_state = threading.local()
# How many scopes are open in all threads: while 0 (no mixed precision anywhere) a variable read skips the
# thread-local lookup entirely.
ACTIVE = [0]


def current_autocast_dtype() -> str | None:
    """The dtype float variables read as now, or None."""
    return getattr(_state, "dtype", None)


class AutocastScope:
    """Float variables read inside the block come out in `dtype` (None: as stored)."""

    def __init__(self, dtype: str | None):
        self.dtype = dtype
        self._previous = None

    def __enter__(self):
        self._previous = getattr(_state, "dtype", None)
        _state.dtype = self.dtype
        ACTIVE[0] += 1
        return self

    def __exit__(self, *exc):
        _state.dtype = self._previous
        ACTIVE[0] -= 1
        return False


def maybe_autocast(variable, value):
    """`value` (the variable's stored value) cast to the scope's dtype where the variable is autocast."""
    dtype = getattr(_state, "dtype", None)
    if dtype is None or variable._dtype == dtype or not getattr(variable, "autocast", True):
        return value
    if not is_float_dtype(variable._dtype):
        return value
    from lamina.backend import engine

    return engine.core.cast(value, dtype)
