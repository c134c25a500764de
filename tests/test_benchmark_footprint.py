"""benchmarks/footprint.py: the predict-latency, import and memory rows of bench.py measure what they say."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import numpy as np
import pytest

import lamina  # noqa: F401  (imported here, so the import row must refuse it)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import footprint  # noqa: E402


class _Clock:
    """A model whose predict takes the next of `delays` (ms) on a fake clock."""

    def __init__(self, delays, monkeypatch):
        self.now, self.delays = 0.0, list(delays)
        monkeypatch.setattr(footprint.time, "perf_counter", lambda: self.now)

    def predict(self, x, verbose=0):
        assert x.shape[0] == 1
        self.now += (self.delays.pop(0) if self.delays else 1.0) / 1000


def test_predict_latency_reports_the_median_and_the_99th_percentile_of_single_sample_calls(monkeypatch):
    delays = [0.0] * 5 + [float(i % 100 + 1) for i in range(footprint.PREDICT_CALLS)]  # warm-up calls, then 1..100 ms
    result = footprint.predict_latency(_Clock(delays, monkeypatch), np.zeros((7, 3), "float32"))
    expected = np.percentile(delays[5:], [50, 99])
    assert result["value"] == pytest.approx(expected[0])
    assert result["text"] == f"{expected[0]:.2f} / {expected[1]:.2f}"


def test_import_row_refuses_a_module_already_imported_and_times_a_fresh_one(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="already imported"):
        footprint.import_seconds("lamina", lambda module: None)
    (tmp_path / "footprint_probe.py").write_text("import time\ntime.sleep(0.05)\nVALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "footprint_probe", raising=False)
    built = []
    result = footprint.import_seconds("footprint_probe", built.append)  # a module nothing imported before
    assert [module.VALUE for module in built] == [7] and result["value"] >= 0.05
    monkeypatch.delitem(sys.modules, "footprint_probe")


def test_memory_rows_read_the_peak_resident_memory_and_name_their_workload():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert footprint.peak_rss_mb()["value"] >= before > 10
    assert [footprint.base_workload(row) for row in footprint.ROWS] == ["small", "small", "mlp", "cnn"]
