"""MultiOptimizer and OptimizerMap: lookups, updates against NumPy and Keras 3, configs, files, errors."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina.backend import Variable


def test_optimizer_map_lookup_exact_then_full_pattern_then_default():
    default, adam, sgd = optimizers.RMSprop(), optimizers.Adam(), optimizers.SGD()
    opt_map = optimizers.OptimizerMap(default, {"encoder/.*": sgd})
    opt_map["encoder/dense/kernel"] = adam
    assert opt_map["encoder/dense/kernel"] is adam  # an exact key wins over a matching pattern
    assert opt_map["encoder/attention/query"] is sgd
    assert opt_map["my_encoder/dense"] is default  # patterns match the whole path, not a part of it
    assert opt_map["decoder/dense/kernel"] is default
    assert sorted(opt_map) == ["encoder/.*", "encoder/dense/kernel"] and len(opt_map) == 2
    opt_map[".*/kernel"] = optimizers.Lion()
    with pytest.raises(ValueError, match=r"'encoder/attention/kernel' matches more than one key"):
        opt_map["encoder/attention/kernel"]  # noqa: B018 - the lookup raises
    del opt_map[".*/kernel"]
    assert opt_map["encoder/attention/kernel"] is sgd


def test_each_weight_gets_its_optimizers_update():
    # A callable map: SGD(0.1) for "a", SGD(0.5, momentum 0.5) for the rest; NumPy's updates written out.
    slow, fast = optimizers.SGD(0.1), optimizers.SGD(0.5, momentum=0.5)
    multi = optimizers.MultiOptimizer(lambda v: slow if v.path == "a" else fast)
    a, b = Variable(np.array([1.0, 2.0], "float32"), name="a"), Variable(np.array([3.0], "float32"), name="b")
    ga, gb = np.array([0.5, -1.0], "float32"), np.array([2.0], "float32")
    momentum = 0.0
    want_a, want_b = np.array([1.0, 2.0]), np.array([3.0])
    for _ in range(3):
        multi.apply([ga, gb], [a, b])
        want_a = want_a - 0.1 * ga
        momentum = 0.5 * momentum - 0.5 * gb
        want_b = want_b + momentum
    np.testing.assert_allclose(a.numpy(), want_a, rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), want_b, rtol=1e-6)
    assert multi.optimizers == [slow, fast]
    assert [int(np.asarray(o.iterations)) for o in (multi, slow, fast)] == [3, 3, 3]


def _functional(k):
    x = k.Input((3,))
    return k.Model(x, k.layers.Dense(2, name="out")(k.layers.Dense(4, activation="tanh", name="hidden")(x)))


def _mapped(k):
    return k.optimizers.MultiOptimizer(
        k.optimizers.OptimizerMap(k.optimizers.SGD(0.1, momentum=0.5), {"hidden/.*": k.optimizers.Adam(0.05)})
    )


def test_fit_and_state_order_match_keras3(rng, keras3):
    from lamina.saving.keras_zip import keras3_optimizer_variables

    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    model, oracle = _functional(lamina), _functional(keras3)
    oracle.set_weights(model.get_weights())
    model.compile(_mapped(lamina), loss="mse")
    oracle.compile(_mapped(keras3), loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = oracle.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Keras 3's variable order: own counter and learning rate, Adam's (the map's), then SGD's (the default).
    ours = keras3_optimizer_variables(model.optimizer)
    theirs = oracle.optimizer.variables
    assert len(ours) == len(theirs) == 2 + (2 + 4) + (2 + 2)  # Adam: m, v of hidden's 2 weights; SGD: momenta of out's
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(
            np.asarray(mine.numpy()), np.asarray(their), rtol=1e-5, atol=1e-6, err_msg=their.path
        )


def test_config_and_state_survive_save_and_load(tmp_path, rng, ext="keras"):  # .h5: LossScaleOptimizer's test
    x, y = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    model = _functional(lamina)
    model.compile(_mapped(lamina), loss="mse")
    for _ in range(2):
        model.train_on_batch(x, y)
    model.save(tmp_path / f"m.{ext}")
    loaded = lamina.models.load_model(tmp_path / f"m.{ext}")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    opt_map = loaded.optimizer.optimizer_map
    assert isinstance(opt_map, optimizers.OptimizerMap) and isinstance(opt_map["hidden/kernel"], optimizers.Adam)
    for mine, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_no_single_learning_rate():
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(AttributeError, match="no single learning rate"):
        multi.learning_rate  # noqa: B018 - reading it raises
    with pytest.raises(AttributeError, match="set it on its inner optimizers"):
        multi.learning_rate = 0.1


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: optimizers.OptimizerMap("adam"), TypeError, "default_optimizer must be a lamina Optimizer, got str"),
        (lambda: optimizers.OptimizerMap(optimizers.SGD(), [1]), TypeError, "optimizer_map must be a dict, got list"),
        (
            lambda: optimizers.OptimizerMap(
                optimizers.SGD(), {"a/.*": optimizers.LossScaleOptimizer(optimizers.SGD())}
            ),
            ValueError,
            "OptimizerMap['a/.*'] cannot be a LossScaleOptimizer",
        ),
        (
            lambda: optimizers.OptimizerMap(optimizers.SGD(), {"a": optimizers.SGD()}).__setitem__(
                "a", optimizers.SGD()
            ),
            ValueError,
            "the key 'a' is already mapped",
        ),
        (
            lambda: optimizers.OptimizerMap(optimizers.SGD(), {3: optimizers.SGD()}),
            TypeError,
            "keys must be strings (paths or patterns), got 3",
        ),
        (lambda: optimizers.MultiOptimizer(optimizers.SGD()), TypeError, "must be an OptimizerMap or a callable"),
        (
            lambda: optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()), loss_scale_factor=128.0),
            ValueError,
            "does not support loss_scale_factor=128.0",
        ),
    ],
)
def test_bad_arguments_are_named(make, error, words):
    with pytest.raises(error) as caught:
        make()
    assert words in str(caught.value)


def test_a_callable_returning_a_multi_optimizer_or_gradients_of_the_wrong_count_fail_clearly():
    nested = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    variable = Variable(np.zeros(2, "float32"), name="w")
    with pytest.raises(ValueError, match="the optimizer for 'w' cannot be a MultiOptimizer"):
        optimizers.MultiOptimizer(lambda v: nested).build([variable])
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(ValueError, match="got 2 gradients for 1 variables"):
        multi.apply([np.ones(2, "float32")] * 2, [variable])
