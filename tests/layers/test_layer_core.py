"""Core layers: Input/InputLayer, Dense, Activation, Lambda, Embedding."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer, check_one_step, random_weight

import lamina
from lamina import layers, ops, regularizers
from lamina.backend import KerasTensor

DENSE_KEYS = ("units", "activation", "use_bias")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# --------------------------------------------------------------------- Input
def test_input_is_symbolic_with_a_none_batch():
    x = lamina.Input(shape=(28, 28, 1))
    assert isinstance(x, KerasTensor)
    assert x.shape == (None, 28, 28, 1)
    assert x.dtype == "float32"
    layer = x._keras_history[0]
    assert isinstance(layer, layers.InputLayer)
    assert x.name == layer.name == "input_layer"
    assert layer.weights == []


def test_input_int_shape_batch_size_dtype_and_name():
    assert lamina.Input(shape=5).shape == (None, 5)
    assert lamina.Input(shape=(3,), batch_size=8).shape == (8, 3)
    assert lamina.Input(batch_shape=(4, None, 2)).shape == (4, None, 2)
    tokens = lamina.Input(shape=(10,), dtype="int32", name="tokens")
    assert tokens.dtype == "int32"
    assert tokens.name == "tokens"
    assert lamina.Input(shape=(2,)).name == "input_layer_3"


def test_input_without_a_shape_raises():
    with pytest.raises(ValueError, match="shape"):
        lamina.Input()


def test_input_layer_config_round_trip():
    layer = layers.InputLayer(shape=(6, 2), batch_size=3, dtype="int32", name="ids")
    config = layer.get_config()
    assert config == {"batch_input_shape": [3, 6, 2], "dtype": "int32", "name": "ids"}
    clone = layers.InputLayer.from_config(config)
    assert clone.get_config() == config
    assert clone.output.shape == (3, 6, 2)
    assert clone.output.dtype == "int32"


def test_input_layer_keras2_keyword_arguments():
    assert layers.InputLayer(input_shape=(7,)).output.shape == (None, 7)
    assert layers.InputLayer(batch_input_shape=(2, 7)).output.shape == (2, 7)


# --------------------------------------------------------------------- Dense
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax", "elu", "softplus"])
def test_dense_matches_keras(keras3, activation):
    x = _x(4, 3)
    check_layer(
        lambda: layers.Dense(5, activation=activation),
        x,
        make_keras=lambda: keras3.layers.Dense(5, activation=activation),
        reference=lambda x, w, training: _np_activation(activation, x @ w["kernel"] + w["bias"]),
        weight_names=["kernel", "bias"],
        keras_config_keys=DENSE_KEYS,
    )


def _np_activation(name, z):
    if name in (None, "linear"):
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(z))
    if name == "softplus":
        return np.log1p(np.exp(z))
    raise AssertionError(name)


def test_dense_without_bias(keras3):
    layer = check_layer(
        lambda: layers.Dense(3, use_bias=False),
        _x(2, 4),
        make_keras=lambda: keras3.layers.Dense(3, use_bias=False),
        reference=lambda x, w, training: x @ w["kernel"],
        weight_names=["kernel"],
        keras_config_keys=DENSE_KEYS,
    )
    assert layer.bias is None
    assert layer.count_params() == 12


def test_dense_on_nd_input_uses_the_last_axis(keras3):
    check_layer(
        lambda: layers.Dense(2, activation="relu"),
        _x(2, 3, 4),
        make_keras=lambda: keras3.layers.Dense(2, activation="relu"),
        reference=lambda x, w, training: np.maximum(np.einsum("abi,ij->abj", x, w["kernel"]) + w["bias"], 0),
        weight_names=["kernel", "bias"],
    )


def test_dense_on_4d_input_matches_keras(keras3):
    check_layer(
        lambda: layers.Dense(3, activation="gelu"),
        _x(2, 3, 2, 4),
        make_keras=lambda: keras3.layers.Dense(3, activation="gelu"),
        weight_names=["kernel", "bias"],
        keras_config_keys=DENSE_KEYS,
    )


def test_dense_3d_one_sgd_step_matches_keras(keras3):
    x, y = _x(4, 3, 5, seed=1), _x(4, 3, 2, seed=2)
    ours = lamina.Sequential([lamina.Input((3, 5)), layers.Dense(2, activation="tanh")])
    theirs = keras3.Sequential([keras3.Input((3, 5)), keras3.layers.Dense(2, activation="tanh")])
    theirs.set_weights(ours.get_weights())
    ours.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    theirs.compile(keras3.optimizers.SGD(learning_rate=0.1), "mse")
    ours.train_on_batch(x, y)
    theirs.train_on_batch(x, y)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(got, np.asarray(want), rtol=1e-5, atol=1e-6, what="weights after one SGD step")


def test_dense_kernel_regularizer_adds_its_penalty_to_losses():
    layer = layers.Dense(3, kernel_regularizer=regularizers.l2(0.1), bias_regularizer=regularizers.l1(0.5))
    layer(_x(2, 4))
    kernel = np.arange(12, dtype="float32").reshape(4, 3) / 10
    bias = np.array([1.0, -2.0, 3.0], "float32")
    layer.set_weights([kernel, bias])
    penalties = [float(ops.convert_to_numpy(p)) for p in layer.losses]
    assert penalties == pytest.approx([0.1 * np.sum(kernel**2), 0.5 * 6.0], rel=1e-6)
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}
    clone = layers.Dense.from_config(config)
    assert clone.kernel_regularizer.l2 == pytest.approx(0.1)
    assert clone.get_config() == config


def test_dense_default_initializers_are_glorot_uniform_and_zeros():
    layer = layers.Dense(200)
    layer(np.zeros((1, 300), "float32"))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (300 + 200))
    assert np.abs(kernel).max() <= limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(bias, np.zeros(200))


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match='"dense".*units'):
        layers.Dense(0)


def test_dense_wrong_feature_size_names_layer_and_shapes():
    layer = layers.Dense(10, name="dense_2")
    layer(np.zeros((1, 784), "float32"))
    with pytest.raises(ValueError) as info:
        layer(np.zeros((32, 28, 28), "float32"))
    message = str(info.value)
    assert '"dense_2"' in message
    assert "784" in message
    assert "(32, 28, 28)" in message


def test_dense_needs_at_least_two_dimensions():
    with pytest.raises(ValueError, match=r'"dense".*at least 2 dimensions.*\(5,\)'):
        layers.Dense(3)(np.zeros(5, "float32"))


def test_dense_symbolic_wrong_features_raises():
    layer = layers.Dense(4)
    layer(lamina.Input(shape=(8,)))
    with pytest.raises(ValueError, match=r'"dense".*\(None, 9\)'):
        layer(lamina.Input(shape=(9,)))


# ---------------------------------------------------------------- Activation
ACTIVATION_NAMES = [
    "relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "softsign", "softplus", "gelu", "silu", "swish",
    "mish", "relu6", "keras3_hard_sigmoid", "hard_silu", "hard_swish", "log_softmax", "leaky_relu", "exponential",
]  # fmt: skip


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_layer_matches_keras(keras3, name):
    layer = check_layer(
        lambda: layers.Activation(name),
        _x(3, 5) * 3,
        # lamina's keras3_hard_sigmoid is Keras 3's hard_sigmoid (lamina's hard_sigmoid is Keras 2's).
        make_keras=lambda: keras3.layers.Activation("hard_sigmoid" if name == "keras3_hard_sigmoid" else name),
        # Keras 3 writes its aliases swish and hard_swish as silu and hard_silu; lamina keeps the name given.
        keras_config_keys=() if name in ("swish", "hard_swish", "keras3_hard_sigmoid") else ("activation",),
    )
    assert layer.get_config()["activation"] == name


def test_activation_layer_keras3_config_form(keras3):
    from lamina.saving.serialization import deserialize_layer

    theirs = keras3.layers.Activation("mish", name="act")
    layer = deserialize_layer({"class_name": "Activation", "config": theirs.get_config()})
    x = _x(2, 3)
    assert_close(as_numpy(layer(x)), np.asarray(theirs(x)))
    assert layer.get_config()["activation"] == "mish"


def test_activation_layer_with_a_function():
    layer = layers.Activation(lambda t: t * 3.0)
    assert_close(as_numpy(layer(np.array([[1.0, -2.0]], "float32"))), [[3.0, -6.0]])


def test_activation_layer_unknown_name_raises():
    with pytest.raises(ValueError, match="nonexistent"):
        layers.Activation("nonexistent")


# -------------------------------------------------------------------- Lambda
def _double_plus(x, offset=0.0):
    return x * 2.0 + offset


def test_lambda_matches_keras_and_numpy(keras3):
    check_layer(
        lambda: layers.Lambda(_double_plus, arguments={"offset": 1.5}),
        _x(3, 4),
        make_keras=lambda: keras3.layers.Lambda(lambda t: t * 2.0 + 1.5),
        reference=lambda x, w, training: x * 2.0 + 1.5,
        from_config=lambda config: layers.Lambda.from_config({**config, "function": _double_plus}),
    )


def test_lambda_with_ops_changes_shape():
    # An anonymous function is saved as bytecode (loaded only with safe_mode=False): the clone reuses it.
    sum_last = lambda t: ops.sum(t, axis=-1, keepdims=True)  # noqa: E731
    check_layer(
        lambda: layers.Lambda(sum_last),
        _x(2, 3, 4),
        reference=lambda x, w, training: x.sum(-1, keepdims=True),
        from_config=lambda config: layers.Lambda.from_config({**config, "function": sum_last}),
    )


def test_lambda_config_names_the_function_and_rejects_non_callables():
    config = layers.Lambda(_double_plus).get_config()
    assert config["function"] == "_double_plus"
    with pytest.raises(TypeError, match='"lambda_1".*callable'):
        layers.Lambda("not a function")


# ----------------------------------------------------------------- Embedding
def test_embedding_matches_keras(keras3):
    ids = np.array([[0, 3, 5], [5, 1, 1]], "int32")
    check_layer(
        lambda: layers.Embedding(6, 4),
        ids,
        make_keras=lambda: keras3.layers.Embedding(6, 4),
        reference=lambda x, w, training: w["embeddings"][x],
        weight_names=["embeddings"],
        keras_config_keys=("input_dim", "output_dim", "mask_zero"),
    )


def test_embedding_mask_zero_one_sgd_step_matches_keras(keras3):
    """The output's mask weighs the loss: its mean is over the unmasked steps, as in Keras."""
    ids = np.array([[1, 2, 0, 3], [4, 0, 0, 5]], "int32")
    rng = np.random.default_rng(7)
    check_one_step(
        lambda: layers.Embedding(6, 3, mask_zero=True),
        lambda: keras3.layers.Embedding(6, 3, mask_zero=True),
        ids,
        [random_weight("embeddings", (6, 3), rng)],
    )


def test_embedding_values_are_rows_of_the_matrix():
    layer = layers.Embedding(5, 3)
    matrix = np.arange(15, dtype="float32").reshape(5, 3)
    layer(np.zeros((1, 1), "int32"))
    layer.set_weights([matrix])
    ids = np.array([[4, 0], [2, 2]])
    out = as_numpy(layer(ids))
    np.testing.assert_array_equal(out, matrix[ids])
    # Float indices (as Keras 2 models often feed) are cast to integers.
    np.testing.assert_array_equal(as_numpy(layer(ids.astype("float32"))), matrix[ids])


def test_embedding_default_initializer_is_uniform_005():
    layer = layers.Embedding(100, 50)
    layer(np.zeros((1, 1), "int32"))
    values = layer.get_weights()[0]
    assert np.abs(values).max() <= 0.05
    assert values.std() == pytest.approx(0.1 / np.sqrt(12), rel=0.05)


def test_embedding_rejects_bad_sizes():
    with pytest.raises(ValueError, match='"embedding".*positive'):
        layers.Embedding(0, 3)


def test_embedding_symbolic_int_input():
    ids = lamina.Input(shape=(7,), dtype="int32")
    out = layers.Embedding(10, 4)(ids)
    assert out.shape == (None, 7, 4)
    assert out.dtype == "float32"


def test_embedding_keras2_input_length_sets_the_input_shape():
    layer = layers.Embedding(10, 4, input_length=5)
    assert layer.get_config()["batch_input_shape"] == [None, 5]
    clone = layers.Embedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_lambda_with_a_list_of_inputs_and_keras3(keras3):
    def weighted_sum(tensors, weight=0.5):
        return tensors[0] * weight + tensors[1]

    inputs = [_x(3, 4, seed=1), _x(3, 4, seed=2)]
    check_layer(
        lambda: layers.Lambda(weighted_sum, arguments={"weight": 0.25}),
        inputs,
        make_keras=lambda: keras3.layers.Lambda(lambda t: t[0] * 0.25 + t[1]),
        reference=lambda xs, w, training: xs[0] * 0.25 + xs[1],
        from_config=lambda config: layers.Lambda.from_config({**config, "function": weighted_sum}),
    )
