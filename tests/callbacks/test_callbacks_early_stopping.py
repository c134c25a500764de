"""EarlyStopping and TerminateOnNaN, on monitored sequences written out here and checked against Keras 3."""

from __future__ import annotations

import numpy as np
import pytest
from callback_helpers import Scripted, keras_linear_model, keras_scripted, linear_model, mse

import lamina
from lamina.callbacks import EarlyStopping, LambdaCallback, TerminateOnNaN

X = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(8, 1)
Y = 2.0 * X + 1.0

# (monitored values per epoch, EarlyStopping arguments, the epochs that run), the last worked out by hand.
CASES = [
    # patience 2: epochs 2 and 3 do not beat 0.9, so training stops at the end of epoch 3.
    ([1.0, 0.9, 0.95, 0.96, 0.97, 0.5], dict(patience=2), [0, 1, 2, 3]),
    # patience 0: the first epoch that does not improve stops training (never epoch 0).
    ([1.0, 0.8, 0.8, 0.1], dict(patience=0), [0, 1, 2]),
    # min_delta 0.15: 0.9 is no improvement on 1.0, 0.8 is; then 0.75 and 0.7 are not (on 0.8).
    ([1.0, 0.9, 0.8, 0.75, 0.7, 0.3], dict(patience=2, min_delta=0.15), [0, 1, 2, 3, 4]),
    # A negative min_delta counts as its absolute value, as in Keras.
    ([1.0, 0.9, 0.8, 0.75, 0.7, 0.3], dict(patience=2, min_delta=-0.15), [0, 1, 2, 3, 4]),
    # mode "max" (and "auto" for a name ending in "accuracy"): larger is better.
    ([0.5, 0.6, 0.6, 0.55, 0.7], dict(patience=2, mode="max"), [0, 1, 2, 3]),
    ([0.5, 0.6, 0.6, 0.55, 0.7], dict(patience=2, monitor="val_accuracy"), [0, 1, 2, 3]),
    # mode "min" on an accuracy: smaller is better.
    ([0.5, 0.6, 0.6, 0.55, 0.7], dict(patience=1, monitor="val_accuracy", mode="min"), [0, 1]),
    # baseline 0.5: improvements that do not beat it leave the patience counter running...
    ([0.9, 0.8, 0.85, 0.9, 0.7, 0.6], dict(patience=2, baseline=0.5), [0, 1, 2]),
    # ... and one that does restarts it.
    ([0.9, 0.4, 0.45, 0.46, 0.47], dict(patience=2, baseline=0.5), [0, 1, 2, 3]),
    # start_from_epoch 3: epochs 0-2 are not watched, whatever their values.
    ([0.1, 5.0, 6.0, 1.0, 1.1, 1.2, 0.2], dict(patience=1, start_from_epoch=3), [0, 1, 2, 3, 4]),
    # Never stalls: all epochs run.
    ([5.0, 4.0, 3.0, 2.0], dict(patience=1), [0, 1, 2, 3]),
]


@pytest.mark.parametrize("values, kwargs, expected_epochs", CASES)
def test_stops_at_the_epoch_the_sequence_implies(values, kwargs, expected_epochs, keras3):
    monitor = kwargs.get("monitor", "val_loss")
    model = linear_model([[1.0]], [0.0])
    stopper = EarlyStopping(**kwargs)
    history = model.fit(X, Y, batch_size=4, epochs=len(values), callbacks=[Scripted(values, monitor), stopper],
                        verbose=0)  # fmt: skip
    assert history.epoch == expected_epochs
    assert history.history[monitor] == [values[e] for e in expected_epochs]
    assert stopper.stopped_epoch == (expected_epochs[-1] if len(expected_epochs) < len(values) else 0)

    keras_kwargs = dict(kwargs)
    if monitor == "val_accuracy":  # Keras 3 reads "auto" from the compiled metric, absent here; Keras 2 from the name
        keras_kwargs.setdefault("mode", "max")
    keras_model = keras_linear_model(keras3, [[1.0]], [0.0])
    keras_history = keras_model.fit(X, Y, batch_size=4, epochs=len(values), verbose=0,
                                    callbacks=[keras_scripted(keras3, values, monitor),
                                               keras3.callbacks.EarlyStopping(**keras_kwargs)])  # fmt: skip
    assert history.epoch == keras_history.epoch


def kernel_for(epoch):
    """The kernel the model is given at the start of each epoch (SGD with lr 0 keeps it through the epoch)."""
    return np.array([[[0.0, 1.5, 1.9, 1.2, 1.0, 0.5, 2.0][epoch]]], "float32")


def set_epoch_weights(model):
    return LambdaCallback(on_epoch_begin=lambda epoch, logs: model.set_weights([kernel_for(epoch), np.ones(1)]))


def test_restore_best_weights_restores_the_best_epoch_when_stopping():
    model = linear_model([[0.0]], [0.0])
    stopper = EarlyStopping(monitor="loss", patience=3, restore_best_weights=True)
    history = model.fit(X, Y, batch_size=8, epochs=7, callbacks=[set_epoch_weights(model), stopper], verbose=0)
    losses = [mse(X, Y, kernel_for(e), 1.0) for e in range(7)]
    np.testing.assert_allclose(history.history["loss"], losses[: len(history.epoch)], rtol=1e-6)
    # With bias 1 the loss is (k - 2)**2 * mean(x**2): best at epoch 2 (k = 1.9), then 3 epochs without improvement.
    assert int(np.argmin(losses[:6])) == 2
    assert history.epoch == [0, 1, 2, 3, 4, 5]
    assert stopper.best_epoch == 2 and stopper.stopped_epoch == 5
    assert stopper.best == pytest.approx(losses[2], rel=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], kernel_for(2))


def test_restore_best_weights_keeps_the_last_weights_when_training_ends_normally():
    # Keras 2 restores only when EarlyStopping stops training (Keras 3 also restores at a normal end).
    model = linear_model([[0.0]], [0.0])
    stopper = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    model.fit(X, Y, batch_size=8, epochs=4, callbacks=[set_epoch_weights(model), stopper], verbose=0)
    assert stopper.stopped_epoch == 0 and stopper.best_epoch == 2
    np.testing.assert_array_equal(model.get_weights()[0], kernel_for(3))


def test_restore_best_weights_with_a_real_training_run(keras3):
    # SGD on y = 2x + 1 with lr 1.05 makes the bias oscillate and grow: the loss turns up, the best weights come back.
    lamina_model, keras_model = (
        linear_model([[0.0]], [0.0], lr=1.05),
        keras_linear_model(keras3, [[0.0]], [0.0], lr=1.05),
    )
    ours = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    weights = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(lamina_model.get_weights()))
    history = lamina_model.fit(X, Y, batch_size=8, epochs=10, callbacks=[record, ours], verbose=0)
    keras_history = keras_model.fit(X, Y, batch_size=8, epochs=10, verbose=0,
                                    callbacks=[keras3.callbacks.EarlyStopping(monitor="loss", patience=1,
                                                                              restore_best_weights=True)])  # fmt: skip
    assert history.epoch == keras_history.epoch
    np.testing.assert_allclose(history.history["loss"], keras_history.history["loss"], rtol=1e-5)
    assert ours.stopped_epoch == history.epoch[-1] > 0
    best = int(np.argmin(history.history["loss"]))
    for ours_weight, best_weight, keras_weight in zip(
        lamina_model.get_weights(), weights[best], keras_model.get_weights()
    ):
        np.testing.assert_array_equal(ours_weight, best_weight)
        np.testing.assert_allclose(ours_weight, keras_weight, rtol=1e-5)


def test_a_missing_monitor_warns_and_never_stops():
    model = linear_model([[1.0]], [0.0])
    with pytest.warns(UserWarning, match=r"`val_loss` which is not available. Available metrics are: loss"):
        history = model.fit(X, Y, epochs=3, callbacks=[EarlyStopping(patience=0)], verbose=0)
    assert history.epoch == [0, 1, 2]


def test_state_resets_at_each_fit():
    model = linear_model([[1.0]], [0.0])
    stopper = EarlyStopping(monitor="val_loss", patience=1)
    first = model.fit(X, Y, epochs=5, callbacks=[Scripted([1.0, 2.0, 3.0, 4.0, 5.0]), stopper], verbose=0)
    assert first.epoch == [0, 1]
    second = model.fit(X, Y, epochs=3, callbacks=[Scripted([9.0, 8.0, 7.0]), stopper], verbose=0)
    assert second.epoch == [0, 1, 2] and stopper.stopped_epoch == 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(mode="maximum"),
            ValueError,
            r"EarlyStopping: mode must be one of \['auto', 'min', 'max'\], got 'maximum'",
        ),
        (dict(patience=-1), ValueError, "EarlyStopping: patience must be >= 0, got -1"),
        (dict(patience=1.5), TypeError, "EarlyStopping: patience must be an integer, got 1.5"),
        (dict(monitor=3), TypeError, "EarlyStopping: monitor must name a logged quantity"),
        (dict(min_delta="0.1"), TypeError, "EarlyStopping: min_delta must be a number, got '0.1'"),
    ],
)
def test_bad_arguments_name_the_callback_and_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        EarlyStopping(**kwargs)


# ------------------------------------------------------------------ TerminateOnNaN
def test_terminate_on_nan_stops_after_the_first_nan_batch(capsys):
    x = np.tile(X, (2, 1))
    x[9, 0] = np.nan  # sample 9 is in batch 2 (batch size 4, no shuffling)
    y = 2.0 * np.nan_to_num(x) + 1.0
    batch_losses = []
    record = LambdaCallback(on_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))
    model = linear_model([[1.0]], [0.0], lr=0.01)
    history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, callbacks=[TerminateOnNaN(), record], verbose=0)
    assert len(batch_losses) == 3 and np.isfinite(batch_losses[:2]).all() and np.isnan(batch_losses[2])
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert int(np.asarray(model.optimizer.iterations)) == 3
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_also_catches_an_infinite_loss():
    model = linear_model([[1.0]], [0.0])
    stopper = TerminateOnNaN()
    stopper.set_model(model)
    stopper.on_batch_end(0, {"loss": float("inf")})
    assert model.stop_training
    assert stopper.needs_every_batch()


def test_terminate_on_nan_leaves_finite_training_alone():
    model = linear_model([[1.0]], [0.0], lr=0.01)
    history = model.fit(X, Y, batch_size=2, epochs=2, callbacks=[TerminateOnNaN()], verbose=0)
    assert history.epoch == [0, 1]
    assert isinstance(lamina.callbacks.TerminateOnNaN(), lamina.callbacks.Callback)
