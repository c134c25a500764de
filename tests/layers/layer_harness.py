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
8. symbolic use: calling the layer on `lamina.Input` gives a KerasTensor with a None batch;
9. save/load (on by default): the layer, wrapped in a Sequential model (a functional one for merge
   layers), survives `model.save` -> `load_model` (HDF5), `to_json` -> `model_from_json` + `set_weights`
   and `save_weights` -> `load_weights` with the same predictions, configs and weight names;
10. one optimizer step (on by default, needs `make_keras` and trainable weights): a fresh lamina layer and a
    fresh Keras 3 layer, each inside a functional model on Inputs of the inputs' shapes and given the same
    weights, are compiled with `SGD(learning_rate=0.1)` and loss "mse" and run one `train_on_batch` on the
    same random target; the losses and then all the weights (`get_weights()`, non-trainable ones such as
    moving statistics included) must agree, which checks the gradients. A layer with several outputs
    (`return_state=True`, ...) is trained on its first output only. The tolerances are looser than the
    forward ones (STEP_RTOL, STEP_ATOL): a weight moves by 0.1 * its gradient, and gradients sum over the
    batch in a different order on each side. Off where `check_training=False` (a random training call gives
    two different gradients) and where the caller passes a reason, `check_step="why"`.

The module name is unusual on purpose: tests/ has no __init__.py files, so helper
modules share one namespace across the suite.
"""

from __future__ import annotations

import base64
import marshal
import os
import tempfile
import types

import numpy as np

import lamina
from lamina.backend import KerasTensor

RTOL = 1e-5
ATOL = 1e-6
SAVE_RTOL = 1e-6  # a saved and re-loaded model must predict what the original predicts
STEP_RTOL = 1e-4  # step 10: the weights after one SGD step (see the module docstring)
STEP_ATOL = 1e-5


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


def _call(layer, inputs, separate, **kwargs):
    """`layer(inputs)`, or `layer(*inputs)` for a layer that takes its inputs as separate arguments."""
    return layer(*inputs, **kwargs) if separate else layer(inputs, **kwargs)


def _build_keras(make_keras, inputs, weight_names, values, separate=False):
    layer = make_keras()
    _call(layer, inputs, separate)  # builds it
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
    save_load=True,
    custom_objects=None,
    check_step=True,
    separate_inputs=False,
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
        save_load: check step 9 (saving the layer inside a model and loading it back).
        custom_objects: passed to `load_model` / `model_from_json` (a layer class defined outside lamina is
            added automatically).
        check_step: step 10 (one SGD step vs Keras 3); to turn it off, pass the reason as a string
            (`check_step="random in training"`). It is off anyway without `make_keras` and where
            `check_training=False`.
        separate_inputs: call the layer as `layer(*inputs)` (MultiHeadAttention's `mha(query, value)`)
            rather than `layer(inputs)`; `compute_output_shape` then gets one shape per input.
    """
    assert make_keras is not None or reference is not None, "check_layer needs an independent reference"
    if check_step is not True and not (isinstance(check_step, str) and check_step.strip()):
        raise ValueError(
            "check_layer: `check_step` is True, or the reason it is off as a non-empty string "
            f"(e.g. check_step='random in training'); got {check_step!r}"
        )
    if separate_inputs and not isinstance(inputs, list):
        raise ValueError(f"check_layer: separate_inputs=True needs a list of input arrays, got {type(inputs).__name__}")
    separate = separate_inputs
    rng = np.random.default_rng(7)
    layer = make_layer()
    _call(layer, inputs, separate)

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
    out = as_numpy(_call(layer, inputs, separate, training=False))
    default = as_numpy(_call(layer, inputs, separate))
    np.testing.assert_array_equal(default, out, err_msg="default call is not inference")
    keras_layer = None
    if make_keras is not None:
        keras_layer = _build_keras(make_keras, inputs, weight_names, values, separate)
        keras_out = as_numpy(_call(keras_layer, inputs, separate, training=False))
        assert_close(out, keras_out, rtol, atol, "inference vs Keras")
    if reference is not None:
        assert_close(out, reference(inputs, weight_dict, False), rtol, atol, "inference vs NumPy")

    # 4. Shapes.
    def output_shape(some_layer, shapes):
        return tuple(some_layer.compute_output_shape(*shapes) if separate else some_layer.compute_output_shape(shapes))

    assert output_shape(layer, _concrete_shape(inputs)) == out.shape
    batchless = output_shape(layer, _batchless_shape(inputs))
    assert batchless == (None, *out.shape[1:])
    if keras_layer is not None:
        assert output_shape(keras_layer, _batchless_shape(inputs)) == batchless

    # 5. Training mode (state updates such as BatchNormalization's moving statistics included).
    if check_training:
        before = {n: v.copy() for n, v in weight_dict.items()}
        out_train = as_numpy(_call(layer, inputs, separate, training=True))
        assert out_train.shape == out.shape
        if keras_layer is not None:
            keras_train = as_numpy(_call(keras_layer, inputs, separate, training=True))
            assert_close(out_train, keras_train, rtol, atol, "training vs Keras")
            for got, want, name in zip(layer.get_weights(), keras_layer.get_weights(), weight_names):
                assert_close(got, want, rtol, atol, f"weight {name!r} after a training call, vs Keras")
        if reference is not None:
            assert_close(out_train, reference(inputs, before, True), rtol, atol, "training vs NumPy")

    # 6. Config round trip.
    config = layer.get_config()
    clone = (from_config or type(layer).from_config)(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    _call(clone, inputs, separate)
    clone.set_weights(layer.get_weights())
    cloned = as_numpy(_call(clone, inputs, separate, training=False))
    assert_close(cloned, as_numpy(_call(layer, inputs, separate, training=False)), what="clone")

    # 7. Config values shared with Keras.
    if keras_layer is not None and keras_config_keys:
        keras_config = keras_layer.get_config()
        for key in keras_config_keys:
            assert key in config, f"config has no {key!r} (Keras writes it)"
            assert _normalize(config[key]) == _normalize(keras_config[key]), f"config[{key!r}] differs from Keras"

    # 8. Symbolic call.
    symbolic = _symbolic_inputs(inputs)
    result = _call(clone, symbolic, separate)
    assert isinstance(result, KerasTensor)
    assert result.shape == (None, *out.shape[1:])
    assert result.dtype == lamina.backend.floatx()
    assert result._keras_history[0] is clone

    # 9. Save and load, inside a model.
    if save_load:
        check_save_load(layer, inputs, custom_objects, separate_inputs=separate)

    # 10. One optimizer step (the gradients) vs Keras.
    if check_step is True and check_training and make_keras is not None and layer.trainable_weights:
        check_one_step(make_layer, make_keras, inputs, values, separate_inputs=separate)
    return layer


# ------------------------------------------------------------ one optimizer step
def _step_model(module, layer, inputs, separate):
    """A functional `module.Model` (lamina or Keras) around `layer`, trained on its first output."""

    def one(array):
        dtype = "int32" if array.dtype.kind in "iu" else "float32"
        return module.Input(shape=array.shape[1:], dtype=dtype)

    symbolic = [one(a) for a in inputs] if isinstance(inputs, list) else one(inputs)
    outputs = _call(layer, symbolic, separate)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return module.Model(inputs=symbolic, outputs=outputs)


def check_one_step(make_layer, make_keras, inputs, values, rtol=STEP_RTOL, atol=STEP_ATOL, separate_inputs=False):
    """Step 10 of `check_layer`: one `train_on_batch` (SGD, lr 0.1, mse) matches Keras 3's; returns the model.

    Args:
        make_layer, make_keras: the factories given to `check_layer`.
        inputs: the input array(s).
        values: the starting weights, in `layer.weights` order.
        separate_inputs: the layer is called as `layer(*inputs)`.
    """
    import keras  # the oracle, on JAX (tests/conftest.py)

    ours = _step_model(lamina, make_layer(), inputs, separate_inputs)
    theirs = _step_model(keras, make_keras(), inputs, separate_inputs)
    names = [w.path for w in ours.weights]
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in ours.weights], (
        f"step 10: weight shapes differ from Keras's for {names}"
    )
    ours.set_weights(values)
    theirs.set_weights(values)
    batch = len(inputs[0]) if isinstance(inputs, list) else len(inputs)
    target = np.random.default_rng(10).normal(size=(batch, *ours.output_shape[1:])).astype("float32")
    ours.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    loss = float(np.asarray(ours.train_on_batch(inputs, target)))
    keras_loss = float(np.asarray(theirs.train_on_batch(inputs, target)))
    assert_close(loss, keras_loss, rtol, atol, "step 10: the loss of one train_on_batch vs Keras")
    after = ours.get_weights()
    for got, want, name in zip(after, theirs.get_weights(), names):
        assert_close(got, want, rtol, atol, f"step 10: weight {name!r} after one SGD step, vs Keras")
    moved = [not np.array_equal(a, np.asarray(b, "float32")) for a, b in zip(after, values)]
    assert any(moved), "step 10: one SGD step changed no weight"
    return ours


# ------------------------------------------------------------------ save/load
def wrap_in_model(layer, inputs, separate_inputs=False):
    """The layer on `lamina.Input`s of the inputs' shapes: a Sequential model, or a functional one for merges."""
    symbolic = _symbolic_inputs(inputs)
    if isinstance(inputs, list):
        return lamina.Model(inputs=symbolic, outputs=_call(layer, symbolic, separate_inputs))
    return lamina.Sequential([symbolic, layer])


def _loading_arguments(layer, custom_objects):
    """`(custom_objects, safe_mode)` that load a model holding `layer`.

    A layer class from outside lamina (a test's own) is passed by name. A Lambda layer's named function is
    passed by name too and loads in safe mode; an anonymous `lambda` is stored as bytecode, which only
    loads with `safe_mode=False` (DESIGN rule 9).
    """
    objects = dict(custom_objects or {})
    layer_class = type(layer)
    if not layer_class.__module__.startswith("lamina."):
        objects.setdefault(layer_class.__name__, layer_class)
    safe_mode = True
    if isinstance(layer, lamina.layers.Lambda):
        function = layer.function
        if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>":
            safe_mode = False
        else:
            objects.setdefault(function.__name__, function)
    return objects, safe_mode


def _comparable(config):
    """A config with a Lambda's marshalled bytecode replaced by the code object it holds.

    Marshalling a code object that was itself un-marshalled sets different reference flags, so a re-saved
    lambda's bytes differ although its code is the same; code objects compare by value.
    """
    if isinstance(config, list):
        return [_comparable(item) for item in config]
    if not isinstance(config, dict):
        return config
    out = {key: _comparable(value) for key, value in config.items()}
    function = config.get("function")
    if config.get("function_type") == "lambda" and isinstance(function, list) and isinstance(function[0], str):
        out["function"] = [marshal.loads(base64.b64decode(function[0])), *function[1:]]
    return out


def _config_difference(got: dict, want: dict) -> dict:
    """`{key: (got, want)}` for the entries two configs disagree on."""
    keys = sorted(got.keys() | want.keys())
    return {k: (got.get(k, "<missing>"), want.get(k, "<missing>")) for k in keys if got.get(k) != want.get(k)}


def _assert_same_config(got: dict, want: dict, what: str):
    got, want = _comparable(got), _comparable(want)
    assert got == want, f"{what} changed: {_config_difference(got, want)}"


def _assert_same_model(loaded, model, inputs, expected, what):
    assert type(loaded) is type(model), f"{what}: {type(loaded).__name__} is not {type(model).__name__}"
    _assert_same_config(loaded.get_config(), model.get_config(), f"{what}: the model config")
    loaded_layer, layer = loaded.layers[-1], model.layers[-1]
    assert type(loaded_layer) is type(layer), f"{what}: the layer came back as {type(loaded_layer).__name__}"
    loaded_config, config = loaded_layer.get_config(), layer.get_config()
    if isinstance(model, lamina.Sequential) and "batch_input_shape" not in config:
        # A Sequential model's config gives its first layer the input's shape (as Keras 2's does), so the
        # re-created layer was made with `batch_input_shape=` and reports it.
        assert loaded_config.pop("batch_input_shape", None) == [None, *model.input.shape[1:]], what
    _assert_same_config(loaded_config, config, f"{what}: the layer config")
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights], f"{what}: weight paths changed"
    for got, want, variable in zip(loaded.get_weights(), model.get_weights(), model.weights):
        np.testing.assert_array_equal(got, want, err_msg=f"{what}: weight {variable.path!r}")
    predicted = loaded.predict(inputs, verbose=0)
    assert_close(predicted, expected, rtol=SAVE_RTOL, atol=0, what=f"{what}: predictions")


def check_save_load(layer, inputs, custom_objects=None, separate_inputs=False):
    """Step 9 of `check_layer`: the layer survives HDF5 files and JSON inside a model; returns the model.

    Example:
        >>> check_save_load(layers.Dense(3), np.ones((2, 4), "float32"))
    """
    model = wrap_in_model(layer, inputs, separate_inputs)
    expected = model.predict(inputs, verbose=0)
    called = as_numpy(_call(layer, inputs, separate_inputs, training=False))
    assert_close(expected, called, what="the model's predictions vs the layer's")
    objects, safe_mode = _loading_arguments(layer, custom_objects)
    with tempfile.TemporaryDirectory(prefix="lamina-harness-") as folder:
        path = os.path.join(folder, "model.h5")
        model.save(path)
        assert sorted(os.listdir(folder)) == ["model.h5"], "saving left a temporary file behind"
        if not safe_mode:
            try:
                lamina.models.load_model(path, custom_objects=objects)
            except ValueError as error:
                assert "safe_mode=False" in str(error), f"an unclear safe-mode refusal: {error}"
            else:
                raise AssertionError("load_model ran a Lambda layer's bytecode in safe mode")
        loaded = lamina.models.load_model(path, custom_objects=objects, safe_mode=safe_mode)
        _assert_same_model(loaded, model, inputs, expected, "load_model(model.save(...))")

        rebuilt = lamina.models.model_from_json(model.to_json(), custom_objects=objects, safe_mode=safe_mode)
        rebuilt.set_weights(model.get_weights())
        _assert_same_model(rebuilt, model, inputs, expected, "model_from_json(to_json()) + set_weights")

        weights_path = os.path.join(folder, "weights.h5")
        model.save_weights(weights_path)
        rebuilt = lamina.models.model_from_json(model.to_json(), custom_objects=objects, safe_mode=safe_mode)
        rebuilt.load_weights(weights_path)
        _assert_same_model(rebuilt, model, inputs, expected, "model_from_json(to_json()) + load_weights")
    return model
