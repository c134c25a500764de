"""A small training job for the BackupAndRestore tests; run as a script it kills itself mid-training.

python backup_job.py BACKUP_DIR EPOCH BATCH   # SIGKILLs its own process at that epoch and batch
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

import lamina
from lamina import layers

EPOCHS = 6
BATCH_SIZE = 8


def build():
    """The same model, with the same initial weights and Dropout seeds, every time."""
    lamina.backend.clear_session()
    lamina.utils.set_random_seed(7)
    model = lamina.Sequential(
        [layers.Dense(8, activation="relu", input_shape=(3,)), layers.Dropout(0.3), layers.Dense(1)]
    )
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    return model


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-1.0], [0.5]], "float32")).astype("float32")


class Interrupt(lamina.callbacks.Callback):
    """Stops the process (SIGKILL, or an exception) after training batch `batch` of epoch `epoch`.

    It also records the weights after every batch, and defines a batch hook in every run,
    so every run trains one step per call.
    """

    def __init__(self, epoch=None, batch=None, kill=True):
        super().__init__()
        self.at, self.kill, self.epoch = (epoch, batch), kill, None
        self.after_batch = {}
        self.at_epoch_begin = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.at_epoch_begin[epoch] = (
            self.model._shuffle_rng.bit_generator.state,
            [v.numpy() for v in self.model.variables + self.model.optimizer.variables],
        )

    def on_train_batch_end(self, batch, logs=None):
        self.after_batch[(self.epoch, batch)] = self.model.get_weights()
        if (self.epoch, batch) == self.at:
            if self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise KeyboardInterrupt


def train(backup_dir, interrupt=None, **backup_kwargs):
    """(model, history, the Interrupt callback) of a fit with BackupAndRestore(backup_dir) and shuffling on."""
    model = build()
    interrupt = interrupt or Interrupt()
    callbacks = [lamina.callbacks.BackupAndRestore(backup_dir, **backup_kwargs), interrupt]
    history = model.fit(*data(), batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, callbacks=callbacks, verbose=0)
    return model, history, interrupt


if __name__ == "__main__":
    train(sys.argv[1], Interrupt(int(sys.argv[2]), int(sys.argv[3])))
    sys.exit("the job was meant to kill itself before the end of training")
