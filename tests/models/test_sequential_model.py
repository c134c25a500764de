"""Sequential: add, pop, layers, the first layer's input arguments, Input(), deferred build."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, ops


def test_faq_pop_example(capsys):
    model = lamina.Sequential()
    model.add(layers.Dense(32, activation="relu", input_dim=784))
    model.add(layers.Dense(32, activation="relu"))
    print(len(model.layers))  # "2"
    model.pop()
    print(len(model.layers))  # "1"
    assert capsys.readouterr().out == "2\n1\n"
    assert model.output_shape == (None, 32)
    assert [layer.name for layer in model.layers] == ["dense"]


def test_pop_then_add_rebuilds_the_stack():
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(5)])
    model.pop()
    model.add(layers.Dense(2, activation="relu", name="head"))
    assert model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["dense", "head"]
    assert len(model.weights) == 4
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum((x @ k1 + b1) @ k2 + b2, 0), rtol=1e-5)


def test_pop_on_an_empty_model_raises():
    with pytest.raises(IndexError, match="has no layers to pop"):
        lamina.Sequential().pop()


def test_layers_lists_the_added_layers_in_order_without_the_input():
    first, second = layers.Dense(3), layers.Dense(1)
    model = lamina.Sequential()
    model.add(lamina.Input(shape=(2,)))
    model.add(first)
    model.add(second)
    assert model.layers == [first, second]
    assert model.layers is not model._layers  # a copy: editing it does not change the model
    model.layers.append(layers.Dense(9))
    assert len(model.layers) == 2


def test_add_rejects_non_layers_and_duplicate_names():
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,), name="same")])
    with pytest.raises(TypeError, match=r"Sequential.add\(\) expects a Layer, got int"):
        model.add(3)
    with pytest.raises(ValueError, match=r'unique names; "same" is already in'):
        model.add(layers.Dense(2, name="same"))
    with pytest.raises(ValueError, match="can take an Input only before any other layer"):
        model.add(lamina.Input(shape=(2,)))


@pytest.mark.parametrize(
    "kwargs, batch_shape",
    [
        ({"input_shape": (3,)}, (None, 3)),
        ({"input_dim": 3}, (None, 3)),
        ({"input_shape": (3,), "batch_size": 8}, (8, 3)),
        ({"input_dim": 3, "batch_size": 4}, (4, 3)),
        ({"batch_input_shape": (16, 3)}, (16, 3)),
        ({"batch_input_shape": (None, 3)}, (None, 3)),
    ],
)
def test_first_layer_input_arguments(kwargs, batch_shape):
    model = lamina.Sequential([layers.Dense(2, **kwargs)])
    assert model.built
    assert model.input_shape == batch_shape
    assert model.output_shape == (batch_shape[0], 2)
    assert model.count_params() == 3 * 2 + 2
    assert model.layers[0].kernel.shape == (3, 2)


def test_input_shape_on_a_multidimensional_first_layer():
    model = lamina.Sequential([layers.Flatten(input_shape=(2, 3)), layers.Dense(4)])
    assert model.input_shape == (None, 2, 3)
    assert model.output_shape == (None, 4)
    assert model.layers[1].kernel.shape == (6, 4)


def test_add_input_first():
    model = lamina.Sequential()
    model.add(lamina.Input(shape=(5,), batch_size=2))
    assert model.built
    model.add(layers.Dense(3))
    assert model.input_shape == (2, 5) and model.output_shape == (2, 3)
    assert model.count_params() == 18
    x = np.ones((2, 5), "float32")
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel + bias, rtol=1e-5)


def test_deferred_build_from_the_first_data():
    model = lamina.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    assert not model.built
    assert model.weights == []
    with pytest.raises(ValueError, match="not built yet"):
        model.count_params()
    with pytest.raises(AttributeError, match="not built"):
        model.input  # noqa: B018 - the property raises
    model.compile(lamina.optimizers.SGD(learning_rate=0.01), "mse")
    x = np.random.default_rng(0).normal(size=(8, 7)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert model.built
    assert model.input_shape == (None, 7)
    assert model.output_shape == (None, 1)
    assert model.count_params() == 7 * 4 + 4 + 4 + 1
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense" expects shape \(None, 7\), got \(8, 6\)'):
        model.predict(x[:, :6], verbose=0)


def test_deferred_build_from_predict_and_from_a_call():
    by_predict = lamina.Sequential([layers.Dense(2)])
    assert by_predict.predict(np.ones((3, 4), "float32"), verbose=0).shape == (3, 2)
    assert by_predict.input_shape == (None, 4)
    by_call = lamina.Sequential([layers.Dense(2)])
    assert tuple(by_call(np.ones((3, 5), "float32")).shape) == (3, 2)
    assert by_call.built and by_call.input_shape == (None, 5)


def test_explicit_build():
    model = lamina.Sequential([layers.Dense(2)])
    model.build((None, 6))
    assert model.built and model.count_params() == 14
    with pytest.raises(ValueError, match="needs an input shape"):
        lamina.Sequential([layers.Dense(2)]).build()


def test_sequential_forward_pass_matches_numpy():
    model = lamina.Sequential(
        [
            layers.Dense(5, activation="relu", input_shape=(3,)),
            layers.Dense(4, activation="tanh"),
            layers.Dense(2, activation="softmax"),
        ]
    )
    x = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    k1, b1, k2, b2, k3, b3 = model.get_weights()
    hidden = np.tanh(np.maximum(x @ k1 + b1, 0) @ k2 + b2)
    logits = hidden @ k3 + b3
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x, training=False)), expected, rtol=1e-5, atol=1e-6)


def test_sequential_names_count_up():
    first, second = lamina.Sequential(), lamina.Sequential()
    assert (first.name, second.name) == ("sequential", "sequential_1")
    assert lamina.Sequential(name="mine").name == "mine"


def test_a_fixed_batch_size_model_fits_evaluates_and_predicts():
    model = lamina.Sequential([layers.Dense(2, batch_input_shape=(4, 3))])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "mse")
    x = np.random.default_rng(2).normal(size=(8, 3)).astype("float32")
    y = np.zeros((8, 2), "float32")
    kernel, bias = model.get_weights()
    expected = float(np.mean((x @ kernel + bias) ** 2))
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [expected, expected], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=4, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), x @ kernel + bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.train_on_batch(x[:4], y[:4]), np.mean((x[:4] @ kernel + bias) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense" expects shape \(4, 3\), got \(5, 3\)'):
        model.predict_on_batch(x[:5])


# ------------------------------------------------------------ Keras 2's predict_classes / predict_proba
def _fixed_dense(units, activation, weights):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(units, activation=activation)])
    model.set_weights(weights)
    return model


def test_predict_classes_takes_the_argmax_of_softmax_outputs():
    rng = np.random.default_rng(3)
    kernel, bias = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")
    model = _fixed_dense(4, "softmax", [kernel, bias])
    x = rng.normal(size=(37, 3)).astype("float32")  # more than one batch of 32
    logits = x @ kernel + bias
    classes = model.predict_classes(x)
    np.testing.assert_array_equal(classes, np.argmax(logits, axis=-1))
    assert classes.shape == (37,)
    probabilities = model.predict_proba(x)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_predict_classes_thresholds_one_sigmoid_unit_as_int32():
    kernel, bias = np.array([[1.0], [-2.0], [0.5]], "float32"), np.array([0.1], "float32")
    model = _fixed_dense(1, "sigmoid", [kernel, bias])
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1], [2, 1, 0]], "float32")
    classes = model.predict_classes(x, batch_size=2)
    np.testing.assert_array_equal(classes, [[1], [0], [0], [1]])  # logits 1.1, -1.9, -0.4, 0.1
    assert classes.dtype == np.int32 and classes.shape == (4, 1)


def test_predict_proba_warns_on_values_outside_zero_one():
    model = _fixed_dense(2, None, [np.eye(3, 2, dtype="float32") * 3, np.zeros(2, "float32")])
    with pytest.warns(UserWarning, match="outside \\[0, 1\\]"):
        out = model.predict_proba(np.ones((2, 3), "float32"))
    np.testing.assert_allclose(out, [[3, 3], [3, 3]])


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_a_built_model_as_first_layer_builds_the_sequential_at_once(kind, tmp_path):
    # Keras 2's transfer-learning idiom: Sequential([base_model, Dense(...)]) is built from the base's input.
    if kind == "functional":
        inputs = lamina.Input((4,))
        base = lamina.Model(inputs, lamina.layers.Dense(3, activation="relu")(inputs))
    else:
        base = lamina.Sequential([lamina.layers.Dense(3, activation="relu", input_shape=(4,))])
    model = lamina.Sequential([base, lamina.layers.Dense(1)])
    assert model.built and model.input_shape == (None, 4) and model.output_shape == (None, 1)
    kernel, bias, head_kernel, head_bias = model.get_weights()
    x = np.arange(8, dtype="float32").reshape(2, 4) / 8
    want = np.maximum(x @ kernel + bias, 0) @ head_kernel + head_bias
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.h5")
    np.testing.assert_allclose(lamina.models.load_model(tmp_path / "m.h5").predict(x, verbose=0), want, rtol=1e-5)
    unbuilt = lamina.Sequential([lamina.Sequential([lamina.layers.Dense(2)]), lamina.layers.Dense(1)])
    assert not unbuilt.built  # an inner model without an input declares nothing, as in Keras 2
