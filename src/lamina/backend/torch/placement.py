"""Device parallelism on torch: a device-scoped layer's weights and computation live on its device.

torch runs eagerly, so a node of a functional model called under `lamina.backend.device(...)` simply runs there:
its weights were made on that device, its inputs move to it at the boundary (`Layer.__call__`), and the next node
moves them on. `pipelined` changes nothing here; it exists so that both engines' step runners read the same.

Example:
    >>> outputs, mask = call_on_device(cuda1, [node], run_node, (args, kwargs, in_mask), key)
"""

from __future__ import annotations

import contextlib

import torch

from lamina.backend.common.device import devices_ran_on
from lamina.backend.torch.core import device_scope

__all__ = ["call_on_device", "devices_ran_on", "is_pipelined", "pipelined"]


@contextlib.contextmanager
def pipelined(home):
    """No-op on torch (eager calls already run where their scopes say).

    Example:
        >>> with pipelined(torch.device("cpu")):
        ...     y = model(x)
    """
    yield home


def is_pipelined() -> bool:
    """Always False on torch: there is no whole-step program to split."""
    return False


def call_on_device(device, nodes, fn, tree, key):
    """`fn(*tree)` (the calls of graph `nodes`) under a device scope on `device` (None: no scope).

    Example:
        >>> outputs, mask = call_on_device(cuda1, [node], run_node, (args, kwargs, in_mask), key)
    """
    if device is None:
        outputs = fn(*tree)
    else:
        with device_scope(device):
            outputs = fn(*tree)
    ran_on = sorted({_name(t.device) for t in _tensors(outputs)})
    for node in nodes:
        node._ran_on = ran_on
    return outputs


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from _tensors(item)


def _name(device) -> str:
    kind = "gpu" if device.type == "cuda" else device.type
    return f"{kind}:{device.index or 0}"
