"""Weight constraints: values against NumPy and Keras 3, names and configs, and that fit applies them."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import lamina
from lamina import constraints, layers

EPSILON = 1e-7  # Keras's backend epsilon, which the norm constraints add to the norm


def _w(*shape, seed=0, scale=2.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


def _np(value):
    return np.asarray(lamina.ops.convert_to_numpy(value))


def _norms(w, axis):
    return np.sqrt((w.astype("float64") ** 2).sum(axis=tuple(np.atleast_1d(axis)), keepdims=True))


def np_max_norm(w, max_value=2.0, axis=0):
    norms = _norms(w, axis)
    return w * (np.clip(norms, 0, max_value) / (EPSILON + norms))


def np_unit_norm(w, axis=0):
    return w / (EPSILON + _norms(w, axis))


def np_min_max_norm(w, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
    norms = _norms(w, axis)
    desired = rate * np.clip(norms, min_value, max_value) + (1 - rate) * norms
    return w * (desired / (EPSILON + norms))


CASES = [
    ("MaxNorm", {"max_value": 1.5}, lambda w: np_max_norm(w, 1.5)),
    ("MaxNorm", {"max_value": 3.0, "axis": 1}, lambda w: np_max_norm(w, 3.0, 1)),
    ("MaxNorm", {"max_value": 2.0, "axis": [0, 1]}, lambda w: np_max_norm(w, 2.0, [0, 1])),
    ("NonNeg", {}, lambda w: np.maximum(w, 0)),
    ("UnitNorm", {}, lambda w: np_unit_norm(w)),
    ("UnitNorm", {"axis": -1}, lambda w: np_unit_norm(w, -1)),
    ("MinMaxNorm", {"min_value": 2.0, "max_value": 3.0}, lambda w: np_min_max_norm(w, 2.0, 3.0)),
    (
        "MinMaxNorm",
        {"min_value": 0.5, "max_value": 1.0, "rate": 0.3, "axis": 1},
        lambda w: np_min_max_norm(w, 0.5, 1.0, 0.3, 1),
    ),
]


@pytest.mark.parametrize("name, kwargs, reference", CASES)
def test_constraint_values_match_numpy_and_keras(keras3, name, kwargs, reference):
    w = _w(4, 3)
    got = _np(getattr(constraints, name)(**kwargs)(w))
    np.testing.assert_allclose(got, reference(w), rtol=1e-5, atol=1e-6)
    theirs = np.asarray(getattr(keras3.constraints, name)(**kwargs)(w))
    np.testing.assert_allclose(got, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kwargs, reference", CASES)
def test_constraint_config_matches_keras_and_round_trips(keras3, name, kwargs, reference):
    ours = getattr(constraints, name)(**kwargs)
    theirs = getattr(keras3.constraints, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    serialized = constraints.serialize(ours)
    assert serialized == {"class_name": name, "config": ours.get_config()}
    assert json.loads(json.dumps(serialized)) == serialized
    again = constraints.deserialize(serialized)
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    # Keras 3's form (module, registered_name) reads the same.
    keras_form = keras3.constraints.serialize(theirs)
    assert constraints.get(keras_form).get_config() == ours.get_config()


def test_max_norm_leaves_small_columns_alone_and_caps_large_ones():
    w = np.array([[3.0, 0.3], [4.0, 0.4]], "float32")  # column norms 5 and 0.5
    out = _np(constraints.max_norm(2.0)(w))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 0.5], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], w[:, 1], rtol=1e-6)


def test_defaults_are_keras_defaults():
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.NonNeg().get_config() == {}


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("max_norm", constraints.MaxNorm),
        ("MaxNorm", constraints.MaxNorm),
        ("maxnorm", constraints.MaxNorm),
        ("non_neg", constraints.NonNeg),
        ("nonneg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ("min_max_norm", constraints.MinMaxNorm),
        ({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 1}}, constraints.MaxNorm),
        (constraints.NonNeg, constraints.NonNeg),
    ],
)
def test_get_by_name_dict_and_class(identifier, cls):
    assert type(constraints.get(identifier)) is cls


def test_get_passes_instances_callables_and_none_through():
    instance = constraints.UnitNorm(axis=1)
    assert constraints.get(instance) is instance
    clip = lambda w: lamina.ops.clip(w, -1.0, 1.0)  # noqa: E731
    assert constraints.get(clip) is clip
    assert constraints.get(None) is None
    assert constraints.serialize(None) is None


def test_unknown_and_bad_identifiers_raise():
    with pytest.raises(ValueError, match="Unknown constraint 'maxi_norm'.*MaxNorm"):
        constraints.get("maxi_norm")
    with pytest.raises(ValueError, match="Could not interpret constraint 3"):
        constraints.get(3)
    with pytest.raises(ValueError, match="MaxNorm: max_value"):
        constraints.MaxNorm(-1.0)
    with pytest.raises(ValueError, match="MinMaxNorm: min_value"):
        constraints.MinMaxNorm(min_value=2.0, max_value=1.0)


def test_aliases_are_the_classes_and_lamina_exports_the_module():
    assert constraints.max_norm is constraints.MaxNorm
    assert constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm
    assert constraints.min_max_norm is constraints.MinMaxNorm
    assert lamina.constraints is constraints


def test_custom_constraint_subclass_and_config():
    class Clip(constraints.Constraint):
        def __init__(self, limit=1.0):
            self.limit = limit

        def __call__(self, w):
            return lamina.ops.clip(w, -self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    out = constraints.deserialize({"class_name": "Clip", "config": {"limit": 0.5}}, custom_objects={"Clip": Clip})
    np.testing.assert_allclose(_np(out(np.array([-2.0, 0.1, 3.0], "float32"))), [-0.5, 0.1, 0.5])


# ------------------------------------------------------- layers take them
@pytest.mark.parametrize(
    "identifier",
    ["max_norm", "MaxNorm", {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}, constraints.max_norm(2)],
)
def test_add_weight_resolves_names_and_config_dicts(identifier):
    layer = layers.Dense(3, kernel_constraint=identifier, bias_constraint="non_neg")
    layer(np.zeros((1, 4), "float32"))
    assert isinstance(layer.kernel.constraint, constraints.MaxNorm)
    assert layer.kernel.constraint.get_config() == {"max_value": 2, "axis": 0}
    assert isinstance(layer.bias.constraint, constraints.NonNeg)
    assert layer.get_config()["kernel_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}


def test_a_custom_layer_add_weight_with_a_constraint_name():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), constraint="unit_norm")

    layer = Scale()
    layer(np.zeros((1, 3), "float32"))
    assert isinstance(layer.scale.constraint, constraints.UnitNorm)


def test_layer_configs_with_constraints_round_trip():
    dense = layers.Dense(3, kernel_constraint=constraints.MinMaxNorm(0.5, 1.5, rate=0.5, axis=[0]))
    clone = layers.Dense.from_config(dense.get_config())
    assert clone.get_config() == dense.get_config()
    assert isinstance(clone.kernel_constraint, constraints.MinMaxNorm)
    prelu = layers.PReLU(alpha_constraint="non_neg")
    assert layers.PReLU.from_config(prelu.get_config()).get_config() == prelu.get_config()


def _max_norm_model():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3, kernel_constraint=constraints.max_norm(2.0))])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_dense_with_max_norm_survives_save_and_load(tmp_path, suffix):
    model = _max_norm_model()
    model.compile("sgd", "mse")
    path = os.path.join(tmp_path, "model" + suffix)
    model.save(path)
    loaded = lamina.models.load_model(path)
    constraint = loaded.layers[0].kernel.constraint
    assert isinstance(constraint, constraints.MaxNorm)
    assert constraint.get_config() == {"max_value": 2.0, "axis": 0}
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_dense_with_max_norm_survives_to_json():
    model = _max_norm_model()
    text = model.to_json()
    assert '"kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 2.0, "axis": 0}}' in text
    rebuilt = lamina.models.model_from_json(text)
    assert isinstance(rebuilt.layers[0].kernel.constraint, constraints.MaxNorm)


def test_keras3_reads_a_lamina_file_with_a_constraint(keras3, tmp_path):
    model = _max_norm_model()
    path = os.path.join(tmp_path, "model.h5")
    model.save(path)
    theirs = keras3.models.load_model(path, compile=False)
    assert isinstance(theirs.layers[0].kernel_constraint, keras3.constraints.MaxNorm)
    assert theirs.layers[0].kernel_constraint.max_value == 2.0


# ------------------------------------------------ applied after every update
def _replay_sgd(x, y, w, lr, batch_size, constraint):
    """Full-batch-free SGD on `mean((x @ w - y)**2)`, projecting after every step, in float64."""
    w = w.astype("float64")
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size].astype("float64"), y[start : start + batch_size].astype("float64")
        error = xb @ w - yb
        w = w - lr * (2.0 / error.size) * xb.T @ error
        w = constraint(w)
    return w


@pytest.mark.parametrize("steps_per_execution", [1, 4])
@pytest.mark.parametrize(
    "constraint, reference",
    [
        (constraints.MaxNorm(0.5), lambda w: np_max_norm(w, 0.5)),
        (constraints.NonNeg(), lambda w: np.maximum(w, 0)),
        (constraints.UnitNorm(axis=0), np_unit_norm),
        (constraints.MinMaxNorm(0.2, 0.4, rate=0.5), lambda w: np_min_max_norm(w, 0.2, 0.4, 0.5)),
    ],
)
def test_fit_applies_the_constraint_after_every_step(constraint, reference, steps_per_execution):
    """Steps fused into one compiled call (steps_per_execution=4 on JAX) project after each step too."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32") * 3
    layer = layers.Dense(3, use_bias=False, kernel_constraint=constraint)
    model = lamina.Sequential([lamina.Input((4,)), layer])
    model.compile(lamina.optimizers.SGD(learning_rate=0.2), "mse", steps_per_execution=steps_per_execution)
    start = model.get_weights()[0]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = _replay_sgd(np.concatenate([x, x]), np.concatenate([y, y]), start, 0.2, 4, reference)
    np.testing.assert_allclose(model.get_weights()[0], expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(model.get_weights()[0], start)


def test_fit_applies_a_plain_function_as_constraint():
    clip = lambda w: lamina.ops.clip(w, -0.05, 0.05)  # noqa: E731
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, kernel_constraint=clip, bias_constraint="non_neg")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.5), "mse")
    model.fit(np.ones((8, 4), "float32"), np.full((8, 3), -5.0, "float32"), batch_size=4, verbose=0)
    kernel, bias = model.get_weights()
    assert np.abs(kernel).max() <= 0.05 + 1e-7
    np.testing.assert_array_equal(bias, np.zeros(3))  # pushed negative by the loss, projected back to 0


def test_optimizer_apply_gradients_applies_constraints():
    layer = layers.Dense(2, use_bias=False, kernel_constraint=constraints.NonNeg())
    layer(np.zeros((1, 2), "float32"))
    layer.set_weights([np.array([[0.1, 0.2], [0.3, 0.4]], "float32")])
    optimizer = lamina.optimizers.SGD(learning_rate=1.0)
    optimizer.apply_gradients([(np.array([[1.0, 0.0], [0.0, 1.0]], "float32"), layer.kernel)])
    np.testing.assert_allclose(layer.get_weights()[0], [[0.0, 0.2], [0.3, 0.0]])
