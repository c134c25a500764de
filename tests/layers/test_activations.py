"""Every activation against a NumPy formula written out here and against keras.activations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

from lamina import activations

X = np.linspace(-6.0, 6.0, 49, dtype="float32").reshape(7, 7)

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _erf(x):
    return np.vectorize(math.erf)(x)


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


NUMPY_FORMULAS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)),
    "softmax": _np_softmax,
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1.0),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1.0)),
    "softplus": lambda x: np.log(1.0 + np.exp(x)),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),  # Keras 2's (the FAQ's) meaning of the name
    "keras3_hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),  # Keras 3's: relu6(x + 3) / 6
    "exponential": lambda x: np.exp(x),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),  # Keras 3's default slope for the function
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0))),  # exact (approximate=False), Keras's default
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "hard_silu": lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "log_softmax": lambda x: np.log(_np_softmax(x)),
}

# Names Keras 3 keeps as aliases of another function (it serializes them under that one's name).
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}
# lamina names whose function Keras 3 has under another name (None: Keras 3 has no such function).
KERAS3_NAMES = {"keras3_hard_sigmoid": "hard_sigmoid", "hard_sigmoid": None}
IN_KERAS3 = [name for name in sorted(NUMPY_FORMULAS) if KERAS3_NAMES.get(name, name)]


@pytest.mark.parametrize("name", sorted(NUMPY_FORMULAS))
def test_activation_matches_numpy_formula(name):
    got = as_numpy(activations.get(name)(X))
    assert_close(got, NUMPY_FORMULAS[name](X.astype("float64")), rtol=1e-5, atol=1e-6, what=name)


@pytest.mark.parametrize("name", IN_KERAS3)
def test_activation_matches_keras(keras3, name):
    got = as_numpy(activations.get(name)(X))
    want = np.asarray(keras3.activations.get(KERAS3_NAMES.get(name, name))(X))
    assert_close(got, want, rtol=1e-5, atol=1e-6, what=name)


@pytest.mark.parametrize("name", IN_KERAS3)
def test_activation_get_and_serialize_round_trip(keras3, name):
    function = activations.get(name)
    assert function.__name__ == name
    theirs = KERAS3_NAMES.get(name, name)
    assert activations.serialize(function) == name
    written = activations.keras3_config_name(name)  # what a .keras file says
    assert written == theirs == keras3.activations.serialize(keras3.activations.get(theirs))
    assert activations.get(activations.serialize(function)) is function


def test_softmax_rows_sum_to_one_and_axis_argument(keras3):
    rows = as_numpy(activations.softmax(X))
    assert_close(rows.sum(axis=-1), np.ones(7))
    columns = as_numpy(activations.softmax(X, axis=0))
    assert_close(columns, _np_softmax(X.astype("float64"), axis=0))
    assert_close(columns, np.asarray(keras3.activations.softmax(X, axis=0)))


def test_softmax_is_stable_for_large_inputs():
    out = as_numpy(activations.softmax(np.array([[1000.0, 1000.0, -1000.0]], "float32")))
    assert_close(out, [[0.5, 0.5, 0.0]])


def test_elu_alpha(keras3):
    got = as_numpy(activations.elu(X, alpha=0.3))
    assert_close(got, np.where(X > 0, X, 0.3 * np.expm1(X.astype("float64"))))
    assert_close(got, np.asarray(keras3.activations.elu(X, alpha=0.3)))


RELU_CASES = [(0.1, None, 0.0), (0.0, 2.5, 0.0), (0.2, 3.0, 1.0), (0.0, None, 0.5)]


@pytest.mark.parametrize("alpha, max_value, threshold", RELU_CASES)
def test_relu_keras2_arguments(keras3, alpha, max_value, threshold):
    got = as_numpy(activations.relu(X, alpha=alpha, max_value=max_value, threshold=threshold))
    expected = np.where(X > threshold, X, alpha * (X - threshold))  # x == threshold gives 0
    if max_value is not None:
        expected = np.minimum(expected, max_value)
    assert_close(got, expected)
    keras_out = keras3.activations.relu(X, negative_slope=alpha, max_value=max_value, threshold=threshold)
    assert_close(got, np.asarray(keras_out))


def test_get_none_is_linear_and_callables_pass_through():
    assert activations.get(None) is activations.linear
    square = lambda x: x * x  # noqa: E731
    assert activations.get(square) is square
    assert activations.get({"class_name": "function", "config": {"name": "tanh"}}) is activations.tanh


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"'swishy'.*relu"):
        activations.get("swishy")


def test_activations_compose_with_layers_outputs():
    """Activations take engine tensors too, not only NumPy arrays."""
    y = activations.relu(activations.tanh(X))
    assert_close(as_numpy(y), np.maximum(np.tanh(X), 0.0))


@pytest.mark.parametrize("alias, same_as", sorted(ALIASES.items()))
def test_aliases_compute_the_same_values_and_keep_their_own_names(keras3, alias, same_as):
    function = activations.get(alias)
    assert_close(as_numpy(function(X)), as_numpy(activations.get(same_as)(X)), what=alias)
    assert_close(as_numpy(function(X)), np.asarray(keras3.activations.get(alias)(X)), what=f"{alias} vs Keras")
    # Serialized under the name the user chose: Keras 3 reads both names, Keras 2 knows "swish" only.
    assert activations.serialize(function) == alias
    assert activations.get(alias) is function


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_approximate_flag(keras3, approximate):
    x64 = X.astype("float64")
    if approximate:
        expected = 0.5 * x64 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x64 + 0.044715 * x64**3)))
    else:
        expected = NUMPY_FORMULAS["gelu"](x64)
    got = as_numpy(activations.gelu(X, approximate=approximate))
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert_close(got, np.asarray(keras3.activations.gelu(X, approximate=approximate)), rtol=1e-5, atol=1e-6)


def test_log_softmax_axis(keras3):
    got = as_numpy(activations.log_softmax(X, axis=0))
    assert_close(got, np.log(_np_softmax(X.astype("float64"), axis=0)), rtol=1e-5, atol=1e-5)
    assert_close(got, np.asarray(keras3.activations.log_softmax(X, axis=0)), rtol=1e-5, atol=1e-5)


def test_leaky_relu_slope(keras3):
    got = as_numpy(activations.leaky_relu(X, negative_slope=0.05))
    assert_close(got, np.where(X >= 0, X, 0.05 * X))
    assert_close(got, np.asarray(keras3.activations.leaky_relu(X, negative_slope=0.05)))


def test_relu_accepts_keras3_negative_slope_name():
    assert_close(as_numpy(activations.relu(X, negative_slope=0.1)), np.where(X > 0, X, 0.1 * X))


def test_get_reads_keras3_and_keras2_serialized_dicts():
    keras3_form = {
        "module": "keras.activations",
        "class_name": "function",
        "config": "mish",
        "registered_name": "function",
    }
    assert activations.get(keras3_form) is activations.mish
    assert activations.deserialize(keras3_form) is activations.mish
    assert activations.deserialize("gelu") is activations.gelu
    custom = lambda x: x  # noqa: E731
    assert activations.deserialize("mine", custom_objects={"mine": custom}) is custom


@pytest.mark.parametrize("name", sorted(set(IN_KERAS3) | set(ALIASES)))
def test_every_activation_works_in_a_dense_layer_config_round_trip(keras3, name):
    """A Dense layer with each activation: its config names the activation and loads in Keras 3 too."""
    from lamina import layers

    layer = layers.Dense(3, activation=name)
    x = X[:, :4]
    out = as_numpy(layer(x))
    config = layer.get_config()
    assert config["activation"] == name
    clone = layers.Dense.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert_close(as_numpy(clone(x)), out)
    theirs = keras3.layers.Dense(3, activation=activations.keras3_config_name(config["activation"]))
    theirs(x)
    theirs.set_weights(layer.get_weights())
    assert_close(out, np.asarray(theirs(x)), rtol=1e-5, atol=1e-5, what=f"Dense({name}) vs Keras")
