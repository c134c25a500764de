"""The stateless scope: how layers run as pure functions under `jit`.

Inside a `StatelessScope`, reading `variable.value` gives the value the scope
holds for that variable (a traced array in a jitted step), and
`variable.assign(v)` records `v` in the scope instead of changing the
variable. The trainer opens a scope with the step's state, runs the model, and
reads the new values back out: layers, optimizers and metrics are written once,
with ordinary reads and assignments, and still run as pure functions.
"""

from __future__ import annotations

import threading

_local = threading.local()
# How many scopes are open in all threads together: while none is, `Variable.value` skips the lookup.
OPEN = [0]
_open_lock = threading.Lock()


def current_stateless_scope():
    """The innermost open StatelessScope, or None."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


class StatelessScope:
    """Maps variables to values for the duration of a `with` block.

    Example:
        >>> with StatelessScope([(layer.kernel, new_kernel)]) as scope:
        ...     y = layer(x)
        ...     updated = scope.get_current_value(layer.kernel)
    """

    def __init__(self, state_mapping=()):
        self._values = {}
        for variable, value in state_mapping:
            self._values[id(variable)] = variable._convert(value)

    def add_update(self, variable, value) -> None:
        self._values[id(variable)] = value

    def get_current_value(self, variable):
        """The scope's value for `variable`, or None if it holds none."""
        return self._values.get(id(variable))

    def values_for(self, variables) -> list:
        """The current value of each variable: the scope's if it has one, else the variable's own."""
        return [self._values.get(id(v), v._value) for v in variables]

    def __enter__(self):
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self)
        with _open_lock:
            OPEN[0] += 1
        return self

    def __exit__(self, *exc):
        _local.stack.pop()
        with _open_lock:
            OPEN[0] -= 1
        return False
