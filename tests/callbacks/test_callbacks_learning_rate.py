"""LearningRateScheduler and ReduceLROnPlateau: the learning rate they set, and the updates it makes."""

from __future__ import annotations

import numpy as np
import pytest
from callback_helpers import Scripted, keras_linear_model, keras_scripted, linear_model

from lamina.callbacks import LearningRateScheduler, ReduceLROnPlateau

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 2)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0]], "float32") + 0.5).astype("float32")


def numpy_sgd_epochs(rates):
    """Kernel and bias after each epoch of full-batch SGD on MSE with the given per-epoch learning rates."""
    kernel, bias = np.zeros((2, 1), "float64"), np.zeros(1, "float64")
    out = []
    for lr in rates:
        error = X @ kernel + bias - Y
        kernel = kernel - lr * 2.0 * X.T @ error / error.size
        bias = bias - lr * 2.0 * error.sum(axis=0) / error.size
        out.append((kernel.copy(), bias.copy()))
    return out


def weights_per_epoch(model):
    from lamina.callbacks import LambdaCallback

    weights = []
    return weights, LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))


def test_schedule_of_the_epoch_sets_the_rate_of_each_update():
    rates = [0.1, 0.0, 0.3, 0.05]
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=1.0)
    weights, record = weights_per_epoch(model)
    history = model.fit(X, Y, batch_size=6, epochs=4, callbacks=[LearningRateScheduler(lambda e: rates[e]), record],
                        verbose=0)  # fmt: skip
    for (kernel, bias), (want_kernel, want_bias) in zip(weights, numpy_sgd_epochs(rates)):
        np.testing.assert_allclose(kernel, want_kernel, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bias, want_bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(weights[1][0], weights[0][0])  # lr 0 in epoch 1: no change
    expected = [float(np.float32(r)) for r in rates]
    assert history.history["lr"] == expected and history.history["learning_rate"] == expected
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.05)


def test_schedule_of_epoch_and_rate_gets_the_current_rate(keras3):
    seen = []

    def halve_from_epoch_two(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.2)
    weights, record = weights_per_epoch(model)
    history = model.fit(X, Y, batch_size=6, epochs=4, callbacks=[LearningRateScheduler(halve_from_epoch_two), record],
                        verbose=0)  # fmt: skip
    rates = [0.2, 0.2, 0.1, 0.05]
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    np.testing.assert_allclose([lr for _, lr in seen], [0.2, 0.2, 0.2, 0.1], rtol=1e-6)
    np.testing.assert_allclose(history.history["lr"], rates, rtol=1e-6)
    for (kernel, bias), (want_kernel, want_bias) in zip(weights, numpy_sgd_epochs(rates)):
        np.testing.assert_allclose(kernel, want_kernel, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bias, want_bias, rtol=1e-5, atol=1e-6)

    keras_model = keras_linear_model(keras3, np.zeros((2, 1)), np.zeros(1), lr=0.2)
    keras_history = keras_model.fit(X, Y, batch_size=6, epochs=4, verbose=0,
                                    callbacks=[keras3.callbacks.LearningRateScheduler(lambda e, lr: lr if e < 2
                                                                                      else lr * 0.5)])  # fmt: skip
    np.testing.assert_allclose(history.history["lr"], keras_history.history["learning_rate"], rtol=1e-7)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_scheduler_with_several_batches_per_epoch_and_adam(keras3):
    import lamina

    def schedule(epoch, lr):
        return 0.01 * (epoch + 1)

    model = linear_model(np.zeros((2, 1)), np.zeros(1), optimizer=lamina.optimizers.Adam(0.5))
    model.fit(X, Y, batch_size=2, epochs=3, shuffle=False, callbacks=[LearningRateScheduler(schedule)], verbose=0)
    keras_model = keras_linear_model(keras3, np.zeros((2, 1)), np.zeros(1))
    keras_model.compile(optimizer=keras3.optimizers.Adam(0.5), loss="mse")
    keras_model.fit(X, Y, batch_size=2, epochs=3, shuffle=False, verbose=0,
                    callbacks=[keras3.callbacks.LearningRateScheduler(schedule)])  # fmt: skip
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_the_schedule_must_return_a_number():
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    with pytest.raises(ValueError, match=r"LearningRateScheduler: the schedule must return a float, got 'fast'"):
        model.fit(X, Y, epochs=1, callbacks=[LearningRateScheduler(lambda epoch: "fast")], verbose=0)
    with pytest.raises(TypeError, match="LearningRateScheduler: schedule must be a function"):
        LearningRateScheduler(0.1)
    # An int or a NumPy scalar is a number too.
    model.fit(X, Y, epochs=1, callbacks=[LearningRateScheduler(lambda epoch: np.float64(0.25))], verbose=0)
    assert float(np.asarray(model.optimizer.learning_rate)) == 0.25


def test_verbose_prints_the_new_rate(capsys):
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    model.fit(X, Y, epochs=1, callbacks=[LearningRateScheduler(lambda epoch: 0.5, verbose=1)], verbose=0)
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


# -------------------------------------------------------------- ReduceLROnPlateau
PLATEAU_CASES = [
    # patience 2: epochs 2 and 3 do not beat 1.0 by min_delta, so the rate drops after epoch 3.
    ([2.0, 1.0, 1.0, 0.99995, 0.5, 0.5, 0.5], dict(factor=0.5, patience=2), [1, 1, 1, 1, 0.5, 0.5, 0.5]),
    # cooldown 2: the reduction at the end of epoch 1 starts it; epoch 2 is spent in it, and epoch 3 (its counter
    # reaching 0 there) counts towards patience again: the next reduction stops at min_lr 0.3, and stays there.
    ([1.0] * 8, dict(factor=0.5, patience=1, cooldown=2, min_lr=0.3), [1, 1, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]),
    # min_delta 0.1: 0.95 and 0.92 are no improvement on 1.0.
    ([1.0, 0.95, 0.92, 0.85, 0.84], dict(factor=0.1, patience=2, min_delta=0.1), [1, 1, 1, 0.1, 0.1]),
    # mode max on an accuracy (auto: the name contains "acc").
    ([0.5, 0.6, 0.55, 0.6, 0.7], dict(monitor="val_acc", factor=0.5, patience=2), [1, 1, 1, 1, 0.5]),
    ([0.5, 0.6, 0.55, 0.6, 0.7], dict(monitor="val_acc", factor=0.5, patience=1, mode="min"), [1, 1, 0.5, 0.25, 0.125]),
]


@pytest.mark.parametrize("values, kwargs, rates", PLATEAU_CASES)
def test_reduce_lr_on_plateau_rate_sequence(values, kwargs, rates, keras3):
    monitor = kwargs.get("monitor", "val_loss")
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=1.0)
    reduce = ReduceLROnPlateau(**kwargs)
    history = model.fit(X, Y, batch_size=6, epochs=len(values), callbacks=[Scripted(values, monitor), reduce],
                        verbose=0)  # fmt: skip
    # `lr` logs the rate each epoch trained with; a reduction takes effect from the next epoch.
    np.testing.assert_allclose(history.history["lr"], rates, rtol=1e-6)
    assert history.history["learning_rate"] == history.history["lr"]

    keras_kwargs = dict(kwargs)
    if monitor == "val_acc":  # Keras 3 reads "auto" from the compiled metrics; Keras 2 from the name
        keras_kwargs.setdefault("mode", "max")
    keras_model = keras_linear_model(keras3, np.zeros((2, 1)), np.zeros(1), lr=1.0)
    keras_history = keras_model.fit(X, Y, batch_size=6, epochs=len(values), verbose=0,
                                    callbacks=[keras_scripted(keras3, values, monitor),
                                               keras3.callbacks.ReduceLROnPlateau(**keras_kwargs)])  # fmt: skip
    np.testing.assert_allclose(history.history["lr"], keras_history.history["learning_rate"], rtol=1e-6)


def test_reduce_lr_on_plateau_changes_the_update():
    values = [1.0, 1.0, 1.0, 1.0]
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.2)
    weights, record = weights_per_epoch(model)
    model.fit(X, Y, batch_size=6, epochs=4, callbacks=[Scripted(values), ReduceLROnPlateau(factor=0.5, patience=1),
                                                      record], verbose=0)  # fmt: skip
    for (kernel, _), (want_kernel, _) in zip(weights, numpy_sgd_epochs([0.2, 0.2, 0.1, 0.05])):
        np.testing.assert_allclose(kernel, want_kernel, rtol=1e-5, atol=1e-6)


def test_reduce_lr_on_plateau_arguments():
    with pytest.raises(ValueError, match="ReduceLROnPlateau does not support a factor >= 1.0. Got 1.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: cooldown must be >= 0"):
        ReduceLROnPlateau(cooldown=-1)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau got unexpected keyword argument\(s\): \['pateince'\]"):
        ReduceLROnPlateau(pateince=3)
    with pytest.warns(UserWarning, match="`epsilon` is deprecated"):
        assert ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5
