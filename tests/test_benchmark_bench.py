"""benchmarks/bench.py: the tf-keras column finds its interpreter, and the ratio columns compare the right cells."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench  # noqa: E402


def cells(**values):
    return {library.replace("_", "-"): {"value": value} for library, value in values.items()}


def test_throughput_rows_compare_lamina_with_keras_and_with_the_best_other_library():
    row = cells(lamina=300.0, keras=200.0, tf_keras=400.0, torch_loop=350.0)
    assert bench.lamina_against_the_rest(row, lower_is_better=False) == (1.5, 0.75)


def test_lower_is_better_rows_invert_both_ratios_and_skip_unmeasured_cells():
    row = cells(lamina=2.0, keras=3.0, tf_keras=2.5, torch_loop=float("nan"))  # memory in MB, say
    assert bench.lamina_against_the_rest(row, lower_is_better=True) == (1.5, 1.25)
    ratio, best = bench.lamina_against_the_rest(cells(lamina=2.0, keras=float("nan")), lower_is_better=True)
    assert math.isnan(ratio) and math.isnan(best)


def test_passes_keep_each_cell_s_best_measurement_and_a_failed_one_never_wins():
    nan = {"value": float("nan")}
    assert bench.better(None, {"value": 5.0}, lower_is_better=False) == {"value": 5.0}
    assert bench.better({"value": 5.0}, {"value": 7.0}, lower_is_better=False) == {"value": 7.0}
    assert bench.better({"value": 7.0}, {"value": 5.0}, lower_is_better=False) == {"value": 7.0}
    assert bench.better({"value": 7.0}, {"value": 5.0}, lower_is_better=True) == {"value": 5.0}  # MB, ms, s
    assert bench.better(nan, {"value": 5.0}, lower_is_better=True) == {"value": 5.0}
    assert bench.better({"value": 5.0}, nan, lower_is_better=False) == {"value": 5.0}


def test_tf_keras_runs_in_the_interpreter_named_else_in_this_one_if_it_has_tf_keras(monkeypatch):
    monkeypatch.delenv("LAMINA_BENCH_TF_PYTHON", raising=False)
    assert bench.tf_keras_python("/opt/tf/bin/python") == "/opt/tf/bin/python"
    monkeypatch.setenv("LAMINA_BENCH_TF_PYTHON", "/env/tf/bin/python")
    assert bench.tf_keras_python(None) == "/env/tf/bin/python"
    assert bench.tf_keras_python("/opt/tf/bin/python") == "/opt/tf/bin/python"  # the argument wins
    monkeypatch.delenv("LAMINA_BENCH_TF_PYTHON")
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: object() if name == "tf_keras" else None)
    assert bench.tf_keras_python(None) == sys.executable
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    assert bench.tf_keras_python(None) is None


@pytest.mark.parametrize("library, module", [("tf-keras", "tf_keras"), ("keras", "keras"), ("lamina", "lamina")])
def test_each_library_imports_its_own_module(library, module):
    assert bench.MODULES.get(library, library) == module
    assert library in bench.RUNNERS
