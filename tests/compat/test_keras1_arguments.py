"""Keras 1 arguments, as Keras 2.3.1 still took them: lamina's layers and `keras.legacy.interfaces`.

A Keras 1 call must build the layer the Keras 2 call builds (the same config, so the same saved file) and
warn with Keras 2's text; Keras 2/3 calls must pass untouched and silent. Numbers are checked against NumPy.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import lamina
from lamina import backend as K
from lamina import compat, layers
from lamina.compat import legacy_interfaces as interfaces
from lamina.compat.legacy_layers import AtrousConvolution2D

RNG = np.random.RandomState(7)


def _made(make):
    """The layer `make()` builds and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = make()
    return layer, [str(warning.message) for warning in caught if warning.category is UserWarning]


# (Keras 1 call, the Keras 2 call it means); both name the layer "x" so that the configs compare whole.
FAMILIES = {
    "dense": (
        lambda: layers.Dense(output_dim=3, init="he_normal", W_regularizer="l2", bias=False, name="x"),
        lambda: layers.Dense(3, kernel_initializer="he_normal", kernel_regularizer="l2", use_bias=False, name="x"),
    ),
    "conv1d": (
        lambda: layers.Convolution1D(nb_filter=4, filter_length=3, border_mode="same", subsample_length=2, name="x"),
        lambda: layers.Conv1D(4, 3, strides=2, padding="same", name="x"),
    ),
    "conv2d_positional": (
        lambda: layers.Convolution2D(
            8, 3, 2, border_mode="same", subsample=(2, 2), init="he_normal", dim_ordering="th", name="x"
        ),
        lambda: layers.Conv2D(
            8, (3, 2), strides=(2, 2), padding="same", kernel_initializer="he_normal", data_format="channels_first",
            name="x",
        ),
    ),
    "conv2d_keywords": (
        lambda: layers.Convolution2D(nb_filter=8, nb_row=3, nb_col=2, b_constraint="non_neg", name="x"),
        lambda: layers.Conv2D(8, (3, 2), bias_constraint="non_neg", name="x"),
    ),
    "conv3d": (
        lambda: layers.Convolution3D(4, 3, 2, 1, border_mode="same", dim_ordering="tf", name="x"),
        lambda: layers.Conv3D(4, (3, 2, 1), padding="same", data_format="channels_last", name="x"),
    ),
    "atrous": (
        lambda: AtrousConvolution2D(8, 3, 3, atrous_rate=(2, 2), border_mode="same", name="x"),
        lambda: layers.Conv2D(8, (3, 3), dilation_rate=(2, 2), padding="same", name="x"),
    ),
    "deconv2d": (
        lambda: layers.Deconvolution2D(4, 3, 3, (None, 8, 8, 4), border_mode="same", subsample=(2, 2), name="x"),
        lambda: layers.Conv2DTranspose(4, (3, 3), strides=(2, 2), padding="same", name="x"),
    ),
    "separable": (
        lambda: layers.SeparableConvolution2D(8, 3, 3, init="ones", name="x"),
        lambda: layers.SeparableConv2D(8, (3, 3), depthwise_initializer="ones", pointwise_initializer="ones", name="x"),
    ),
    "pooling1d": (
        lambda: layers.MaxPooling1D(pool_length=3, stride=1, border_mode="same", name="x"),
        lambda: layers.MaxPooling1D(pool_size=3, strides=1, padding="same", name="x"),
    ),
    "pooling2d": (
        lambda: layers.AveragePooling2D((2, 2), border_mode="same", dim_ordering="th", name="x"),
        lambda: layers.AveragePooling2D((2, 2), padding="same", data_format="channels_first", name="x"),
    ),
    "global_pooling": (
        lambda: layers.GlobalMaxPooling2D(dim_ordering="th", name="x"),
        lambda: layers.GlobalMaxPooling2D(data_format="channels_first", name="x"),
    ),
    "dropout": (lambda: layers.Dropout(p=0.5, name="x"), lambda: layers.Dropout(0.5, name="x")),
    "spatial_dropout": (
        lambda: layers.SpatialDropout2D(p=0.2, dim_ordering="th", name="x"),
        lambda: layers.SpatialDropout2D(0.2, data_format="channels_first", name="x"),
    ),
    "gaussian_noise": (lambda: layers.GaussianNoise(sigma=0.1, name="x"), lambda: layers.GaussianNoise(0.1, name="x")),
    "embedding": (
        lambda: layers.Embedding(20, 4, init="uniform", W_regularizer="l1", name="x"),
        lambda: layers.Embedding(20, 4, embeddings_initializer="uniform", embeddings_regularizer="l1", name="x"),
    ),
    "lstm": (
        lambda: layers.LSTM(
            output_dim=4, inner_init="orthogonal", forget_bias_init="one", inner_activation="hard_sigmoid",
            dropout_W=0.1, dropout_U=0.2, consume_less="gpu", name="x",
        ),
        lambda: layers.LSTM(
            4, recurrent_initializer="orthogonal", unit_forget_bias=True, recurrent_activation="hard_sigmoid",
            dropout=0.1, recurrent_dropout=0.2, implementation=2, name="x",
        ),
    ),
    "gru": (
        lambda: layers.GRU(output_dim=3, U_regularizer="l2", init="zeros", name="x"),
        lambda: layers.GRU(3, recurrent_regularizer="l2", kernel_initializer="zeros", name="x"),
    ),
    "simple_rnn": (
        lambda: layers.SimpleRNN(output_dim=2, b_regularizer="l1", name="x"),
        lambda: layers.SimpleRNN(2, bias_regularizer="l1", name="x"),
    ),
    "convlstm2d": (
        lambda: layers.ConvLSTM2D(nb_filter=2, nb_row=3, nb_col=3, border_mode="same", inner_init="zeros", name="x"),
        lambda: layers.ConvLSTM2D(2, (3, 3), padding="same", recurrent_initializer="zeros", name="x"),
    ),
    "batchnorm": (
        lambda: layers.BatchNormalization(mode=0, beta_init="ones", gamma_init="zeros", momentum=0.9, name="x"),
        lambda: layers.BatchNormalization(beta_initializer="ones", gamma_initializer="zeros", momentum=0.9, name="x"),
    ),
    "zero_padding": (
        lambda: layers.ZeroPadding2D(padding=(1, 2), dim_ordering="th", name="x"),
        lambda: layers.ZeroPadding2D(padding=(1, 2), data_format="channels_first", name="x"),
    ),
    "cropping": (
        lambda: layers.Cropping3D(((1, 1), (0, 1), (2, 0)), dim_ordering="th", name="x"),
        lambda: layers.Cropping3D(((1, 1), (0, 1), (2, 0)), data_format="channels_first", name="x"),
    ),
    "upsampling": (
        lambda: layers.UpSampling2D((2, 3), dim_ordering="th", name="x"),
        lambda: layers.UpSampling2D((2, 3), data_format="channels_first", name="x"),
    ),
    "upsampling1d": (lambda: layers.UpSampling1D(length=3, name="x"), lambda: layers.UpSampling1D(3, name="x")),
}  # fmt: skip


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_keras1_call_builds_the_keras2_layer_and_warns(family):
    keras1, keras2 = FAMILIES[family]
    old, messages = _made(keras1)
    new, silent = _made(keras2)
    assert type(old) is type(new)
    assert old.get_config() == new.get_config()
    assert silent == []
    assert any(message.startswith("Update your `") for message in messages), messages


def test_warnings_say_what_keras2_said():
    _, messages = _made(lambda: layers.Dense(output_dim=3, activation="relu"))
    assert messages == ['Update your `Dense` call to the Keras 2 API: `Dense(activation="relu", units=3)`']
    _, messages = _made(lambda: layers.Convolution2D(32, 3, 3, border_mode="same", subsample=(2, 2)))
    assert messages == [
        'Update your `Conv2D` call to the Keras 2 API: `Conv2D(32, (3, 3), strides=(2, 2), padding="same")`'
    ]
    _, messages = _made(lambda: layers.Embedding(10, 3, dropout=0.2))
    assert messages == [
        "The `dropout` argument is no longer support in `Embedding`. You can apply a "
        "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get the same behavior."
    ]
    layer, messages = _made(lambda: layers.LSTM(output_dim=2, forget_bias_init="zero"))
    assert messages[0].startswith("The `forget_bias_init` argument has been ignored.")
    assert messages[1] == "Update your `LSTM` call to the Keras 2 API: `LSTM(units=2)`"
    assert layer.cell.unit_forget_bias  # Keras 2's default stays: the old initializer is ignored


def test_the_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layers.MaxPooling1D(pool_length=2)
    assert caught[0].filename == __file__


def test_keras2_and_keras3_calls_pass_unchanged_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Conv2D(8, 3, 2, padding="same").strides == (2, 2)  # Keras 3's third positional: strides
        assert layers.Conv2D(8, 3, 1, "same").padding == "same"
        assert layers.Conv2D(8, (3, 3), 2).strides == (2, 2)
        assert layers.Dense(3, "relu").get_config()["activation"] == "relu"
        assert layers.Dropout(0.3, None, 1).rate == 0.3
        assert layers.Conv3D(2, 3, 2).strides == (2, 2, 2)


def test_keras1_and_keras2_names_together_or_dropped_modes_are_errors():
    with pytest.raises(TypeError, match="both the legacy keyword argument `output_dim` and the Keras 2 keyword"):
        layers.Dense(output_dim=4, units=3)
    with pytest.raises(TypeError, match="`mode=1` and `mode=2` are no longer supported"):
        layers.BatchNormalization(mode=2)


def test_zero_padding_takes_keras1_dict_padding():
    layer, messages = _made(lambda: layers.ZeroPadding2D(padding={"top_pad": 1, "right_pad": 2}))
    assert layer.get_config()["padding"] == layers.ZeroPadding2D(((1, 0), (0, 2))).get_config()["padding"]
    assert messages[0].startswith("The `padding` argument in the Keras 2 API no longer accepts dict types.")
    x = RNG.rand(1, 2, 2, 1).astype("float32")
    expected = np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0)))
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(layer(x)), expected)


def test_keras1_model_constructor_input_dtype_and_generator_arguments():
    inputs, messages = _made(lambda: layers.Input(shape=(3,), input_dtype="float16"))
    assert inputs.dtype == "float16" and "`InputLayer(" in messages[0]
    inputs = layers.Input(shape=(3,))
    outputs = layers.Dense(2, kernel_initializer="ones")(inputs)
    model, messages = _made(lambda: lamina.Model(input=inputs, output=outputs))
    assert model.inputs[0] is inputs and messages[0].startswith("Update your `Model` call")
    model.compile("sgd", "mse")

    def batches():
        while True:
            yield np.ones((2, 3), "float32"), np.zeros((2, 2), "float32")

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        history = model.fit_generator(batches(), samples_per_epoch=3, nb_epoch=2, verbose=0)
        assert history.params["epochs"] == 2 and history.params["steps"] == 3
        assert model.fit(np.ones((2, 3)), np.zeros((2, 2)), nb_epoch=3, verbose=0).epoch == [0, 1, 2]
        loss = model.evaluate_generator(batches(), val_samples=1)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(loss, np.mean((np.ones((2, 3)) @ kernel + bias) ** 2), rtol=1e-5)


class MyDense(layers.Layer):
    """A Keras 2 custom layer that took Keras 1 arguments through Keras 2's decorator."""

    @interfaces.legacy_dense_support
    def __init__(self, units, kernel_initializer="glorot_uniform", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.kernel_initializer, self.use_bias = units, kernel_initializer, use_bias


def test_a_decorated_custom_layer_gets_keras2_arguments():
    layer, messages = _made(lambda: MyDense(output_dim=3, init="zeros", bias=False))
    assert (layer.units, layer.kernel_initializer, layer.use_bias) == (3, "zeros", False)
    assert messages == [
        'Update your `MyDense` call to the Keras 2 API: `MyDense(units=3, kernel_initializer="zeros", use_bias=False)`'
    ]
    with pytest.raises(TypeError, match=r"`MyDense` can accept only 1 positional arguments \('units',\)"):
        MyDense(3, "zeros")
    with pytest.raises(ValueError, match="passing both `kernel_size` and `strides` as integer positional"):
        interfaces.conv2d_args_preprocessor((None, 8, 3, 3), {"padding": "same"})


def test_generate_legacy_interface_with_values_and_a_preprocessor():
    def preprocess(args, kwargs):
        if "scale" in kwargs:
            kwargs["factor"] = 2 * kwargs.pop("scale")
            return args, kwargs, [("factor", "scale")]
        return args, kwargs, []

    legacy = interfaces.generate_legacy_method_interface(
        allowed_positional_args=["mode"],
        conversions=[("how", "mode")],
        value_conversions={"how": {"old": "new"}},
        preprocessor=preprocess,
    )

    @legacy
    def shape(self, mode="default", factor=1):
        return mode, factor

    result, messages = _made(lambda: shape(None, how="old", scale=3))
    assert result == ("new", 6)
    assert messages == ['Update your `shape` call to the Keras 2 API: `shape(factor=6, mode="new")`']
    assert shape._original_function.__name__ == "shape"


def test_keras_legacy_interfaces_path_serves_the_decorators():
    compat.install(quiet=True)
    try:
        module = importlib.import_module("keras.legacy.interfaces")
        assert module.legacy_get_updates_support is interfaces.legacy_get_updates_support
        assert importlib.import_module("keras.layers").AtrousConvolution2D is AtrousConvolution2D
    finally:
        compat.uninstall()


class Keras1SGD(lamina.optimizers.SGD):
    """A Keras 2 custom optimizer whose `get_updates` Keras 1 code still called as (params, constraints, loss)."""

    @interfaces.legacy_get_updates_support
    def get_updates(self, loss, params):
        self.received = (loss, params)
        return super().get_updates(loss, params)


def test_a_decorated_get_updates_takes_keras1_order_and_trains_as_numpy():
    inputs = layers.Input(shape=(3,))
    model = lamina.Model(inputs, layers.Dense(1)(inputs))
    target = layers.Input(shape=(1,))
    loss = K.mean(K.square(model.output - target))
    optimizer = Keras1SGD(learning_rate=0.1)
    updates = optimizer.get_updates(model.trainable_weights, {}, loss)
    assert optimizer.received[0] is loss and optimizer.received[1] == model.trainable_weights
    train = K.function([inputs, target], [loss], updates=updates)
    x, y = RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(4, 1)).astype("float32")
    kernel, bias = model.get_weights()
    d_out = 2 * (x @ kernel + bias - y) / 4
    train([x, y])
    np.testing.assert_allclose(model.get_weights()[0], kernel - 0.1 * x.T @ d_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], bias - 0.1 * d_out.sum(0), rtol=1e-5, atol=1e-6)


def _numpy_forward(x, conv_kernel, conv_bias, dense_kernel, dense_bias):
    """Conv2D 3x3 "same" + ReLU, MaxPooling2D 2x2, Flatten, Dense + softmax, in NumPy (channels_last)."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    rows, cols = x.shape[1:3]
    conv = np.zeros((x.shape[0], rows, cols, conv_kernel.shape[-1]))
    for i in range(3):
        for j in range(3):
            conv += padded[:, i : i + rows, j : j + cols, :] @ conv_kernel[i, j]
    conv = np.maximum(conv + conv_bias, 0.0)
    pooled = conv.reshape(x.shape[0], rows // 2, 2, cols // 2, 2, -1).max(axis=(2, 4))
    logits = pooled.reshape(x.shape[0], -1) @ dense_kernel + dense_bias
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_a_keras1_sequential_trains_and_predicts_as_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lamina.Sequential()
        model.add(layers.Convolution2D(2, 3, 3, border_mode="same", activation="relu", input_shape=(4, 4, 1)))
        model.add(layers.MaxPooling2D(pool_size=(2, 2), border_mode="valid"))
        model.add(layers.Flatten())
        model.add(layers.Dense(output_dim=3, init="uniform", activation="softmax"))
    weights = [RNG.normal(size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    x = RNG.rand(5, 4, 4, 1).astype("float32")
    y = np.eye(3, dtype="float32")[RNG.randint(0, 3, 5)]
    expected = _numpy_forward(x, *weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    model.compile(lamina.optimizers.SGD(0.1), "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = model.fit(x, y, batch_size=5, nb_epoch=1, verbose=0)
    # One batch: the loss logged is the loss before the step, and the step moved the weights.
    assert history.history["loss"][0] == pytest.approx(float(((expected - y) ** 2).mean()), rel=1e-4)
    assert not np.allclose(model.get_weights()[2], weights[2])
    assert model.get_config()["layers"][1]["config"]["kernel_size"] in ([3, 3], (3, 3))
