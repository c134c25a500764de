"""Noise layers (GaussianNoise, GaussianDropout, AlphaDropout) and ActivityRegularization.

Inference is the identity (checked against Keras 3); training draws are checked by their
statistics, and a fused, jitted fit is replayed step by step to show each step drew new noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

import lamina
from lamina import layers

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ----------------------------------------------------------------- inference
NOISE_LAYERS = {
    "GaussianNoise": ({"stddev": 0.3, "seed": 1}, ("stddev", "seed")),
    "GaussianDropout": ({"rate": 0.3, "seed": 1}, ("rate", "seed")),
    "AlphaDropout": ({"rate": 0.2, "seed": 1}, ("rate", "seed", "noise_shape")),
}


@pytest.mark.parametrize("name", sorted(NOISE_LAYERS))
def test_noise_layers_are_identity_at_inference(keras3, name):
    kwargs, keys = NOISE_LAYERS[name]
    layer = check_layer(
        lambda: getattr(layers, name)(**kwargs),
        _x(4, 6),
        make_keras=lambda: getattr(keras3.layers, name)(**kwargs),
        reference=lambda x, w, training: x,
        check_training=False,  # random: the statistics are checked below
        keras_config_keys=keys,
    )
    assert layer.weights == []
    assert len(layer.non_trainable_variables) == 1  # the seed state


# ---------------------------------------------------------------- statistics
def test_gaussian_noise_adds_zero_mean_noise_of_stddev():
    x = np.full((200, 250), 3.0, "float32")
    out = as_numpy(layers.GaussianNoise(0.5, seed=4)(x, training=True))
    noise = out - x
    assert abs(noise.mean()) < 0.01  # 50,000 draws: the mean's stddev is 0.5 / 224 = 0.0022
    assert noise.std() == pytest.approx(0.5, rel=0.02)
    assert abs(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]) < 0.02  # independent entries


def test_gaussian_dropout_multiplies_by_mean_one_noise():
    rate = 0.2
    x = np.full((200, 250), 2.0, "float32")
    factor = as_numpy(layers.GaussianDropout(rate, seed=4)(x, training=True)) / 2.0
    assert factor.mean() == pytest.approx(1.0, abs=0.01)
    assert factor.var() == pytest.approx(rate / (1 - rate), rel=0.03)


def test_alpha_dropout_keeps_mean_and_variance_of_standardized_inputs():
    rate = 0.2
    x = _x(200, 250, seed=3)
    out = as_numpy(layers.AlphaDropout(rate, seed=4)(x, training=True))
    assert out.mean() == pytest.approx(x.mean(), abs=0.02)
    assert out.var() == pytest.approx(x.var(), rel=0.03)
    # The dropped entries all take one value: SELU's saturation value, after the affine correction.
    dropped_value = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * dropped_value**2)) ** -0.5
    b = -a * dropped_value * rate
    dropped = np.isclose(out, a * dropped_value + b, atol=1e-6)
    assert dropped.mean() == pytest.approx(rate, abs=0.01)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_noise_shape_shares_the_mask():
    rate = 0.5
    x = _x(32, 10, 8, seed=1)
    out = as_numpy(layers.AlphaDropout(rate, noise_shape=(None, 1, 8), seed=2)(x, training=True))
    dropped_value = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * dropped_value**2)) ** -0.5
    dropped = np.isclose(out, a * dropped_value - a * dropped_value * rate, atol=1e-5)
    # The same features are dropped at every time step of a sample, but not the same in every sample.
    np.testing.assert_array_equal(dropped, np.broadcast_to(dropped[:, :1, :], dropped.shape))
    assert 0.35 < dropped[:, 0, :].mean() < 0.65
    assert len({row.tobytes() for row in dropped[:, 0, :]}) > 1


@pytest.mark.parametrize("name", sorted(NOISE_LAYERS))
def test_noise_is_fresh_each_call_and_fixed_by_the_seed(name):
    kwargs = dict(NOISE_LAYERS[name][0], seed=9)
    x = _x(16, 32, seed=1)
    layer = getattr(layers, name)(**kwargs)
    first, second = as_numpy(layer(x, training=True)), as_numpy(layer(x, training=True))
    assert (first != second).mean() > 0.1
    again = as_numpy(getattr(layers, name)(**kwargs)(x, training=True))
    np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize("name", sorted(NOISE_LAYERS))
def test_zero_rate_or_stddev_is_identity_in_training(name):
    key = "stddev" if name == "GaussianNoise" else "rate"
    x = _x(3, 4)
    np.testing.assert_array_equal(as_numpy(getattr(layers, name)(**{key: 0.0})(x, training=True)), x)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.GaussianNoise(-0.1), '"gaussian_noise".*stddev'),
        (lambda: layers.GaussianDropout(1.0), '"gaussian_dropout".*rate'),
        (lambda: layers.AlphaDropout(-0.2), '"alpha_dropout".*rate'),
    ],
)
def test_bad_arguments_name_the_layer(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------- fresh noise in a fused fit
@pytest.mark.parametrize("name", sorted(NOISE_LAYERS))
def test_fused_fit_draws_new_noise_every_step(name):
    """Four SGD steps run as one compiled call; replaying them eagerly with the same seed state gives the same
    weights, so each step drew the noise an eager call would draw at that point (not one baked-in draw)."""
    x = _x(8, 3, seed=1)
    y = _x(8, 1, seed=2)
    noise = getattr(layers, name)(**NOISE_LAYERS[name][0])
    dense = layers.Dense(1, use_bias=False)
    model = lamina.Sequential([lamina.Input((3,)), noise, dense])
    model.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse", steps_per_execution=4)
    start_state = as_numpy(noise.seed_generator.state)
    w = model.get_weights()[0].astype("float64")
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)

    noise.seed_generator.state.assign(start_state)
    draws = []
    for step in range(4):
        xb, yb = x[2 * step : 2 * step + 2], y[2 * step : 2 * step + 2]
        z = as_numpy(noise(xb, training=True)).astype("float64")
        draws.append(z)
        error = z @ w - yb
        w = w - 0.1 * (2.0 / error.size) * z.T @ error
    assert_close(model.get_weights()[0], w, rtol=1e-5, atol=1e-6, what="weights after a fused fit vs the replay")
    assert not np.allclose(draws[0] - x[:2], draws[1] - x[2:4])
    assert not np.allclose(draws[0] / x[:2], draws[1] / x[2:4])


# ------------------------------------------------------ ActivityRegularization
def test_activity_regularization_is_identity_and_matches_keras(keras3):
    layer = check_layer(
        lambda: layers.ActivityRegularization(l1=0.1, l2=0.2),
        _x(3, 4),
        make_keras=lambda: keras3.layers.ActivityRegularization(l1=0.1, l2=0.2),
        reference=lambda x, w, training: x,
        keras_config_keys=("l1", "l2"),
    )
    assert "activity_regularizer" not in layer.get_config()


def test_activity_regularization_penalty_matches_keras(keras3):
    x = _x(4, 5)
    ours = layers.ActivityRegularization(l1=0.01, l2=0.03)
    ours(x)
    theirs = keras3.layers.ActivityRegularization(l1=0.01, l2=0.03)
    theirs(x)
    expected = (0.01 * np.abs(x).sum() + 0.03 * (x**2).sum()) / 4  # divided by the batch size
    assert float(as_numpy(ours.losses[0])) == pytest.approx(expected, rel=1e-5)
    assert float(np.asarray(theirs.losses[0])) == pytest.approx(expected, rel=1e-5)


def test_activity_regularization_adds_to_the_training_loss():
    x, y = _x(4, 3, seed=1), _x(4, 2, seed=2)
    plain = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    regularized = lamina.Sequential([lamina.Input((3,)), layers.Dense(2), layers.ActivityRegularization(l2=0.5)])
    regularized.set_weights(plain.get_weights())
    for model in (plain, regularized):
        model.compile("sgd", "mse")
    prediction = plain.predict(x, verbose=0)
    penalty = 0.5 * np.sum(prediction**2) / 4
    base = plain.evaluate(x, y, verbose=0)
    assert float(regularized.train_on_batch(x, y)) == pytest.approx(base + penalty, rel=1e-5)


def test_activity_regularization_rejects_negative_factors():
    with pytest.raises(ValueError, match="ActivityRegularization.*l1"):
        layers.ActivityRegularization(l1=-1.0)
