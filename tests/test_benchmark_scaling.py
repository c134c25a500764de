"""`benchmarks/scaling.py`: its rows count the samples trained and derive speedup and efficiency correctly.

The script's core (`train`, which `measure` calls) runs here in-process on 1 and 2 devices (tests/conftest.py gives
JAX 8 host devices and torch 4 CPU devices) for a few steps of bench.py's small workload (the script's mlp and cnn
cost seconds to compile); the columns are then recomputed from the raw figures. The GPU targets and the table's
text are checked on made-up rows.
"""

from __future__ import annotations

import importlib.util
import re

import pytest
from conftest import REPOSITORY

import lamina


@pytest.fixture(scope="module")
def scaling():
    spec = importlib.util.spec_from_file_location("scaling", REPOSITORY / "benchmarks" / "scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_cells(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def _assert_replicated(model, count: int):
    """The timed steps really ran on `count` replicas (as tests/distribution/test_data_parallel.py checks it)."""
    if lamina.backend.backend() == "jax":
        assert len(model.weights[0].value.sharding.device_set) == count
    else:
        assert model._runner._replicas.count == count and model._runner._replicas.shipped


def test_one_and_two_devices_count_samples_and_derive_the_columns(scaling):
    engine = lamina.backend.backend()
    # On JAX every further step count compiles another fused call (about 2 s here): one step keeps the test cheap.
    steps, per_device = (1 if engine == "jax" else 3), 8
    trained = [scaling.train("small", count, steps, per_device) for count in (1, 2)]
    _assert_replicated(trained[1][1], 2)
    rows = scaling.scaling_rows([{"engine": engine, **row} for row, _ in trained])
    one = rows[0]["samples"] / rows[0]["seconds"]
    for row, count in zip(rows, (1, 2)):
        assert row["device_kind"] == "cpu" and row["devices"] == count
        assert row["global_batch"] == per_device * count
        assert row["steps"] == steps  # what `fit` ran, from its History
        assert row["samples"] == steps * per_device * count
        assert row["samples_per_s"] == pytest.approx(steps * per_device * count / row["seconds"])
        assert row["speedup"] == pytest.approx(row["samples_per_s"] / one)
        assert row["efficiency"] == pytest.approx(row["samples_per_s"] / one / count)
    assert rows[0]["speedup"] == 1.0
    cells = _table_cells(scaling.format_table(rows))
    assert [cell[:4] for cell in cells] == [[engine, "small", "1", "8"], [engine, "small", "2", "16"]]
    assert cells[1][4:] == [
        f"{rows[1]['samples_per_s']:,.0f}",
        f"{rows[1]['samples_per_s'] / one:.2f}x",
        f"{rows[1]['samples_per_s'] / one / 2:.0%}",
    ]
    assert "no target" in scaling.target_lines(rows)[0]


def test_gpu_targets_are_judged_and_missing_gpus_are_skipped(scaling):
    def row(devices, rate=None, **extra):
        figures = {"global_batch": 32 * devices, "samples_per_s": rate} if rate else {}
        return {"engine": "jax", "workload": "cnn", "devices": devices, "device_kind": "gpu", **figures, **extra}

    rows = scaling.scaling_rows([row(1, 100.0), row(2, 175.0), row(4, 390.0), row(8, skipped="1 GPU here")])
    assert [r.get("speedup") for r in rows] == [1.0, 1.75, 3.9, None]
    assert rows[2]["efficiency"] == pytest.approx(0.975)
    assert scaling.target_lines(rows) == [
        "jax cnn: speedup at 2 GPUs = 1.75x (target >= 1.7x): met",
        "jax cnn: efficiency at 8 GPUs: not measured (1 GPU here)",
    ]
    rows = scaling.scaling_rows([row(1, 100.0), row(2, 150.0), row(8, 700.0)])
    assert scaling.target_lines(rows) == [
        "jax cnn: speedup at 2 GPUs = 1.50x (target >= 1.7x): NOT met",
        "jax cnn: efficiency at 8 GPUs = 88% (target >= 90%): NOT met",
    ]
    assert _table_cells(scaling.format_table(rows))[2] == ["jax", "cnn", "8", "256", "700", "7.00x", "88%"]


def test_each_device_count_gets_its_own_cpu_device_settings(scaling, monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=8")
    env = scaling.child_env("torch", 2)
    assert env["LAMINA_BACKEND"] == "torch" and env["LAMINA_CPU_DEVICES"] == "2"
    assert re.findall(r"--\S+", env["XLA_FLAGS"]) == [
        "--xla_cpu_enable_fast_math=false",
        "--xla_force_host_platform_device_count=2",
    ]
