"""Multi-host training: two processes on 127.0.0.1 join one job through `lamina.distribution.initialize()`.

Each test starts its two worker processes (tests/distribution/multi_host_worker.py) on a free port, process 0
with Keras 3's KERAS_DISTRIBUTION_* variables and process 1 with torchrun's (MASTER_ADDR, MASTER_PORT, WORLD_SIZE,
RANK), and stops them within a timeout. On JAX each worker has 2 host devices, so `DataParallel()` spans 4 devices
over 2 processes (JAX's gloo collectives); on torch each process is one replica (a gloo process group). Process 1
is seeded differently from process 0 (other initial weights, another shuffling seed) and the run must still equal
one device training from process 0's seed: the loss history, the metrics, the weights, predict and evaluate on
both processes, to 1e-5, with a last batch (5) that no replica count divides. Only process 0 writes the
checkpoint, the CSV log, the backup and the progress bar, and the checkpoint loads on one device.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import lamina
from lamina import distribution

WORKER = pathlib.Path(__file__).with_name("multi_host_worker.py")
ENGINE = lamina.backend.backend()
TIMEOUT = 120  # seconds for both workers together


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_workers(engine: str, out: pathlib.Path, meanwhile=lambda: None) -> tuple:
    """Runs the two workers to the end, calling `meanwhile()` while they run; one failing (or the timeout) stops both.

    Returns their outputs and what `meanwhile` returned.
    """
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k not in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")}
    base.update(
        LAMINA_BACKEND=engine,
        LAMINA_CPU_DEVICES="2",  # torch: what multi_gpu_model(gpus=2) asks of each machine
        XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
        "--xla_force_host_platform_device_count=2",
    )
    # The job as Keras 3 names it for process 0, as torchrun does for process 1: initialize() reads either.
    keras = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2"}
    torchrun = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2", "LOCAL_RANK": "0"}
    jobs = [{**keras, "KERAS_DISTRIBUTION_PROCESS_ID": "0"}, {**torchrun, "RANK": "1"}]
    logs = [out / f"output_{index}.txt" for index in range(2)]
    workers = []
    try:
        for index, log in enumerate(logs):
            with open(log, "w") as sink:
                command = [sys.executable, str(WORKER), engine, str(out)]
                environment = {**base, **jobs[index]}
                workers.append(subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT
        during = meanwhile()
        while any(w.poll() is None for w in workers) and not any(w.poll() for w in workers):
            assert time.monotonic() < deadline, f"the {engine} workers did not finish within {TIMEOUT} s"
            time.sleep(0.05)
    finally:
        for worker in workers:  # a failed worker leaves the other waiting for it: stop it too
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    outputs = [log.read_text() for log in logs]
    for index, (worker, output) in enumerate(zip(workers, outputs)):
        assert worker.returncode == 0, f"worker {index} failed:\n{output[-4000:]}"
    return outputs, during


def _load_worker():
    spec = importlib.util.spec_from_file_location("multi_host_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_train_as_one_device(tmp_path):
    worker = _load_worker()
    # One device, in this process, from process 0's seed (while the workers run).
    outputs, expected = _run_workers(ENGINE, tmp_path, meanwhile=lambda: worker.train(seed=1))
    for index in range(2):
        got = np.load(tmp_path / f"results_{index}.npz")
        assert int(got["devices"]) == (4 if ENGINE == "jax" else 2)  # JAX: 2 devices per process; torch: 1
        if ENGINE == "torch":  # each process trained on its half of each batch of 16; the last batch (5) whole
            assert got["slices"].tolist() == [8] * 12, got["slices"]
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=f"process {index}: {key}")
    # Only process 0 wrote files and drew the progress bar.
    assert sorted(p.name for p in (tmp_path / "process_0").iterdir()) == ["backup", "log.csv", "model.h5"]
    assert list((tmp_path / "process_1").iterdir()) == []
    assert "Epoch 2/2" in outputs[0] and "Epoch" not in outputs[1]
    with open(tmp_path / "process_0" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    np.testing.assert_allclose([float(row["loss"]) for row in rows], expected["loss"], rtol=1e-5)
    reloaded = lamina.models.load_model(tmp_path / "process_0" / "model.h5")  # saved by 2 processes, loads on one
    for i, value in enumerate(reloaded.get_weights()):  # those at the end of the first fit
        np.testing.assert_allclose(value, expected[f"weight_{i}"], rtol=1e-5, atol=1e-6)
    if ENGINE == "jax":
        assert len(reloaded.weights[0].value.sharding.device_set) == 1
    else:  # multi_gpu_model in a torch job: process 1's template took process 0's weights; predict is whole on both
        first, second = (np.load(tmp_path / f"results_{index}.npz") for index in range(2))
        kernel, bias = first["multi_gpu_weight_0"], first["multi_gpu_weight_1"]
        np.testing.assert_array_equal(second["multi_gpu_weight_0"], kernel)
        for got in (first, second):
            np.testing.assert_allclose(
                got["multi_gpu_predictions"], worker.data()[0] @ kernel + bias, rtol=1e-5, atol=1e-6
            )


def test_initialize_names_what_is_missing(monkeypatch):
    for name in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "JAX_COORDINATOR_ADDRESS",
        "JAX_COORDINATOR_PORT",
        "JAX_NUM_PROCESSES",
        "JAX_PROCESS_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="no coordinator address.*KERAS_DISTRIBUTION_JOB_ADDRESSES.*MASTER_PORT"):
        distribution.initialize()
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.1")
    with pytest.raises(ValueError, match="MASTER_ADDR='10.0.0.1' has no port and MASTER_PORT is not set"):
        distribution.initialize()
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(ValueError, match="`num_processes` was not given.*WORLD_SIZE"):
        distribution.initialize()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer >= 1, got 'two'"):
        distribution.initialize()
    with pytest.raises(ValueError, match="`process_id` was not given.*RANK"):
        distribution.initialize(num_processes=2)
    with pytest.raises(ValueError, match="`process_id` must be below `num_processes` \\(2\\), got 2"):
        distribution.initialize(num_processes=2, process_id=2)
    with pytest.raises(ValueError, match='`job_addresses` must be "host:port"'):
        distribution.initialize("10.0.0.1", num_processes=2, process_id=0)
    with pytest.raises(ValueError, match="`num_processes` must be an integer >= 1, got 0"):
        distribution.initialize("10.0.0.1:1234", num_processes=0, process_id=0)
    assert (distribution.process_index(), distribution.num_processes(), distribution.is_chief()) == (0, 1, True)
    if ENGINE == "jax":  # this process has computed already: too late to join a job, and the error says what to do
        with pytest.raises(RuntimeError, match="at the start of the program"):
            distribution.initialize("127.0.0.1:1", num_processes=2, process_id=0)
