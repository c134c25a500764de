"""LossScaleOptimizer: the scale's dynamics and the inner update against NumPy, fit against Keras 3, configs, files."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina.backend import Variable

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "loss_scale")
INF, NAN = np.float32(np.inf), np.float32(np.nan)


def test_scale_halves_on_a_non_finite_step_and_doubles_after_growth_steps():
    # SGD(0.1) inside, scale 8, doubling after 2 good steps. Each row: the true gradient and whether
    # the step's scaled gradient holds an inf / NaN instead.
    true_grads = [[1.0, -2.0], [0.5, 0.5], [3.0, 1.0], [1.0, 1.0], [-1.0, 2.0], [2.0, -1.0], [0.25, 4.0]]
    poison = [None, None, INF, NAN, None, None, None]
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    variable = Variable(np.array([1.0, 2.0], "float32"), name="w")
    w, scale, good, steps = np.array([1.0, 2.0]), 8.0, 0, 0  # NumPy's reference, written out
    for step, (grad, bad) in enumerate(zip(true_grads, poison)):
        scaled = np.array(grad, "float32") * np.float32(scale)
        if bad is not None:
            scaled[1] = bad
        opt.apply([scaled], [variable])
        if bad is not None:  # skipped: weights and the inner step count stay, the scale halves
            scale, good = scale / 2, 0
        else:
            w, steps = w - 0.1 * np.array(grad), steps + 1
            good += 1
            if good == 2:
                scale, good = scale * 2, 0
        np.testing.assert_allclose(variable.numpy(), w, rtol=1e-6, err_msg=f"step {step + 1}")
        assert float(opt.dynamic_scale.numpy()) == scale, f"step {step + 1}"
        assert int(opt.step_counter.numpy()) == good, f"step {step + 1}"
        assert int(np.asarray(opt.iterations)) == steps, f"step {step + 1}"
    # The sequence went 8 -> 16 (growth) -> 8 -> 4 (two skips) -> 8 (growth) and one good step since.
    assert (scale, good, steps) == (8.0, 1, 5)


def test_inner_adam_steps_as_an_unwrapped_adam_on_the_unscaled_gradients(rng):
    shapes = [(2, 3), (3,)]
    initial = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(4)]
    wrapped = optimizers.LossScaleOptimizer(optimizers.Adam(0.05), initial_scale=1024.0, dynamic_growth_steps=3)
    plain = optimizers.Adam(0.05)
    ours = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(initial)]
    reference = [Variable(w.copy(), name=f"r{i}") for i, w in enumerate(initial)]
    scale = 1024.0
    for step, step_grads in enumerate(grads):
        scaled = [g * np.float32(scale) for g in step_grads]
        if step == 2:  # an overflowing step: Adam's moments and count must not move either
            scaled[0][0, 0] = INF
            wrapped.apply(scaled, ours)
            scale /= 2
            continue
        wrapped.apply(scaled, ours)
        plain.apply(step_grads, reference)
        for a, b in zip(ours, reference):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step + 1}")
    inner = wrapped.inner_optimizer
    for a, b in zip(inner.variables, plain.variables):
        np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6, atol=1e-7)
    assert int(np.asarray(wrapped.iterations)) == 3


def _linear_model(kernel, bias):
    model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,))])
    model.set_weights([kernel, bias])
    return model


def test_fit_scales_the_loss_and_skips_the_batches_whose_loss_is_nan(rng):
    # Two batches per epoch, the second holding a NaN: over two epochs steps 2 and 4 are skipped. The
    # good steps are plain SGD on batch one (the trainer scaled the loss by 2**14 and the optimizer
    # unscaled the gradients), computed here with NumPy: mse's gradient of a Dense layer.
    kernel, bias = rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    x[5, 1] = np.nan
    model = _linear_model(kernel, bias)
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=2.0**14, dynamic_growth_steps=3)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    w, b = kernel.astype("float64"), bias.astype("float64")
    for _ in range(2):
        error = 2.0 * (x[:4] @ w + b - y[:4]) / y[:4].size
        w, b = w - 0.1 * x[:4].T @ error, b - 0.1 * error.sum(axis=0)
    got_kernel, got_bias = model.get_weights()
    np.testing.assert_allclose(got_kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_bias, b, rtol=1e-5, atol=1e-6)
    assert float(opt.dynamic_scale.numpy()) == 2.0**12
    assert int(opt.step_counter.numpy()) == 0
    assert int(np.asarray(opt.iterations)) == 2


def test_fit_and_keras3_files_match_keras3(tmp_path, rng, keras3):
    from lamina.saving.keras_zip import keras3_optimizer_variables

    kernel, bias = rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    x, y = rng.normal(size=(12, 3)).astype("float32"), rng.normal(size=(12, 2)).astype("float32")
    model = _linear_model(kernel, bias)
    model.compile(optimizers.LossScaleOptimizer(optimizers.Adam(0.05), dynamic_growth_steps=2), loss="mse")
    oracle = keras3.Sequential([keras3.Input((3,)), keras3.layers.Dense(2)])
    oracle.set_weights([kernel, bias])
    oracle.compile(keras3.optimizers.LossScaleOptimizer(keras3.optimizers.Adam(0.05), dynamic_growth_steps=2), "mse")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = oracle.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # 6 good steps, doubling every 2: 2**15 * 8, the counter back at 0; the inner Adam took all 6.
    assert float(model.optimizer.dynamic_scale.numpy()) == float(oracle.optimizer.dynamic_scale.numpy()) == 2.0**18
    assert int(np.asarray(model.optimizer.iterations)) == int(oracle.optimizer.iterations.numpy()) == 6
    # Keras 3's file restores every variable in its order: own counter and rate, step_counter, scale, Adam's.
    oracle.save(tmp_path / "oracle.keras")
    loaded = lamina.models.load_model(tmp_path / "oracle.keras")
    ours, theirs = keras3_optimizer_variables(loaded.optimizer), oracle.optimizer.variables
    assert [v.name for v in ours[2:4]] == ["step_counter", "dynamic_scale"] and len(ours) == len(theirs) == 4 + 2 + 4
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(mine.numpy()), np.asarray(their), rtol=1e-6, err_msg=their.path)


def test_config_round_trip_and_tf_keras_forms():
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.02), initial_scale=64.0, dynamic_growth_steps=7, name="ls")
    config = optimizers.serialize(opt)
    assert config["config"]["inner_optimizer"]["class_name"] == "Adam"
    again = optimizers.deserialize(config)
    assert (again.name, again.initial_scale, again.dynamic_growth_steps) == ("ls", 64.0, 7)
    assert again.inner_optimizer.get_config() == opt.inner_optimizer.get_config()
    # tf-keras 2.11+ writes LossScaleOptimizerV3 (with `dynamic`); TF 2.3 wrote `optimizer` and a `loss_scale`.
    inner = {"class_name": "SGD", "config": {"learning_rate": 0.5, "is_legacy_optimizer": False, "jit_compile": False}}
    v3 = {"inner_optimizer": inner, "dynamic": True, "initial_scale": 16.0, "dynamic_growth_steps": 3}
    loaded = optimizers.deserialize({"class_name": "LossScaleOptimizerV3", "config": v3})
    assert (loaded.initial_scale, loaded.dynamic_growth_steps) == (16.0, 3)
    assert float(np.asarray(loaded.learning_rate)) == 0.5
    dynamic = {"class_name": "DynamicLossScale", "config": {"initial_loss_scale": 32.0, "increment_period": 9}}
    tf23 = optimizers.deserialize(
        {"class_name": "LossScaleOptimizer", "config": {"optimizer": inner, "loss_scale": dynamic}}
    )
    assert (tf23.initial_scale, tf23.dynamic_growth_steps) == (32.0, 9)
    # learning_rate reads and writes the inner optimizer's.
    tf23.learning_rate = 0.25
    assert float(np.asarray(tf23.inner_optimizer.learning_rate)) == 0.25


def test_save_and_load_keep_the_scale_and_the_inner_state(tmp_path, rng, ext="h5"):  # .keras: the Keras 3 test
    kernel, bias = rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    x, y = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    model = _linear_model(kernel, bias)
    model.compile(optimizers.LossScaleOptimizer(optimizers.Adam(0.05), 256.0, dynamic_growth_steps=2), loss="mse")
    for _ in range(3):
        model.train_on_batch(x, y)
    model.save(tmp_path / f"m.{ext}")
    loaded = lamina.models.load_model(tmp_path / f"m.{ext}")
    assert isinstance(loaded.optimizer, optimizers.LossScaleOptimizer)
    assert float(loaded.optimizer.dynamic_scale.numpy()) == 512.0
    assert int(loaded.optimizer.step_counter.numpy()) == 1
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert float(loaded.optimizer.dynamic_scale.numpy()) == 1024.0


# legacy_adam.h5 is there too; legacy_rmsprop covers the legacy names and Keras 2's epsilon rule besides.
@pytest.mark.parametrize("case", ["new_adam", "legacy_rmsprop"])
def test_tf_keras_files_restore_the_inner_state(case, recwarn):
    expected = np.load(os.path.join(FIXTURES, "expected.npz"))
    model = lamina.models.load_model(os.path.join(FIXTURES, f"{case}.h5"))
    assert not [w for w in recwarn if "fresh optimizer state" in str(w.message)]
    opt = model.optimizer
    assert (opt.initial_scale, opt.dynamic_growth_steps, int(np.asarray(opt.iterations))) == (1024.0, 2, 3)
    model.train_on_batch(expected["x"], expected["y"])
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, expected[f"{case}/kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, expected[f"{case}/bias"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"initial_scale": 0.0}, ValueError, "initial_scale must be a positive number, got 0.0"),
        ({"initial_scale": float("inf")}, ValueError, "initial_scale must be finite"),
        ({"initial_scale": "big"}, ValueError, "initial_scale must be a positive number, got 'big'"),
        ({"dynamic_growth_steps": 0}, ValueError, "dynamic_growth_steps must be an integer >= 1, got 0"),
        ({"dynamic_growth_steps": 2.5}, ValueError, "dynamic_growth_steps must be an integer >= 1, got 2.5"),
        ({"dynamic": False}, ValueError, "dynamic=False is not supported"),
        ({"clipnorm": 1.0}, ValueError, "does not take 'clipnorm': set it on the inner optimizer"),
        ({"momentum": 0.9}, TypeError, "unexpected keyword argument(s): ['momentum']"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=None) as caught:
        optimizers.LossScaleOptimizer(optimizers.SGD(), **kwargs)
    assert words in str(caught.value)


def test_inner_must_be_an_optimizer():
    with pytest.raises(TypeError, match="inner_optimizer must be a lamina Optimizer, got str"):
        optimizers.LossScaleOptimizer("adam")
