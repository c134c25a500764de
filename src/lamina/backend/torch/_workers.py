"""The worker processes of data parallelism on one machine: started once, fed commands through pipes.

The main process (replica 0) starts one worker per further device (spawned for GPUs, forked for CPU devices) and
joins them in a process group over tcp://127.0.0.1. A worker rebuilds the model from lamina's own file format and
then runs, for each command, the same steps as the main process (backend/torch/_replica_steps.py). A worker that
dies or fails stops the call with an error naming it (`_Pool.failure`); the pool is abandoned and the next call
starts a new one. A private module of the torch engine (no twin on JAX): backend/torch/distribute.py drives it.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import time
import traceback
from multiprocessing import spawn as mp_spawn

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lamina.backend.torch._replica_steps import (
    _flat_broadcast,
    _predict_steps,
    _state_variables,
    _test_steps,
    _train_steps,
)
from lamina.backend.torch.core import device_put_batch, device_scope
from lamina.utils import nest

_START_TIMEOUT_S = 180.0
_spawn_preparation = mp_spawn.get_preparation_data
# Words of the errors a replica sees when another one died: symptoms, not the cause.
_PEER_ERRORS = ("Connection closed by peer", "Connection reset", "DistBackendError", "NCCL", "gloo")


def _timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(os.environ.get("LAMINA_DISTRIBUTED_TIMEOUT", "600")))


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


def _pool_for(placement) -> _Pool:
    """The pool serving every device of the placement's kind (started on first use, and again when the machine
    lists more devices than it serves: `LAMINA_CPU_DEVICES` raised, say)."""
    pool = _pool["value"]
    if pool is not None and max(placement.ranks()) >= pool.world:
        pool.abandon()  # idle workers: stopped at once (a graceful stop then a new group in this process hangs)
        _pool["value"] = pool = None
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


def _drop(pool: _Pool, ranks, key) -> None:
    for rank in ranks:
        try:
            pool.conns[rank].send(("drop", key))
        except (BrokenPipeError, OSError):
            pass


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
