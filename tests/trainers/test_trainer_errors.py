"""Errors a user can act on (DESIGN rule 11): what was expected, what was received, and where."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers


def mnist_like_model(compile=True):
    model = lamina.Sequential([layers.Dense(10, input_shape=(784,))])
    if compile:
        model.compile("sgd", "mse")
    return model


def xy(n=4):
    return np.zeros((n, 784), "float32"), np.zeros((n, 10), "float32")


# ----------------------------------------------------------------- input shapes
SHAPE_MESSAGE = r'Input 0 of layer "dense" expects shape \(None, 784\), got \(32, 28, 28\)'


def test_fit_with_a_wrong_input_shape_names_the_layer_and_both_shapes():
    model = mnist_like_model()
    with pytest.raises(ValueError, match=SHAPE_MESSAGE):
        model.fit(np.zeros((32, 28, 28), "float32"), np.zeros((32, 10), "float32"), verbose=0)


def test_predict_and_evaluate_with_a_wrong_input_shape():
    model = mnist_like_model()
    with pytest.raises(ValueError, match=SHAPE_MESSAGE):
        model.predict(np.zeros((32, 28, 28), "float32"), verbose=0)
    with pytest.raises(ValueError, match=SHAPE_MESSAGE):
        model.evaluate(np.zeros((32, 28, 28), "float32"), np.zeros((32, 10), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r'layer "dense" expects shape \(None, 784\), got \(5, 783\)'):
        model.predict(np.zeros((5, 783), "float32"), verbose=0)
    with pytest.raises(ValueError, match=SHAPE_MESSAGE):
        model(np.zeros((32, 28, 28), "float32"))


def test_functional_model_input_errors_name_the_input():
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(2,), name="b")
    model = lamina.Model([a, b], layers.Concatenate()([a, b]))
    with pytest.raises(ValueError, match=r"Input 1 of layer \"model\" expects shape \(None, 2\), got \(4, 5\)"):
        model.predict([np.zeros((4, 3)), np.zeros((4, 5))], verbose=0)
    with pytest.raises(ValueError, match=r"missing entries \['b'\]"):
        model.predict({"a": np.zeros((4, 3))}, verbose=0)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \['a', 'b'\], got 1"):
        model.predict([np.zeros((4, 3))], verbose=0)


def test_targets_of_the_wrong_shape():
    model = mnist_like_model()
    with pytest.raises(ValueError, match=r"shape \(4, 10\).*got targets of shape \(4, 3\)"):
        model.fit(np.zeros((4, 784), "float32"), np.zeros((4, 3), "float32"), verbose=0)


# ------------------------------------------------------------------------ dtypes
def test_non_numeric_inputs_and_targets_are_rejected_with_their_dtype():
    model = mnist_like_model()
    x, y = xy()
    with pytest.raises(TypeError, match=r"x must hold numbers.*dtype <U"):
        model.fit(x.astype(str), y, verbose=0)
    with pytest.raises(TypeError, match=r"y must hold numbers.*dtype <U"):
        model.fit(x, y.astype(str), verbose=0)
    with pytest.raises(TypeError, match=r"x must hold numbers.*dtype <U"):
        model.predict(x.astype(str), verbose=0)
    with pytest.raises(TypeError, match=r"Python objects"):
        model.fit(np.array([np.zeros(784), "oops"], dtype=object), y[:2], verbose=0)


def test_float64_and_integer_inputs_are_accepted():
    model = mnist_like_model()
    x, y = xy()
    assert model.predict(x.astype("float64"), verbose=0).dtype == np.float32
    assert model.predict(x.astype("int32"), verbose=0).shape == (4, 10)
    assert np.isfinite(model.evaluate(x.astype("float64"), y.astype("float64"), verbose=0))


# ------------------------------------------------------------- compile arguments
def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamm'.*'adam'"):
        mnist_like_model(compile=False).compile(optimizer="adamm", loss="mse")


def test_unknown_loss_name():
    model = mnist_like_model(compile=False)
    with pytest.raises(ValueError, match=r"Unknown loss 'mean_squared_eror'.*'mean_squared_error'"):
        model.compile("sgd", loss="mean_squared_eror")
        model.fit(*xy(), verbose=0)


def test_unknown_metric_name():
    model = mnist_like_model(compile=False)
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*'accuracy'"):
        model.compile("sgd", loss="mse", metrics=["acuracy"])
        model.fit(*xy(), verbose=0)


def test_compile_rejects_unknown_keyword_arguments():
    with pytest.raises(TypeError, match=r"compile\(\) got unexpected keyword argument\(s\): \['lr'\]"):
        mnist_like_model(compile=False).compile("sgd", "mse", lr=0.1)


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_before_compile_says_to_compile(method):
    model = mnist_like_model(compile=False)
    with pytest.raises(RuntimeError, match=rf"must compile the model before calling {method}\(\)"):
        getattr(model, method)(*xy())


def test_predict_before_compile_works():
    model = mnist_like_model(compile=False)
    kernel, bias = model.get_weights()
    x = np.random.default_rng(0).normal(size=(3, 784)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel + bias, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ data sizes
def test_mismatched_x_and_y_lengths_give_both_counts():
    model = mnist_like_model()
    x, y = xy(10)
    with pytest.raises(ValueError, match=r"x has 10, y has 5"):
        model.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match=r"x has 10, y has 7"):
        model.evaluate(x, y[:7], verbose=0)
    with pytest.raises(ValueError, match=r"x has 10, y has 3"):
        model.train_on_batch(x, y[:3])


def test_mismatched_sample_weight_length():
    model = mnist_like_model()
    with pytest.raises(ValueError, match=r"sample_weight has 3 entries, but x has 4 samples"):
        model.fit(*xy(4), sample_weight=np.ones(3), verbose=0)


def test_class_weight_missing_a_class():
    model = lamina.Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, labels = np.zeros((4, 2), "float32"), np.array([0, 1, 2, 2])
    with pytest.raises(ValueError, match=r"class_weight has no weight for class\(es\) \[2\]"):
        model.fit(x, labels, class_weight={0: 1.0, 1: 2.0}, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "32"])
def test_bad_batch_size(batch_size):
    model = mnist_like_model()
    x, y = xy()
    pattern = rf"batch_size must be a positive integer, got {batch_size!r}"
    with pytest.raises(ValueError, match=pattern.replace(".", r"\.")):
        model.fit(x, y, batch_size=batch_size, verbose=0)
    with pytest.raises(ValueError, match=pattern.replace(".", r"\.")):
        model.evaluate(x, y, batch_size=batch_size, verbose=0)
    with pytest.raises(ValueError, match=pattern.replace(".", r"\.")):
        model.predict(x, batch_size=batch_size, verbose=0)


def test_no_input_data():
    with pytest.raises(ValueError, match=r"No input data: pass `x`"):
        mnist_like_model().fit(None, None, verbose=0)


def test_unknown_fit_keyword():
    # Keras 1's `nb_epoch` is taken (as Keras 2 took it); Keras 0's `show_accuracy` was refused by Keras 2 too.
    with pytest.raises(TypeError, match=r"fit\(\) got unexpected keyword argument\(s\): \['show_accuracy'\]"):
        mnist_like_model().fit(*xy(), show_accuracy=True, verbose=0)


# --------------------------------------------------------------- validation data
@pytest.mark.parametrize(
    "validation_data, received",
    [
        (np.zeros((3, 784)), "ndarray"),
        ([np.zeros((3, 784))], "list"),
        ({"x": np.zeros((3, 784))}, "dict"),
        ((np.zeros((3, 784)),), "tuple"),
    ],
)
def test_validation_data_must_be_a_pair_or_triple(validation_data, received):
    with pytest.raises(ValueError, match=rf"validation_data must be a tuple \(x_val, y_val\).*got {received}"):
        mnist_like_model().fit(*xy(), validation_data=validation_data, verbose=0)


def test_validation_data_with_mismatched_lengths():
    x, y = xy()
    with pytest.raises(ValueError, match=r"x has 3, y has 2"):
        mnist_like_model().fit(x, y, validation_data=(x[:3], y[:2]), verbose=0)


def test_validation_data_with_a_wrong_shape_fails_before_training():
    model = mnist_like_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r'layer "dense" expects shape \(None, 784\), got \(3, 5\)'):
        model.fit(*xy(), validation_data=(np.zeros((3, 5)), np.zeros((3, 10))), verbose=0)
    for weight, start in zip(model.get_weights(), before):
        np.testing.assert_array_equal(weight, start)


@pytest.mark.parametrize("split", [1.5, -0.1, 1.0])
def test_bad_validation_split(split):
    with pytest.raises(ValueError, match=rf"validation_split must be in \(0, 1\), got {split}"):
        mnist_like_model().fit(*xy(), validation_split=split, verbose=0)


def test_validation_split_that_leaves_no_validation_samples():
    with pytest.raises(ValueError, match=r"validation_split=0.8 of 4 samples leaves an empty"):
        mnist_like_model().fit(*xy(4), validation_split=0.8, verbose=0)


# ------------------------------------------------------------------- callbacks
def test_callbacks_must_be_callback_instances():
    with pytest.raises(TypeError, match=r"callbacks must be lamina.callbacks.Callback instances, got function"):
        mnist_like_model().fit(*xy(), callbacks=[lambda epoch, logs: None], verbose=0)
