"""Gradients of the convolution families: one SGD step in lamina equals one in Keras 3, given the same weights.

Also: a Keras 3 model built from every layer of the convolution/pooling/reshaping families, saved by Keras,
loads in lamina and predicts the same.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

import lamina
from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# (class name, constructor arguments, input shape without the batch)
FAMILIES = [
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (7, 2)),
    ("Conv1D", dict(filters=4, kernel_size=2, strides=2, groups=2, data_format="channels_first"), (2, 7)),
    ("Conv2D", dict(filters=3, kernel_size=3, strides=2, padding="same", activation="relu"), (5, 5, 2)),
    ("Conv2D", dict(filters=2, kernel_size=(2, 3), padding="valid", data_format="channels_first"), (3, 5, 5)),
    ("Conv3D", dict(filters=2, kernel_size=2, padding="same"), (3, 3, 3, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2, strides=2, data_format="channels_first"), (2, 4, 4, 4)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1, padding="same"), (3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=2, data_format="channels_first"), (2, 3, 3)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=(1, 2, 1)), (2, 2, 2, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (6, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2), (5, 5, 3)),
    ("DepthwiseConv2D", dict(kernel_size=2, data_format="channels_first"), (3, 4, 4)),
    ("SeparableConv1D", dict(filters=3, kernel_size=3, depth_multiplier=2), (6, 2)),
    ("SeparableConv2D", dict(filters=3, kernel_size=3, padding="same", activation="tanh"), (4, 4, 2)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, strides=2, data_format="channels_first"), (2, 4, 4)),
]


def _ids(family):
    name, kwargs, _ = family
    return name + ("-channels_first" if kwargs.get("data_format") == "channels_first" else "")


@pytest.mark.parametrize("family", FAMILIES, ids=[f"{i}-{_ids(f)}" for i, f in enumerate(FAMILIES)])
def test_one_sgd_step_matches_keras(keras3, family):
    name, kwargs, shape = family
    x = _x(4, *shape)
    model = lamina.Sequential([lamina.Input(shape=shape), getattr(layers, name)(**kwargs)])
    keras_model = keras3.Sequential([keras3.Input(shape=shape), getattr(keras3.layers, name)(**kwargs)])
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in model.weights]
    model.set_weights(weights)
    keras_model.set_weights(weights)
    y = _x(4, *keras_model.output_shape[1:], seed=2)

    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
    # Keras runs eagerly: the same arithmetic, without compiling a step for one call.
    keras_model.compile(optimizer=keras3.optimizers.SGD(learning_rate=0.1), loss="mse", jit_compile=False)
    loss = model.train_on_batch(x, y)
    keras_loss = keras_model.train_on_batch(x, y)

    assert_close(np.asarray(loss), np.asarray(keras_loss), rtol=1e-5, atol=1e-6, what="loss")
    for got, want, before, variable in zip(model.get_weights(), keras_model.get_weights(), weights, model.weights):
        assert not np.allclose(want, before), f"{variable.path} did not move"
        assert_close(got, want, rtol=1e-4, atol=1e-5, what=f"{variable.path} after one SGD step")


def test_keras3_saved_model_with_every_family_loads_and_predicts(keras3):
    """Keras writes the configs (Keras 3 names and forms); lamina re-creates every layer from them."""
    k = keras3.layers
    keras_model = keras3.Sequential(
        [
            keras3.Input(shape=(8, 8, 2)),
            k.ZeroPadding2D(((1, 0), (0, 1))),
            k.Conv2D(4, 3, padding="same", groups=2, activation="relu"),
            k.DepthwiseConv2D(3, depth_multiplier=2),
            k.SeparableConv2D(4, 2, padding="same"),
            k.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
            k.Cropping2D((1, 2)),
            k.MaxPooling2D(3, strides=2, padding="same"),
            k.AveragePooling2D(2, padding="same"),
            k.UpSampling2D((2, 1), interpolation="bilinear"),
            k.GlobalAveragePooling2D(keepdims=True),
            k.Reshape((1, 3)),
            k.Conv1D(2, 1),
            k.UpSampling1D(2),
            k.GlobalMaxPooling1D(),
        ]
    )
    x = _x(2, 8, 8, 2)
    expected = np.asarray(keras_model(x))
    with tempfile.TemporaryDirectory() as folder:
        for filename in ("model.keras", "model.h5"):
            path = os.path.join(folder, filename)
            keras_model.save(path)
            loaded = lamina.models.load_model(path)
            assert [type(layer).__name__ for layer in loaded.layers] == [
                type(layer).__name__ for layer in keras_model.layers
            ]
            assert_close(as_numpy(loaded(x)), expected, rtol=1e-4, atol=1e-5, what=filename)
