"""One whole fit() in lamina and in real Keras 3 from the same initial weights gives the same run."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def make_data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 4)).astype("float32") * 2.0
    labels = rng.integers(0, 3, size=96)
    x = (centers[labels] + rng.normal(size=(96, 4))).astype("float32")
    return x[:64], labels[:64], x[64:], labels[64:]


def lamina_model():
    return lamina.Sequential(
        [
            lamina.layers.Dense(8, activation="relu", input_shape=(4,)),
            lamina.layers.Dense(3, activation="softmax"),
        ]
    )


def keras_model(keras):
    return keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


OPTIMIZERS = {
    "sgd": (lambda mod: mod.optimizers.SGD(learning_rate=0.1)),
    "sgd_momentum": (lambda mod: mod.optimizers.SGD(learning_rate=0.05, momentum=0.9)),
    "adam": (lambda mod: mod.optimizers.Adam(learning_rate=0.01)),
}


@pytest.mark.parametrize(
    "optimizer, loss",
    [
        ("sgd", "sparse_categorical_crossentropy"),
        ("adam", "sparse_categorical_crossentropy"),
        ("sgd_momentum", "categorical_crossentropy"),
    ],
)
def test_fit_matches_keras3(keras3, optimizer, loss):
    x, labels, x_val, labels_val = make_data()
    y, y_val = labels, labels_val
    if loss == "categorical_crossentropy":
        y, y_val = np.eye(3, dtype="float32")[labels], np.eye(3, dtype="float32")[labels_val]

    ours, theirs = lamina_model(), keras_model(keras3)
    initial = ours.get_weights()
    theirs.set_weights(initial)
    ours.compile(OPTIMIZERS[optimizer](lamina), loss, metrics=["accuracy"])
    theirs.compile(OPTIMIZERS[optimizer](keras3), loss, metrics=["accuracy"])
    kwargs = dict(batch_size=16, epochs=2, shuffle=False, validation_data=(x_val, y_val), verbose=0)
    our_history = ours.fit(x, y, **kwargs).history
    their_history = theirs.fit(x, y, **kwargs).history

    assert set(our_history) == set(their_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for name in their_history:
        np.testing.assert_allclose(our_history[name], their_history[name], rtol=1e-4, atol=1e-4, err_msg=name)
    for ours_w, theirs_w, start in zip(ours.get_weights(), theirs.get_weights(), initial):
        np.testing.assert_allclose(ours_w, np.asarray(theirs_w), rtol=1e-4, atol=1e-4)
        assert not np.allclose(ours_w, start)  # training did move the weights
    np.testing.assert_allclose(
        ours.predict(x_val, verbose=0), np.asarray(theirs.predict(x_val, verbose=0)), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        ours.evaluate(x_val, y_val, verbose=0), theirs.evaluate(x_val, y_val, verbose=0), rtol=1e-4, atol=1e-5
    )


def test_fit_with_sample_weight_and_short_last_batch_matches_keras3(keras3):
    x, labels, x_val, labels_val = make_data()
    x, labels = x[:60], labels[:60]  # batches of 16, 16, 16 and 12
    weights = np.linspace(0.2, 2.0, 60).astype("float32")
    ours, theirs = lamina_model(), keras_model(keras3)
    theirs.set_weights(ours.get_weights())
    ours.compile(lamina.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    theirs.compile(keras3.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    kwargs = dict(batch_size=16, epochs=2, shuffle=False, sample_weight=weights, verbose=0)
    our_history = ours.fit(x, labels, **kwargs).history
    their_history = theirs.fit(x, labels, **kwargs).history
    np.testing.assert_allclose(our_history["loss"], their_history["loss"], rtol=1e-4, atol=1e-4)
    for ours_w, theirs_w in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(ours_w, np.asarray(theirs_w), rtol=1e-4, atol=1e-4)
