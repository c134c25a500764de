"""Data parallelism on JAX: one process, a mesh of devices, state replicated and each batch split over the mesh.

The step functions stay the single-device ones: `jax.jit` compiles them for the shardings of their arguments
(GSPMD), so XLA splits the forward and backward passes by batch and all-reduces the gradients inside the step.
A batch whose size the device count does not divide runs replicated, so no sample is dropped or counted twice.

Example:
    >>> placement = DataParallelPlacement(jax.devices()[:2])
    >>> state = placement.replicate(state)
    >>> x = placement.split(x, axis=1)  # (steps, batch, ...) arrays: the batch axis is split
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["DataParallelPlacement", "single_device"]

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

    @property
    def count(self) -> int:
        return len(self.devices)

    def replicate(self, tree):
        """`tree`'s arrays with a copy on every device (a no-op for arrays already placed so)."""
        return jax.device_put(tree, self._replicated)

    def divides(self, tree, axis: int) -> bool:
        """Whether every array of `tree` splits evenly along `axis` over the devices."""
        leaves = jax.tree_util.tree_leaves(tree)
        return bool(leaves) and all(np.ndim(leaf) > axis and np.shape(leaf)[axis] % self.count == 0 for leaf in leaves)

    def split(self, tree, axis: int):
        """`tree`'s arrays split along `axis` over the devices, or replicated when the count does not divide it."""
        if not self.divides(tree, axis):
            return self.replicate(tree)
        if axis not in self._split:
            self._split[axis] = NamedSharding(self.mesh, PartitionSpec(*([None] * axis), BATCH_AXIS))
        return jax.device_put(tree, self._split[axis])


def single_device(tree):
    """`tree`'s arrays on JAX's default device when a data-parallel step left them on several devices.

    A model trained through `multi_gpu_model` shares its variables with the template; the template's own
    (single-device) steps bring them back to one device rather than run replicated on all of them.
    """
    leaves = jax.tree_util.tree_leaves(tree)
    if not any(isinstance(leaf, jax.Array) and len(leaf.sharding.device_set) > 1 for leaf in leaves):
        return tree
    return jax.device_put(tree, jax.devices()[0])
