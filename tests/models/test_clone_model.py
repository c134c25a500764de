"""`lamina.models.clone_model` as Keras 2's: new layers from each config (fresh, unshared weights), the same
graph, `input_tensors` and a per-layer `clone_function`; Keras 3's `recursive`. Predictions after
`set_weights` are checked against the original and against NumPy written out here."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import clone_model


def _two_branch_model():
    inputs = lamina.Input((4,), name="x")
    shared = layers.Dense(3, name="shared")
    left = layers.Dense(3, activation="relu", name="left")(shared(inputs))
    right = layers.Dense(4, activation="tanh", name="right")(inputs)
    merged = layers.Concatenate(name="merge")([left, shared(right)])
    return lamina.Model(inputs, layers.Dense(1, name="head")(merged), name="two_branch")


def _numpy_two_branch(weights: dict, x):
    def dense(name, value):
        return value @ weights[name][0] + weights[name][1]

    shared_x = dense("shared", x)
    left = np.maximum(dense("left", shared_x), 0)
    right = dense("shared", np.tanh(dense("right", x)))
    return dense("head", np.concatenate([left, right], axis=-1))


def _weights_by_layer(model) -> dict:
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def test_a_functional_clone_has_the_same_graph_and_new_weights(rng):
    model = _two_branch_model()
    clone = clone_model(model)
    assert clone.get_config() == model.get_config()
    assert len(clone.layers) == len(model.layers)  # the shared layer is one layer in the clone too
    for ours, theirs in zip(clone.layers, model.layers):
        assert ours is not theirs and type(ours) is type(theirs)
    assert not any(a is b for a in clone.weights for b in model.weights)
    assert not np.allclose(clone.get_layer("left").get_weights()[0], model.get_layer("left").get_weights()[0])
    x = rng.normal(size=(5, 4)).astype("float32")
    clone.set_weights(model.get_weights())
    expected = _numpy_two_branch(_weights_by_layer(model), x)
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    clone.get_layer("head").kernel.assign(np.zeros((6, 1), "float32"))  # the original keeps its own weights
    assert np.any(model.get_layer("head").get_weights()[0])


def test_a_sequential_clone_with_a_renaming_clone_function(rng):
    model = lamina.Sequential(
        [lamina.Input((3,)), layers.Dense(4, activation="relu", name="a"), layers.Dense(2, name="b")], name="seq"
    )

    def renamed(layer):
        return layer.__class__.from_config({**layer.get_config(), "name": "copy_" + layer.name})

    clone = clone_model(model, clone_function=renamed)
    assert isinstance(clone, lamina.Sequential) and clone.name == "seq"
    assert [layer.name for layer in clone.layers] == ["copy_a", "copy_b"]
    assert clone.get_layer("copy_a").units == 4 and clone.built
    clone.set_weights(model.get_weights())
    x = rng.normal(size=(5, 3)).astype("float32")
    (k1, b1), (k2, b2) = model.layers[0].get_weights(), model.layers[1].get_weights()
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_clone_built_on_given_inputs_and_a_recursive_clone(rng):
    inner = lamina.Sequential([lamina.Input((4,)), layers.Dense(2, name="inner_dense")], name="inner")
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(1, name="top")(inner(inputs)))
    given = lamina.Input((4,), name="given")
    clone = clone_model(model, input_tensors=given)
    assert clone.inputs[0] is given and clone.get_layer("inner") is not inner
    renamed = clone_model(
        model,
        clone_function=lambda layer: layer.__class__.from_config({**layer.get_config(), "name": layer.name + "_c"}),
        recursive=True,
    )
    assert [layer.name for layer in renamed.get_layer("inner").layers] == ["inner_dense_c"]
    renamed.set_weights(model.get_weights())
    x = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(renamed.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    called = []

    def call_function(layer, *args, **kwargs):  # Keras 3's option: each call of the cloned graph
        called.append(layer.name)
        return layer(*args, **kwargs)

    clone_model(model, call_function=call_function)
    assert called == ["inner", "top"]


def test_clone_model_refuses_what_it_cannot_clone():
    class Subclassed(lamina.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed model has no graph"):
        clone_model(Subclassed())
    with pytest.raises(TypeError, match='for layer "left" it returned str'):
        clone_model(_two_branch_model(), clone_function=lambda layer: "oops" if layer.name == "left" else layer)
    with pytest.raises(ValueError, match="has 1 input"):
        clone_model(_two_branch_model(), input_tensors=[lamina.Input((4,)), lamina.Input((4,))])
