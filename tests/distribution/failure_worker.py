"""One process of a job that loses a process mid-fit (tests/distribution/test_worker_failure.py starts two).

Not a test itself. `python failure_worker.py OUT_DIR [kill]`, with the job in Keras 3's variables
(KERAS_DISTRIBUTION_*), on either engine: every process trains the model of `train` data-parallel over all the
job's devices (JAX) or processes (torch), with BackupAndRestore in OUT_DIR/backup (a folder both processes share).
With `kill`, process 1 kills itself (SIGKILL, after writing the time to OUT_DIR/killed_at) at the end of the second
batch of the second epoch; the other process must then stop with an error, which it writes to
OUT_DIR/error_<process>.txt before raising it. A run that finishes saves its weights and History in
OUT_DIR/results_<process>.npz. The test calls `train` itself, in one process on one device, for the numbers to
compare with.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

import lamina
from lamina import callbacks, distribution, layers

EPOCHS = 4
KILL_AT = (1, 1)  # (epoch, batch): the second batch of the second epoch


class KillProcessOne(callbacks.Callback):
    """Kills process 1 of the job (this process, when it is process 1) at the end of batch KILL_AT."""

    def __init__(self, out: str):
        super().__init__()
        self.out = out
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == KILL_AT and distribution.process_index() == 1:
            with open(os.path.join(self.out, "killed_at"), "w") as f:
                f.write(repr(time.time()))
            os.kill(os.getpid(), signal.SIGKILL)


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 3, 64)


def build():
    lamina.utils.set_random_seed(1)
    inputs = layers.Input((6,), name="features")
    hidden = layers.Dense(12, activation="relu", name="hidden")(inputs)
    return lamina.Model(inputs, layers.Dense(3, activation="softmax", name="probs")(hidden))


def compile_model(model) -> None:
    # One step per call and batches of 16 (64 samples: 4 steps an epoch, each over every device).
    model.compile(lamina.optimizers.SGD(0.1), "sparse_categorical_crossentropy", steps_per_execution=1)


def train(extra_callbacks=()) -> tuple:
    """The model of `build` trained EPOCHS epochs in batches of 16, unshuffled; returns it and its History."""
    model = build()
    compile_model(model)
    x, y = data()
    history = model.fit(x, y, batch_size=16, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=list(extra_callbacks))
    return model, history


def main() -> None:
    out, kill = sys.argv[1], sys.argv[2:] == ["kill"]
    distribution.initialize()
    distribution.set_distribution(distribution.DataParallel())
    index = distribution.process_index()
    backup = callbacks.BackupAndRestore(os.path.join(out, "backup"))
    try:
        model, history = train([backup, KillProcessOne(out)] if kill else [backup])
    except RuntimeError as error:
        with open(os.path.join(out, f"error_{index}.txt"), "w") as f:
            f.write(f"{time.time()!r}\n{error}")
        raise
    results = {f"weight_{i}": value for i, value in enumerate(model.get_weights())}
    results["epoch"], results["loss"] = np.array(history.epoch), np.array(history.history["loss"])
    results["replicas"] = np.array(model._runner.placement.count)  # JAX: 2 devices a process; torch: 1
    np.savez(os.path.join(out, f"results_{index}.npz"), **results)


if __name__ == "__main__":
    main()
