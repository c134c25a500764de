"""The Keras FAQ's own code blocks that fall in lamina's core, run with `keras` -> `lamina`."""

from __future__ import annotations

import numpy as np

import lamina as keras
from lamina.layers import Dense, Input
from lamina.models import Model, Sequential


def test_faq_freezing_takes_effect_at_compile():
    # "How can I 'freeze' Keras layers?" — one layer shared by a frozen and a trainable model.
    rng = np.random.default_rng(0)
    data = rng.standard_normal((64, 32)).astype("float32")
    labels = rng.standard_normal((64, 32)).astype("float32")

    x = Input(shape=(32,))
    layer = Dense(32)
    layer.trainable = False
    y = layer(x)

    frozen_model = Model(x, y)
    frozen_model.compile(optimizer="rmsprop", loss="mse")

    layer.trainable = True
    trainable_model = Model(x, y)
    trainable_model.compile(optimizer="rmsprop", loss="mse")

    before = [w.copy() for w in layer.get_weights()]
    frozen_model.fit(data, labels, verbose=0)  # this does NOT update the weights of `layer`
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)

    trainable_model.fit(data, labels, verbose=0)  # this updates the weights of `layer`
    assert not np.allclose(before[0], layer.get_weights()[0])


def test_faq_frozen_in_constructor():
    frozen_layer = Dense(4, trainable=False, input_shape=(3,))
    model = Sequential([frozen_layer, Dense(1)])
    model.compile("sgd", "mse")
    kernel = frozen_layer.get_weights()[0].copy()
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), verbose=0)
    np.testing.assert_array_equal(kernel, frozen_layer.get_weights()[0])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_faq_pop(capsys):
    model = Sequential()
    model.add(Dense(32, activation="relu", input_dim=784))
    model.add(Dense(32, activation="relu"))
    print(len(model.layers))  # "2"
    model.pop()
    print(len(model.layers))  # "1"
    assert capsys.readouterr().out.split() == ["2", "1"]
    out = model.predict(np.ones((2, 784), "float32"), verbose=0)
    assert out.shape == (2, 32)


def test_faq_intermediate_layer_output():
    model = Sequential([Dense(5, activation="relu", input_dim=3, name="my_layer"), Dense(2)])
    layer_name = "my_layer"
    intermediate_layer_model = Model(inputs=model.input, outputs=model.get_layer(layer_name).output)
    data = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
    intermediate_output = intermediate_layer_model.predict(data, verbose=0)
    kernel, bias = model.get_layer(layer_name).get_weights()
    np.testing.assert_allclose(intermediate_output, np.maximum(data @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_faq_history_and_validation_split():
    x = np.random.default_rng(2).standard_normal((50, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = Sequential([Dense(1, input_shape=(4,))])
    model.compile("sgd", "mse")
    hist = model.fit(x, y, validation_split=0.2, epochs=3, verbose=0)
    assert sorted(hist.history) == ["loss", "val_loss"]
    assert len(hist.history["val_loss"]) == 3
    # The validation set is the last 20%: its loss at the end equals evaluate on those samples.
    np.testing.assert_allclose(hist.history["val_loss"][-1], model.evaluate(x[40:], y[40:], verbose=0), rtol=1e-5)


def test_keras_import_alias():
    assert keras.Sequential is Sequential and keras.Model is Model
