"""Device scopes: which device the layers called inside `with lamina.backend.device(...)` use.

The stack holds engine device handles; each engine reads the innermost one when it
creates variables and tensors, and layers move their inputs onto it.
"""

from __future__ import annotations

import re
import threading

_local = threading.local()

_NAME = re.compile(
    r"^(?:/?(?:job:[^/]+/)?(?:replica:\d+/)?(?:task:\d+/)?(?:device:)?)?(cpu|gpu|cuda)(?::(\d+))?$", re.I
)


def parse_device_name(name: str) -> tuple:
    """("cpu" or "gpu", index) from "gpu:1", "/gpu:0", "/device:GPU:0", "cuda:1", "cpu" ...

    Example:
        >>> parse_device_name("/gpu:1")
        ('gpu', 1)
    """
    match = _NAME.match(str(name).strip())
    if match is None:
        raise ValueError(
            f"Unknown device name {name!r}: expected 'cpu', 'cpu:N', 'gpu:N' "
            "(also '/gpu:N', '/device:GPU:N', 'cuda:N')."
        )
    kind = "gpu" if match.group(1).lower() in ("gpu", "cuda") else "cpu"
    return kind, int(match.group(2) or 0)


def push(handle) -> None:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(handle)


def pop() -> None:
    _local.stack.pop()


def current():
    """The innermost scoped device handle, or None outside any scope."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def handles() -> tuple:
    """Every scoped device handle of this thread, outermost first."""
    return tuple(getattr(_local, "stack", None) or ())


def devices_ran_on(node) -> set:
    """The names ("cpu:1", "gpu:0", ...) of the devices holding a graph node's outputs after its last placed call.

    Example:
        >>> devices_ran_on(model._nodes[2])
        {'cpu:1'}
    """
    return set(getattr(node, "_ran_on", ()))
