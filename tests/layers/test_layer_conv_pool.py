"""Conv2D and MaxPooling2D, against Keras 3 and against NumPy references written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

import lamina
from lamina import layers

CONV_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "use_bias")
POOL_KEYS = ("pool_size", "strides", "padding", "data_format")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _same_padding(size, window, stride):
    """(out, before, after) as TensorFlow/Keras pad for 'same': the extra pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


def _to_channels_last(x, data_format):
    return np.transpose(x, (0, 2, 3, 1)) if data_format == "channels_first" else x


def _from_channels_last(x, data_format):
    return np.transpose(x, (0, 3, 1, 2)) if data_format == "channels_first" else x


def np_conv2d(x, kernel, bias, strides, padding, dilation, data_format="channels_last", groups=1):
    """A direct convolution: for each kernel tap, a strided slice of the input times that tap's matrix."""
    x = _to_channels_last(x, data_format)
    kh, kw, cin_per_group, cout = kernel.shape
    sh, sw = strides
    dh, dw = dilation
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    height, width = x.shape[1:3]
    if padding == "same":
        out_h, top, bottom = _same_padding(height, span_h, sh)
        out_w, left, right = _same_padding(width, span_w, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    else:
        out_h, out_w = (height - span_h) // sh + 1, (width - span_w) // sw + 1
    out = np.zeros((x.shape[0], out_h, out_w, cout), "float64")
    cout_per_group = cout // groups
    for g in range(groups):
        xs = x[..., g * cin_per_group : (g + 1) * cin_per_group]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, i * dh : i * dh + (out_h - 1) * sh + 1 : sh, j * dw : j * dw + (out_w - 1) * sw + 1 : sw]
                tap = kernel[i, j, :, g * cout_per_group : (g + 1) * cout_per_group]
                out[..., g * cout_per_group : (g + 1) * cout_per_group] += patch @ tap
    if bias is not None:
        out = out + bias
    return _from_channels_last(out, data_format)


def np_max_pool2d(x, pool, strides, padding, data_format="channels_last"):
    x = _to_channels_last(x, data_format)
    (ph, pw), (sh, sw) = pool, strides
    height, width = x.shape[1:3]
    if padding == "same":
        out_h, top, bottom = _same_padding(height, ph, sh)
        out_w, left, right = _same_padding(width, pw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    else:
        out_h, out_w = (height - ph) // sh + 1, (width - pw) // sw + 1
    out = np.empty((x.shape[0], out_h, out_w, x.shape[3]), x.dtype)
    for r in range(out_h):
        for c in range(out_w):
            out[:, r, c] = x[:, r * sh : r * sh + ph, c * sw : c * sw + pw].max(axis=(1, 2))
    return _from_channels_last(out, data_format)


def test_numpy_conv_reference_on_a_hand_computed_case():
    """The reference itself: a 3x3 input, a 2x2 all-ones kernel sums each 2x2 window."""
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    kernel = np.ones((2, 2, 1, 1), "float32")
    out = np_conv2d(x, kernel, None, (1, 1), "valid", (1, 1))
    np.testing.assert_array_equal(out[0, :, :, 0], [[8, 12], [20, 24]])
    same = np_conv2d(x, kernel, None, (1, 1), "same", (1, 1))
    np.testing.assert_array_equal(same[0, :, :, 0], [[8, 12, 7], [20, 24, 13], [13, 15, 8]])


CONV_CASES = [
    dict(padding="valid"),
    dict(padding="same"),
    dict(padding="valid", strides=2),
    dict(padding="same", strides=(2, 3)),
    dict(padding="valid", dilation_rate=2),
    dict(padding="same", dilation_rate=(1, 2)),
    dict(padding="valid", data_format="channels_first"),
    dict(padding="same", strides=2, data_format="channels_first"),
    dict(padding="same", groups=3, filters=6),
    dict(padding="valid", use_bias=False, activation="relu"),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_conv2d_matches_keras_and_numpy(keras3, case):
    kwargs = {"filters": 4, "kernel_size": (3, 2), **case}
    data_format = kwargs.get("data_format", "channels_last")
    x = _x(2, 3, 7, 6) if data_format == "channels_first" else _x(2, 7, 6, 3)
    use_bias = kwargs.get("use_bias", True)

    def reference(x, w, training):
        out = np_conv2d(
            x,
            w["kernel"],
            w.get("bias"),
            _pair(kwargs.get("strides", 1)),
            kwargs["padding"],
            _pair(kwargs.get("dilation_rate", 1)),
            data_format,
            kwargs.get("groups", 1),
        )
        return np.maximum(out, 0) if kwargs.get("activation") == "relu" else out

    check_layer(
        lambda: layers.Conv2D(**kwargs),
        x,
        make_keras=lambda: keras3.layers.Conv2D(**kwargs),
        reference=reference,
        weight_names=["kernel", "bias"] if use_bias else ["kernel"],
        keras_config_keys=CONV_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def test_conv2d_kernel_shape_and_default_name():
    layer = layers.Conv2D(8, 3)
    layer(np.zeros((1, 5, 5, 2), "float32"))
    assert layer.name == "conv2d"
    assert [w.shape for w in layer.weights] == [(3, 3, 2, 8), (8,)]
    assert layers.Convolution2D is layers.Conv2D


def test_conv2d_wrong_channels_names_layer_and_shape():
    layer = layers.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r'"conv2d".*\(1, 5, 5, 4\)'):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_conv2d_wrong_rank_names_layer():
    with pytest.raises(ValueError, match=r'"conv2d".*4 dimensions.*\(5, 5, 3\)'):
        layers.Conv2D(2, 3)(np.zeros((5, 5, 3), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(padding="full"), "padding"),
        (dict(kernel_size=(3, 3, 3)), "kernel_size"),
        (dict(filters=5, groups=2), "groups"),
    ],
)
def test_conv2d_bad_arguments_name_the_layer(kwargs, match):
    with pytest.raises(ValueError, match=f'"conv2d".*{match}'):
        layers.Conv2D(**{"filters": 4, "kernel_size": 3, **kwargs})


def test_conv2d_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match=r'"conv2d".*groups=2.*\(1, 4, 4, 3\)'):
        layers.Conv2D(4, 1, groups=2)(np.zeros((1, 4, 4, 3), "float32"))


def test_conv2d_kernel_regularizer_loss():
    layer = layers.Conv2D(2, 1, kernel_regularizer=lamina.regularizers.l1(0.5))
    layer(np.zeros((1, 2, 2, 3), "float32"))
    kernel = np.full((1, 1, 3, 2), -2.0, "float32")
    layer.set_weights([kernel, np.zeros(2, "float32")])
    assert [float(lamina.ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([0.5 * 12.0])


# -------------------------------------------------------------- MaxPooling2D
POOL_CASES = [
    dict(),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(2, 3), strides=1),
    dict(pool_size=2, strides=(1, 2), padding="same"),
    dict(pool_size=3, padding="same"),
    dict(pool_size=2, data_format="channels_first"),
    dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_max_pooling2d_matches_keras_and_numpy(keras3, case):
    data_format = case.get("data_format", "channels_last")
    x = _x(2, 3, 7, 6) if data_format == "channels_first" else _x(2, 7, 6, 3)
    pool = _pair(case.get("pool_size", 2))
    strides = pool if case.get("strides") is None else _pair(case["strides"])
    check_layer(
        lambda: layers.MaxPooling2D(**case),
        x,
        make_keras=lambda: keras3.layers.MaxPooling2D(**case),
        reference=lambda x, w, training: np_max_pool2d(x, pool, strides, case.get("padding", "valid"), data_format),
        keras_config_keys=POOL_KEYS,
    )


def test_max_pooling2d_hand_computed():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 2, 3, 7]], "float32").reshape(1, 4, 4, 1)
    out = as_numpy(layers.MaxPooling2D()(x))
    np.testing.assert_array_equal(out[0, :, :, 0], [[5, 8], [9, 7]])
    # 'same' with a 3x3 window and stride 2 on 4x4 pads one row and column after, none before.
    same = as_numpy(layers.MaxPool2D(pool_size=3, strides=2, padding="same")(x))
    np.testing.assert_array_equal(same[0, :, :, 0], [[8, 8], [9, 7]])


def test_max_pooling2d_is_all_negative_safe():
    """Padding must never win the max: 'same' pools over all-negative inputs stay negative."""
    x = -np.ones((1, 3, 3, 1), "float32") - np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    out = as_numpy(layers.MaxPooling2D(pool_size=2, padding="same")(x))
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_max_pooling2d_bad_arguments_and_rank():
    with pytest.raises(ValueError, match='"max_pooling2d".*padding'):
        layers.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match='"max_pooling2d_1".*pool_size'):
        layers.MaxPooling2D(pool_size=(2, 2, 2))
    with pytest.raises(ValueError, match=r'"max_pooling2d_2".*4 dimensions.*\(4, 4\)'):
        layers.MaxPooling2D()(np.zeros((4, 4), "float32"))
