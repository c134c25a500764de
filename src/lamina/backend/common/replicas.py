"""How many replicas the step being traced splits its batch over: 1, except inside a data-parallel step.

The JAX step runner sets it around a data-parallel call (`replica_context`); BatchNormalization reads it
(`replicas_in_step`) so that, as in Keras's data parallelism, each replica normalizes with its own slice's
statistics unless the layer is `synchronized`.

Example:
    >>> with replica_context(4):
    ...     replicas_in_step()
    4
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def replicas_in_step() -> int:
    """The replica count of the step being traced on this thread (1 outside a data-parallel step)."""
    return getattr(_state, "replicas", 1)


@contextlib.contextmanager
def replica_context(count: int):
    """Within the block, `replicas_in_step()` is `count` on this thread."""
    previous = replicas_in_step()
    _state.replicas = count
    try:
        yield
    finally:
        _state.replicas = previous
