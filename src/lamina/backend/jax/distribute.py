"""Data parallelism on JAX: one process, a mesh of devices, state replicated and each batch split over the mesh.

The step functions stay the single-device ones: `jax.jit` compiles them for the shardings of their arguments
(GSPMD), so XLA splits the forward and backward passes by batch and all-reduces the gradients inside the step.
A batch whose size the device count does not divide runs replicated, so no sample is dropped or counted twice.

Across processes (after `initialize`, `jax.distributed`), the mesh holds every process's devices: each process
holds the same global batch on the host and puts only the shards of its own devices there; state that is not yet
on the mesh is taken from the first process (so every replica starts equal); the steps' outputs come back whole on
every process.

Example:
    >>> placement = DataParallelPlacement(jax.devices()[:2])
    >>> state = placement.replicate(state)
    >>> x = placement.split(x, axis=1)  # (steps, batch, ...) arrays: the batch axis is split
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import math
import os
import pkgutil
import sys
import threading
import time

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["DataParallelPlacement", "chief_seed", "initialize", "process_count", "process_index", "single_device"]

BATCH_AXIS = "batch"


class DataParallelPlacement:
    """Where a data-parallel step's arguments live: state on every device, batches split by sample.

    Args:
        devices: The jax devices, in replica order.
    """

    def __init__(self, devices):
        self.devices = list(devices)
        self.mesh = Mesh(np.array(self.devices), (BATCH_AXIS,))
        self._replicated = NamedSharding(self.mesh, PartitionSpec())
        self._split = {}
        here = jax.process_index()
        self.spans_processes = any(device.process_index != here for device in self.devices)
        self._take_chief_rows = None

    @property
    def count(self) -> int:
        return len(self.devices)

    def jit_options(self) -> dict:
        """`jax.jit` options for the steps: across processes every output comes back whole on every process."""
        return {"out_shardings": self._replicated} if self.spans_processes else {}

    def replicate(self, tree):
        """`tree`'s arrays with a copy on every device (a no-op for arrays already placed so).

        Across processes, an array not yet on the mesh takes the first process's value, so replicas that were
        initialized differently (an unseeded initializer, a restore read by one process) still start equal.
        """
        if not self.spans_processes:
            return jax.device_put(tree, self._replicated)
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        fresh = [i for i, leaf in enumerate(leaves) if not _placed(leaf, self._replicated)]
        if fresh:
            chosen = self._from_chief([np.asarray(_addressable_value(leaves[i])) for i in fresh])
            for i, value in zip(fresh, chosen):
                leaves[i] = value
        return jax.tree_util.tree_unflatten(treedef, leaves)

    def _from_chief(self, values: list) -> list:
        """The first process's `values`, replicated on the mesh: one row per device, row `chief` kept by XLA."""
        if self._take_chief_rows is None:
            first = min(device.process_index for device in self.devices)
            chief = next(i for i, device in enumerate(self.devices) if device.process_index == first)
            self._take_chief_rows = jax.jit(lambda rows: [row[chief] for row in rows], out_shardings=self._replicated)
        rows = [
            jax.make_array_from_callback((self.count, *value.shape), self._sharding(0), lambda _, v=value: v[None])
            for value in values
        ]
        return self._take_chief_rows(rows)

    def divides(self, tree, axis: int) -> bool:
        """Whether every array of `tree` splits evenly along `axis` over the devices."""
        leaves = jax.tree_util.tree_leaves(tree)
        return bool(leaves) and all(np.ndim(leaf) > axis and np.shape(leaf)[axis] % self.count == 0 for leaf in leaves)

    def split(self, tree, axis: int):
        """`tree`'s arrays split along `axis` over the devices, or replicated when the count does not divide it.

        Across processes every process holds the same `tree` on the host and puts only its own devices' shards.
        """
        sharding = self._sharding(axis) if self.divides(tree, axis) else self._replicated
        if not self.spans_processes:
            return jax.device_put(tree, sharding)
        return jax.tree_util.tree_map(lambda leaf: _from_host(leaf, sharding), tree)

    def _sharding(self, axis: int) -> NamedSharding:
        if axis not in self._split:
            self._split[axis] = NamedSharding(self.mesh, PartitionSpec(*([None] * axis), BATCH_AXIS))
        return self._split[axis]


def single_device(tree):
    """`tree`'s arrays on JAX's default device when a data-parallel step left them on several devices.

    A model trained through `multi_gpu_model` shares its variables with the template; the template's own
    (single-device) steps bring them back to one device rather than run replicated on all of them.
    """
    leaves = jax.tree_util.tree_leaves(tree)
    if not any(isinstance(leaf, jax.Array) and len(leaf.sharding.device_set) > 1 for leaf in leaves):
        return tree
    # Across processes a replicated array keeps a copy here: that copy moves, nothing crosses processes.
    local = jax.tree_util.tree_map(lambda leaf: _addressable_value(leaf) if _spans_processes(leaf) else leaf, tree)
    return jax.device_put(local, jax.local_devices()[0])


def _spans_processes(leaf) -> bool:
    return isinstance(leaf, jax.Array) and not leaf.is_fully_addressable


def _placed(leaf, sharding) -> bool:
    return isinstance(leaf, jax.Array) and leaf.sharding.is_equivalent_to(sharding, leaf.ndim)


def _addressable_value(leaf):
    """A value this process holds whole: a replicated array's local copy, else the value itself."""
    if _spans_processes(leaf):
        if not leaf.is_fully_replicated:
            raise ValueError(f"An array of shape {leaf.shape} is split over other processes' devices: no copy here.")
        return leaf.addressable_data(0)
    return leaf


def _from_host(leaf, sharding):
    """`leaf` (the same on every process) on `sharding`'s devices, each process putting only its own shards."""
    if _spans_processes(leaf):
        return leaf
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


# ----------------------------------------------------------------------------------------------- processes
def initialize(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Joins this process to a job of `num_processes` (`jax.distributed.initialize`); a repeat call is a no-op.

    On CPU the processes' all-reduces run over gloo (`jax_cpu_collectives_implementation`), each bounded by
    LAMINA_DISTRIBUTED_TIMEOUT, in a recoverable job: a process that dies makes the others' collectives fail with
    an error naming it (`peer_failure`) rather than hang or be aborted.

    Example:
        >>> initialize("10.0.0.1:1234", num_processes=2, process_id=0)  # before any computation
    """
    if jax.distributed.is_initialized():
        if (jax.process_count(), jax.process_index()) != (num_processes, process_id):
            raise RuntimeError(
                f"initialize: this process already joined a job as process {jax.process_index()} of "
                f"{jax.process_count()}; it cannot join another (asked: {process_id} of {num_processes})."
            )
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    timeout = _timeout_s()
    on_cpu = _collectives_on_cpu()
    undo = _bound_cpu_collectives(timeout) if on_cpu else (lambda: None)
    try:
        jax.distributed.initialize(
            coordinator_address, num_processes, process_id, heartbeat_timeout_seconds=min(timeout, 100)
        )
    except RuntimeError as error:
        undo()
        if "before any JAX" not in str(error):
            raise
        raise RuntimeError(
            "initialize: call lamina.distribution.initialize() at the start of the program, before any model, "
            f"variable or computation is made (JAX says: {error})"
        ) from error
    if on_cpu:
        atexit.register(_leave_last, timeout)


# ---------------------------------------------------------------------------------------- a process that stops
# JAX's CPU collectives (gloo) do not notice a peer process that died: they wait for XLA's collective timeout
# (--xla_cpu_collective_timeout_seconds; by default still waiting after 100 s, jax 0.10). And the coordination
# service's default reaction to a missed heartbeat (100 s) is to abort every other process from a background thread,
# with no Python error and no cleanup. On CPU lamina therefore bounds each collective by
# LAMINA_DISTRIBUTED_TIMEOUT and runs the job recoverable: a collective whose peer died fails with an error in
# Python, which `peer_failure` turns into one that names the process that stopped; at exit process 0, which runs the
# coordination service, waits for the others to leave (the recoverable service does not), unless it is failing.
_DEFAULT_TIMEOUT_S = 600.0
_COLLECTIVE_TIMEOUT_FLAG = "--xla_cpu_collective_timeout_seconds"
_FAILING_GRACE_S = 5
# Words of the errors of a collective whose peer is gone (gloo's, through XLA).
_PEER_ERRORS = ("Gloo", "gloo", "Connection closed by peer", "Connection reset by peer")


def _timeout_s() -> int:
    """LAMINA_DISTRIBUTED_TIMEOUT (seconds, default 600), a whole number of seconds >= 1."""
    text = os.environ.get("LAMINA_DISTRIBUTED_TIMEOUT", "")
    try:
        value = float(text) if text.strip() else _DEFAULT_TIMEOUT_S
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"LAMINA_DISTRIBUTED_TIMEOUT must be a positive number of seconds, got {text!r}.")
    return max(1, math.ceil(value))


def _collectives_on_cpu() -> bool:
    """Whether this job's collectives will be JAX's CPU ones: JAX_PLATFORMS says cpu, or no accelerator plugin."""
    platforms = (jax.config.jax_platforms or "").strip().lower()
    if platforms:
        return platforms.split(",")[0].strip() == "cpu"
    plugins = [entry.name for entry in importlib.metadata.entry_points(group="jax_plugins")]
    try:
        import jax_plugins

        plugins += [module.name for module in pkgutil.iter_modules(jax_plugins.__path__)]
    except ImportError:
        pass
    return not plugins and importlib.util.find_spec("libtpu") is None


def _bound_cpu_collectives(timeout: int):
    """Each CPU collective fails after `timeout` s, and the job is recoverable; returns what undoes both."""
    flags = os.environ.get("XLA_FLAGS")
    recoverable = jax.config.jax_enable_recoverability
    if _COLLECTIVE_TIMEOUT_FLAG not in (flags or ""):  # the user's own setting wins
        os.environ["XLA_FLAGS"] = f"{flags or ''} {_COLLECTIVE_TIMEOUT_FLAG}={timeout}".strip()
    jax.config.update("jax_enable_recoverability", True)

    def undo():
        if flags is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = flags
        jax.config.update("jax_enable_recoverability", recoverable)

    return undo


def _client():
    """JAX's distributed runtime client (no public accessor: jax.experimental.multihost_utils reads it so too)."""
    from jax._src import distributed

    return distributed.global_state.client


def _leave_last(timeout: int) -> None:
    """At exit, process 0 waits (at most `timeout` s) for the other processes to disconnect.

    Process 0 runs the coordination service, and the recoverable service does not hold it until the others have
    left: a process that tells a stopped service that it leaves is aborted. A failing process 0 (an uncaught error)
    waits a few seconds only, for processes that are leaving too: JAX then stops the others, which may be waiting
    for it in a collective, at once.
    """
    if jax.process_index() != 0 or _client() is None:
        return
    failing = getattr(sys, "last_value", None) is not None
    deadline = time.monotonic() + (min(timeout, _FAILING_GRACE_S) if failing else timeout)
    while time.monotonic() < deadline:
        stopped = _stopped_processes(deadline - time.monotonic())
        if stopped is None or len(stopped) == jax.process_count() - 1:
            return


def _stopped_processes(wait_s: float) -> list | None:
    """The processes of the job that stopped, as the coordination service knows them; None if it does not answer.

    JAX's `get_live_nodes` waits for every live process to ask too, or to disconnect, or to be found dead by its
    heartbeat: it runs in a thread and is given up after `wait_s`.
    """
    everyone = list(range(jax.process_count()))
    found = {}

    def ask():
        with contextlib.suppress(Exception):  # a service that is gone: no answer
            found["live"] = _client().get_live_nodes(everyone)

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(wait_s)
    if "live" not in found:
        return None
    return [index for index in everyone if index not in found["live"]]


def peer_failure(error) -> RuntimeError | None:
    """The error to raise for `error` when it is a collective that failed because another process stopped, else None.

    Example:
        >>> try:
        ...     jax.device_get(outputs)
        ... except jax.errors.JaxRuntimeError as error:
        ...     raise peer_failure(error) or error
    """
    text = str(error)
    if jax.process_count() == 1 or not isinstance(error, jax.errors.JaxRuntimeError):
        return None
    if not any(word in text for word in _PEER_ERRORS):
        return None
    count = jax.process_count()
    stopped = _stopped_processes(min(_timeout_s(), 100) + 5.0)
    said = text.strip().splitlines()[0]
    if stopped:
        names = ", ".join(str(index) for index in stopped)
        return RuntimeError(
            f"Process {names} of this {count}-process job stopped (JAX's coordinator lost it), so "
            f"the collective operation this process {jax.process_index()} was running failed. Start every process "
            f"of the job again; BackupAndRestore resumes the fit from its last backup. (JAX said: {said})"
        )
    return RuntimeError(
        f"A collective operation of this {count}-process job failed on process {jax.process_index()} "
        f"(another process stopped or is stuck for longer than LAMINA_DISTRIBUTED_TIMEOUT). Start every process "
        f"of the job again; BackupAndRestore resumes the fit from its last backup. (JAX said: {said})"
    )


def process_index() -> int:
    """This process's index in the job (0 when there is one process)."""
    return jax.process_index()


def process_count() -> int:
    """How many processes the job has (1 without `initialize`)."""
    return jax.process_count()


def chief_seed(seed: int) -> int:
    """Process 0's `seed` on every process (`seed` itself with one process), for shuffles all processes share."""
    if jax.process_count() == 1:
        return int(seed)
    from jax.experimental import multihost_utils

    words = np.array([int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF], dtype=np.uint32)
    low, high = (int(word) for word in multihost_utils.broadcast_one_to_all(words))
    return low | (high << 32)
