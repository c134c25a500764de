"""The Layer base class: names, weights, losses, trainability, checks and errors, the training flag."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer, check_save_load

import lamina
from lamina import layers, ops
from lamina.backend import KerasTensor


class Scale(layers.Layer):
    """A layer with one trainable and one non-trainable weight, written the Keras 2 way."""

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[-1],), initializer="ones")
        self.count = self.add_weight("count", (), initializer="zeros", trainable=False)

    def call(self, inputs):
        return inputs * self.scale


class ActivityPenalty(layers.Layer):
    """Adds `factor * sum(inputs)` to the losses on every call."""

    def __init__(self, factor=0.5, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        self.add_loss(self.factor * ops.sum(inputs))
        return inputs

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Forgetful(layers.Layer):
    """Multiplies by `factor` but leaves it out of its config, so a saved copy multiplies by 1."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


class BiasWithoutGradient(layers.Layer):
    """Computes Keras's `Dense(units)`, but its bias gets no gradient: the harness's step 10 must notice."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel) + ops.stop_gradient(self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Block(layers.Layer):
    """A layer made of layers: Dense then Dropout, passing `training` on implicitly."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(3, kernel_initializer="ones")
        self.dropout = layers.Dropout(0.5, seed=1)

    def call(self, inputs, training=None):
        return self.dropout(self.dense(inputs))


# ------------------------------------------------------------------ naming
def test_automatic_names_count_per_class():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Conv2D(1, 1).name == "conv2d"
    assert layers.MaxPooling2D().name == "max_pooling2d"
    assert layers.BatchNormalization().name == "batch_normalization"
    assert layers.Dropout(0.1).name == "dropout"
    assert layers.Concatenate().name == "concatenate"
    assert Scale().name == "scale"
    assert layers.Dense(1).name == "dense_3"


def test_names_match_keras(keras3):
    keras3.backend.clear_session()
    makers = [
        lambda m: m.Dense(1),
        lambda m: m.Conv2D(1, 1),
        lambda m: m.MaxPooling2D(),
        lambda m: m.BatchNormalization(),
        lambda m: m.Dense(1),
        lambda m: m.Flatten(),
        lambda m: m.Embedding(2, 2),
        lambda m: m.Activation("relu"),
        lambda m: m.Add(),
    ]
    ours = [make(layers).name for make in makers]
    assert ours == [make(keras3.layers).name for make in makers]
    assert ours[4] == "dense_1"


def test_clear_session_restarts_names():
    layers.Dense(1)
    assert layers.Dense(1).name == "dense_1"
    lamina.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_explicit_name_is_kept_and_does_not_use_a_number():
    assert layers.Dense(1, name="classifier").name == "classifier"
    assert layers.Dense(1).name == "dense"


def test_non_string_name_is_rejected_and_empty_name_means_automatic():
    with pytest.raises(ValueError, match="non-empty string"):
        layers.Dense(1, name=5)
    assert layers.Dense(1, name="").name == "dense"


# ----------------------------------------------------------------- weights
def test_add_weight_keras2_order_and_trainable_split():
    layer = Scale()
    layer(np.ones((2, 3), "float32"))
    assert [w.name for w in layer.weights] == ["scale", "count"]
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    assert [w.name for w in layer.non_trainable_weights] == ["count"]
    assert [w.path for w in layer.weights] == ["scale/scale", "scale/count"]
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones(3))
    assert layer.get_weights()[1].shape == ()
    assert layer.count_params() == 4


def test_add_weight_keras3_order():
    layer = layers.Layer(name="holder")
    w = layer.add_weight(shape=(2, 3), initializer="ones", name="w")
    v = layer.add_weight((4,), initializer="zeros", trainable=False)
    assert (w.name, w.shape, v.name, v.shape) == ("w", (2, 3), "variable", (4,))
    np.testing.assert_array_equal(as_numpy(w), np.ones((2, 3)))
    assert layer.trainable_weights == [w] and layer.non_trainable_weights == [v]


def test_add_weight_keras3_positional_initializer():
    """Keras 3's signature is add_weight(shape, initializer, dtype, ...): the second positional is the initializer."""
    layer = layers.Layer(name="holder")
    w = layer.add_weight((2, 2), "ones")
    assert w.shape == (2, 2)
    np.testing.assert_array_equal(as_numpy(w), np.ones((2, 2)))
    with pytest.raises(TypeError, match="holder.*two initializers"):
        layer.add_weight((2, 2), "ones", initializer="zeros")


def test_add_weight_dtype_regularizer_and_bad_keyword():
    layer = layers.Layer(name="holder")
    steps = layer.add_weight(name="steps", shape=(), dtype="int32", trainable=False)
    assert steps.dtype == "int32" and as_numpy(steps) == 0  # integer weights default to zeros
    w = layer.add_weight(name="w", shape=(3,), initializer="ones", regularizer=lamina.regularizers.l1(0.25))
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([0.75])
    assert w.regularizer is not None
    with pytest.raises(TypeError, match="holder.*colour"):
        layer.add_weight(name="x", shape=(1,), colour="red")


def test_trainable_false_moves_weights_to_non_trainable():
    layer = layers.Dense(2)
    layer(np.ones((1, 3), "float32"))
    layer.trainable = False
    assert layer.trainable_weights == []
    assert [w.name for w in layer.non_trainable_weights] == ["kernel", "bias"]
    assert layer.get_config()["trainable"] is False
    layer.trainable = True
    assert [w.name for w in layer.trainable_weights] == ["kernel", "bias"]
    assert layer.non_trainable_weights == []


def test_trainable_false_in_constructor_and_nested_layers():
    block = Block(trainable=False)
    block(np.ones((1, 2), "float32"))
    assert block.trainable_weights == []
    assert [w.name for w in block.weights] == ["kernel", "bias"]
    assert [w.name for w in block.non_trainable_weights] == ["kernel", "bias"]
    block.trainable = True
    assert block.dense.trainable is True
    assert [w.name for w in block.trainable_weights] == ["kernel", "bias"]


def test_set_weights_then_get_weights():
    layer = layers.Dense(2)
    layer(np.ones((1, 3), "float32"))
    kernel, bias = np.arange(6, dtype="float32").reshape(3, 2), np.array([1.0, -1.0], "float32")
    layer.set_weights([kernel, bias])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    assert_close(as_numpy(layer(np.ones((1, 3), "float32"))), [[7.0, 8.0]])


def test_set_weights_takes_another_layers_variables_and_tensors():
    source, target = layers.Dense(2), layers.Dense(2)
    source(np.ones((1, 3), "float32"))
    target(np.ones((1, 3), "float32"))
    target.set_weights(source.weights)  # Variables (trainable ones carry autograd state on torch)
    target.set_weights([w.value for w in source.weights])  # engine tensors (autograd leaves on torch)
    for got, want in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_set_weights_wrong_count_names_layer_and_weights():
    layer = layers.Dense(2, name="head")
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"\"head\" expects 2 weight arrays \(\['kernel', 'bias'\]\), got 1"):
        layer.set_weights([np.zeros((3, 2))])


def test_set_weights_wrong_shape_names_layer_weight_and_shapes():
    layer = layers.Dense(2, name="head")
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r'"head" weight "kernel" has shape \(3, 2\), got an array of shape \(2, 3\)'):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])
    np.testing.assert_array_equal(layer.get_weights()[1], np.zeros(2))


def test_count_params_before_build_is_a_clear_error():
    with pytest.raises(ValueError, match='"dense" is not built'):
        layers.Dense(2).count_params()


# ------------------------------------------------------------------ losses
def test_add_loss_collects_per_call_and_resets():
    layer = ActivityPenalty(0.5)
    layer(np.array([[1.0, 2.0]], "float32"))
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([1.5])
    layer(np.array([[4.0, 4.0]], "float32"))
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([4.0])  # replaced, not accumulated


def test_add_loss_is_ignored_when_called_symbolically():
    layer = ActivityPenalty()
    layer(lamina.Input(shape=(3,)))
    assert layer.losses == []


def test_losses_of_nested_layers_are_collected():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = ActivityPenalty(2.0)
            self.dense = layers.Dense(1, kernel_regularizer=lamina.regularizers.l2(1.0), kernel_initializer="ones")

        def call(self, inputs):
            return self.dense(self.inner(inputs))

    outer = Outer()
    outer(np.array([[1.0, 1.0, 1.0]], "float32"))
    assert sorted(float(ops.convert_to_numpy(v)) for v in outer.losses) == pytest.approx([3.0, 6.0])


# ------------------------------------------------------------ training flag
def test_training_flag_reaches_nested_layers():
    block = Block()
    x = np.ones((64, 2), "float32")
    inference = as_numpy(block(x))
    np.testing.assert_array_equal(inference, np.full((64, 3), 2.0))
    training = as_numpy(block(x, training=True))
    assert set(np.unique(training)) == {0.0, 4.0}
    np.testing.assert_array_equal(as_numpy(block(x, training=False)), inference)


def test_custom_layer_through_the_harness():
    check_layer(
        Scale,
        np.random.default_rng(0).normal(size=(2, 4)).astype("float32"),
        reference=lambda x, w, training: x * w["scale"],
        weight_names=["scale", "count"],
        trainable_weight_names=["scale"],
    )


def test_harness_save_load_catches_a_config_that_forgets_an_argument():
    x = np.ones((2, 3), "float32")
    with pytest.raises(AssertionError, match=r"load_model\(model.save\(...\)\): predictions"):
        check_save_load(Forgetful(3.0), x)
    check_save_load(Forgetful(1.0), x)  # the class itself is found through the harness's custom_objects


def test_harness_step_catches_a_missing_gradient_and_needs_a_reason_to_skip(keras3):
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    arguments = dict(make_keras=lambda: keras3.layers.Dense(3), weight_names=["kernel", "bias"], save_load=False)
    # Steps 1-8 pass (the forward pass is Dense's); one SGD step leaves the bias where Keras moves it.
    with pytest.raises(AssertionError, match="step 10: weight '.*bias' after one SGD step, vs Keras"):
        check_layer(BiasWithoutGradient, x, **arguments)
    check_layer(BiasWithoutGradient, x, check_step="this test's layer has no bias gradient on purpose", **arguments)
    for no_reason in (False, None, "", " "):
        with pytest.raises(ValueError, match="`check_step` is True, or the reason it is off"):
            check_layer(BiasWithoutGradient, x, check_step=no_reason, **arguments)
    # The real Dense passes the step.
    check_layer(lambda: layers.Dense(3), x, **arguments)


def test_custom_layer_config_round_trip():
    layer = ActivityPenalty(0.25, name="penalty", trainable=False)
    config = layer.get_config()
    assert config == {"name": "penalty", "trainable": False, "dtype": "float32", "factor": 0.25}
    clone = ActivityPenalty.from_config(config)
    assert (clone.name, clone.trainable, clone.factor) == ("penalty", False, 0.25)


# ------------------------------------------------------------ input checks
def test_unknown_constructor_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="Dense.*unit"):
        layers.Dense(3, unit=4)


def test_keras2_input_shape_keywords_reach_the_config():
    assert layers.Dense(2, input_shape=(5,)).get_config()["batch_input_shape"] == [None, 5]
    assert layers.Dense(2, input_dim=7).get_config()["batch_input_shape"] == [None, 7]
    assert layers.Dense(2, batch_input_shape=(4, 3)).get_config()["batch_input_shape"] == [4, 3]
    assert layers.Dense(2, input_shape=(5,), batch_size=8).get_config()["batch_input_shape"] == [8, 5]
    assert "batch_input_shape" not in layers.Dense(2).get_config()


def test_call_without_inputs_names_the_layer():
    with pytest.raises(ValueError, match='"dense" was called without inputs'):
        layers.Dense(2)()


def test_mixing_symbolic_and_concrete_inputs_is_a_type_error():
    with pytest.raises(TypeError, match='"add".*mix of symbolic'):
        layers.Add()([lamina.Input(shape=(2,)), np.ones((1, 2), "float32")])


def test_float64_inputs_are_computed_in_the_layer_dtype():
    layer = layers.Dense(2, kernel_initializer="ones")
    out = layer(np.ones((1, 3), "float64"))
    assert lamina.ops.dtype_of(out) == "float32"
    assert_close(as_numpy(out), [[3.0, 3.0]])


# ------------------------------------------------------------ symbolic use
def test_symbolic_call_records_input_and_output():
    x = lamina.Input(shape=(4,))
    dense = layers.Dense(3)
    y = dense(x)
    assert isinstance(y, KerasTensor)
    assert (y.shape, y.name) == ((None, 3), "dense")
    assert dense.input is x and dense.output is y
    assert (dense.input_shape, dense.output_shape) == ((None, 4), (None, 3))
    dense(lamina.Input(shape=(4,)))
    with pytest.raises(AttributeError, match='"dense" has been called 2 times'):
        _ = dense.output
    assert dense.get_output_at(1).shape == (None, 3)


def test_never_called_layer_has_no_output():
    with pytest.raises(AttributeError, match='"dense" has never been called'):
        _ = layers.Dense(1).output


def test_compute_output_shape_builds_and_handles_none():
    layer = layers.Dense(6)
    assert layer.compute_output_shape((None, 2, 5)) == (None, 2, 6)
    assert layer.built and layer.kernel.shape == (5, 6)
    assert layers.Concatenate().compute_output_shape([(None, 3), (None, 4)]) == (None, 7)


def test_activity_regularizer_penalizes_outputs_per_sample(keras3):
    x = np.arange(6, dtype="float32").reshape(2, 3)
    layer = layers.Dense(2, kernel_initializer="ones", activity_regularizer=lamina.regularizers.l2(0.1))
    out = as_numpy(layer(x))
    expected = 0.1 * np.sum(out**2) / 2  # divided by the batch size
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([expected])
    keras_layer = keras3.layers.Dense(2, kernel_initializer="ones", activity_regularizer=keras3.regularizers.L2(0.1))
    keras_layer(x)
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx(
        [float(v) for v in keras_layer.losses]
    )
