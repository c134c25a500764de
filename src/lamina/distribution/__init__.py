"""Keras 3's distribution API: data parallelism for a plain `model.fit`, set once for the whole program.

`set_distribution(DataParallel(...))` (or `with DataParallel(...).scope():`) makes every model compiled from then on
split each batch over the devices, keep a copy of the weights on each and reduce the gradients inside the compiled
step, so its numbers are those of one device training on the whole batch. `multi_gpu_model` (Keras 2's way,
`lamina.utils.multi_gpu_model`) uses the same machinery for one model. The JAX engine runs it on a device mesh in
one process; the torch engine in one process per device (backend/torch/distribute.py). Several processes (machines) join
one job with `initialize()` (`lamina.distribution.multi_host`); `DataParallel()` then spans all their devices on
JAX, and all the processes on torch (one device each; `multi_gpu_model` too).

Example:
    >>> lamina.distribution.set_distribution(lamina.distribution.DataParallel())  # every GPU (or CPU device)
    >>> model.compile("adam", "mse")
    >>> model.fit(x, y, batch_size=256)  # each device trains on 256 / count samples of each batch
"""

from __future__ import annotations

import contextlib
import threading

from lamina.backend import engine
from lamina.backend.common.device import parse_device_name
from lamina.backend.common.replicas import replica_context as replica_context
from lamina.backend.common.replicas import replicas_in_step as replicas_in_step
from lamina.distribution.multi_host import initialize as initialize
from lamina.distribution.multi_host import is_chief as is_chief
from lamina.distribution.multi_host import num_processes as num_processes
from lamina.distribution.multi_host import process_index as process_index

__all__ = [
    "DataParallel",
    "DeviceMesh",
    "distribution",
    "initialize",
    "is_chief",
    "list_devices",
    "num_processes",
    "process_index",
    "set_distribution",
]

_state = threading.local()
_global = {"distribution": None}


def list_devices(device_type: str | None = None) -> list:
    """The devices the engine sees, as "gpu:0", "cpu:1", ...: GPUs when there are any, else the CPU devices.

    Args:
        device_type: "cpu" or "gpu" to list only that kind; None for the accelerator kind this machine has.

    Example:
        >>> list_devices()  # JAX started with --xla_force_host_platform_device_count=2
        ['cpu:0', 'cpu:1']
    """
    names = engine.core.list_devices()
    if device_type is None:
        gpus = [name for name in names if name.startswith("gpu:")]
        return gpus or [name for name in names if name.startswith("cpu:")]
    kind = str(device_type).lower()
    if kind not in ("cpu", "gpu"):
        raise ValueError(f"list_devices: `device_type` must be 'cpu', 'gpu' or None, got {device_type!r}.")
    return [name for name in names if name.startswith(kind + ":")]


class DeviceMesh:
    """Devices laid out on named axes; data parallelism uses a one-axis mesh ("batch").

    Args:
        shape: The mesh's shape, e.g. (8,).
        axis_names: One name per axis, e.g. ["batch"].
        devices: The device names ("gpu:0", ...), as many as the shape holds; None for `list_devices()`.

    Example:
        >>> mesh = DeviceMesh((2,), ["batch"], devices=["cpu:0", "cpu:1"])
    """

    def __init__(self, shape, axis_names, devices=None):
        self.shape = tuple(int(size) for size in shape)
        self.axis_names = list(axis_names)
        if len(self.axis_names) != len(self.shape):
            raise ValueError(
                f"DeviceMesh: `shape` {self.shape} and `axis_names` {self.axis_names} must have the same length."
            )
        self.devices = _checked_devices("DeviceMesh", devices)
        size = 1
        for axis in self.shape:
            size *= axis
        if size != len(self.devices):
            raise ValueError(
                f"DeviceMesh: `shape` {self.shape} holds {size} devices but {len(self.devices)} were given "
                f"({self.devices})."
            )


class DataParallel:
    """Data parallelism: each batch split over the devices, the weights replicated, the gradients all-reduced.

    Args:
        device_mesh: A one-axis `DeviceMesh` (its devices are used), or None.
        devices: Device names ("gpu:0", "cpu:1", ...); None (and no mesh) for every device of `list_devices()`.

    Example:
        >>> with DataParallel(devices=["gpu:0", "gpu:1"]).scope():
        ...     model.compile("sgd", "mse")
        >>> model.fit(x, y, batch_size=64)  # 32 samples per GPU per step
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices=None):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel: pass `device_mesh` or `devices`, not both.")
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh) or len(device_mesh.shape) != 1:
                raise ValueError(f"DataParallel: `device_mesh` must be a one-axis DeviceMesh, got {device_mesh!r}.")
            devices = device_mesh.devices
        self.devices = _checked_devices("DataParallel", devices)
        self.device_mesh = device_mesh or DeviceMesh((len(self.devices),), ["batch"], self.devices)
        self._placement = None

    @property
    def num_replicas(self) -> int:
        return len(self.devices)

    def placement(self):
        """The engine's placement of step arguments for these devices (made once)."""
        if self._placement is None:
            handles = [engine.core.resolve_device(*parse_device_name(name)) for name in self.devices]
            self._placement = engine.distribute.DataParallelPlacement(handles)
        return self._placement

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside run data-parallel (this thread, until the block ends)."""
        stack = _stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def __repr__(self) -> str:
        return f"DataParallel(devices={getattr(self, 'devices', None)})"  # also for one whose __init__ failed


def set_distribution(value: DataParallel | None) -> None:
    """Makes `value` the distribution of every model compiled from now on (None: back to one device).

    Example:
        >>> set_distribution(DataParallel())
    """
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution: expected a DataParallel or None, got {value!r}.")
    _global["distribution"] = value


def distribution() -> DataParallel | None:
    """The distribution in effect: the innermost `scope()`, else `set_distribution`'s, else None.

    Example:
        >>> distribution() is None  # one device
        True
    """
    stack = _stack()
    return stack[-1] if stack else _global["distribution"]


def placement_for(model):
    """The engine placement a model's steps use: its own (multi_gpu_model), the current distribution's, else that of
    the distribution the model was compiled under; or None."""
    chosen = getattr(model, "_data_parallel", None) or distribution() or getattr(model, "_distribution", None)
    return None if chosen is None else chosen.placement()


def _stack() -> list:
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    return stack


def _checked_devices(owner: str, devices) -> list:
    """Device names in lamina's form ("gpu:0"), each one this machine has; every device of list_devices() if None."""
    available = engine.core.list_devices()
    if devices is None:
        return list_devices()
    if isinstance(devices, str) or not devices:
        raise ValueError(f"{owner}: `devices` must be a non-empty list of device names, got {devices!r}.")
    names = []
    for device in devices:
        kind, index = parse_device_name(device)
        name = f"{kind}:{index}"
        if name not in available:
            raise ValueError(f"{owner}: no device {device!r} on this machine (it has: {', '.join(available)}).")
        if name in names:
            raise ValueError(f"{owner}: device {device!r} is listed twice in {list(devices)}.")
        names.append(name)
    return names
