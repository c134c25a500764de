"""The one shared layer harness (DESIGN, "Tests").

`check_layer` takes a factory for a lamina layer, the input arrays and at least one
independent reference (a factory for the real Keras 3 layer, or a NumPy function),
and checks, in this order:

1. weight names, count, paths and which weights are trainable;
2. `set_weights` round-trips the values it is given;
3. inference outputs (default and `training=False`) against the reference(s);
4. output shapes against `compute_output_shape`, with a known and an unknown batch;
5. training-mode outputs (and any state the call updates) against the reference(s);
6. `from_config(get_config())` gives an equal config and, given the same weights, the same outputs;
7. the config values Keras also writes (units, strides, ...) equal Keras's;
8. symbolic use: calling the layer on `lamina.Input` gives a KerasTensor with a None batch.

The module name is unusual on purpose: tests/ has no __init__.py files, so helper
modules share one namespace across the suite.
"""

from __future__ import annotations

import numpy as np

import lamina
from lamina.backend import KerasTensor

RTOL = 1e-5
ATOL = 1e-6


def as_numpy(value) -> np.ndarray:
    """A NumPy copy of an engine tensor, a Variable or a list of them."""
    if isinstance(value, (list, tuple)):
        return [as_numpy(v) for v in value]
    return np.array(lamina.ops.convert_to_numpy(value))


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what="output"):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def random_weight(name: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """A value for a weight that is unlike its initial value (variances stay positive)."""
    if "variance" in name:
        return rng.uniform(0.5, 2.0, size=shape).astype("float32")
    return rng.normal(size=shape).astype("float32")


def _normalize(value):
    """Tuples become lists, so lamina's and Keras's configs compare by value."""
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _batchless_shape(inputs):
    if isinstance(inputs, list):
        return [(None, *a.shape[1:]) for a in inputs]
    return (None, *inputs.shape[1:])


def _concrete_shape(inputs):
    if isinstance(inputs, list):
        return [tuple(a.shape) for a in inputs]
    return tuple(inputs.shape)


def _symbolic_inputs(inputs):
    def one(array):
        dtype = "int32" if array.dtype.kind in "iu" else lamina.backend.floatx()
        return lamina.Input(shape=array.shape[1:], dtype=dtype)

    if isinstance(inputs, list):
        return [one(a) for a in inputs]
    return one(inputs)


def _build_keras(make_keras, inputs, weight_names, values):
    layer = make_keras()
    layer(inputs)  # builds it
    assert [w.name for w in layer.weights] == list(weight_names), "Keras names its weights differently"
    if values:
        layer.set_weights(values)
    return layer


def check_layer(
    make_layer,
    inputs,
    *,
    make_keras=None,
    reference=None,
    weight_names=(),
    trainable_weight_names=None,
    weights=None,
    check_training=True,
    keras_config_keys=(),
    from_config=None,
    rtol=RTOL,
    atol=ATOL,
):
    """Checks one lamina layer against Keras 3 and/or a NumPy reference; returns the lamina layer.

    Args:
        make_layer: `() -> lamina layer`, unbuilt.
        inputs: a NumPy array, or a list of arrays for merge layers.
        make_keras: `() -> keras layer` (the oracle), or None.
        reference: `(inputs, weights: dict name -> array, training: bool) -> array`, or None.
        weight_names: the expected `[w.name for w in layer.weights]`.
        trainable_weight_names: the expected trainable ones (default: all of them).
        weights: `{name: array}` values to use instead of random ones.
        check_training: compare `training=True` outputs too (False where training is random).
        keras_config_keys: config entries that must equal Keras's (tuples and lists alike).
        from_config: `config -> layer` for layers whose configs need help (Lambda).
    """
    assert make_keras is not None or reference is not None, "check_layer needs an independent reference"
    rng = np.random.default_rng(7)
    layer = make_layer()
    layer(inputs)

    # 1. Weight names, count, paths, trainability.
    assert [w.name for w in layer.weights] == list(weight_names)
    assert len(layer.get_weights()) == len(weight_names)
    assert [w.path for w in layer.weights] == [f"{layer.name}/{n}" for n in weight_names]
    expected_trainable = list(weight_names) if trainable_weight_names is None else list(trainable_weight_names)
    assert [w.name for w in layer.trainable_weights] == expected_trainable
    assert [w.name for w in layer.non_trainable_weights] == [n for n in weight_names if n not in expected_trainable]
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in layer.weights)

    # 2. set_weights / get_weights.
    chosen = dict(weights or {})
    values = [np.asarray(chosen.get(w.name, random_weight(w.name, w.shape, rng)), "float32") for w in layer.weights]
    layer.set_weights(values)
    for got, want, name in zip(layer.get_weights(), values, weight_names):
        np.testing.assert_array_equal(got, want, err_msg=f"get_weights()[{name!r}]")
    weight_dict = dict(zip(weight_names, values))

    # 3. Inference.
    out = as_numpy(layer(inputs, training=False))
    np.testing.assert_array_equal(as_numpy(layer(inputs)), out, err_msg="default call is not inference")
    keras_layer = None
    if make_keras is not None:
        keras_layer = _build_keras(make_keras, inputs, weight_names, values)
        assert_close(out, as_numpy(keras_layer(inputs, training=False)), rtol, atol, "inference vs Keras")
    if reference is not None:
        assert_close(out, reference(inputs, weight_dict, False), rtol, atol, "inference vs NumPy")

    # 4. Shapes.
    assert tuple(layer.compute_output_shape(_concrete_shape(inputs))) == out.shape
    batchless = tuple(layer.compute_output_shape(_batchless_shape(inputs)))
    assert batchless == (None, *out.shape[1:])
    if keras_layer is not None:
        assert tuple(keras_layer.compute_output_shape(_batchless_shape(inputs))) == batchless

    # 5. Training mode (state updates such as BatchNormalization's moving statistics included).
    if check_training:
        before = {n: v.copy() for n, v in weight_dict.items()}
        out_train = as_numpy(layer(inputs, training=True))
        assert out_train.shape == out.shape
        if keras_layer is not None:
            assert_close(out_train, as_numpy(keras_layer(inputs, training=True)), rtol, atol, "training vs Keras")
            for got, want, name in zip(layer.get_weights(), keras_layer.get_weights(), weight_names):
                assert_close(got, want, rtol, atol, f"weight {name!r} after a training call, vs Keras")
        if reference is not None:
            assert_close(out_train, reference(inputs, before, True), rtol, atol, "training vs NumPy")

    # 6. Config round trip.
    config = layer.get_config()
    clone = (from_config or type(layer).from_config)(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    clone(inputs)
    clone.set_weights(layer.get_weights())
    assert_close(as_numpy(clone(inputs, training=False)), as_numpy(layer(inputs, training=False)), what="clone")

    # 7. Config values shared with Keras.
    if keras_layer is not None and keras_config_keys:
        keras_config = keras_layer.get_config()
        for key in keras_config_keys:
            assert key in config, f"config has no {key!r} (Keras writes it)"
            assert _normalize(config[key]) == _normalize(keras_config[key]), f"config[{key!r}] differs from Keras"

    # 8. Symbolic call.
    symbolic = _symbolic_inputs(inputs)
    result = clone(symbolic)
    assert isinstance(result, KerasTensor)
    assert result.shape == (None, *out.shape[1:])
    assert result.dtype == lamina.backend.floatx()
    assert result._keras_history[0] is clone
    return layer
