"""A replica that dies in the middle of a data-parallel fit: the others stop with a clear error, soon, and
BackupAndRestore resumes the run, which then ends where an uninterrupted run ends.

On torch, one machine: the fit runs over 4 CPU devices (tests/conftest.py: LAMINA_CPU_DEVICES), each replica but the
first in a worker process; a callback kills worker 1 in the middle of the second epoch. On many machines, on the
engine under test: two processes on 127.0.0.1 (tests/distribution/failure_worker.py, started as
test_multi_host.py starts its workers) and process 1 kills itself; two jobs of two processes take about 20 s, and
JAX's CPU collectives only notice a dead peer when their timeout (LAMINA_DISTRIBUTED_TIMEOUT, 10 s here) runs out,
so that test runs with LAMINA_LARGE_MODELS=1. Every resumed run is compared with one device trained from the same
seed for as many epochs (weights and the losses of the resumed epochs, to 1e-5).
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import pathlib
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import lamina
from lamina import callbacks, distribution, utils

WORKER = pathlib.Path(__file__).with_name("failure_worker.py")
ENGINE = lamina.backend.backend()
LARGE_MODELS = pytest.mark.skipif(
    not os.environ.get("LAMINA_LARGE_MODELS"), reason="two multi-process runs and a timeout: LAMINA_LARGE_MODELS=1"
)
COLLECTIVE_TIMEOUT_S = 10  # LAMINA_DISTRIBUTED_TIMEOUT in the JAX job


def _load_worker():
    spec = importlib.util.spec_from_file_location("failure_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_resumed_as_uninterrupted(history, weights, reference, reference_history):
    """Keras's resume: the epochs after the backup (1 to 3) only, ending with the uninterrupted run's numbers."""
    assert list(history["epoch"]) == [1, 2, 3]
    np.testing.assert_allclose(history["loss"], reference_history.history["loss"][1:], rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(weights, reference.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def _backup_epoch(path) -> int:
    with h5py.File(path, "r") as f:
        return int(f.attrs["epoch"])


# ------------------------------------------------------------------------------------------ torch, one machine
def _replica_processes() -> dict:
    """The data-parallel worker processes this process started, by replica index."""
    prefix = "lamina-replica-"
    return {int(p.name[len(prefix) :]): p for p in multiprocessing.active_children() if p.name.startswith(prefix)}


class KillWorkerOne(callbacks.Callback):
    """Kills data-parallel worker 1 (SIGKILL) at the end of the worker script's KILL_AT batch."""

    def __init__(self, at: tuple):
        super().__init__()
        self.at, self.epoch, self.workers, self.killed_at = at, 0, {}, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.workers = _replica_processes()
            self.killed_at = time.monotonic()
            self.workers[1].kill()


@pytest.mark.skipif(ENGINE != "torch", reason="torch's worker processes (JAX runs one process)")
@pytest.mark.skipif(len(distribution.list_devices()) < 4, reason="needs 4 devices (tests/conftest.py: 4 torch CPUs)")
def test_a_worker_killed_mid_fit_stops_it_at_once_and_backup_and_restore_resumes(tmp_path):
    worker = _load_worker()
    reference, reference_history = worker.train()  # one device, EPOCHS epochs
    model = utils.multi_gpu_model(worker.build(), gpus=4)
    worker.compile_model(model)
    x, y = worker.data()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    kill = KillWorkerOne(worker.KILL_AT)
    options = {"batch_size": 16, "epochs": worker.EPOCHS, "shuffle": False, "verbose": 0}
    with pytest.raises(RuntimeError, match=r"Data-parallel worker 1 stopped \(exit code -9\)"):
        model.fit(x, y, callbacks=[backup, kill], **options)
    assert time.monotonic() - kill.killed_at < 10  # measured 0.5 s
    assert sorted(kill.workers) == [1, 2, 3] and not any(p.is_alive() for p in kill.workers.values())
    assert _backup_epoch(backup.backup_path) == 1  # written at the end of the first epoch

    history = model.fit(x, y, callbacks=[backup], **options)  # new workers, from the backup
    assert sorted(_replica_processes()) == [1, 2, 3]
    _assert_resumed_as_uninterrupted(
        {"epoch": history.epoch, "loss": history.history["loss"]}, model.get_weights(), reference, reference_history
    )
    assert not os.path.exists(backup.backup_path)  # the finished fit removed it


# -------------------------------------------------------------------------------- two processes, either engine
def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_job(out: pathlib.Path, run: str, *arguments) -> list:
    """The two worker processes of a job, their output in OUT/<run>_<process>.txt."""
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k not in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")}
    base.update(
        LAMINA_BACKEND=ENGINE,
        LAMINA_DISTRIBUTED_TIMEOUT=str(COLLECTIVE_TIMEOUT_S),
        KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
        KERAS_DISTRIBUTION_NUM_PROCESSES="2",
        XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
        "--xla_force_host_platform_device_count=2",
    )
    workers = []
    for index in range(2):
        with open(out / f"{run}_{index}.txt", "w") as sink:
            command = [sys.executable, str(WORKER), str(out), *arguments]
            environment = {**base, "KERAS_DISTRIBUTION_PROCESS_ID": str(index)}
            workers.append(subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT))
    return workers


def _wait(workers: list, seconds: float) -> list:
    """The workers' exit codes once all have stopped; any still running after `seconds` is killed and fails."""
    deadline = time.monotonic() + seconds
    try:
        while any(w.poll() is None for w in workers):
            assert time.monotonic() < deadline, f"a process was still running after {seconds} s (a hang)"
            time.sleep(0.05)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    return [worker.returncode for worker in workers]


# What the surviving process raises, and within how many seconds of the kill (torch: measured 0.03 s; JAX: its CPU
# collectives wait for their timeout, then JAX's coordinator says which process stopped heartbeating).
EXPECTED_STOP = {
    "jax": ("Process 1 of this 2-process job stopped", COLLECTIVE_TIMEOUT_S - 1, COLLECTIVE_TIMEOUT_S + 15),
    "torch": ("Data-parallel step failed on process 0 of 2 (a process of the job may have stopped)", 0, 15),
}


@LARGE_MODELS
def test_a_process_killed_mid_fit_stops_the_job_and_a_restarted_job_resumes(tmp_path):
    worker = _load_worker()
    job = _start_job(tmp_path, "killed", "kill")
    reference, reference_history = worker.train()  # one device, in this process, while the job runs
    codes = _wait(job, 180)
    output = (tmp_path / "killed_0.txt").read_text()
    assert codes == [1, -9], output[-3000:]
    # Process 0 raised a RuntimeError that says what happened, soon after the kill.
    stopped_at, message = (tmp_path / "error_0.txt").read_text().split("\n", 1)
    waited = float(stopped_at) - float((tmp_path / "killed_at").read_text())
    expected, earliest, latest = EXPECTED_STOP[ENGINE]
    assert message.startswith(expected), message
    assert earliest < waited < latest, waited
    assert f"RuntimeError: {expected}" in output
    assert _backup_epoch(tmp_path / "backup" / "training_state.h5") == 1

    codes = _wait(_start_job(tmp_path, "resumed"), 180)
    assert codes == [0, 0], (tmp_path / "resumed_0.txt").read_text()[-3000:] + (tmp_path / "resumed_1.txt").read_text()
    for index in range(2):
        got = np.load(tmp_path / f"results_{index}.npz")
        assert int(got["replicas"]) == (4 if ENGINE == "jax" else 2)
        weights = [got[f"weight_{i}"] for i in range(len(reference.get_weights()))]
        _assert_resumed_as_uninterrupted(got, weights, reference, reference_history)
    assert not (tmp_path / "backup" / "training_state.h5").exists()


# ------------------------------------------------------------------------------------ JAX's error, in one process
@pytest.mark.skipif(ENGINE != "jax", reason="JAX's collective errors")
def test_a_collective_that_lost_its_peer_names_the_stopped_process(monkeypatch):
    # What the JAX job above checks end to end, cheaply: the error of a CPU collective whose peer died becomes a
    # RuntimeError naming the process that JAX's coordinator found dead; other errors pass unchanged.
    import jax

    distribute = lamina.backend.engine.distribute
    lost = jax.errors.JaxRuntimeError("UNKNOWN: Gloo all-reduce failed: [pair.cc:538] Read error: Connection reset")
    assert distribute.peer_failure(lost) is None  # one process: no job to blame
    monkeypatch.setattr(jax, "process_count", lambda: 3)
    monkeypatch.setattr(distribute, "_stopped_processes", lambda wait_s: [2])
    failure = distribute.peer_failure(lost)
    assert isinstance(failure, RuntimeError) and str(failure).startswith("Process 2 of this 3-process job stopped")
    assert "BackupAndRestore resumes" in str(failure) and "Gloo all-reduce failed" in str(failure)
    assert distribute.peer_failure(jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: out of memory")) is None
    assert distribute.peer_failure(ValueError("Connection reset by peer")) is None
    monkeypatch.setattr(distribute, "_stopped_processes", lambda wait_s: None)  # the coordinator did not answer
    assert "failed on process 0" in str(distribute.peer_failure(lost))


@pytest.mark.skipif(ENGINE != "jax", reason="JAX's initialize")
def test_a_bad_distributed_timeout_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("LAMINA_DISTRIBUTED_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="LAMINA_DISTRIBUTED_TIMEOUT must be a positive number of seconds, got 'soon'"):
        distribution.initialize("127.0.0.1:1", num_processes=2, process_id=0)
