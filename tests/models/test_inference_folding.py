"""At inference a convolution read only by BatchNormalization runs as one convolution: same numbers, one pass.

References are NumPy written out here: the convolution as sums over windows, BatchNormalization as Keras defines
it with its moving statistics, `(y - mean) / sqrt(variance + epsilon) * gamma + beta`.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import inference_folding
from lamina.models.inference_folding import FoldedNode, inference_nodes

RNG = np.random.default_rng(7)


def conv2d_reference(x, kernel, bias, strides=1, padding="valid"):
    """NumPy 2-D convolution, channels last, TensorFlow's SAME padding (the odd pixel after)."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        rows = max((-(-x.shape[1] // strides) - 1) * strides + kh - x.shape[1], 0)
        cols = max((-(-x.shape[2] // strides) - 1) * strides + kw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (rows // 2, rows - rows // 2), (cols // 2, cols - cols // 2), (0, 0)))
    out_h = (x.shape[1] - kh) // strides + 1
    out_w = (x.shape[2] - kw) // strides + 1
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * strides : i * strides + kh, j * strides : j * strides + kw, :]
            out[:, i, j, :] = np.einsum("bhwc,hwco->bo", window, kernel)
    return out + (0.0 if bias is None else bias)


def batch_norm_reference(y, gamma, beta, mean, variance, epsilon, axis=-1):
    shape = [1] * y.ndim
    shape[axis] = -1
    r = [np.reshape(v, shape) for v in (gamma, beta, mean, variance)]
    return (y - r[2]) / np.sqrt(r[3] + epsilon) * r[0] + r[1]


def statistics(channels: int) -> list:
    """gamma, beta, moving mean, moving variance: far from their initial values, as after training."""
    return [
        RNG.uniform(0.5, 2.0, channels).astype("float32"),
        RNG.normal(size=channels).astype("float32"),
        RNG.normal(size=channels).astype("float32"),
        RNG.uniform(0.1, 3.0, channels).astype("float32"),
    ]


def conv_bn_model(use_bias=True, padding="valid", strides=1, epsilon=1e-3):
    inputs = layers.Input((9, 9, 3))
    conv = layers.Conv2D(5, 3, strides=strides, padding=padding, use_bias=use_bias, name="conv")
    norm = layers.BatchNormalization(epsilon=epsilon, name="bn")
    outputs = layers.Activation("relu")(norm(conv(inputs)))
    model = lamina.Model(inputs, outputs)
    weights = [RNG.normal(size=(3, 3, 3, 5)).astype("float32")] + ([RNG.normal(size=5).astype("float32")] * use_bias)
    conv.set_weights(weights)
    norm.set_weights(statistics(5))
    return model


def reference(model, x):
    conv, norm = model.get_layer("conv"), model.get_layer("bn")
    kernel, bias = conv.get_weights()[0], (conv.get_weights()[1] if conv.use_bias else None)
    y = conv2d_reference(x.astype(np.float64), kernel, bias, conv.strides[0], conv.padding)
    return np.maximum(batch_norm_reference(y, *norm.get_weights(), norm.epsilon), 0.0)


@pytest.mark.parametrize("use_bias, padding, strides", [(True, "valid", 1), (False, "same", 2), (True, "same", 1)])
def test_predict_of_a_folded_pair_matches_numpy(use_bias, padding, strides):
    model = conv_bn_model(use_bias, padding, strides)
    kinds = [type(node).__name__ for node in inference_nodes(model._nodes, model._keep())]
    assert kinds == ["FoldedNode", "InPlaceNode"]  # the ReLU writes over the folded convolution's output
    x = RNG.normal(size=(4, 9, 9, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference(model, x), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(model(x)), reference(model, x), rtol=2e-5, atol=2e-5)


def test_folded_calls_never_run_the_normalization_and_training_still_does(monkeypatch):
    model = conv_bn_model()
    x, y = RNG.normal(size=(4, 9, 9, 3)).astype("float32"), RNG.normal(size=(4, 7, 7, 5)).astype("float32")
    model.compile("sgd", "mse")
    norm = model.get_layer("bn")
    expected = reference(model, x)
    calls = []
    original = type(norm).call

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("training"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(norm), "call", counted)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-5)
    model.evaluate(x, y, verbose=0)
    assert calls == []
    before = norm.get_weights()[2].copy()
    model.fit(x, y, epochs=1, verbose=0)  # batch statistics: the layer itself, and its moving mean moves
    assert calls and all(calls)
    assert not np.allclose(norm.get_weights()[2], before)


def test_a_sequential_model_folds_its_pairs_too():
    model = lamina.Sequential(
        [layers.Input((9, 9, 3)), layers.Conv2D(5, 3, name="conv"), layers.BatchNormalization(name="bn")]
    )
    model.get_layer("conv").set_weights([RNG.normal(size=(3, 3, 3, 5)).astype("float32"), np.ones(5, "float32")])
    model.get_layer("bn").set_weights(statistics(5))
    x = RNG.normal(size=(2, 9, 9, 3)).astype("float32")
    conv, norm = model.get_layer("conv"), model.get_layer("bn")
    expected = batch_norm_reference(conv2d_reference(x, *conv.get_weights()), *norm.get_weights(), norm.epsilon)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-5)


def test_channels_first_folds_on_axis_1_and_matches_numpy():
    inputs = layers.Input((3, 8, 8))
    conv = layers.Conv2D(4, 3, data_format="channels_first", name="conv")
    norm = layers.BatchNormalization(axis=1, name="bn")
    model = lamina.Model(inputs, norm(conv(inputs)))
    conv.set_weights([RNG.normal(size=(3, 3, 3, 4)).astype("float32"), RNG.normal(size=4).astype("float32")])
    norm.set_weights(statistics(4))
    assert isinstance(inference_nodes(model._nodes, model._keep())[0], FoldedNode)
    x = RNG.normal(size=(2, 3, 8, 8)).astype("float32")
    y = conv2d_reference(np.moveaxis(x, 1, -1), *conv.get_weights())
    expected = np.moveaxis(batch_norm_reference(y, *norm.get_weights(), norm.epsilon), -1, 1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-5)


def unfolded_cases():
    """Pairs that must run as two layers: (name, model)."""
    x = layers.Input((9, 9, 3))

    def pair(conv=None, norm=None, extra=None, **norm_call):
        c = (conv or layers.Conv2D(4, 3))(x)
        n = (norm or layers.BatchNormalization())(c, **norm_call)
        return [n] + ([extra(c)] if extra else [])

    def with_conv_output():
        c = layers.Conv2D(4, 3)(x)
        return [layers.BatchNormalization()(c), c]

    class MyConv(layers.Conv2D):
        pass

    return {
        "conv output also read": lamina.Model(x, pair(extra=layers.Flatten())),
        "conv output is a model output": lamina.Model(x, with_conv_output()),
        "activation before the normalization": lamina.Model(x, pair(conv=layers.Conv2D(4, 3, activation="relu"))),
        "normalization over rows, not channels": lamina.Model(x, pair(norm=layers.BatchNormalization(axis=1))),
        "training=True in the graph": lamina.Model(x, pair(training=True)),
        "a subclass of Conv2D": lamina.Model(x, pair(conv=MyConv(4, 3))),
        "activity regularizer": lamina.Model(x, pair(conv=layers.Conv2D(4, 3, activity_regularizer="l2"))),
    }


def test_pairs_that_must_stay_two_layers_are_not_folded():
    for name, model in unfolded_cases().items():
        nodes = inference_nodes(model._nodes, model._keep())
        assert nodes is model._nodes, name


def test_a_conv_output_that_is_also_a_model_output_is_computed():
    inputs = layers.Input((9, 9, 3))
    conv = layers.Conv2D(4, 3)(inputs)
    model = lamina.Model(inputs, [layers.BatchNormalization()(conv), conv])
    x = RNG.normal(size=(2, 9, 9, 3)).astype("float32")
    normalized, raw = model.predict(x, verbose=0)
    kernel, bias = model.layers[1].get_weights()
    np.testing.assert_allclose(raw, conv2d_reference(x, kernel, bias), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(normalized, raw / np.sqrt(1.0 + 1e-3), rtol=2e-5, atol=2e-5)


def test_mixed_precision_is_left_unfolded():
    dtype_policy = importlib.import_module("lamina.dtype_policies.dtype_policy")  # the module, not the function

    before = dtype_policy._GLOBAL[0]  # None: floatx's, which set_global_policy("float32") would pin
    lamina.mixed_precision.set_global_policy("mixed_float16")
    try:
        conv, norm = layers.Conv2D(4, 3), layers.BatchNormalization()
        norm(conv(np.ones((1, 5, 5, 2), "float32")))
        assert not inference_folding.foldable(conv, norm)
    finally:
        dtype_policy._GLOBAL[0] = before


# ------------------------------------------------------------------- in place
def residual_model():
    """conv-BN-relu, conv-BN, + shortcut, relu: a ResNet block."""
    inputs = layers.Input((8, 8, 4))
    y = layers.Activation("relu")(
        layers.BatchNormalization(name="bn1")(layers.Conv2D(4, 3, padding="same", name="c1")(inputs))
    )
    y = layers.BatchNormalization(name="bn2")(layers.Conv2D(4, 3, padding="same", name="c2")(y))
    outputs = layers.ReLU()(layers.Add()([y, layers.Conv2D(4, 1, name="c3")(inputs)]))
    model = lamina.Model(inputs, outputs)
    for name in ("c1", "c2"):
        model.get_layer(name).set_weights(
            [RNG.normal(size=(3, 3, 4, 4)).astype("float32"), RNG.normal(size=4).astype("float32")]
        )
    model.get_layer("c3").set_weights(
        [RNG.normal(size=(1, 1, 4, 4)).astype("float32"), RNG.normal(size=4).astype("float32")]
    )
    for name in ("bn1", "bn2"):
        model.get_layer(name).set_weights(statistics(4))
    return model


def residual_reference(model, x):
    def conv(name, value):
        return conv2d_reference(value, *model.get_layer(name).get_weights(), padding=model.get_layer(name).padding)

    def norm(name, value):
        return batch_norm_reference(value, *model.get_layer(name).get_weights(), 1e-3)

    y = np.maximum(norm("bn1", conv("c1", x)), 0.0)
    return np.maximum(norm("bn2", conv("c2", y)) + conv("c3", x), 0.0)


def test_a_residual_block_runs_folded_and_in_place_and_matches_numpy():
    model = residual_model()
    kinds = [type(node).__name__ for node in inference_nodes(model._nodes, model._keep())]
    assert kinds.count("FoldedNode") == 2 and kinds.count("InPlaceNode") == 3  # two ReLUs and the Add
    x = RNG.normal(size=(3, 8, 8, 4)).astype("float32")
    kept = x.copy()
    expected = residual_reference(model, x.astype(np.float64))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(model(x)), expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(model.predict_on_batch(x), expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(x, kept)


def test_inputs_and_views_of_them_are_never_written_over():
    inputs = layers.Input((6,))
    direct = layers.Activation("relu")(inputs)  # the caller's array: read, never written
    viewed = layers.ReLU()(layers.Reshape((2, 3))(inputs))  # a view of the caller's array on torch
    summed = layers.Add()([inputs, layers.Dense(6, name="dense")(inputs)])
    model = lamina.Model(inputs, [direct, viewed, summed])
    assert inference_nodes(model._nodes, model._keep()) is model._nodes
    x = RNG.normal(size=(4, 6)).astype("float32")
    kept = x.copy()
    for _ in range(2):
        out = model.predict(x, verbose=0)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_allclose(out[0], np.maximum(kept, 0.0))
    np.testing.assert_allclose(out[1], np.maximum(kept, 0.0).reshape(4, 2, 3))
    kernel, bias = model.get_layer("dense").get_weights()
    np.testing.assert_allclose(out[2], kept + kept @ kernel + bias, rtol=1e-5, atol=1e-5)


def test_a_value_read_twice_is_not_written_over():
    inputs = layers.Input((5, 5, 2))
    conv = layers.Conv2D(3, 1, name="conv")(inputs)
    model = lamina.Model(inputs, [layers.ReLU()(conv), layers.Activation("sigmoid")(conv)])
    assert inference_nodes(model._nodes, model._keep()) is model._nodes
    x = RNG.normal(size=(2, 5, 5, 2)).astype("float32")
    kernel, bias = model.get_layer("conv").get_weights()
    raw = conv2d_reference(x, kernel, bias)
    relu, sigmoid = model.predict(x, verbose=0)
    np.testing.assert_allclose(relu, np.maximum(raw, 0.0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sigmoid, 1.0 / (1.0 + np.exp(-raw)), rtol=1e-5, atol=1e-5)


def test_layers_changed_after_the_first_predict_are_run_as_they_are_now():
    # Keras users edit layers in place (keras-vis sets `layer.activation = linear`); a Functional model's plan is
    # made on its first inference call, and a pair or ReLU changed since runs its layers' own calls.
    model = residual_model()
    x = RNG.normal(size=(2, 8, 8, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), residual_reference(model, x), rtol=2e-5, atol=2e-5)
    conv, relu = model.get_layer("c1"), model.layers[3]
    assert type(relu).__name__ == "Activation"
    conv.activation = lamina.activations.get("tanh")  # inside the first folded pair
    relu.activation = lamina.activations.get("linear")  # an in-place ReLU no longer

    def changed_reference(value):
        c1 = conv2d_reference(value, *conv.get_weights(), padding="same")
        y = batch_norm_reference(np.tanh(c1), *model.get_layer("bn1").get_weights(), 1e-3)
        y = batch_norm_reference(
            conv2d_reference(y, *model.get_layer("c2").get_weights(), padding="same"),
            *model.get_layer("bn2").get_weights(),
            1e-3,
        )
        return np.maximum(y + conv2d_reference(value, *model.get_layer("c3").get_weights()), 0.0)

    expected = changed_reference(x.astype(np.float64))
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(model(x)), expected, rtol=2e-5, atol=2e-5)
    if lamina.backend.backend() == "torch":  # eager: predict too (JAX's compiled predict is kept, as Keras's is)
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-5)
