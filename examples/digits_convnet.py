"""The README's demo: a small convnet on scikit-learn's bundled handwritten digits.

Trains on 8x8 grey images (1,797 of them, no download needed), prints the
per-epoch History and the test accuracy, saves the model to HDF5, reloads it
with `load_model` and prints the reloaded model's accuracy.

Run:
    make demo          # or: python examples/digits_convnet.py
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import lamina as keras
from lamina import layers


def load_data():
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., np.newaxis]  # (n, 8, 8, 1) in [0, 1]
    y = digits.target.astype("int32")
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def build_model():
    model = keras.Sequential(
        [
            layers.Conv2D(32, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
            layers.BatchNormalization(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    keras.utils.set_random_seed(0)
    x_train, x_test, y_train, y_test = load_data()
    print(f"engine: {keras.backend.backend()}, train {x_train.shape}, test {x_test.shape}")
    model = build_model()
    model.summary()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=32, epochs=15, validation_split=0.1, verbose=2)
    seconds = time.perf_counter() - start
    print("\nHistory (per epoch):")
    for epoch in history.epoch:
        row = "  ".join(f"{name} {values[epoch]:.4f}" for name, values in history.history.items())
        print(f"  epoch {epoch + 1:2d}: {row}")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\ntrained in {seconds:.1f}s; test loss {loss:.4f}, test accuracy {accuracy:.4f}")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "digits_convnet.h5")
        model.save(path)  # architecture, weights, training config and optimizer state, in Keras's HDF5 layout
        reloaded = keras.models.load_model(path)
        size = os.path.getsize(path)
    reloaded_loss, reloaded_accuracy = reloaded.evaluate(x_test, y_test, verbose=0)
    print(f"saved to HDF5 ({size:,} bytes) and reloaded: test loss {reloaded_loss:.4f}, "
          f"test accuracy {reloaded_accuracy:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
