"""bench.py's rows measured in milliseconds, seconds and megabytes rather than samples per second.

- `predict-latency`: one sample per `predict` call on the small model, after a warm-up; the median (p50) and the 99th
  percentile (p99) of `PREDICT_CALLS` calls, in ms. Lower is better.
- `import`: seconds from nothing to `import <library>` and the first model built and compiled (the small model), in a
  fresh interpreter. Lower is better.
- `memory-mlp`, `memory-cnn`: the peak resident memory (MB) of the process that ran the mlp / cnn row's `fit`
  (warm-up epoch included). Lower is better.

Each runs in bench.py's child process for one library, like every other row.

Example:
    python benchmarks/bench.py --only predict-latency import memory-mlp memory-cnn --engine torch
"""

from __future__ import annotations

import importlib
import resource
import sys
import time

PREDICT_CALLS = 300
# name: (unit, what the value is). Every one of these rows: lower is better.
ROWS = {
    "predict-latency": ("ms", "p50 of one-sample predict calls"),
    "import": ("s", "import and first model built and compiled"),
    "memory-mlp": ("MB", "peak RSS of the mlp fit"),
    "memory-cnn": ("MB", "peak RSS of the cnn fit"),
}


def base_workload(row: str) -> str:
    """The bench.py workload a footprint row runs: the small model, or the mlp / cnn of a memory row."""
    return row.split("-", 1)[1] if row.startswith("memory-") else "small"


def predict_latency(model, x) -> dict:
    """p50 and p99 milliseconds of `model.predict` on one sample at a time."""
    import numpy as np

    for row in range(5):
        model.predict(x[row : row + 1], verbose=0)  # warm-up: compile
    times = []
    for call in range(PREDICT_CALLS):
        sample = x[call % len(x) : call % len(x) + 1]
        start = time.perf_counter()
        model.predict(sample, verbose=0)
        times.append((time.perf_counter() - start) * 1000)
    p50, p99 = np.percentile(times, [50, 99])
    return {"value": float(p50), "text": f"{p50:.2f} / {p99:.2f}"}


def import_seconds(library: str, build) -> dict:
    """Seconds to import `library` (a module not imported yet) and build and compile the first model with it."""
    if library in sys.modules:
        raise RuntimeError(f"{library} is already imported in this process: the import row needs a fresh one.")
    start = time.perf_counter()
    module = importlib.import_module(library)
    build(module)
    return {"value": time.perf_counter() - start}


def peak_rss_mb() -> dict:
    """This process's peak resident memory so far, in MB (Linux reports ru_maxrss in kB)."""
    return {"value": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
