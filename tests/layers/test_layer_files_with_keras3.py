"""Files both ways: a model using the activation, merge, reshaping and noise layers, saved by lamina and
loaded by real Keras 3, and saved by Keras 3 and loaded by lamina (HDF5 and .keras)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina


def _build(mod):
    """The same functional model in lamina or in Keras 3 (`mod` is `lamina` or `keras`)."""
    L = mod.layers
    a, b = mod.Input((6,)), mod.Input((6,))
    h = L.Dense(6)(a)
    h = L.ReLU(max_value=3.0)(h)
    h = L.LeakyReLU(negative_slope=0.1)(h)
    h = L.PReLU()(h)
    h = L.ELU(alpha=0.5)(h)
    h = L.GaussianNoise(0.1)(h)
    h = L.GaussianDropout(0.1)(h)
    h = L.AlphaDropout(0.1)(h)
    h = L.ActivityRegularization(l1=0.01)(h)
    sub = L.Subtract()([h, b])
    mul = L.Multiply()([h, b])
    avg = L.Average()([h, b, sub])
    low = L.Minimum()([avg, L.Maximum()([sub, mul])])
    similarity = L.Dot(axes=1, normalize=True)([low, b])
    r = L.RepeatVector(4)(low)
    r = L.Permute((2, 1))(r)
    r = L.SpatialDropout1D(0.2)(r)
    r = L.TimeDistributed(L.Dense(3))(r)
    r = L.Softmax(axis=1)(r)
    r = L.Flatten()(r)
    out = L.Concatenate()([r, similarity, L.Add()([low, h])])
    return mod.Model([a, b], out)


SUFFIXES = [".h5", ".keras"]


def _inputs():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 6)).astype("float32"), rng.normal(size=(3, 6)).astype("float32")]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_keras3_loads_lamina_files(keras3, tmp_path, suffix):
    model = _build(lamina)
    alpha = model.get_layer(name=[layer.name for layer in model.layers if "p_re_lu" in layer.name][0])
    alpha.set_weights([np.linspace(0.1, 0.6, 6, dtype="float32")])
    path = os.path.join(tmp_path, "model" + suffix)
    model.save(path)
    theirs = keras3.models.load_model(path, compile=False)
    x = _inputs()
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_lamina_loads_keras3_files(keras3, tmp_path, suffix):
    theirs = _build(keras3)
    path = os.path.join(tmp_path, "model" + suffix)
    theirs.save(path)
    ours = lamina.models.load_model(path, compile=False)
    x = _inputs()
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), atol=1e-5)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras3_and_lamina_read_each_others_files_without_wrappers(keras3, tmp_path, suffix):
    """The same layers minus TimeDistributed: both directions, both formats."""

    def build(mod):
        L = mod.layers
        a, b = mod.Input((6,)), mod.Input((6,))
        h = L.PReLU()(L.Dense(6)(a))
        low = L.Minimum()([L.Average()([h, b, L.Subtract()([h, b])]), L.Maximum()([h, L.Multiply()([h, b])])])
        r = L.Softmax(axis=1)(L.SpatialDropout1D(0.2)(L.Permute((2, 1))(L.RepeatVector(4)(low))))
        return mod.Model([a, b], L.Concatenate()([L.Flatten()(r), L.Dot(axes=1)([low, b])]))

    x = _inputs()
    ours = build(lamina)
    ours.save(os.path.join(tmp_path, "ours" + suffix))
    loaded = keras3.models.load_model(os.path.join(tmp_path, "ours" + suffix), compile=False)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), ours.predict(x, verbose=0), atol=1e-5)
    theirs = build(keras3)
    theirs.save(os.path.join(tmp_path, "theirs" + suffix))
    loaded = lamina.models.load_model(os.path.join(tmp_path, "theirs" + suffix), compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), atol=1e-5)
