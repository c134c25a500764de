"""Functional models: several inputs and outputs, shared layers, nested models, graph access."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, ops


def relu(value):
    return np.maximum(value, 0.0)


def two_in_two_out():
    """a (3,) and b (2,) -> [out_sum (1,), out_vec (2,)], with named layers."""
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(2,), name="b")
    hidden_a = layers.Dense(4, activation="relu", name="hidden_a")(a)
    hidden_b = layers.Dense(4, activation="relu", name="hidden_b")(b)
    merged = layers.Concatenate(name="merged")([hidden_a, hidden_b])
    out_sum = layers.Dense(1, name="out_sum")(merged)
    out_vec = layers.Dense(2, activation="softmax", name="out_vec")(merged)
    return lamina.Model(inputs=[a, b], outputs=[out_sum, out_vec])


def numpy_two_in_two_out(model, xa, xb):
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    hidden = np.concatenate(
        [
            relu(xa @ weights["hidden_a"][0] + weights["hidden_a"][1]),
            relu(xb @ weights["hidden_b"][0] + weights["hidden_b"][1]),
        ],
        axis=1,
    )
    out_sum = hidden @ weights["out_sum"][0] + weights["out_sum"][1]
    logits = hidden @ weights["out_vec"][0] + weights["out_vec"][1]
    out_vec = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return out_sum, out_vec


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(10, 3)).astype("float32"), rng.normal(size=(10, 2)).astype("float32")


def test_several_inputs_and_outputs_match_numpy(data):
    xa, xb = data
    model = two_in_two_out()
    out_sum, out_vec = model.predict([xa, xb], verbose=0)
    want_sum, want_vec = numpy_two_in_two_out(model, xa, xb)
    np.testing.assert_allclose(out_sum, want_sum, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_vec, want_vec, rtol=1e-5, atol=1e-6)


def test_dict_inputs_are_matched_by_input_name(data):
    xa, xb = data
    model = two_in_two_out()
    by_list = model.predict([xa, xb], verbose=0)
    by_dict = model.predict({"b": xb, "a": xa}, verbose=0)
    for got, want in zip(by_dict, by_list):
        np.testing.assert_array_equal(got, want)
    eager = model({"b": xb, "a": xa}, training=False)
    np.testing.assert_allclose(ops.convert_to_numpy(eager[0]), by_list[0], rtol=1e-6)
    swapped = lamina.Model(inputs=[model.inputs[1], model.inputs[0]], outputs=model.outputs)
    np.testing.assert_allclose(swapped.predict({"a": xa, "b": xb}, verbose=0)[0], by_list[0], rtol=1e-6)


def test_fit_with_dicts_keyed_by_input_and_output_names(data):
    xa, xb = data
    model = two_in_two_out()
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), loss={"out_sum": "mse", "out_vec": "mse"})
    y_sum = np.ones((10, 1), "float32")
    y_vec = np.full((10, 2), 0.5, "float32")
    want_sum, want_vec = numpy_two_in_two_out(model, xa, xb)
    loss_sum = np.mean((want_sum - y_sum) ** 2)
    loss_vec = np.mean((want_vec - y_vec) ** 2)
    history = model.fit({"a": xa, "b": xb}, {"out_vec": y_vec, "out_sum": y_sum}, batch_size=10, verbose=0)
    np.testing.assert_allclose(history.history["out_sum_loss"], [loss_sum], rtol=1e-5)
    np.testing.assert_allclose(history.history["out_vec_loss"], [loss_vec], rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"], [loss_sum + loss_vec], rtol=1e-5)


def test_input_output_properties():
    model = two_in_two_out()
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["out_sum", "out_vec"]
    assert isinstance(model.input, list) and [t.shape for t in model.input] == [(None, 3), (None, 2)]
    assert model.inputs == model.input
    assert [t.shape for t in model.outputs] == [(None, 1), (None, 2)]
    assert model.output == model.outputs
    assert model.input_shape == [(None, 3), (None, 2)]
    assert model.output_shape == [(None, 1), (None, 2)]
    single = lamina.Model(model.inputs[0], model.get_layer("hidden_a").output)
    assert single.input is model.inputs[0]
    assert single.inputs == [model.inputs[0]]
    assert single.output.shape == (None, 4)
    assert single.input_shape == (None, 3) and single.output_shape == (None, 4)


def test_layer_output_and_input():
    model = two_in_two_out()
    hidden_a = model.get_layer("hidden_a")
    assert hidden_a.input is model.inputs[0]
    assert hidden_a.output.shape == (None, 4)
    assert model.get_layer("out_sum").output is model.outputs[0]
    assert model.get_layer("merged").input_shape == [(None, 4), (None, 4)]
    assert model.get_layer("merged").output_shape == (None, 8)
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output  # noqa: B018 - the property raises


def test_get_layer_by_name_and_index():
    model = two_in_two_out()
    assert [layer.name for layer in model.layers] == ["a", "b", "hidden_a", "hidden_b", "merged", "out_sum", "out_vec"]
    assert model.get_layer("merged") is model.layers[4]
    assert model.get_layer(index=2).name == "hidden_a"
    assert model.get_layer(index=-1).name == "out_vec"
    with pytest.raises(ValueError, match=r'No layer named "missing" in model "model"'):
        model.get_layer("missing")
    with pytest.raises(ValueError, match=r"has 7 layers; index 7 is out of range"):
        model.get_layer(index=7)
    with pytest.raises(ValueError, match="exactly one of `name` or `index`"):
        model.get_layer()
    with pytest.raises(ValueError, match="exactly one of `name` or `index`"):
        model.get_layer("merged", index=1)


def test_faq_intermediate_layer_recipe_functional(data):
    xa, xb = data
    model = two_in_two_out()
    intermediate = lamina.Model(inputs=model.input, outputs=model.get_layer("merged").output)
    got = intermediate.predict([xa, xb], verbose=0)
    hidden_a, hidden_b = model.get_layer("hidden_a"), model.get_layer("hidden_b")
    want = np.concatenate(
        [
            relu(xa @ hidden_a.kernel.numpy() + hidden_a.bias.numpy()),
            relu(xb @ hidden_b.kernel.numpy() + hidden_b.bias.numpy()),
        ],
        axis=1,
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_faq_intermediate_layer_recipe_sequential():
    model = lamina.Sequential(
        [
            layers.Dense(6, activation="relu", input_shape=(4,)),
            layers.Dense(5, activation="tanh", name="my_layer"),
            layers.Dense(1),
        ]
    )
    x = np.random.default_rng(1).normal(size=(7, 4)).astype("float32")
    intermediate_layer_model = lamina.Model(inputs=model.input, outputs=model.get_layer("my_layer").output)
    intermediate_output = intermediate_layer_model.predict(x, verbose=0)
    k1, b1, k2, b2, _, _ = model.get_weights()
    np.testing.assert_allclose(intermediate_output, np.tanh(relu(x @ k1 + b1) @ k2 + b2), rtol=1e-5, atol=1e-6)
    # The sub-model shares the weights: training the full model changes what it returns.
    model.compile(lamina.optimizers.SGD(learning_rate=0.5), "mse")
    model.fit(x, np.ones((7, 1), "float32"), epochs=2, verbose=0)
    assert not np.allclose(intermediate_layer_model.predict(x, verbose=0), intermediate_output, atol=1e-4)


def test_shared_layer_uses_one_set_of_weights():
    a = lamina.Input(shape=(2,), name="left")
    b = lamina.Input(shape=(2,), name="right")
    shared = layers.Dense(3, name="shared")
    model = lamina.Model([a, b], [shared(a), shared(b)])
    assert len(model.weights) == 2 and model.count_params() == 9
    assert len(shared._inbound_nodes) == 2
    assert shared.get_output_at(0).shape == shared.get_output_at(1).shape == (None, 3)
    with pytest.raises(AttributeError, match="called 2 times"):
        shared.output  # noqa: B018 - ambiguous on purpose
    x1 = np.array([[1.0, 2.0]], "float32")
    x2 = np.array([[-1.0, 0.5]], "float32")
    kernel, bias = shared.get_weights()
    left, right = model.predict([x1, x2], verbose=0)
    np.testing.assert_allclose(left, x1 @ kernel + bias, rtol=1e-6)
    np.testing.assert_allclose(right, x2 @ kernel + bias, rtol=1e-6)


def test_shared_layer_gradient_sums_over_both_uses():
    a = lamina.Input(shape=(2,))
    b = lamina.Input(shape=(2,))
    shared = layers.Dense(1)
    model = lamina.Model([a, b], layers.Add()([shared(a), shared(b)]))
    kernel = np.array([[0.5], [-0.25]], "float32")
    bias = np.array([0.1], "float32")
    model.set_weights([kernel, bias])
    model.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    xa = np.array([[1.0, 2.0], [0.0, 1.0]], "float32")
    xb = np.array([[3.0, -1.0], [2.0, 2.0]], "float32")
    y = np.array([[1.0], [0.0]], "float32")
    model.train_on_batch([xa, xb], y)
    error = (xa + xb) @ kernel + 2 * bias - y  # out = (xa + xb) k + 2 b
    grad_kernel = 2.0 * (xa + xb).T @ error / len(y)
    grad_bias = 2.0 * 2.0 * error.sum(axis=0) / len(y)
    np.testing.assert_allclose(shared.kernel.numpy(), kernel - 0.1 * grad_kernel, rtol=1e-5)
    np.testing.assert_allclose(shared.bias.numpy(), bias - 0.1 * grad_bias, rtol=1e-5)


def test_a_model_used_as_a_layer():
    inner = lamina.Sequential(
        [layers.Dense(4, activation="relu", input_shape=(3,), name="inner_1"), layers.Dense(2, name="inner_2")],
        name="inner",
    )
    inputs = lamina.Input(shape=(3,))
    outer = lamina.Model(inputs, layers.Dense(1, name="head")(inner(inputs)), name="outer")
    assert [layer.name for layer in outer.layers][1:] == ["inner", "head"]
    assert outer.get_layer("inner") is inner
    assert len(outer.weights) == 6 and outer.count_params() == 16 + 10 + 3
    assert all(any(w is v for v in outer.weights) for w in inner.weights)

    x = np.random.default_rng(2).normal(size=(5, 3)).astype("float32")
    k1, b1, k2, b2 = inner.get_weights()
    k3, b3 = outer.get_layer("head").get_weights()
    np.testing.assert_allclose(outer.predict(x, verbose=0), (relu(x @ k1 + b1) @ k2 + b2) @ k3 + b3, rtol=1e-5)

    outer.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    outer.fit(x, np.ones((5, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(inner.get_weights()[0], k1)  # training the outer model trains the inner one
    k1, b1, k2, b2 = inner.get_weights()
    np.testing.assert_allclose(inner.predict(x, verbose=0), relu(x @ k1 + b1) @ k2 + b2, rtol=1e-5)


def test_a_functional_model_called_on_new_inputs():
    inputs = lamina.Input(shape=(2,))
    base = lamina.Model(inputs, layers.Dense(2, activation="relu")(inputs))
    new_inputs = lamina.Input(shape=(2,))
    stacked = lamina.Model(new_inputs, base(base(new_inputs)))
    x = np.array([[1.0, -2.0], [0.5, 0.5]], "float32")
    kernel, bias = base.get_weights()
    once = relu(x @ kernel + bias)
    np.testing.assert_allclose(stacked.predict(x, verbose=0), relu(once @ kernel + bias), rtol=1e-6)
    assert len(stacked.weights) == 2


def test_graph_errors():
    a = lamina.Input(shape=(2,))
    b = lamina.Input(shape=(2,))
    added = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(a, added)
    with pytest.raises(TypeError, match="symbolic tensors"):
        lamina.Model(a, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="must come straight from lamina.Input"):
        lamina.Model(added, layers.Dense(1)(added))
