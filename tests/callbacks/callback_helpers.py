"""Shared pieces of the callback tests: a linear model whose losses NumPy can write out, and hook recorders."""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers

HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)  # fmt: skip


def linear_model(kernel, bias, lr=0.0, optimizer=None, **compile_kwargs):
    """Dense(units) with the given weights, compiled with SGD(lr) (or `optimizer`) and MSE."""
    kernel = np.asarray(kernel, dtype="float32")
    model = lamina.Sequential([layers.Dense(kernel.shape[1], input_shape=(kernel.shape[0],))])
    model.set_weights([kernel, np.asarray(bias, dtype="float32")])
    model.compile(optimizer=optimizer or lamina.optimizers.SGD(learning_rate=lr), loss="mse", **compile_kwargs)
    return model


def keras_linear_model(keras3, kernel, bias, lr=0.0, **compile_kwargs):
    """The same model in real Keras 3."""
    kernel = np.asarray(kernel, dtype="float32")
    model = keras3.Sequential([keras3.Input((kernel.shape[0],)), keras3.layers.Dense(kernel.shape[1])])
    model.set_weights([kernel, np.asarray(bias, dtype="float32")])
    model.compile(optimizer=keras3.optimizers.SGD(learning_rate=lr), loss="mse", **compile_kwargs)
    return model


def mse(x, y, kernel, bias):
    return float(np.mean((x @ kernel + bias - y) ** 2))


def make_recorder(base):
    """A callback class (on `base`: lamina's or Keras 3's Callback) that records every hook call."""

    class Recorder(base):
        def __init__(self):
            super().__init__()
            self.events = []

        def of(self, name):
            return [(index, logs) for event, index, logs in self.events if event == name]

        def names(self):
            return [event for event, _, _ in self.events]

    def hook(name, indexed):
        def with_index(self, index, logs=None):
            self.events.append((name, index, _plain(logs)))

        def without_index(self, logs=None):
            self.events.append((name, None, _plain(logs)))

        return with_index if indexed else without_index

    for name in HOOKS:
        setattr(Recorder, name, hook(name, "batch" in name or "epoch" in name))
    return Recorder


def _plain(logs):
    """A copy of the logs with numbers as floats (and predict outputs as their shapes)."""
    out = {}
    for key, value in (logs or {}).items():
        if key == "outputs":
            out[key] = [tuple(np.shape(a)) for a in (value if isinstance(value, list) else [value])]
        else:
            out[key] = float(value)
    return out


class Scripted(lamina.callbacks.Callback):
    """Overwrites `logs[key]` at the end of each epoch with a scripted value (for callbacks placed after it)."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = list(values), key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = float(self.values[epoch])


def keras_scripted(keras3, values, key="val_loss"):
    class KerasScripted(keras3.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs[key] = float(values[epoch])

    return KerasScripted()
