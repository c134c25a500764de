"""fit() semantics as the Keras FAQ states them, checked against NumPy.

Most tests use a linear model trained with SGD(learning_rate=0), so the weights stay
fixed and every loss can be written out with NumPy. To see which samples went into
which batch, `SampleOrder` uses targets y_k = k + 1 on a model that predicts 0: the
loss of sample k is (k + 1)**2, and each batch's loss is recovered from the running
mean that fit reports after every batch.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, ops


def linear_model(kernel, bias, lr=0.0, **compile_kwargs):
    """Dense(units) with the given weights, compiled with SGD(lr) and MSE."""
    kernel = np.asarray(kernel, dtype="float32")
    model = lamina.Sequential([layers.Dense(kernel.shape[1], input_shape=(kernel.shape[0],))])
    model.set_weights([kernel, np.asarray(bias, dtype="float32")])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=lr), loss="mse", **compile_kwargs)
    return model


def mse(x, y, kernel, bias):
    return float(np.mean((x @ kernel + bias - y) ** 2))


class Recorder(lamina.callbacks.Callback):
    """Records every hook call, with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.events = []

    def _log(self, name, index=None, logs=None):
        self.events.append((name, index, dict(logs or {})))

    def on_train_begin(self, logs=None):
        self._log("train_begin", None, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._log("epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._log("epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._log("batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._log("batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self._log("test_begin", None, logs)

    def on_test_end(self, logs=None):
        self._log("test_end", None, logs)

    def of(self, name):
        return [(index, logs) for event, index, logs in self.events if event == name]

    def batches_per_epoch(self):
        """[[batch indices of epoch 0], [of epoch 1], ...] from the batch_end calls."""
        epochs = []
        for event, index, _ in self.events:
            if event == "epoch_begin":
                epochs.append([])
            elif event == "batch_end":
                epochs[-1].append(index)
        return epochs


class SampleOrder(Recorder):
    """Recovers the sample order of each epoch (batch_size=1, model predicting 0, y_k = k + 1)."""

    def orders(self):
        result, running = [], []
        for event, _, logs in self.events:
            if event == "epoch_begin":
                running = []
                result.append(running)
            elif event == "batch_end":
                running.append(logs["loss"])
        return [self._samples(means) for means in result]

    @staticmethod
    def _samples(means):
        samples = []
        for i, mean in enumerate(means):
            loss = (i + 1) * mean - (i * means[i - 1] if i else 0.0)
            samples.append(int(round(np.sqrt(loss))) - 1)
        return samples


def order_data(n):
    x = np.linspace(-1.0, 1.0, n, dtype="float32").reshape(n, 1)
    y = np.arange(1, n + 1, dtype="float32").reshape(n, 1)
    return x, y


# ------------------------------------------------------------------ validation
def test_validation_split_takes_the_last_fraction():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 2)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    y[7:] += 5.0  # the last 30% are far from the model: their loss is large and unmistakable
    kernel, bias = np.array([[0.5], [-1.0]], "float32"), np.array([0.25], "float32")
    model = linear_model(kernel, bias)
    history = model.fit(x, y, validation_split=0.3, epochs=1, shuffle=True, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], mse(x[7:], y[7:], kernel, bias), rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"][0], mse(x[:7], y[:7], kernel, bias), rtol=1e-5)
    assert abs(history.history["val_loss"][0] - mse(x[:3], y[:3], kernel, bias)) > 1.0


def test_validation_split_is_taken_before_shuffling():
    x, y = order_data(10)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = SampleOrder()
    model.fit(x, y, batch_size=1, epochs=3, validation_split=0.2, shuffle=True, callbacks=[recorder], verbose=0)
    for order in recorder.orders():
        assert sorted(order) == list(range(8)), order  # the validation samples 8 and 9 are never trained on


def test_validation_runs_at_the_end_of_every_epoch_with_the_model_of_that_moment():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 3)).astype("float32")
    y = (x @ np.array([[1.0], [2.0], [-1.0]], "float32")).astype("float32")
    xv, yv = x[:4] + 0.5, y[:4]

    class WeightsAtEpochEnd(Recorder):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            self.weights = getattr(self, "weights", []) + [self.model.get_weights()]

    recorder = WeightsAtEpochEnd()
    model = linear_model(np.zeros((3, 1)), np.zeros(1), lr=0.05)
    history = model.fit(x, y, batch_size=4, epochs=3, validation_data=(xv, yv), callbacks=[recorder], verbose=0)
    assert len(history.history["val_loss"]) == 3
    for epoch, (kernel, bias) in enumerate(recorder.weights):
        np.testing.assert_allclose(history.history["val_loss"][epoch], mse(xv, yv, kernel, bias), rtol=1e-5)
    assert len(set(history.history["val_loss"])) == 3  # the model changed, and so did the validation loss
    sequence = [event for event, _, _ in recorder.events if event in ("batch_end", "test_begin", "epoch_end")]
    assert sequence == (["batch_end"] * 3 + ["test_begin", "epoch_end"]) * 3


# -------------------------------------------------------------------- shuffling
def test_shuffle_true_reorders_the_samples_every_epoch():
    x, y = order_data(10)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = SampleOrder()
    model.fit(x, y, batch_size=1, epochs=3, shuffle=True, callbacks=[recorder], verbose=0)
    orders = recorder.orders()
    assert len(orders) == 3
    for order in orders:
        assert sorted(order) == list(range(10))  # each epoch is one pass over every sample
    assert orders[0] != list(range(10))
    assert orders[0] != orders[1] and orders[1] != orders[2]


def test_shuffle_false_keeps_the_input_order_every_epoch():
    x, y = order_data(10)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = SampleOrder()
    model.fit(x, y, batch_size=1, epochs=3, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.orders() == [list(range(10))] * 3


def test_shuffle_changes_the_trained_weights_only_when_enabled():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 2)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    runs = {}
    for shuffle in (False, True):
        model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.2)
        model.fit(x, y, batch_size=2, epochs=1, shuffle=shuffle, verbose=0)
        runs[shuffle] = model.get_weights()[0]
    kernel, bias = np.zeros((2, 1), "float32"), np.zeros(1, "float32")
    for start in range(0, 16, 2):  # plain SGD over the batches in order, written out with NumPy
        xb, yb = x[start : start + 2], y[start : start + 2]
        error = xb @ kernel + bias - yb
        kernel = kernel - 0.2 * 2.0 * xb.T @ error / error.size
        bias = bias - 0.2 * 2.0 * error.sum(axis=0) / error.size
    np.testing.assert_allclose(runs[False], kernel, rtol=1e-5, atol=1e-6)
    assert not np.allclose(runs[True], kernel, atol=1e-4)


# ------------------------------------------------------------------ epoch loss
def test_epoch_loss_is_the_mean_of_the_batch_losses_with_fixed_weights():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 2)).astype("float32")
    y = rng.normal(size=(12, 2)).astype("float32") * np.arange(1, 13, dtype="float32")[:, None]
    kernel, bias = rng.normal(size=(2, 2)).astype("float32"), np.array([0.1, -0.2], "float32")
    model = linear_model(kernel, bias)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    batch_losses = [mse(x[i : i + 4], y[i : i + 4], kernel, bias) for i in range(0, 12, 4)]
    for loss in history.history["loss"]:
        np.testing.assert_allclose(loss, np.mean(batch_losses), rtol=1e-5)


def test_epoch_loss_averages_each_batch_loss_as_the_model_was_before_that_batch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 2)).astype("float32")
    y = (x @ np.array([[2.0], [-3.0]], "float32") + 1.0).astype("float32")

    class WeightsBeforeBatch(Recorder):
        def on_train_batch_begin(self, batch, logs=None):
            super().on_train_batch_begin(batch, logs)
            self.weights = getattr(self, "weights", []) + [self.model.get_weights()]

    recorder = WeightsBeforeBatch()
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, callbacks=[recorder], verbose=0)
    batch_losses = [mse(x[4 * i : 4 * i + 4], y[4 * i : 4 * i + 4], *recorder.weights[i]) for i in range(3)]
    assert batch_losses[0] > batch_losses[2]  # training moved the model during the epoch
    np.testing.assert_allclose(history.history["loss"][0], np.mean(batch_losses), rtol=1e-5)
    running = [logs["loss"] for _, logs in recorder.of("batch_end")]
    np.testing.assert_allclose(running, np.cumsum(batch_losses) / np.arange(1, 4), rtol=1e-5)

    # Without a batch callback fit may run several steps in one compiled call: same numbers.
    fused = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    fused_history = fused.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(fused_history.history["loss"], history.history["loss"], rtol=1e-6)
    for got, want in zip(fused.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)


# ------------------------------------------------------- epochs, steps, batches
def test_initial_epoch_starts_the_epoch_count_there():
    x, y = order_data(8)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = Recorder()
    history = model.fit(x, y, epochs=5, initial_epoch=3, callbacks=[recorder], verbose=0)
    assert history.epoch == [3, 4]
    assert len(history.history["loss"]) == 2
    assert [index for index, _ in recorder.of("epoch_begin")] == [3, 4]
    assert [index for index, _ in recorder.of("epoch_end")] == [3, 4]


def test_initial_epoch_at_or_past_epochs_trains_nothing():
    x, y = order_data(8)
    model = linear_model(np.ones((1, 1)), np.zeros(1), lr=0.1)
    history = model.fit(x, y, epochs=2, initial_epoch=2, verbose=0)
    assert history.epoch == [] and history.history == {}
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((1, 1)))


def test_steps_per_epoch_sets_the_number_of_batches():
    x, y = order_data(10)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = SampleOrder()
    history = model.fit(x, y, batch_size=1, steps_per_epoch=3, epochs=2, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.batches_per_epoch() == [[0, 1, 2], [0, 1, 2]]
    assert recorder.orders()[0] == [0, 1, 2]
    assert recorder.params["steps"] == 3
    np.testing.assert_allclose(history.history["loss"][0], np.mean([1.0, 4.0, 9.0]), rtol=1e-6)


def test_steps_per_epoch_with_larger_batches():
    x, y = order_data(10)
    model = linear_model(np.zeros((1, 1)), np.zeros(1))
    recorder = Recorder()
    history = model.fit(x, y, batch_size=2, steps_per_epoch=2, epochs=1, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.batches_per_epoch() == [[0, 1]]
    np.testing.assert_allclose(history.history["loss"][0], np.mean(np.arange(1, 5) ** 2), rtol=1e-6)


def test_batch_size_defaults_to_32():
    n = 100
    x = np.linspace(-1, 1, n, dtype="float32").reshape(n, 1)
    y = np.linspace(0, 3, n, dtype="float32").reshape(n, 1)
    model = linear_model(np.ones((1, 1)), np.zeros(1))
    recorder = Recorder()
    model.fit(x, y, epochs=1, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.batches_per_epoch() == [[0, 1, 2, 3]]  # 32 + 32 + 32 + 4
    assert recorder.params["batch_size"] == 32
    first_batch_loss = recorder.of("batch_end")[0][1]["loss"]
    np.testing.assert_allclose(first_batch_loss, mse(x[:32], y[:32], np.ones((1, 1)), 0.0), rtol=1e-5)

    class TestBatches(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_test_batch_end(self, batch, logs=None):
            self.batches.append(batch)

        def on_predict_batch_end(self, batch, logs=None):
            self.batches.append(("predict", batch, len(logs["outputs"][0])))

    counter = TestBatches()
    model.evaluate(x, y, callbacks=[counter], verbose=0)
    assert counter.batches == [0, 1, 2, 3]
    counter.batches = []
    model.predict(x, callbacks=[counter], verbose=0)
    assert counter.batches == [("predict", 0, 32), ("predict", 1, 32), ("predict", 2, 32), ("predict", 3, 4)]


# ------------------------------------------------------- sample and class weights
def test_sample_weight_scales_each_sample_loss():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 2)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    weights = np.array([0.0, 1.0, 2.0, 0.5, 3.0, 0.0, 1.0, 4.0], "float32")
    kernel, bias = np.array([[1.0], [0.5]], "float32"), np.array([0.3], "float32")
    per_sample = ((x @ kernel + bias - y) ** 2)[:, 0]
    expected = float(np.sum(per_sample * weights) / len(x))  # Keras: weighted sum over the batch size
    model = linear_model(kernel, bias)
    history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=weights, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), per_sample.mean(), rtol=1e-5)
    assert abs(expected - per_sample.mean()) > 1e-3


def test_sample_weight_changes_the_gradient():
    x = np.array([[1.0], [2.0]], "float32")
    y = np.array([[3.0], [1.0]], "float32")
    weights = np.array([2.0, 0.0], "float32")
    model = linear_model(np.zeros((1, 1)), np.zeros(1), lr=0.1)
    model.train_on_batch(x, y, sample_weight=weights)
    # d/dk of sum(w * (k x + b - y)**2) / n = 2 * sum(w * x * (k x + b - y)) / n, at k = b = 0
    grad_k = 2.0 * np.sum(weights * x[:, 0] * (0.0 - y[:, 0])) / 2
    grad_b = 2.0 * np.sum(weights * (0.0 - y[:, 0])) / 2
    np.testing.assert_allclose(model.get_weights()[0], [[-0.1 * grad_k]], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[1], [-0.1 * grad_b], rtol=1e-5)


def test_class_weight_with_integer_labels():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(9, 3)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0, 2, 2, 1])
    kernel = rng.normal(size=(3, 3)).astype("float32")
    model = lamina.Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.set_weights([kernel, np.zeros(3, "float32")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    logits = x @ kernel
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    per_sample = -np.log(probs[np.arange(9), labels])
    expected = np.sum(per_sample * np.array([class_weight[c] for c in labels])) / 9
    history = model.fit(x, labels, class_weight=class_weight, batch_size=9, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    unweighted = model.fit(x, labels, batch_size=9, epochs=1, verbose=0).history["loss"][0]
    np.testing.assert_allclose(unweighted, per_sample.mean(), rtol=1e-5)


def test_class_weight_with_binary_and_one_hot_targets():
    x = np.array([[-2.0], [-0.5], [0.5], [1.5], [3.0]], "float32")
    y = np.array([[0.0], [1.0], [0.0], [1.0], [1.0]], "float32")
    model = lamina.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(1,))])
    model.set_weights([np.array([[0.8]], "float32"), np.array([0.1], "float32")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "binary_crossentropy")
    p = np.clip(1.0 / (1.0 + np.exp(-(0.8 * x + 0.1))), 1e-7, 1 - 1e-7)
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))[:, 0]
    expected = np.sum(per_sample * np.where(y[:, 0] == 1, 3.0, 1.0)) / 5
    history = model.fit(x, y, class_weight={0: 1.0, 1: 3.0}, batch_size=5, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)

    one_hot = np.eye(2, dtype="float32")[y[:, 0].astype(int)]
    model2 = lamina.Sequential([layers.Dense(2, activation="softmax", input_shape=(1,))])
    kernel = np.array([[0.7, -0.4]], "float32")
    model2.set_weights([kernel, np.zeros(2, "float32")])
    model2.compile(lamina.optimizers.SGD(learning_rate=0.0), "categorical_crossentropy")
    logits = x @ kernel
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    per_sample = -np.log(np.sum(probs * one_hot, axis=1))
    expected = np.sum(per_sample * np.where(y[:, 0] == 1, 3.0, 1.0)) / 5
    history = model2.fit(x, one_hot, class_weight={0: 1.0, 1: 3.0}, batch_size=5, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


# --------------------------------------------------- training vs inference mode
def dropout_model():
    model = lamina.Sequential([layers.Dropout(0.5, input_shape=(4,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.ones((4, 1), "float32")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "mse")
    return model


def test_dropout_is_active_in_fit_and_inactive_in_evaluate_and_predict():
    x = np.ones((1024, 4), "float32")
    y = np.zeros((1024, 1), "float32")
    model = dropout_model()
    # Without dropout every output is 4, so the loss is exactly 16.
    assert model.evaluate(x, y, verbose=0) == pytest.approx(16.0, rel=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.full((1024, 1), 4.0), rtol=1e-6)
    np.testing.assert_allclose(model.test_on_batch(x, y), 16.0, rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x, training=False)), 4.0, rtol=1e-6)
    train_loss = model.fit(x, y, batch_size=256, epochs=1, verbose=0).history["loss"][0]
    # With dropout each output is 2 * (kept inputs): E[out**2] = 4 * (Var + mean**2) = 4 * (1 + 4) = 20,
    # with a standard error of about 0.5 over 1024 samples.
    assert 18.0 < train_loss < 22.0
    outputs = ops.convert_to_numpy(model(x, training=True))
    assert set(np.unique(outputs).tolist()) <= {0.0, 2.0, 4.0, 6.0, 8.0}
    assert len(np.unique(outputs)) > 1


def test_dropout_draws_a_new_mask_every_training_step():
    x = np.ones((32, 4), "float32")
    y = np.zeros((32, 1), "float32")
    model = dropout_model()
    losses = [model.train_on_batch(x, y) for _ in range(3)]
    assert len(set(losses)) == 3, losses


def test_weight_regularization_penalty_is_in_the_loss():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 3)).astype("float32")
    y = rng.normal(size=(6, 2)).astype("float32")
    kernel = rng.normal(size=(3, 2)).astype("float32")
    bias = np.array([0.5, -1.5], "float32")
    model = lamina.Sequential(
        [
            layers.Dense(
                2,
                input_shape=(3,),
                kernel_regularizer=lamina.regularizers.l2(0.1),
                bias_regularizer=lamina.regularizers.l1(0.05),
            )
        ]
    )
    model.set_weights([kernel, bias])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "mse", metrics=["mse"])
    data_loss = mse(x, y, kernel, bias)
    penalty = 0.1 * np.sum(kernel**2) + 0.05 * np.sum(np.abs(bias))
    loss, metric = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, data_loss + penalty, rtol=1e-5)
    np.testing.assert_allclose(metric, data_loss, rtol=1e-5)  # metrics see the data loss only
    np.testing.assert_allclose(model.test_on_batch(x, y)[0], data_loss + penalty, rtol=1e-5)
    history = model.fit(x, y, batch_size=6, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], data_loss + penalty, rtol=1e-5)


# ------------------------------------------------------------- batch methods
def test_train_test_predict_on_batch_match_numpy():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 3)).astype("float32")
    y = rng.normal(size=(5, 2)).astype("float32")
    kernel = rng.normal(size=(3, 2)).astype("float32")
    bias = np.array([0.1, 0.2], "float32")
    model = linear_model(kernel, bias, lr=0.1, metrics=["mae"])

    np.testing.assert_allclose(model.predict_on_batch(x), x @ kernel + bias, rtol=1e-5)
    loss, mae = model.test_on_batch(x, y)
    np.testing.assert_allclose(loss, mse(x, y, kernel, bias), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(x @ kernel + bias - y)), rtol=1e-5)

    # train_on_batch reports the loss of the forward pass, before the update.
    loss, _ = model.train_on_batch(x, y)
    np.testing.assert_allclose(loss, mse(x, y, kernel, bias), rtol=1e-5)
    error = x @ kernel + bias - y
    new_kernel = kernel - 0.1 * 2.0 * x.T @ error / error.size
    new_bias = bias - 0.1 * 2.0 * error.sum(axis=0) / error.size
    np.testing.assert_allclose(model.get_weights()[0], new_kernel, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[1], new_bias, rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(x, y)[0], mse(x, y, new_kernel, new_bias), rtol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x), x @ new_kernel + new_bias, rtol=1e-5)
    as_dict = model.test_on_batch(x, y, return_dict=True)
    assert set(as_dict) == {"loss", "mae"}
    np.testing.assert_allclose(as_dict["loss"], mse(x, y, new_kernel, new_bias), rtol=1e-5)


def test_train_on_batch_without_metrics_returns_a_scalar():
    model = linear_model(np.ones((1, 1)), np.zeros(1), lr=0.0)
    value = model.train_on_batch(np.array([[1.0], [2.0]], "float32"), np.array([[0.0], [0.0]], "float32"))
    assert isinstance(value, float)
    assert value == pytest.approx(2.5)


# ---------------------------------------------------------- evaluate / predict
def test_evaluate_return_forms():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(7, 2)).astype("float32")
    y = rng.normal(size=(7, 1)).astype("float32")
    kernel, bias = np.array([[1.0], [-1.0]], "float32"), np.array([0.5], "float32")
    expected_mse = mse(x, y, kernel, bias)
    expected_mae = float(np.mean(np.abs(x @ kernel + bias - y)))

    scalar = linear_model(kernel, bias).evaluate(x, y, verbose=0)
    assert isinstance(scalar, float)
    assert scalar == pytest.approx(expected_mse, rel=1e-5)

    model = linear_model(kernel, bias, metrics=["mae"])
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 2
    assert model.metrics_names == ["loss", "mae"]
    np.testing.assert_allclose(values, [expected_mse, expected_mae], rtol=1e-5)

    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "mae"]
    np.testing.assert_allclose([as_dict["loss"], as_dict["mae"]], [expected_mse, expected_mae], rtol=1e-5)


def test_evaluate_with_a_short_last_batch_averages_over_samples():
    x = np.arange(5, dtype="float32").reshape(5, 1)
    y = np.zeros((5, 1), "float32")
    model = linear_model(np.ones((1, 1)), np.zeros(1))
    # Batches [0, 1], [2, 3], [4]: the mean over all samples, whatever the batching.
    assert model.evaluate(x, y, batch_size=2, verbose=0) == pytest.approx(np.mean(np.arange(5) ** 2), rel=1e-6)


def test_predict_on_a_multi_output_model_returns_a_list():
    rng = np.random.default_rng(11)
    inputs = lamina.Input(shape=(3,))
    first = layers.Dense(2, name="first")(inputs)
    second = layers.Dense(1, activation="relu", name="second")(inputs)
    model = lamina.Model(inputs, [first, second])
    x = rng.normal(size=(40, 3)).astype("float32")
    outputs = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(outputs, list) and len(outputs) == 2
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(outputs[0], x @ k1 + b1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[1], np.maximum(x @ k2 + b2, 0.0), rtol=1e-5, atol=1e-6)
    batch_outputs = model.predict_on_batch(x[:5])
    assert isinstance(batch_outputs, list) and [o.shape for o in batch_outputs] == [(5, 2), (5, 1)]


def test_multi_output_losses_and_loss_weights():
    rng = np.random.default_rng(12)
    inputs = lamina.Input(shape=(2,))
    out_a = layers.Dense(1, name="a")(inputs)
    out_b = layers.Dense(2, name="b")(inputs)
    model = lamina.Model(inputs, [out_a, out_b])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), loss=["mse", "mae"], loss_weights=[2.0, 0.5])
    x = rng.normal(size=(6, 2)).astype("float32")
    ya = rng.normal(size=(6, 1)).astype("float32")
    yb = rng.normal(size=(6, 2)).astype("float32")
    ka, ba, kb, bb = model.get_weights()
    loss_a = np.mean((x @ ka + ba - ya) ** 2)
    loss_b = np.mean(np.abs(x @ kb + bb - yb))
    result = model.evaluate(x, {"a": ya, "b": yb}, verbose=0, return_dict=True)
    assert list(result) == ["loss", "a_loss", "b_loss"]
    np.testing.assert_allclose(result["a_loss"], loss_a, rtol=1e-5)
    np.testing.assert_allclose(result["b_loss"], loss_b, rtol=1e-5)
    np.testing.assert_allclose(result["loss"], 2.0 * loss_a + 0.5 * loss_b, rtol=1e-5)
    history = model.fit(x, [ya, yb], batch_size=6, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], 2.0 * loss_a + 0.5 * loss_b, rtol=1e-5)


# ------------------------------------------------------------- History, callbacks
def test_history_object():
    x, y = order_data(8)
    model = linear_model(np.zeros((1, 1)), np.zeros(1), lr=0.01, metrics=["mae"])
    recorder = Recorder()
    history = model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[recorder], verbose=0)
    assert isinstance(history, lamina.callbacks.History)
    assert model.history is history
    assert history.epoch == [0, 1, 2]
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    for name, values in history.history.items():
        assert len(values) == 3
        assert all(isinstance(v, float) for v in values)
        assert values == [logs[name] for _, logs in recorder.of("epoch_end")]
    assert history.history["loss"][2] < history.history["loss"][0]
    second = model.fit(x, y, epochs=1, verbose=0)
    assert model.history is second and second.epoch == [0] and len(second.history["loss"]) == 1


def test_callbacks_get_epoch_end_logs_and_train_hooks_in_order():
    x, y = order_data(8)
    model = linear_model(np.zeros((1, 1)), np.zeros(1), lr=0.01)
    recorder = Recorder()
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:2], y[:2]), callbacks=[recorder], verbose=0)
    assert recorder.model is model
    assert recorder.params["epochs"] == 2 and recorder.params["steps"] == 2
    names = [event for event, _, _ in recorder.events]
    epoch = ["epoch_begin", "batch_begin", "batch_end", "batch_begin", "batch_end", "test_begin", "test_end"]
    assert names == ["train_begin"] + (epoch + ["epoch_end"]) * 2
    for _, logs in recorder.of("epoch_end"):
        assert set(logs) == {"loss", "val_loss"}
    last_logs = recorder.of("epoch_end")[-1][1]
    np.testing.assert_allclose(last_logs["val_loss"], mse(x[:2], y[:2], *model.get_weights()), rtol=1e-5)


def test_batch_hooks_see_every_batch_even_when_steps_are_fused():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(400, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.01)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # no batch callback: steps may be fused here

    class EndOnly(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append((batch, logs["loss"]))

    class BeginOnly(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_batch_begin(self, batch, logs=None):  # Keras 2's name for the same hook
            self.seen.append(batch)

    for callback, epochs in ((EndOnly(), 2), (BeginOnly(), 1)):
        model.fit(x, y, batch_size=2, epochs=epochs, callbacks=[callback], verbose=0)
        indices = [item[0] if isinstance(item, tuple) else item for item in callback.seen]
        assert indices == list(range(200)) * epochs


def test_batch_end_logs_change_every_batch():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = x @ np.array([[1.0], [1.0]], "float32")

    class Losses(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(logs["loss"])

    callback = Losses()
    linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.05).fit(x, y, batch_size=4, callbacks=[callback], verbose=0)
    assert len(callback.losses) == 16
    assert len(set(callback.losses)) == 16  # one value per real batch, not one per fused group


def test_stop_training_from_on_epoch_end():
    x, y = order_data(8)

    class StopAfterTwo(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    model = linear_model(np.zeros((1, 1)), np.zeros(1), lr=0.01)
    history = model.fit(x, y, epochs=10, callbacks=[StopAfterTwo()], verbose=0)
    assert history.epoch == [0, 1]
    assert len(history.history["loss"]) == 2
    # The flag does not stick: the next fit trains again.
    assert model.fit(x, y, epochs=3, verbose=0).epoch == [0, 1, 2]


def test_stop_training_from_a_batch_hook_ends_the_epoch_early():
    x, y = order_data(20)

    class StopAtBatch(Recorder):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if batch == 2:
                self.model.stop_training = True

    recorder = StopAtBatch()
    model = linear_model(np.zeros((1, 1)), np.zeros(1), lr=0.0)
    history = model.fit(x, y, batch_size=2, epochs=5, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.batches_per_epoch() == [[0, 1, 2]]
    assert history.epoch == [0]
    np.testing.assert_allclose(history.history["loss"][0], np.mean(np.arange(1, 7) ** 2), rtol=1e-6)


def test_jit_compile_true_trains_to_the_same_numbers_as_eager():
    # On torch, jit_compile=True sends forward and loss through torch.compile; on JAX every step is jitted anyway.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = rng.integers(0, 3, 64)
    histories, weights, evaluations = [], [], []
    for jit_compile in (False, True):
        lamina.utils.set_random_seed(11)
        model = lamina.Sequential([layers.Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(3, "softmax")])
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile
        )
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        histories.append(history.history)
        weights.append(model.get_weights())
        evaluations.append(model.evaluate(x, y, verbose=0))  # the test step goes through the same path
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-5)
    np.testing.assert_allclose(histories[1]["accuracy"], histories[0]["accuracy"], rtol=1e-6)
    np.testing.assert_allclose(evaluations[1], evaluations[0], rtol=1e-5)
    for compiled, eager in zip(weights[1], weights[0]):
        np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-6)
