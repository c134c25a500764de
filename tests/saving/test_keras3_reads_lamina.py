"""Files lamina writes load in real Keras 3 (test-only oracle) and give the same predictions."""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers


def _sequential():
    model = lamina.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_keras3_loads_a_lamina_sequential_file_compiled(tmp_path, keras3):
    model = _sequential()
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1)).astype("float32")
    model.fit(x, rng.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "seq.h5")
    theirs = keras3.models.load_model(tmp_path / "seq.h5")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert theirs.optimizer.__class__.__name__ == "Adam"
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in model.get_weights()]


def test_keras3_loads_a_lamina_functional_file(tmp_path, keras3):
    a = lamina.Input(shape=(4,), name="a")
    b = lamina.Input(shape=(4,), name="b")
    shared = layers.Dense(5, activation="relu", name="shared")
    merged = layers.Concatenate()([shared(a), shared(b)])
    model = lamina.Model([a, b], [layers.Dense(1, name="reg")(merged), layers.Dense(3, activation="softmax")(merged)])
    model.compile("rmsprop", ["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5])
    model.save(tmp_path / "functional.h5")
    x = np.random.default_rng(1).random((6, 4)).astype("float32")
    # compile=False: Keras 3.15 cannot compile a multi-output model from any .h5 training config, its own
    # files included ("Could not deserialize 'keras.metrics.mse'"); the architecture and weights are what we check.
    theirs = keras3.models.load_model(tmp_path / "functional.h5", compile=False)
    for mine, their in zip(model.predict([x, x * 2], verbose=0), theirs.predict([x, x * 2], verbose=0)):
        np.testing.assert_allclose(their, mine, rtol=1e-5, atol=1e-6)


def test_keras3_loads_lamina_weights_into_its_own_model(tmp_path, keras3):
    model = _sequential()
    model.save_weights(tmp_path / "seq_weights.h5")
    twin = keras3.Sequential(
        [
            keras3.Input(shape=(8, 8, 1)),
            keras3.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras3.layers.BatchNormalization(),
            keras3.layers.MaxPooling2D(2),
            keras3.layers.Flatten(),
            keras3.layers.Dropout(0.2),
            keras3.layers.Dense(3, activation="softmax"),
        ]
    )
    twin.load_weights(tmp_path / "seq_weights.h5")
    x = np.random.default_rng(2).random((5, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def _keras3_twin(keras3):
    return keras3.Sequential(
        [
            keras3.Input(shape=(8, 8, 1)),
            keras3.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras3.layers.BatchNormalization(),
            keras3.layers.MaxPooling2D(2),
            keras3.layers.Flatten(),
            keras3.layers.Dropout(0.2),
            keras3.layers.Dense(3, activation="softmax"),
        ]
    )


def test_a_dot_weights_h5_file_is_keras3_layout_that_keras3_loads(tmp_path, keras3):
    model = _sequential()
    x = np.random.default_rng(3).random((6, 8, 8, 1)).astype("float32")
    model.fit(x, np.arange(6) % 3, epochs=1, verbose=0)  # moves BatchNormalization's moving statistics too
    model.save_weights(tmp_path / "seq.weights.h5")
    twin = _keras3_twin(keras3)
    twin.load_weights(tmp_path / "seq.weights.h5")
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # And the other way: Keras 3's own .weights.h5 of those weights loads into a fresh lamina model.
    twin.save_weights(tmp_path / "theirs.weights.h5")
    fresh = _sequential()
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
