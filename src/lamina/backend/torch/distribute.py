"""Data parallelism on torch: one process per device, gradients all-reduced with `torch.distributed`.

The main process is replica 0: it keeps the model, the callbacks and the metrics. The first data-parallel call
starts one worker process per further device (`torch.multiprocessing`: spawned for GPUs, forked for CPU devices)
and joins them in a process group over tcp://127.0.0.1 (NCCL on GPUs, gloo on CPU); they stop at exit. Each worker
rebuilds the model from lamina's own file format (architecture, weights, compile arguments; registered custom
objects are passed along; a spawned worker does not run the user's script, so classes defined in the script itself
are unknown there) and then, for each call, receives its slice of every batch (shared-memory tensors through a
pipe). All replicas run the same step on their slice; the gradients and losses go through one all-reduce (one flat
bucket per dtype) and every replica applies the same optimizer update, so the weights stay identical. The main
process gathers the predictions and updates the metrics on the whole batch.
BatchNormalization normalizes each replica's slice with its own statistics (Keras's multi_gpu_model), its moving
statistics are averaged over the replicas; dropout draws the whole batch's mask and each replica keeps its slice.

A batch that the device count does not divide, and every batch of a model with a `synchronized`
BatchNormalization, runs whole in the main process alone (as one device: nothing dropped or counted twice); the
workers catch up by a broadcast of the weights and optimizer state before their next step, which also happens
whenever anything changed a weight in between (`set_weights`, a callback, the template trained alone).

CPU testing: torch has one CPU device; `LAMINA_CPU_DEVICES=N` makes lamina list cpu:0 to cpu:N-1, each served by
its own gloo worker process. `LAMINA_DISTRIBUTED_TIMEOUT` (seconds, default 600) bounds each collective. A worker
that dies or fails stops the call with an error naming it; the other workers are stopped and the next call starts
new ones.

Example:
    >>> placement = DataParallelPlacement([torch.device("cuda", 0), torch.device("cuda", 1)])
    >>> placement.replicas(runner).train(x, y, sw)  # (steps, batch, ...) arrays, each batch split in 2
"""

from __future__ import annotations

import atexit
import datetime
import functools
import os
import sys
import tempfile
import time
import traceback
import weakref
from multiprocessing import spawn as mp_spawn

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lamina.backend.torch import random as torch_random
from lamina.backend.torch.core import device_put_batch, device_scope
from lamina.backend.torch.trainer import _index
from lamina.utils import nest

__all__ = ["DataParallelPlacement", "chief_seed", "initialize", "process_count", "process_index", "single_device"]

_START_TIMEOUT_S = 180.0
_spawn_preparation = mp_spawn.get_preparation_data
_BUCKET_BYTES = 25 * 1024 * 1024  # DistributedDataParallel's default bucket size
_OVERLAP_BACKENDS = ("nccl",)  # the backends whose gradient all-reduces overlap the backward pass
# Words of the errors a replica sees when another one died: symptoms, not the cause.
_PEER_ERRORS = ("Connection closed by peer", "Connection reset", "DistBackendError", "NCCL", "gloo")


def _timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(os.environ.get("LAMINA_DISTRIBUTED_TIMEOUT", "600")))


class DataParallelPlacement:
    """Where a data-parallel step runs: one replica per device, the main process being the first.

    Args:
        devices: The torch devices, in replica order (CPU devices are all the one CPU, one process each).
    """

    def __init__(self, devices):
        self.devices = list(devices)
        if not dist.is_available():
            raise RuntimeError("Data parallelism on torch needs torch.distributed, which this torch build lacks.")

    @property
    def count(self) -> int:
        return len(self.devices)

    def divides(self, tree, axis: int) -> bool:
        """Whether every array of `tree` splits evenly along `axis` over the devices."""
        leaves = [leaf for leaf in nest.flatten(tree) if leaf is not None]
        return bool(leaves) and all(np.ndim(leaf) > axis and np.shape(leaf)[axis] % self.count == 0 for leaf in leaves)

    def ranks(self) -> tuple:
        """The process ranks of the replicas: the main process (0) first, then the workers of the other devices."""
        if self.devices[0].type == "cpu":
            return tuple(range(self.count))
        # GPU worker i runs on cuda:i; the main process (on the model's device) stands in for the first device, and
        # that device's worker for gpu:0 when gpu:0 comes later in the list.
        indices = [d.index or 0 for d in self.devices]
        return (0, *[indices[0] if i == 0 else i for i in indices[1:]])

    def replicas(self, runner) -> _Replicas:
        """The data-parallel driver of a step runner (made once per runner)."""
        driver = getattr(runner, "_replicas", None)
        if driver is None:
            driver = runner._replicas = _Replicas(runner, self)
        return driver


def single_device(tree):
    """`tree` as it is: torch variables live on one device in the main process."""
    return tree


# ----------------------------------------------------------------------------------------------- processes
# The multi-host job `initialize` joins (torchrun's environment); the local worker pool's group is not a job.
_job = {"joined": False}


def initialize(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Joins this process to a job of `num_processes` (`init_process_group`); a repeat call is a no-op.

    NCCL when this process sees a GPU, else gloo.

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
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(
        backend,
        init_method=f"tcp://{coordinator_address}",
        rank=process_id,
        world_size=num_processes,
        timeout=_timeout(),
    )
    _job["joined"] = True


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


# ------------------------------------------------------------------------------------------- the worker pool
class _Pool:
    """The worker processes of this program and their process group, started once and stopped at exit."""

    def __init__(self, devices: list):
        kind = devices[0].type
        self.world = len(devices)
        self.backend = "nccl" if kind == "cuda" else "gloo"
        self.devices = devices
        self.groups = {}
        self.conns = {}
        self.processes = {}
        self.closed = False
        # The store picks its own free port (no race with other programs looking for one).
        self.store = dist.TCPStore("127.0.0.1", 0, self.world, True, timeout=_timeout(), wait_for_workers=False)
        port = self.store.port
        # CPU workers are forked (as DataLoader workers are): no second import of torch and lamina, and each
        # gets its share of the cores. CUDA cannot be forked: GPU workers are spawned.
        context = mp.get_context("spawn" if kind == "cuda" else "fork")
        # One thread per forked worker, as DataLoader workers: GNU OpenMP hangs in a child forked after the parent
        # ran a parallel region, unless the child stays on one thread.
        threads = 1
        previous = os.environ.get("LAMINA_BACKEND")
        os.environ["LAMINA_BACKEND"] = "torch"  # the workers import lamina on the engine of the main process
        preparation = mp_spawn.get_preparation_data
        mp_spawn.get_preparation_data = _without_main  # a script without `if __name__ == "__main__"` still works
        try:
            for rank in range(1, self.world):
                mine, theirs = context.Pipe()
                device = None if kind == "cpu" else devices[rank].index
                process = context.Process(
                    target=_worker_main,
                    args=(rank, self.world, port, self.backend, device, theirs, threads, list(sys.path)),
                    daemon=True,
                    name=f"lamina-replica-{rank}",
                )
                process.start()
                self.conns[rank], self.processes[rank] = mine, process
        finally:
            mp_spawn.get_preparation_data = preparation
            if previous is None:
                os.environ.pop("LAMINA_BACKEND", None)
            else:
                os.environ["LAMINA_BACKEND"] = previous
        if kind == "cuda":
            torch.cuda.set_device(0)
        try:
            dist.init_process_group(self.backend, store=self.store, rank=0, world_size=self.world, timeout=_timeout())
        except Exception:
            for process in self.processes.values():
                process.kill()
            raise
        _KEEP_ALIVE.extend([self.store, dist.group.WORLD])
        atexit.register(self.stop)

    def group(self, ranks: tuple):
        """The process group of `ranks` (None: all of them); every process must create it, so all are told."""
        if ranks == tuple(range(self.world)):
            return None
        if ranks not in self.groups:
            for conn in self.conns.values():
                conn.send(("group", ranks))
            self.groups[ranks] = dist.new_group(list(ranks))
            _KEEP_ALIVE.append(self.groups[ranks])
        return self.groups[ranks]

    def send(self, rank: int, message) -> None:
        try:
            self.conns[rank].send(message)
        except (BrokenPipeError, OSError) as error:
            raise self.failure(rank, error) from error

    def answer(self, rank: int):
        """A worker's reply to a command that needs one, or the error it reported."""
        conn = self.conns[rank]
        if not conn.poll(_START_TIMEOUT_S):
            self.abandon()
            raise RuntimeError(f"Data-parallel worker {rank} did not answer within {_START_TIMEOUT_S:.0f} s.")
        try:
            reply = conn.recv()
        except (EOFError, OSError) as error:
            raise self.failure(rank, error) from error
        if reply[0] == "error":
            self.abandon()
            raise RuntimeError(f"Data-parallel worker {rank} failed:\n{reply[1]}")
        return reply

    def failure(self, rank, error) -> RuntimeError:
        """The error to raise when a collective or a pipe failed (the worker's own report when it sent one).

        The pool is abandoned: its workers are stopped, and the next data-parallel call starts fresh ones.
        """
        reports, stopped = [], []
        deadline = time.monotonic() + 0.5  # time for a worker's report of its own error to arrive
        for other, conn in self.conns.items():
            try:
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    reply = conn.recv()
                    if reply[0] == "error":
                        reports.append((other, reply[1]))
            except (EOFError, OSError):
                self.processes[other].join(1)
                stopped.append((other, self.processes[other].exitcode))
        # A worker that died without a word is the cause; else a report that is not a peer's broken connection.
        first_cause = [(o, text) for o, text in reports if not any(word in text for word in _PEER_ERRORS)]
        if stopped:
            found = RuntimeError(f"Data-parallel worker {stopped[0][0]} stopped (exit code {stopped[0][1]}).")
        elif first_cause or reports:
            other, text = (first_cause or reports)[0]
            found = RuntimeError(f"Data-parallel worker {other} failed:\n{text}")
        else:
            found = RuntimeError(f"Data-parallel step failed ({error}); the worker processes were stopped.")
        self.abandon()
        return found

    def abandon(self) -> None:
        """Stops every worker now (after a failure) and leaves the next call to start a new pool."""
        self.closed = True
        atexit.unregister(self.stop)
        for process in self.processes.values():
            if process.is_alive():
                process.kill()
            process.join(5)
        for conn in self.conns.values():
            conn.close()
        if dist.is_initialized():
            dist.destroy_process_group()
        if _pool["value"] is self:
            _pool["value"] = None

    def stop(self) -> None:
        for conn in self.conns.values():
            try:
                conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes.values():
            process.join(10)
            if process.is_alive():
                process.terminate()
        if dist.is_initialized():
            dist.destroy_process_group()


_pool = {"value": None}
# Every store and process group this process made, kept for good: a worker forked later inherits them, and
# destroying one there would wait forever for the communication threads, which fork does not copy.
_KEEP_ALIVE = []


def _pool_for(placement: DataParallelPlacement) -> _Pool:
    """The pool serving every device of the placement's kind (started on first use)."""
    pool = _pool["value"]
    if pool is None:
        if dist.is_initialized():
            raise RuntimeError(
                "Data parallelism on one machine starts its own torch.distributed process group, but one is already "
                "initialized in this process."
            )
        from lamina.backend.torch.core import list_devices, resolve_device

        kind = "gpu" if placement.devices[0].type == "cuda" else "cpu"
        names = [name for name in list_devices() if name.startswith(kind + ":")]
        devices = [resolve_device(kind, int(name.split(":")[1])) for name in names]
        pool = _pool["value"] = _Pool(devices)
    return pool


def _without_main(name: str) -> dict:
    """multiprocessing's spawn data, less the main module: workers must not run the user's script again."""
    data = _spawn_preparation(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


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
        from lamina.saving.object_registration import get_custom_objects

        model = self.runner.model
        weights = model.weights
        positions = {id(v): i for i, v in enumerate(weights)}
        indices = [positions[id(v)] for v in self.runner.tv]
        shapes = [tuple(v._value.shape) for v in self._state()]
        folder = tempfile.mkdtemp(prefix="lamina-replicas-")
        path = os.path.join(folder, "model.keras")
        try:
            model.save(path, include_optimizer=not self.predict_only)
            # Objects of the user's script (__main__) do not exist in the workers, which do not run it.
            custom = {k: v for k, v in get_custom_objects().items() if getattr(v, "__module__", "") != "__main__"}
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
        bucket_bytes = _BUCKET_BYTES if self.pool.backend in _OVERLAP_BACKENDS else 0  # the same on every replica
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


def _drop(pool: _Pool, ranks, key) -> None:
    for rank in ranks:
        try:
            pool.conns[rank].send(("drop", key))
        except (BrokenPipeError, OSError):
            pass


def _state_variables(model, tv, predict_only: bool) -> list:
    """The trainable, non-trainable and optimizer variables, in an order every replica computes alike."""
    ids = {id(v) for v in tv}
    state, seen = list(tv), set(ids)
    for variable in model.weights + model.non_trainable_variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            state.append(variable)
    if not predict_only:
        state.extend(model.optimizer.variables)
    return state


def _fingerprint(state: list) -> list:
    return [(v._value, v._value._version) for v in state]


def _unchanged(fingerprint, state: list) -> bool:
    """Whether no variable was replaced or written in place since `fingerprint` was taken."""
    if fingerprint is None or len(fingerprint) != len(state):
        return False
    return all(v._value is t and v._value._version == n for v, (t, n) in zip(state, fingerprint))


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
    if isinstance(part, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(part))
    return part.contiguous()


# ------------------------------------------------------------------------- the steps, run alike on every replica
def _flat_mean(tensors: list, group, count: int) -> list:
    """`tensors` averaged over the replicas: one all-reduce per dtype over a flat bucket."""
    out = list(tensors)
    by_dtype = {}
    for i, tensor in enumerate(tensors):
        by_dtype.setdefault(tensor.dtype, []).append(i)
    for members in by_dtype.values():
        flat = _wire(torch.cat([tensors[i].reshape(-1) for i in members]))
        dist.all_reduce(flat, group=group)
        flat = (flat / count).to(tensors[members[0]].device)
        offset = 0
        for i in members:
            size = tensors[i].numel()
            out[i] = flat[offset : offset + size].view(tensors[i].shape)
            offset += size
    return out


def _flat_broadcast(tensors: list, group) -> None:
    """Overwrites `tensors` with the main process's values: one broadcast per dtype over a flat bucket."""
    by_dtype = {}
    for i, tensor in enumerate(tensors):
        by_dtype.setdefault(tensor.dtype, []).append(i)
    with torch.no_grad():
        for dtype, members in by_dtype.items():
            flat = torch.cat([tensors[i].reshape(-1) for i in members])
            wire = _wire(flat.to(torch.uint8) if dtype == torch.bool else flat)
            dist.broadcast(wire, src=0, group=group)
            flat = wire.to(device=flat.device, dtype=dtype)
            offset = 0
            for i in members:
                size = tensors[i].numel()
                tensors[i].copy_(flat[offset : offset + size].view(tensors[i].shape))
                offset += size


def _gather(stacked: list, group, ranks: tuple) -> list | None:
    """Each (steps, slice, ...) tensor gathered on the main process in replica order: (steps, batch, ...)."""
    main = dist.get_rank() == 0
    order = sorted(ranks)  # the group's own order; replica r's part comes from rank ranks[r]
    out = []
    for tensor in stacked:
        wire = _wire(tensor.to(torch.uint8) if tensor.dtype == torch.bool else tensor.contiguous())
        parts = [torch.empty_like(wire) for _ in ranks] if main else None
        dist.gather(wire, parts, dst=0, group=group)
        if main:
            merged = torch.cat([parts[order.index(rank)] for rank in ranks], dim=1)
            out.append(merged.to(device=tensor.device, dtype=tensor.dtype))
    return out if main else None


def _wire(tensor):
    """`tensor` where the process group's backend can send it: NCCL sends only CUDA tensors."""
    if dist.get_backend() == "nccl" and tensor.device.type != "cuda":
        return tensor.to(torch.device("cuda", torch.cuda.current_device()))
    return tensor


def _scalars(total, per_output) -> list:
    values = [total] + [value for value in per_output if value is not None]
    return [torch.as_tensor(v).detach().reshape(1).to(torch.float32) for v in values]


def _unflatten_scalars(per_output, reduced: list):
    """(total, per_output losses) from the reduced scalars, None where an output has no loss."""
    rest = iter(reduced[1:])
    return reduced[0].reshape(()), [None if value is None else next(rest).reshape(()) for value in per_output]


def _collect(y_pred_steps: list, mask_steps: list, group, ranks: tuple):
    """The step outputs (and metric masks) stacked and gathered on the main process."""
    outputs = _gather([torch.stack(parts) for parts in zip(*y_pred_steps)], group, ranks)
    masks = None
    if mask_steps[0] is not None:
        present = [m is not None for m in mask_steps[0]]
        gathered = iter(
            _gather([torch.stack([s[j] for s in mask_steps]) for j, p in enumerate(present) if p], group, ranks) or []
        )
        masks = [next(gathered) if p else None for p in present] if dist.get_rank() == 0 else None
    return outputs, masks


def _averaged_gradients(runner, group, count: int, total, per_output, bucket_bytes: int):
    """This step's gradients and losses averaged over the replicas.

    With `bucket_bytes` (NCCL), buckets of that size are all-reduced while backward runs; with 0 (gloo, whose CPU
    replicas share the cores with its communication thread: measured faster so) one all-reduce after backward.
    """
    model = runner.model
    leaves = [v._value for v in runner.tv]
    overlap = bucket_bytes > 0
    buckets = _Buckets.of(runner, leaves, group, bucket_bytes) if overlap else None
    scalars = _scalars(total, per_output)
    if overlap:
        buckets.start()
        scalars = _wire(torch.cat(scalars))
        scalars_sent = dist.all_reduce(scalars, group=group, async_op=True)
    if leaves and isinstance(total, torch.Tensor) and total.requires_grad:
        grads = torch.autograd.grad(model.optimizer.scale_loss(total), leaves, allow_unused=True)
        grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
    else:
        grads = [torch.zeros_like(leaf) for leaf in leaves]
    if not overlap:
        reduced = _flat_mean(grads + scalars, group, count)
        return reduced[: len(grads)], reduced[len(grads) :]
    grads = buckets.finish(count)
    scalars_sent.wait()
    return grads, list((scalars / count).cpu().reshape(-1, 1))


class _Buckets:
    """The gradient all-reduces of a step, started during the backward pass as DistributedDataParallel does.

    The trainable tensors are grouped, last layers first (backward reaches them first), into buckets of one dtype
    and at most `bucket_bytes`; a hook on each tensor notes its gradient, and a bucket whose gradients are all
    there is flattened and all-reduced asynchronously while backward goes on. Buckets start in a fixed order on
    every replica, so the collectives match; `finish` waits and returns the averaged gradients.
    """

    def __init__(self, leaves: list, group, bucket_bytes: int):
        self.leaves, self.group, self.active, self.bucket_bytes = leaves, group, False, bucket_bytes
        self.members, size = [[]], 0
        for i in reversed(range(len(leaves))):
            nbytes = leaves[i].numel() * leaves[i].element_size()
            current = self.members[-1]
            if current and (size + nbytes > bucket_bytes or leaves[current[0]].dtype != leaves[i].dtype):
                self.members.append([])
                size = 0
            self.members[-1].append(i)
            size += nbytes
        self.bucket = {i: b for b, members in enumerate(self.members) for i in members}
        self.hooks = [leaf.register_hook(functools.partial(self._noted, i)) for i, leaf in enumerate(leaves)]

    @classmethod
    def of(cls, runner, leaves: list, group, bucket_bytes: int) -> _Buckets:
        """The runner's buckets for these very tensors and size (made again if a variable got a new tensor)."""
        buckets = getattr(runner, "_gradient_buckets", None)
        same = buckets is not None and buckets.bucket_bytes == bucket_bytes and len(buckets.leaves) == len(leaves)
        if not same or any(a is not b for a, b in zip(buckets.leaves, leaves)):
            if buckets is not None:
                for hook in buckets.hooks:
                    hook.remove()
            buckets = runner._gradient_buckets = cls(leaves, group, bucket_bytes)
        return buckets

    def start(self) -> None:
        self.grads = [None] * len(self.leaves)
        self.waiting = [len(members) for members in self.members]
        self.sent = []
        self.active = True

    def _noted(self, i: int, grad):
        if self.active and self.grads[i] is None:
            self.grads[i] = grad.detach()
            self.waiting[self.bucket[i]] -= 1
            while len(self.sent) < len(self.members) and self.waiting[len(self.sent)] == 0:
                self._send(len(self.sent))
        return grad

    def _send(self, b: int) -> None:
        parts = [self.leaves[i] if self.grads[i] is None else self.grads[i] for i in self.members[b]]
        zero = [self.grads[i] is None for i in self.members[b]]  # unused tensors: a zero gradient
        flat = _wire(torch.cat([torch.zeros_like(p).reshape(-1) if z else p.reshape(-1) for p, z in zip(parts, zero)]))
        self.sent.append((flat, dist.all_reduce(flat, group=self.group, async_op=True)))

    def finish(self, count: int) -> list:
        """The gradients averaged over the replicas, in the tensors' order (zeros for unused tensors)."""
        self.active = False
        while len(self.sent) < len(self.members):
            self._send(len(self.sent))
        out = [None] * len(self.leaves)
        for members, (flat, work) in zip(self.members, self.sent):
            work.wait()
            flat = (flat / count).to(self.leaves[members[0]].device)
            offset = 0
            for i in members:
                size = self.leaves[i].numel()
                out[i] = flat[offset : offset + size].view(self.leaves[i].shape)
                offset += size
        self.grads = None
        return out


def _train_steps(runner, group, ranks: tuple, batch, bucket_bytes: int = 0):
    """One train step per leading index on this replica's slice: gradients and BatchNorm statistics averaged."""
    x, y, sw = batch
    model, count = runner.model, len(ranks)
    index = ranks.index(dist.get_rank())
    floating = [v for v in _state_variables(model, runner.tv, True)[len(runner.tv) :] if v._value.is_floating_point()]
    y_pred_steps, mask_steps, scalar_steps = [], [], []
    for i in range(nest.leading_dim(x)):
        xb, yb, swb = _index(x, i), _index(y, i), _index(sw, i)
        before = _fingerprint(floating)
        torch_random._replica_slice.value = (index, count, nest.leading_dim(xb))
        try:
            y_pred, total, per_output, masks = runner._forward(xb, yb, swb, True)
        finally:
            del torch_random._replica_slice.value
        # The statistics this step wrote (BatchNormalization's moving mean and variance), the same on every replica.
        written = [
            v for v, (value, version) in zip(floating, before) if v._value is not value or v._value._version != version
        ]
        grads, reduced = _averaged_gradients(runner, group, count, total, per_output, bucket_bytes)
        with torch.no_grad():
            model.optimizer.apply(grads, runner.tv)
            if written:  # BatchNormalization's moving statistics follow the replicas' mean
                for variable, mean in zip(written, _flat_mean([v._value for v in written], group, count)):
                    variable._value.copy_(mean)
        y_pred_steps.append([p.detach() for p in y_pred])
        mask_steps.append(None if masks is None else [None if m is None else m.detach() for m in masks])
        scalar_steps.append(_unflatten_scalars(per_output, reduced))
    return _collect(y_pred_steps, mask_steps, group, ranks), scalar_steps


def _test_steps(runner, group, ranks: tuple, batch):
    """One test step per leading index on this replica's slice: losses averaged, outputs gathered."""
    x, y, sw = batch
    y_pred_steps, mask_steps, scalar_steps = [], [], []
    with torch.no_grad():
        for i in range(nest.leading_dim(x)):
            y_pred, total, per_output, masks = runner._forward(_index(x, i), _index(y, i), _index(sw, i), False)
            reduced = _flat_mean(_scalars(total, per_output), group, len(ranks))
            y_pred_steps.append(list(y_pred))
            mask_steps.append(None if masks is None else list(masks))
            scalar_steps.append(_unflatten_scalars(per_output, reduced))
    return _collect(y_pred_steps, mask_steps, group, ranks), scalar_steps


def _predict_steps(runner, group, ranks: tuple, x) -> list | None:
    """The outputs of this replica's slice of each step, gathered on the main process: [(steps, batch, ...)]."""
    with torch.no_grad():
        steps = [nest.flatten(runner.model(_index(x, i), training=False)) for i in range(nest.leading_dim(x))]
    return _gather([torch.stack(parts) for parts in zip(*steps)], group, ranks)


# -------------------------------------------------------------------------------------------------- a worker
def _worker_main(rank, world, port, backend, device, conn, threads, path) -> None:
    """A worker process: joins the process group, then serves the main process's commands until told to stop."""
    try:
        sys.path[:] = path + [entry for entry in sys.path if entry not in path]
        torch.set_num_threads(threads)
        handle = None
        if device is not None:
            torch.cuda.set_device(device)
            handle = torch.device("cuda", device)
        store = dist.TCPStore("127.0.0.1", port, world, False, timeout=_timeout())
        dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=_timeout())
        if handle is None:
            _serve(conn)
        else:
            with device_scope(handle):
                _serve(conn)
    except Exception:  # noqa: BLE001 - the report goes to the main process, which raises it
        try:
            conn.send(("error", traceback.format_exc()))
        except (BrokenPipeError, OSError):
            pass
        os._exit(1)
    if dist.is_initialized():
        dist.destroy_process_group()


def _serve(conn) -> None:
    models, groups = {}, {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        op = message[0]
        if op == "stop":
            return
        if op == "group":
            groups[message[1]] = dist.new_group(list(message[1]))
        elif op == "model":
            models[message[1]] = _load_replica(*message[2:], groups=groups)
            conn.send(("ok",))
        elif op == "drop":
            models.pop(message[1], None)
        else:
            runner, group, ranks, predict_only = models[message[1]]
            if op == "sync":
                _flat_broadcast([v._value for v in _state_variables(runner.model, runner.tv, predict_only)], group)
                continue
            batch = device_put_batch(message[2])
            steps = {"train": _train_steps, "test": _test_steps, "predict": _predict_steps}[op]
            steps(runner, group, ranks, batch, *message[3:])


def _load_replica(path, predict_only, indices, shapes, custom, ranks, groups):
    """The model from the main process's file, as a single-device step runner with the same variable order."""
    from lamina.backend.torch.trainer import StepRunner
    from lamina.models import load_model

    model = load_model(path, custom_objects=custom, compile=not predict_only, safe_mode=False)  # our own file
    if not predict_only:
        weights = model.weights
        model._compiled_trainable = [weights[i] for i in indices]
        model._compile_loss.build(model._output_names_list(len(nest.flatten(model.outputs))))
        model.optimizer.build(model._compiled_trainable)
    runner = StepRunner(model, predict_only=predict_only)
    mine = [tuple(v._value.shape) for v in _state_variables(model, runner.tv, predict_only)]
    if mine != [tuple(s) for s in shapes]:
        raise ValueError(f"The rebuilt model's variables differ from the main process's: {mine} vs {shapes}.")
    members = tuple(sorted(ranks))
    group = None if members == tuple(range(dist.get_world_size())) else groups[members]
    return runner, group, ranks, predict_only
