"""One process of a multi-host test (tests/distribution/test_multi_host.py starts two); not a test itself.

`python multi_host_worker.py jax|torch OUT_DIR`, with the job in Keras 3's variables (KERAS_DISTRIBUTION_*) or
torchrun's (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK). It trains the model of `train` data-parallel over every
device of both processes (JAX: 2 host devices each; torch: one replica per process) and saves what it got in
OUT_DIR/results_<process>.npz; its callbacks write under OUT_DIR/process_<process>/. The test also calls `train`
itself, on one device, for the numbers to compare with.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import lamina
from lamina import callbacks, distribution, layers


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(69, 6)).astype("float32"), rng.integers(0, 3, 69)


class Batches(lamina.utils.Sequence):
    """x, y in batches of 16 (the last one 5), which each process reads whole, by index."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // 16)

    def __getitem__(self, index):
        return self.x[index * 16 : (index + 1) * 16], self.y[index * 16 : (index + 1) * 16]


def train(seed: int, files_dir: str | None = None) -> dict:
    """Builds the model from `seed`, trains it 2 epochs on arrays and one on a Sequence (shuffled, batches of 16,
    the last one 5: no device count divides it, so it runs whole) and reports the numbers."""
    lamina.utils.set_random_seed(seed)
    inputs = layers.Input((6,), name="features")
    hidden = layers.Dense(12, activation="relu", name="hidden")(inputs)
    hidden = layers.Dropout(0.25, name="drop")(hidden)
    model = lamina.Model(inputs, layers.Dense(3, activation="softmax", name="probs")(hidden))
    # One step per call: each batch shape compiles once (16, and 5 for the last), which keeps the test short.
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
    results["predictions"] = model.predict(x, batch_size=32, verbose=0)  # batches of 32, 32 and 5 (whole)
    results["evaluation"] = np.array(model.evaluate(x, y, batch_size=32, verbose=0))
    return results


def main() -> None:
    engine, out = sys.argv[1], sys.argv[2]
    distribution.initialize()
    index = distribution.process_index()
    slices = []  # torch: the size of each slice of a batch this process trained on
    if engine == "torch":
        distribute = lamina.backend.engine.distribute
        split_steps = distribute._train_steps
        distribute._train_steps = lambda runner, group, ranks, batch, *rest: (
            slices.append(len(batch[0][0])) or split_steps(runner, group, ranks, batch, *rest)
        )
    distribution.set_distribution(distribution.DataParallel())
    # Process 1 starts from other weights and another shuffling seed: process 0's must win on both.
    results = train(seed=1 + index, files_dir=os.path.join(out, f"process_{index}"))
    # The replicas: every device of both processes on JAX, one per process on torch.
    results["devices"] = np.array(len(distribution.list_devices()) if engine == "jax" else distribution.num_processes())
    results["slices"] = np.array(slices)
    if engine == "torch":  # multi_gpu_model in a job: one replica per process too, from process 0's weights
        lamina.utils.set_random_seed(7 + index)
        template = lamina.Sequential([layers.Input((6,)), layers.Dense(3, name="dense")])
        parallel = lamina.utils.multi_gpu_model(template, gpus=2)
        results["multi_gpu_predictions"] = parallel.predict(data()[0], batch_size=32, verbose=0)
        results.update({f"multi_gpu_weight_{i}": value for i, value in enumerate(template.get_weights())})
    np.savez(os.path.join(out, f"results_{index}.npz"), **results)


if __name__ == "__main__":
    main()
