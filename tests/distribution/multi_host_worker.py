"""One process of a multi-host test (tests/distribution/test_multi_host.py starts two); not a test itself.

`python multi_host_worker.py jax|torch OUT_DIR`, with the job in Keras 3's variables (KERAS_DISTRIBUTION_*).
On JAX it trains the model of `train` data-parallel over every device of both processes and saves what it got in
OUT_DIR/results_<process>.npz; its callbacks write under OUT_DIR/process_<process>/. On torch it joins the job and
all-reduces one number. The test also calls `train` itself, on one device, for the numbers to compare with.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import lamina
from lamina import callbacks, distribution, layers


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(70, 6)).astype("float32"), rng.integers(0, 3, 70)


class Batches(lamina.utils.Sequence):
    """x, y in batches of 16 (the last one 6), which each process reads whole, by index."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // 16)

    def __getitem__(self, index):
        return self.x[index * 16 : (index + 1) * 16], self.y[index * 16 : (index + 1) * 16]


def train(seed: int, files_dir: str | None = None) -> dict:
    """Builds the model from `seed`, trains it 2 epochs on arrays and one on a Sequence (shuffled, batches of 16,
    the last one 6) and reports the numbers."""
    lamina.utils.set_random_seed(seed)
    inputs = layers.Input((6,), name="features")
    hidden = layers.Dense(12, activation="relu", name="hidden")(inputs)
    hidden = layers.Dropout(0.25, name="drop")(hidden)
    model = lamina.Model(inputs, layers.Dense(3, activation="softmax", name="probs")(hidden))
    # One step per call: each batch shape compiles once (16, and 6 for the last), which keeps the test short.
    model.compile(
        lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=1
    )
    writers = []
    if files_dir is not None:
        os.makedirs(files_dir, exist_ok=True)
        writers = [
            callbacks.ModelCheckpoint(os.path.join(files_dir, "model.h5")),
            callbacks.CSVLogger(os.path.join(files_dir, "log.csv")),
            callbacks.BackupAndRestore(os.path.join(files_dir, "backup"), delete_checkpoint=False),
        ]
    x, y = data()
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=True, verbose=1, callbacks=writers).history
    results = {f"weight_{i}": value for i, value in enumerate(model.get_weights())}
    results["loss"], results["accuracy"] = np.array(history["loss"]), np.array(history["accuracy"])
    # The same steps (no new compilation), on a Sequence whose batch order comes from process 0's seed.
    results["sequence_loss"] = np.array(model.fit(Batches(x, y), shuffle=True, verbose=0).history["loss"])
    results.update({f"after_sequence_{i}": value for i, value in enumerate(model.get_weights())})
    results["predictions"] = model.predict(x, batch_size=32, verbose=0)  # batches of 32, 32 and 6
    results["evaluation"] = np.array(model.evaluate(x, y, batch_size=70, verbose=0))  # 70: runs replicated
    return results


def main() -> None:
    engine, out = sys.argv[1], sys.argv[2]
    distribution.initialize()
    index = distribution.process_index()
    if engine == "torch":
        import torch
        import torch.distributed as dist

        total = torch.tensor([float(index + 1)])
        dist.all_reduce(total)
        seed = lamina.backend.engine.distribute.chief_seed(100 + index)
        report = {"total": total.item(), "processes": distribution.num_processes(), "seed": seed}
        with open(os.path.join(out, f"results_{index}.json"), "w") as f:
            json.dump(report, f)
        dist.destroy_process_group()
        return
    distribution.set_distribution(distribution.DataParallel())
    # Process 1 starts from other weights and another shuffling seed: process 0's must win on both.
    results = train(seed=1 + index, files_dir=os.path.join(out, f"process_{index}"))
    results["devices"] = np.array(len(distribution.list_devices()))
    np.savez(os.path.join(out, f"results_{index}.npz"), **results)


if __name__ == "__main__":
    main()
