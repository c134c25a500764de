"""Every hook of fit/evaluate/predict fires at Keras's moments, with Keras's logs, `self.model` and `self.params`.

The full sequence of hook calls (name, batch or epoch index, logs) is compared
with real Keras 3 running the same model with the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest
from callback_helpers import keras_linear_model, linear_model, make_recorder

import lamina


def data():
    x = np.linspace(-1.0, 1.0, 10, dtype="float32").reshape(10, 1)
    return x, 2.0 * x + 1.0


def run_all(model, recorder):
    x, y = data()
    model.fit(x[:8], y[:8], batch_size=3, epochs=2, validation_data=(x[8:], y[8:]), callbacks=[recorder],
              shuffle=False, verbose=0)  # fmt: skip
    fit_params = dict(recorder.params)
    model.evaluate(x, y, batch_size=4, callbacks=[recorder], verbose=0)
    evaluate_params = dict(recorder.params)
    model.predict(x, batch_size=4, callbacks=[recorder], verbose=0)
    return fit_params, evaluate_params, dict(recorder.params)


def test_hook_sequence_and_logs_match_keras3(keras3):
    kernel, bias = np.array([[0.5]], "float32"), np.array([0.1], "float32")
    ours = make_recorder(lamina.callbacks.Callback)()
    theirs = make_recorder(keras3.callbacks.Callback)()
    model = linear_model(kernel, bias, lr=0.1, metrics=["mae"])
    our_params = run_all(model, ours)
    their_params = run_all(keras_linear_model(keras3, kernel, bias, lr=0.1, metrics=["mae"]), theirs)
    assert ours.model is model
    assert ours.names() == theirs.names()
    assert len(ours.events) == 42  # 2 epochs x (3 train + 1 validation batch) + evaluate (3) + predict (3)
    for (name, index, logs), (_, their_index, their_logs) in zip(ours.events, theirs.events):
        assert index == their_index, name
        assert sorted(logs) == sorted(their_logs), name
        for key, value in logs.items():
            np.testing.assert_allclose(value, their_logs[key], rtol=1e-5, err_msg=f"{name} {key}")
    for mine, keras_params in zip(our_params, their_params):
        for key in ("epochs", "steps", "verbose"):
            assert mine[key] == keras_params[key], key


def test_epoch_end_logs_hold_the_numpy_values():
    x, y = data()
    kernel, bias = np.array([[0.5]], "float32"), np.array([0.1], "float32")
    recorder = make_recorder(lamina.callbacks.Callback)()
    model = linear_model(kernel, bias, lr=0.0, metrics=["mae"])
    model.fit(x[:8], y[:8], batch_size=3, epochs=1, validation_data=(x[8:], y[8:]), callbacks=[recorder], verbose=0)
    logs = recorder.of("on_epoch_end")[0][1]
    error, val_error = x[:8] @ kernel + bias - y[:8], x[8:] @ kernel + bias - y[8:]
    # The epoch's loss is the sample-weighted mean over its batches (3 + 3 + 2 samples).
    expected = {"loss": np.mean(error**2), "mae": np.mean(np.abs(error)), "val_loss": np.mean(val_error**2),
                "val_mae": np.mean(np.abs(val_error))}  # fmt: skip
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5, err_msg=key)
    assert recorder.of("on_train_end")[0][1] == logs


def test_hooks_receive_dicts_never_none():
    seen = []

    class Checker(lamina.callbacks.Callback):
        pass

    def checking(name):
        def hook(self, *args):
            seen.append((name, type(args[-1]).__name__))

        return hook

    for name in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_test_begin", "on_predict_begin",
                 "on_predict_end", "on_batch_begin"):  # fmt: skip
        setattr(Checker, name, checking(name))
    x, y = data()
    model = linear_model([[1.0]], [0.0])
    model.fit(x, y, batch_size=5, epochs=1, validation_split=0.2, callbacks=[Checker()], verbose=0)
    model.predict(x, callbacks=[Checker()], verbose=0)
    assert {kind for _, kind in seen} == {"dict"}
    assert {name for name, _ in seen} >= {"on_train_begin", "on_epoch_begin", "on_batch_begin", "on_predict_end"}


def test_keras2_batch_hooks_fire_for_training_batches_only():
    calls = []

    class Legacy(lamina.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, sorted(logs)))

    x, y = data()
    model = linear_model([[1.0]], [0.0])
    model.fit(x, y, batch_size=4, epochs=1, validation_split=0.2, callbacks=[Legacy()], verbose=0)
    assert calls == [("begin", 0), ("end", 0, ["loss"]), ("begin", 1), ("end", 1, ["loss"])]
    model.evaluate(x, y, batch_size=4, callbacks=[Legacy()], verbose=0)
    model.predict(x, batch_size=4, callbacks=[Legacy()], verbose=0)
    assert len(calls) == 4


def test_params_and_model_are_set_before_the_first_hook():
    x, y = data()
    snapshots = []

    class Snapshot(lamina.callbacks.Callback):
        def on_train_begin(self, logs=None):
            snapshots.append((self.model, dict(self.params)))

        def on_test_begin(self, logs=None):
            snapshots.append((self.model, dict(self.params)))

        def on_predict_begin(self, logs=None):
            snapshots.append((self.model, dict(self.params)))

    model = linear_model([[1.0]], [0.0])
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[Snapshot()])
    model.evaluate(x, y, batch_size=5, verbose=0, callbacks=[Snapshot()])
    model.predict(x, batch_size=10, verbose=0, callbacks=[Snapshot()])
    assert all(owner is model for owner, _ in snapshots)
    wanted = [{"epochs": 3, "steps": 3, "verbose": 0}, {"epochs": 1, "steps": 2, "verbose": 0},
              {"epochs": 1, "steps": 1, "verbose": 0}]  # fmt: skip
    for (_, params), expected in zip(snapshots, wanted):
        assert {key: params[key] for key in expected} == expected


# ------------------------------------------------------------------ stop_training
class StopAt(lamina.callbacks.Callback):
    """Sets model.stop_training in `hook` at `index` (batch or epoch) of epoch `epoch`; records the batches run."""

    def __init__(self, hook, index=None, epoch=None):
        super().__init__()
        self.hook, self.index, self.stop_epoch = hook, index, epoch
        self.epoch = 0
        self.batch_ends = []

    def _maybe_stop(self, hook, index=None):
        if hook == self.hook and index == self.index and self.stop_epoch in (None, self.epoch):
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._maybe_stop("on_epoch_end", epoch)

    def on_train_batch_begin(self, batch, logs=None):
        self._maybe_stop("on_train_batch_begin", batch)

    def on_train_batch_end(self, batch, logs=None):
        self.batch_ends.append((self.epoch, batch))
        self._maybe_stop("on_train_batch_end", batch)

    def on_test_end(self, logs=None):
        self._maybe_stop("on_test_end")


@pytest.mark.parametrize(
    "hook, index, epoch, expected_batches",
    [
        ("on_train_batch_end", 1, 1, [(0, b) for b in range(5)] + [(1, 0), (1, 1)]),
        ("on_train_batch_begin", 3, 0, [(0, b) for b in range(4)]),
        ("on_epoch_end", 0, None, [(0, b) for b in range(5)]),
        ("on_test_end", None, 1, [(e, b) for e in range(2) for b in range(5)]),
    ],
)
def test_stop_training_from_any_hook_stops_after_the_current_batch_or_epoch(hook, index, epoch, expected_batches):
    x, y = data()
    stopper = StopAt(hook, index, epoch)
    model = linear_model([[1.0]], [0.0], lr=0.01)
    history = model.fit(x, y, batch_size=2, epochs=4, validation_data=(x, y), callbacks=[stopper], verbose=0)
    assert stopper.batch_ends == expected_batches
    assert history.epoch == sorted({e for e, _ in expected_batches})
    assert int(np.asarray(model.optimizer.iterations)) == len(expected_batches)


def test_stop_training_from_on_epoch_begin_runs_one_batch():
    x, y = data()

    class StopAtEpochBegin(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    model = linear_model([[1.0]], [0.0], lr=0.01)
    history = model.fit(np.tile(x, (4, 1)), np.tile(y, (4, 1)), batch_size=2, epochs=3, callbacks=[StopAtEpochBegin()],
                        verbose=0)  # fmt: skip
    assert history.epoch == [0, 1]
    assert int(np.asarray(model.optimizer.iterations)) == 20 + 1  # Keras: epoch 1 stops after its first batch
