"""Data parallelism on torch: one process per device, gradients all-reduced with `torch.distributed`.

The main process is replica 0: it keeps the model, the callbacks and the metrics. The first data-parallel call
starts one worker process per further device (`torch.multiprocessing`: spawned for GPUs, forked for CPU devices)
and joins them in a process group over tcp://127.0.0.1 (NCCL on GPUs, gloo on CPU); they stop at exit. Each worker
rebuilds the model from lamina's own file format (architecture, weights, compile arguments; registered custom
objects are passed along; a spawned worker does not run the user's script, so classes defined in the script itself
are unknown there) and then, for each call, receives its slice of every batch (NumPy arrays through a pipe; GPU
tensors as they are). All replicas run the same step on their slice; the gradients and losses go through one
all-reduce (one flat bucket per dtype) and every replica applies the same optimizer update, so the weights stay
identical. The main process gathers the predictions and updates the metrics on the whole batch.
BatchNormalization normalizes each replica's slice with its own statistics (Keras's multi_gpu_model), its moving
statistics are averaged over the replicas; dropout draws the whole batch's mask and each replica keeps its slice.

A batch that the device count does not divide, and every batch of a model with a `synchronized`
BatchNormalization, runs whole in the main process alone (as one device: nothing dropped or counted twice); the
workers catch up by a broadcast of the weights and optimizer state before their next step, which also happens
whenever anything changed a weight in between (`set_weights`, a callback, the template trained alone).

CPU testing: torch has one CPU device; `LAMINA_CPU_DEVICES=N` makes lamina list cpu:0 to cpu:N-1, each served by
its own gloo worker process. `LAMINA_DISTRIBUTED_TIMEOUT` (seconds, default 600) bounds each collective. A worker
that dies or fails stops the call with an error naming it; the other workers are stopped and the next call starts
new ones. The workers and their pool live in backend/torch/_workers.py, the steps every replica runs in
backend/torch/_replica_steps.py.

Several processes (machines) after `initialize` (torchrun's environment, or Keras 3's): each process is one replica
on its own device (`cuda:LOCAL_RANK`, else the CPU) and no workers are started. Every process runs the same script
on the same data and steps on its rank's slice of each batch with the same step code; gradients are averaged by
all-reduces over the job's process group, the outputs gathered on every process (so metrics, `evaluate` and
`predict` are whole everywhere), weights not yet equal taken from process 0, and a batch the process count does not
divide runs whole on every process.

Example:
    >>> placement = DataParallelPlacement([torch.device("cuda", 0), torch.device("cuda", 1)])
    >>> placement.replicas(runner).train(x, y, sw)  # (steps, batch, ...) arrays, each batch split in 2
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import tempfile
import weakref

import numpy as np
import torch
import torch.distributed as dist

from lamina.backend.torch._replica_steps import (
    _fingerprint,
    _flat_broadcast,
    _job,
    _predict_steps,
    _state_variables,
    _test_steps,
    _train_steps,
    _unchanged,
    _wire,
)
from lamina.backend.torch._workers import _drop, _pool_for, _timeout
from lamina.backend.torch._workers import _pool as _pool  # the running worker pool, for tests to look at
from lamina.backend.torch.core import device_put_batch
from lamina.backend.torch.trainer import _index
from lamina.utils import nest

__all__ = ["DataParallelPlacement", "chief_seed", "initialize", "process_count", "process_index", "single_device"]

_BUCKET_BYTES = 25 * 1024 * 1024  # DistributedDataParallel's default bucket size
_OVERLAP_BACKENDS = ("nccl",)  # the backends whose gradient all-reduces overlap the backward pass


class DataParallelPlacement:
    """Where a data-parallel step runs: one replica per device, the main process being the first.

    In a multi-process job (after `initialize`) the replicas are the job's processes instead, each on its own
    device (`cuda:LOCAL_RANK`, else the CPU), whatever `devices` names.

    Args:
        devices: The torch devices, in replica order (CPU devices are all the one CPU, one process each).
    """

    def __init__(self, devices):
        self.devices = list(devices)
        if not dist.is_available():
            raise RuntimeError("Data parallelism on torch needs torch.distributed, which this torch build lacks.")
        self.job = _job["joined"]

    @property
    def count(self) -> int:
        return dist.get_world_size() if self.job else len(self.devices)

    def divides(self, tree, axis: int) -> bool:
        """Whether every array of `tree` splits evenly along `axis` over the devices."""
        leaves = [leaf for leaf in nest.flatten(tree) if leaf is not None]
        return bool(leaves) and all(np.ndim(leaf) > axis and np.shape(leaf)[axis] % self.count == 0 for leaf in leaves)

    def ranks(self) -> tuple:
        """The process ranks of the replicas: the main process (0) first, then the workers of the other devices."""
        if self.job or self.devices[0].type == "cpu":
            return tuple(range(self.count))
        # GPU worker i runs on cuda:i; the main process (on the model's device) stands in for the first device, and
        # that device's worker for gpu:0 when gpu:0 comes later in the list.
        indices = [d.index or 0 for d in self.devices]
        return (0, *[indices[0] if i == 0 else i for i in indices[1:]])

    def replicas(self, runner) -> _Replicas:
        """The data-parallel driver of a step runner (made once per runner)."""
        driver = getattr(runner, "_replicas", None)
        if driver is None:
            driver = runner._replicas = (_JobReplicas if self.job else _Replicas)(runner, self)
        return driver


def single_device(tree):
    """`tree` as it is: torch variables live on one device in the main process."""
    return tree


# ----------------------------------------------------------------------------------------------- processes
# `_job` (backend/torch/_replica_steps.py) says whether `initialize` joined a job; the local pool's group is not one.


def initialize(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Joins this process to a job of `num_processes` (`init_process_group`); a repeat call is a no-op.

    NCCL when this process sees a GPU, else gloo. With GPUs the process takes its local one, `cuda:LOCAL_RANK`
    (torchrun sets LOCAL_RANK, else `process_id` is used; modulo the GPUs it sees), as the default device of every
    variable made afterwards.

    Example:
        >>> initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    """
    if _job["joined"]:
        if (dist.get_world_size(), dist.get_rank()) != (num_processes, process_id):
            raise RuntimeError(
                f"initialize: this process already joined a job as process {dist.get_rank()} of "
                f"{dist.get_world_size()}; it cannot join another (asked: {process_id} of {num_processes})."
            )
        return
    if dist.is_initialized():
        raise RuntimeError("initialize: a torch.distributed process group is already running in this process.")
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "nccl"
        # Modulo the count: a launcher that shows each process only its own GPU leaves it cuda:0.
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", process_id)) % torch.cuda.device_count())
    dist.init_process_group(
        backend,
        init_method=f"tcp://{coordinator_address}",
        rank=process_id,
        world_size=num_processes,
        timeout=_timeout(),
    )
    _job["joined"] = True
    atexit.register(_leave_job)  # torch asks that a process group be destroyed before the program ends


def _leave_job() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def process_index() -> int:
    """This process's index in the job (0 when there is one process)."""
    return dist.get_rank() if _job["joined"] else 0


def process_count() -> int:
    """How many processes the job has (1 without `initialize`)."""
    return dist.get_world_size() if _job["joined"] else 1


def chief_seed(seed: int) -> int:
    """Process 0's `seed` on every process (`seed` itself with one process), for shuffles all processes share."""
    if process_count() == 1:
        return int(seed)
    value = torch.tensor([int(seed) & 0x7FFFFFFFFFFFFFFF], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.broadcast(value, src=0)
    return int(value.item())


# ------------------------------------------------------------------------------------------ the main process
_keys = iter(range(1, 1 << 62))


def _splits_exactly(model) -> bool:
    """Whether the mean of the replicas' losses (and so of their gradients) is the whole batch's loss.

    True for losses reduced as Keras's default, "sum_over_batch_size" (sample weights included), on outputs
    without masks. A "sum" or "mean_with_sample_weight" reduction, or an output mask (the loss is the mean over
    the unmasked steps, which differ per slice), would make the mean of the slices' losses another number, so
    such a model runs each batch whole rather than train silently on a different loss.
    """
    masks = getattr(model, "_output_masks_for_loss", None)  # set by the symbolic call that built the runner
    if masks is not None and any(mask is not None for mask in masks):
        return False
    losses = getattr(getattr(model, "_compile_loss", None), "losses", None) or []
    return all(getattr(loss, "reduction", "sum_over_batch_size") == "sum_over_batch_size" for loss in losses)


def _sendable_custom_objects(model) -> dict:
    """The registered custom objects the workers can receive; a clear error if the model needs one they cannot.

    Objects of the user's script (__main__) are left out: the workers do not run it (a forked worker has the ones
    defined before it started). Objects that do not pickle (a class defined inside a function) are left out too,
    unless the model's configuration names them.
    """
    from lamina.saving.object_registration import get_custom_objects

    sendable, unsendable = {}, {}
    for name, obj in get_custom_objects().items():
        if getattr(obj, "__module__", "") == "__main__":
            continue
        try:
            pickle.dumps(obj)
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            unsendable[name] = error
            continue
        sendable[name] = obj
    if unsendable:
        config = model.to_json()
        needed = sorted(name for name in unsendable if json.dumps(name) in config)
        if needed:
            raise ValueError(
                f"Model '{model.name}' runs on several devices, so it is sent to worker processes, but its custom "
                f"object {needed[0]!r} cannot be sent ({unsendable[needed[0]]}). Define it at the top level of a "
                "module (not inside a function) and register it there."
            )
    return sendable


class _Replicas:
    """Drives one step runner's data-parallel calls from the main process (replica 0)."""

    def __init__(self, runner, placement: DataParallelPlacement):
        self.runner, self.placement = runner, placement
        self.predict_only = runner._predict_only
        self.ranks = placement.ranks()
        self.count = len(self.ranks)
        self.pool = None  # joined on the first split call
        # A synchronized BatchNormalization normalizes with the whole batch's statistics: such a model runs whole.
        # So does one whose loss the mean of the replicas' losses would not give exactly (see `_splits_exactly`).
        self.whole_only = any(getattr(layer, "synchronized", False) for layer in runner.model._flatten_layers())
        self.whole_only = self.whole_only or not (self.predict_only or _splits_exactly(runner.model))

    def splits(self, tree) -> bool:
        """Whether a call on `tree` runs split over the replicas (else the runner runs it whole, here)."""
        return not self.whole_only and self.placement.divides(tree, 1)

    def _state(self) -> list:
        return _state_variables(self.runner.model, self.runner.tv, self.predict_only)

    def _attach(self) -> None:
        """Joins the running worker pool (starting one if needed); the model is shipped on the next call."""
        self.pool = _pool_for(self.placement)
        self.group = self.pool.group(tuple(sorted(self.ranks)))
        self.key = next(_keys)
        self.synced = None
        self.shipped = False
        weakref.finalize(self, _drop, self.pool, self.ranks[1:], self.key)

    def _ready(self) -> None:
        """The workers hold the model and the main process's current weights and optimizer state."""
        if self.pool is None or self.pool.closed:  # first call, or an earlier failure stopped the workers
            self._attach()
        if not self.shipped:
            self._ship()
        state = self._state()
        if not _unchanged(self.synced, state):
            for rank in self.ranks[1:]:
                self.pool.send(rank, ("sync", self.key))
            self._collective(_flat_broadcast, [v._value for v in state], self.group)
            self.synced = _fingerprint(state)

    def _ship(self) -> None:
        model = self.runner.model
        weights = model.weights
        positions = {id(v): i for i, v in enumerate(weights)}
        indices = [positions[id(v)] for v in self.runner.tv]
        shapes = [tuple(v._value.shape) for v in self._state()]
        folder = tempfile.mkdtemp(prefix="lamina-replicas-")
        path = os.path.join(folder, "model.keras")
        try:
            model.save(path, include_optimizer=not self.predict_only)
            custom = _sendable_custom_objects(model)
            message = ("model", self.key, path, self.predict_only, indices, shapes, custom, self.ranks)
            for rank in self.ranks[1:]:
                self.pool.send(rank, message)
            for rank in self.ranks[1:]:
                self.pool.answer(rank)
        finally:
            if os.path.exists(path):
                os.remove(path)
            os.rmdir(folder)
        self.shipped = True

    def _collective(self, fn, *args):
        try:
            return fn(*args)
        except (RuntimeError, dist.DistBackendError) as error:
            raise self.pool.failure(None, error) from error

    def _send_shards(self, op: str, tree, *options) -> object:
        """Sends each worker its slice of `tree` (batch axis 1); returns the main process's own slice."""
        for position, rank in enumerate(self.ranks[1:], start=1):
            self.pool.send(rank, (op, self.key, _slice(tree, position, self.count), *options))
        return device_put_batch(_slice(tree, 0, self.count))

    def train(self, x, y, sw) -> None:
        """One split train step per leading index; the metrics are updated here on the whole batches."""
        self._ready()
        bucket_bytes = _BUCKET_BYTES if dist.get_backend() in _OVERLAP_BACKENDS else 0  # the same on every replica
        mine = self._send_shards("train", (x, y, sw), bucket_bytes)
        outputs, scalars = self._collective(_train_steps, self.runner, self.group, self.ranks, mine, bucket_bytes)
        self.synced = _fingerprint(self._state())
        self._update_metrics(device_put_batch((x, y, sw)), outputs, scalars)

    def test(self, x, y, sw) -> None:
        self._ready()
        mine = self._send_shards("test", (x, y, sw))
        outputs, scalars = self._collective(_test_steps, self.runner, self.group, self.ranks, mine)
        self._update_metrics(device_put_batch((x, y, sw)), outputs, scalars)

    def predict(self, x) -> list:
        self._ready()
        mine = self._send_shards("predict", x)
        return self._collective(_predict_steps, self.runner, self.group, self.ranks, mine)

    def _update_metrics(self, batch, outputs, scalars) -> None:
        x, y, sw = batch
        y_pred, masks = outputs
        metrics = self.runner.model._compile_metrics
        with torch.no_grad():
            for i in range(nest.leading_dim(x)):
                total, per_output = scalars[i]
                step_masks = None if masks is None else [None if m is None else m[i] for m in masks]
                metrics.update(
                    _index(y, i),
                    [p[i] for p in y_pred],
                    _index(sw, i),
                    total,
                    per_output,
                    nest.leading_dim(_index(x, i)),
                    step_masks,
                )


class _JobReplicas(_Replicas):
    """Drives one step runner's data-parallel calls in a multi-process job, where every process is one replica.

    Every process runs the same program on the same global batches and steps on its own rank's slice (the steps of
    `_Replicas`, without workers); the outputs are gathered on every process, which updates its metrics on the
    whole batch, so logs, `evaluate` and `predict` are whole and alike everywhere. Before each call the processes
    agree whether any of them changed a weight since their last split step; if one did (and on the first call, where
    weights initialized differently must start equal), all take process 0's weights and optimizer state. A batch
    that the process count does not divide, and every batch of a `whole_only` model, runs whole on every process.
    """

    def __init__(self, runner, placement: DataParallelPlacement):
        super().__init__(runner, placement)
        self.group, self.synced = None, None

    def splits(self, tree) -> bool:
        """Whether a call on `tree` runs split; first makes every process hold process 0's state (a collective)."""
        state = self._state()
        flag = _wire(torch.tensor([0 if _unchanged(self.synced, state) else 1], dtype=torch.int32))
        self._collective(dist.all_reduce, flag, dist.ReduceOp.MAX)
        if int(flag.item()):
            self._collective(_flat_broadcast, [v._value for v in state], None)
            self.synced = _fingerprint(state)
        return super().splits(tree)

    def _ready(self) -> None:
        """Nothing: `splits`, called just before each call, synchronized the processes."""

    def _send_shards(self, op: str, tree, *options) -> object:
        """This process's slice of `tree` (batch axis 1), on its device; nothing is sent."""
        return device_put_batch(_slice(tree, dist.get_rank(), self.count))

    def _collective(self, fn, *args):
        try:
            return fn(*args)
        except (RuntimeError, dist.DistBackendError) as error:
            raise RuntimeError(
                f"Data-parallel step failed on process {dist.get_rank()} of {dist.get_world_size()} (a process of "
                f"the job may have stopped): {error}"
            ) from error


# torch dtypes with a NumPy twin (a bfloat16 slice stays a tensor).
_NUMPY_DTYPES = {
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
    torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128,
}  # fmt: skip


def _slice(tree, position: int, count: int):
    """`tree`'s arrays' slice `position` of `count` along axis 1 (the batch of stacked steps)."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {key: _slice(value, position, count) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_slice(value, position, count) for value in tree)
    size = tree.shape[1] // count
    part = tree[:, position * size : (position + 1) * size]
    if isinstance(part, torch.Tensor) and part.device.type == "cpu" and part.dtype in _NUMPY_DTYPES:
        part = part.numpy(force=True)  # detached, conjugation resolved
    if isinstance(part, np.ndarray):
        # A worker's slice travels as NumPy bytes through its pipe. A torch tensor would travel as a shared-memory
        # file whose descriptor the worker fetches from this process's multiprocessing resource sharer (a socket
        # and a handshake per tensor, every step); one such handshake was seen never to finish.
        return np.ascontiguousarray(part)
    return part.contiguous()
