"""Weights are engine-neutral: a model's get_weights() set into the same model on the other engine predicts the same."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

import lamina
from lamina import layers

OTHER = {"jax": "torch", "torch": "jax"}

BUILD = """
def build(lamina, layers):
    inputs = lamina.Input(shape=(8, 8, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return lamina.Model(inputs, outputs)
"""


def _build():
    scope = {}
    exec(BUILD, scope)  # noqa: S102 - the same model source runs in both processes
    return scope["build"](lamina, layers)


def _run_other_engine(tmp_path, weights_file, x_file, out_file):
    script = textwrap.dedent(
        f"""
        import numpy as np
        import lamina
        from lamina import layers
        {textwrap.indent(BUILD, "        ").strip()}
        model = build(lamina, layers)
        stored = np.load({str(weights_file)!r})
        model.set_weights([stored[f"w{{i}}"] for i in range(len(stored.files))])
        x = np.load({str(x_file)!r})
        np.savez({str(out_file)!r}, y=model.predict(x, verbose=0), *model.get_weights())
        """
    )
    env = dict(os.environ, LAMINA_BACKEND=OTHER[lamina.backend.backend()], KERAS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_weights_move_between_engines(tmp_path):
    model = _build()
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 16)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # non-trivial weights and BN statistics
    weights = model.get_weights()
    np.savez(tmp_path / "weights.npz", **{f"w{i}": w for i, w in enumerate(weights)})
    np.save(tmp_path / "x.npy", x)
    _run_other_engine(tmp_path, tmp_path / "weights.npz", tmp_path / "x.npy", tmp_path / "out.npz")
    other = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(other["y"], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(other[f"arr_{i}"], w)


def test_seeded_initial_weights_are_the_same_on_both_engines(tmp_path):
    # Initial weights come from NumPy with seeds from the process-wide generator.
    lamina.utils.set_random_seed(7)
    model = _build()
    script = textwrap.dedent(
        f"""
        import numpy as np
        import lamina
        from lamina import layers
        {textwrap.indent(BUILD, "        ").strip()}
        lamina.utils.set_random_seed(7)
        np.savez({str(tmp_path / "init.npz")!r}, *build(lamina, layers).get_weights())
        """
    )
    env = dict(os.environ, LAMINA_BACKEND=OTHER[lamina.backend.backend()], KERAS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    other = np.load(tmp_path / "init.npz")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(other[f"arr_{i}"], w)


def test_a_model_saved_on_one_engine_loads_on_the_other(tmp_path):
    model = _build()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.random((16, 8, 8, 1)).astype("float32")
    model.fit(x, rng.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "model.h5")
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import numpy as np
        import lamina
        model = lamina.models.load_model({str(tmp_path / "model.h5")!r})
        assert model.optimizer is not None and int(model.optimizer.iterations.numpy()) == 4
        np.save({str(tmp_path / "y.npy")!r}, model.predict(np.load({str(tmp_path / "x.npy")!r}), verbose=0))
        """
    )
    env = dict(os.environ, LAMINA_BACKEND=OTHER[lamina.backend.backend()], KERAS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
