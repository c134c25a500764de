"""Memory stays flat while an epoch streams a file much larger than the process may grow.

A 200 MB HDF5 file is written in pieces, then a fresh Python process trains on
it for one epoch through HDF5Matrix (shuffle="batch") and one epoch through a
Sequence that reads the file batch by batch. Its peak resident memory
(`ru_maxrss`) may grow by at most a tenth of the file over what it was after a
short warm-up on the same data (imports, compiled steps, file caches).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np

ROWS, FEATURES, BATCH = 51200, 1024, 128  # 200 MiB of float32, 400 batches

SCRIPT = r"""
import json, resource, sys

import h5py
import numpy as np

import lamina
from lamina import layers

path, batch = sys.argv[1], int(sys.argv[2])


def peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class FileBatches(lamina.utils.Sequence):
    def __init__(self, path, batch):
        self.path, self.batch, self.file = path, batch, None

    def __len__(self):
        with h5py.File(self.path, "r") as handle:
            return -(-len(handle["x"]) // self.batch)

    def __getitem__(self, index):
        if self.file is None:
            self.file = h5py.File(self.path, "r")
        rows = slice(index * self.batch, (index + 1) * self.batch)
        return self.file["x"][rows], self.file["y"][rows]


x, y = lamina.utils.HDF5Matrix(path, "x"), lamina.utils.HDF5Matrix(path, "y")
model = lamina.Sequential([layers.Dense(1, input_shape=(x.shape[1],))])
model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1e-4), loss="mse")
# Warm-up on a few batches of each path: imports, compiled step shapes, HDF5 caches, worker thread.
model.fit(x, y, batch_size=batch, steps_per_epoch=12, shuffle="batch", verbose=0)
model.fit(FileBatches(path, batch), steps_per_epoch=12, verbose=0)
before = peak_bytes()
matrix_history = model.fit(x, y, batch_size=batch, epochs=1, shuffle="batch", verbose=0).history
after_matrix = peak_bytes()
sequence_history = model.fit(FileBatches(path, batch), epochs=1, verbose=0).history
after_sequence = peak_bytes()
print(json.dumps({"before": before, "after_matrix": after_matrix, "after_sequence": after_sequence,
                  "losses": matrix_history["loss"] + sequence_history["loss"]}))
"""


def write_file(path) -> int:
    """Writes x (ROWS, FEATURES) and y (ROWS, 1) in pieces of 16 MiB; returns the file's size."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(FEATURES, 1)).astype("float32") / FEATURES
    with h5py.File(path, "w") as handle:
        x = handle.create_dataset("x", (ROWS, FEATURES), "float32")
        y = handle.create_dataset("y", (ROWS, 1), "float32")
        for start in range(0, ROWS, 4096):
            piece = rng.random((min(4096, ROWS - start), FEATURES), dtype=np.float32)
            x[start : start + len(piece)] = piece
            y[start : start + len(piece)] = piece @ kernel
    return os.path.getsize(path)


def test_an_epoch_over_a_200mb_file_keeps_memory_flat(tmp_path):
    path = tmp_path / "big.h5"
    size = write_file(path)
    assert size > 200 * 2**20
    script = tmp_path / "stream_epoch.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")  # the step is tiny: one thread, no oversubscribed cores
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(BATCH)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth = max(result["after_matrix"], result["after_sequence"]) - result["before"]
    assert growth < size / 10, f"peak memory grew by {growth / 2**20:.1f} MiB over a {size / 2**20:.0f} MiB epoch"
    assert np.all(np.isfinite(result["losses"]))
