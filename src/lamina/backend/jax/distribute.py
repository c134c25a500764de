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

    On CPU the processes' all-reduces run over gloo (`jax_cpu_collectives_implementation`).

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
    try:
        jax.distributed.initialize(coordinator_address, num_processes, process_id)
    except RuntimeError as error:
        if "before any JAX" not in str(error):
            raise
        raise RuntimeError(
            "initialize: call lamina.distribution.initialize() at the start of the program, before any model, "
            f"variable or computation is made (JAX says: {error})"
        ) from error


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
