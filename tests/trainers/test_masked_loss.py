"""A model whose output carries a mask (Embedding(mask_zero=True) upstream) weighs its loss by that mask.

As in Keras 2 and 3, the loss is the mean over the unmasked entries (with sample weights multiplied in).
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina

IDS = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]], "int32")
TARGET = np.random.default_rng(2).normal(size=(3, 4, 2)).astype("float32")


def _model(lib, recurrent: bool):
    layers = lib.layers
    inputs = lib.Input((4,), dtype="int32")
    hidden = layers.Embedding(8, 3, mask_zero=True)(inputs)
    if recurrent:
        hidden = layers.LSTM(3, return_sequences=True)(hidden)
    return lib.Model(inputs, layers.Dense(2)(hidden))


def test_evaluate_is_the_mean_over_unmasked_steps_numpy():
    model = _model(lamina, recurrent=False)
    model.compile(lamina.optimizers.SGD(0.1), "mse")
    embeddings, kernel, bias = model.get_weights()
    per_step = ((embeddings[IDS] @ kernel + bias - TARGET) ** 2).mean(-1)
    mask = IDS != 0
    np.testing.assert_allclose(model.evaluate(IDS, TARGET, verbose=0), per_step[mask].mean(), rtol=1e-5)
    weights = np.array([1.0, 3.0, 0.5], "float32")
    expected = (per_step * mask * weights[:, None]).sum() / mask.sum()
    np.testing.assert_allclose(model.evaluate(IDS, TARGET, sample_weight=weights, verbose=0), expected, rtol=1e-5)


@pytest.mark.parametrize("recurrent", [False, True], ids=["dense", "lstm"])
def test_training_on_a_masked_output_matches_keras(recurrent, keras3):
    ours, theirs = _model(lamina, recurrent), _model(keras3, recurrent)
    theirs.set_weights(ours.get_weights())
    ours.compile(lamina.optimizers.SGD(0.1), "mse")
    theirs.compile(keras3.optimizers.SGD(0.1), "mse")
    # (Keras 3.15 cannot combine a mask with per-sample weights of shape (batch,): its broadcasting fails, so the
    # weighted case is checked against NumPy above.)
    for _ in range(2):
        got = ours.train_on_batch(IDS, TARGET)
        want = theirs.train_on_batch(IDS, TARGET)
        np.testing.assert_allclose(got, float(want), rtol=1e-5)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        ours.evaluate(IDS, TARGET, verbose=0), theirs.evaluate(IDS, TARGET, verbose=0), rtol=1e-5
    )


def test_metrics_count_only_unmasked_steps_as_keras(keras3):
    targets = np.random.default_rng(4).integers(0, 2, size=(3, 4)).astype("int32")

    def build(lib):
        inputs = lib.Input((4,), dtype="int32")
        hidden = lib.layers.Embedding(8, 3, mask_zero=True)(inputs)
        return lib.Model(inputs, lib.layers.Dense(2, activation="softmax")(hidden))

    ours, theirs = build(lamina), build(keras3)
    theirs.set_weights(ours.get_weights())
    ours.compile(lamina.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(keras3.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    predicted = ours.predict(IDS, verbose=0).argmax(-1)
    mask = IDS != 0
    expected_accuracy = (predicted == targets)[mask].mean()
    loss, accuracy = ours.evaluate(IDS, targets, verbose=0)
    np.testing.assert_allclose(accuracy, expected_accuracy, rtol=1e-6)
    np.testing.assert_allclose([loss, accuracy], theirs.evaluate(IDS, targets, verbose=0), rtol=1e-5)
    history = ours.fit(IDS, targets, epochs=2, verbose=0, shuffle=False)
    theirs_history = theirs.fit(IDS, targets, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["loss"], theirs_history.history["loss"], rtol=1e-5)
    # One batch per epoch: the first epoch's accuracy is the initial model's, over the unmasked steps. (Keras 3.15
    # on JAX drops the mask from the metrics inside fit, though not in evaluate; Keras 2 kept it in both.)
    np.testing.assert_allclose(history.history["accuracy"][0], expected_accuracy, rtol=1e-6)
