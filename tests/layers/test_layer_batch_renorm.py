"""BatchNormalization(renorm=True): batch renormalization as tf-keras 2.21 computes it (tests/fixtures/renorm)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

import lamina
from lamina import layers
from lamina.saving.serialization import deserialize_layer

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "renorm")
RENORM_WEIGHTS = [
    "gamma", "beta", "moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev",
]  # fmt: skip
CLIPPING = {"rmin": 0.7, "rmax": 1.5, "dmax": 0.5}


@pytest.fixture(scope="module")
def tf_keras():
    with np.load(os.path.join(FIXTURES, "renorm.npz")) as data:
        return dict(data)


def _names(layer) -> list:
    return [w.name.split("/")[-1].split(":")[0] for w in layer.weights]


def test_renorm_layer_matches_tf_keras_in_training_and_inference(tf_keras):
    layer = layers.BatchNormalization(momentum=0.8, renorm=True, renorm_clipping=CLIPPING, renorm_momentum=0.6)
    layer.build((None, 3))
    assert _names(layer) == RENORM_WEIGHTS
    assert [w.trainable for w in layer.weights] == [True, True] + [False] * 5
    layer.gamma.assign(tf_keras["layer_gamma"])
    layer.beta.assign(tf_keras["layer_beta"])
    for call in range(3):
        y = layer(tf_keras[f"layer_x{call}"], training=True)
        assert_close(as_numpy(y), tf_keras[f"layer_y{call}"], rtol=1e-4, atol=1e-5)
        for weight in layer.weights:
            expected = tf_keras[f"layer_w{call}_{_names(layer)[layer.weights.index(weight)]}"]
            assert_close(as_numpy(weight), expected, rtol=1e-5, atol=1e-6)
    # The first call is clipped: without clipping its output would differ a lot.
    unclipped = layers.BatchNormalization(momentum=0.8, renorm=True, renorm_momentum=0.6)
    unclipped.build((None, 3))
    free = as_numpy(unclipped(tf_keras["layer_x0"], training=True))
    assert np.abs(free - (tf_keras["layer_y0"] - tf_keras["layer_beta"]) / tf_keras["layer_gamma"]).max() > 0.1
    y = layer(tf_keras["layer_x0"], training=False)
    assert_close(as_numpy(y), tf_keras["layer_y_inference"], rtol=1e-4, atol=1e-5)


def _fit_model():
    inputs = lamina.Input((3,))
    hidden = layers.Dense(4, name="dense")(inputs)
    normed = layers.BatchNormalization(
        renorm=True, renorm_clipping=CLIPPING, renorm_momentum=0.7, momentum=0.9, name="bn"
    )(hidden)
    return lamina.Model(inputs, layers.Dense(1, name="out")(normed))


def _check_weights(model, tf_keras, prefix, rtol):
    for name in ("dense", "bn", "out"):
        layer = model.get_layer(name)
        for weight, short in zip(layer.weights, _names(layer)):
            assert_close(as_numpy(weight), tf_keras[f"{prefix}_{name}_{short}"], rtol=rtol, atol=rtol)


def test_renorm_fit_matches_tf_keras(tf_keras):
    model = _fit_model()
    for name in ("dense", "bn", "out"):
        layer = model.get_layer(name)
        layer.set_weights([tf_keras[f"fit_w0_{name}_{short}"] for short in _names(layer)])
    model.compile(lamina.optimizers.SGD(0.1), "mse")
    model.fit(tf_keras["fit_x"], tf_keras["fit_y"], batch_size=4, epochs=2, shuffle=False, verbose=0)
    _check_weights(model, tf_keras, "fit_w1", rtol=1e-4)
    assert_close(model.predict(tf_keras["fit_x"], verbose=0), tf_keras["fit_pred"], rtol=1e-4, atol=1e-4)


def test_renorm_model_saved_by_tf_keras_loads_and_saves(tf_keras, tmp_path):
    model = lamina.models.load_model(os.path.join(FIXTURES, "renorm.h5"), compile=False)
    bn = model.get_layer("bn")
    assert bn.renorm and bn.renorm_clipping == CLIPPING and bn.renorm_momentum == 0.7
    _check_weights(model, tf_keras, "fit_w1", rtol=1e-6)
    assert_close(model.predict(tf_keras["fit_x"], verbose=0), tf_keras["fit_pred"], rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "again.h5")
    model.save(path)
    again = lamina.models.load_model(path)
    assert_close(again.predict(tf_keras["fit_x"], verbose=0), tf_keras["fit_pred"], rtol=1e-5, atol=1e-5)


def test_renorm_config_round_trip_and_defaults():
    layer = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 3}, renorm_momentum=0.5)
    config = layer.get_config()
    assert (config["renorm"], config["renorm_clipping"], config["renorm_momentum"]) == (True, {"rmax": 3.0}, 0.5)
    clone = deserialize_layer({"class_name": "BatchNormalization", "config": config})
    assert clone.get_config() == config
    # Without clipping, and with the renorm statistics at their start (mean 0, stddev 1), r and d undo the
    # normalization exactly: r = sqrt(var + epsilon), d = mean, so the first training batch comes out unchanged.
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32") * 3 + 1
    plain = layers.BatchNormalization(renorm=True, epsilon=1e-3)
    assert_close(as_numpy(plain(x, training=True)), x, rtol=1e-4, atol=1e-4)
    assert_close(as_numpy(plain.renorm_mean), x.mean(axis=0) * 0.01, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "clipping, error, match",
    [
        ({"rmaxx": 2.0}, ValueError, r"renorm_clipping accepts the keys .* got \['rmaxx'\]"),
        ({"rmin": 2.0, "rmax": 1.0}, ValueError, "rmax >= rmin"),
        ({"dmax": -1.0}, ValueError, "dmax >= 0"),
        ({"dmax": "big"}, TypeError, "must be a number"),
    ],
)
def test_renorm_bad_clipping_names_the_layer(clipping, error, match):
    with pytest.raises(error, match=match) as info:
        layers.BatchNormalization(renorm=True, renorm_clipping=clipping, name="bn_x")
    assert '"bn_x"' in str(info.value)
