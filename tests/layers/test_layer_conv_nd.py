"""Conv1D, Conv3D, DepthwiseConv1D/2D and SeparableConv1D/2D, against Keras 3 and NumPy references written here.

(Conv2D has its own file, test_layer_conv_pool.py; transposed convolutions are in test_layer_conv_transpose.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

from lamina import layers

CONV_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "use_bias")
DEPTHWISE_KEYS = ("kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier", "use_bias")
SEPARABLE_KEYS = DEPTHWISE_KEYS + ("filters",)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _ids(case):
    return "-".join(f"{k}={v}" for k, v in case.items()) or "default"


def _input(rank, channels, data_format, size=5):
    spatial = (size,) * rank
    return _x(2, channels, *spatial) if data_format == "channels_first" else _x(2, *spatial, channels)


def np_conv(x, kernel, strides, padding, dilation, groups=1):
    """Direct N-D convolution, channels_last, float64; 'causal' pads only before (1-D)."""
    rank = x.ndim - 2
    sizes, cin_g, cout = kernel.shape[:rank], kernel.shape[-2], kernel.shape[-1]
    spans = [(k - 1) * d + 1 for k, d in zip(sizes, dilation)]
    x = x.astype("float64")
    if padding == "causal":
        x = np.pad(x, [(0, 0), (spans[0] - 1, 0), (0, 0)])
    elif padding == "same":
        pads = []
        for i in range(rank):
            total = max((math.ceil(x.shape[1 + i] / strides[i]) - 1) * strides[i] + spans[i] - x.shape[1 + i], 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    outs = [(x.shape[1 + i] - spans[i]) // strides[i] + 1 for i in range(rank)]
    out = np.zeros((x.shape[0], *outs, cout))
    cout_g = cout // groups
    for tap in np.ndindex(*sizes):
        start = [tap[i] * dilation[i] for i in range(rank)]
        window = tuple(slice(start[i], start[i] + (outs[i] - 1) * strides[i] + 1, strides[i]) for i in range(rank))
        patch = x[(slice(None), *window)]
        for g in range(groups):
            taps = kernel[tap][:, g * cout_g : (g + 1) * cout_g]
            out[..., g * cout_g : (g + 1) * cout_g] += patch[..., g * cin_g : (g + 1) * cin_g] @ taps
    return out


def np_depthwise(x, kernel, strides, padding, dilation):
    """Input channel c under filter m gives output channel c * multiplier + m."""
    channels = kernel.shape[-2]
    per_channel = [
        np_conv(x[..., c : c + 1], kernel[..., c : c + 1, :], strides, padding, dilation) for c in range(channels)
    ]
    return np.concatenate(per_channel, axis=-1)


def _finish(out, bias, activation, data_format):
    if bias is not None:
        out = out + bias
    if activation == "relu":
        out = np.maximum(out, 0)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _last(x, data_format):
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


# ------------------------------------------------------------------- Conv1D/3D
CONV_CASES = [
    (1, dict()),
    (1, dict(padding="same", strides=2)),
    (1, dict(padding="causal", dilation_rate=2)),
    (1, dict(padding="causal", strides=2, use_bias=False)),
    (1, dict(padding="valid", groups=2, filters=4, activation="relu")),
    (1, dict(padding="same", strides=3, data_format="channels_first")),
    (1, dict(padding="causal", data_format="channels_first")),
    (3, dict()),
    (3, dict(padding="same", strides=(2, 1, 2))),
    (3, dict(padding="same", dilation_rate=(1, 2, 1), groups=2, filters=4)),
    (3, dict(padding="valid", strides=2, data_format="channels_first")),
]


@pytest.mark.parametrize("rank, case", CONV_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_conv1d_conv3d_match_keras_and_numpy(keras3, rank, case):
    kwargs = {"filters": 3, "kernel_size": 3 if rank == 1 else (2, 3, 2), **case}
    data_format = kwargs.get("data_format", "channels_last")
    x = _input(rank, 4, data_format, size=7 if rank == 1 else 5)
    name = "Conv1D" if rank == 1 else "Conv3D"

    def reference(x, w, training):
        out = np_conv(
            _last(x, data_format),
            w["kernel"],
            _tuple(kwargs.get("strides", 1), rank),
            kwargs.get("padding", "valid"),
            _tuple(kwargs.get("dilation_rate", 1), rank),
            kwargs.get("groups", 1),
        )
        return _finish(out, w.get("bias"), kwargs.get("activation"), data_format)

    check_layer(
        lambda: getattr(layers, name)(**kwargs),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**kwargs),
        reference=reference,
        weight_names=["kernel", "bias"] if kwargs.get("use_bias", True) else ["kernel"],
        keras_config_keys=CONV_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def test_conv1d_causal_output_sees_no_future_step():
    layer = layers.Conv1D(1, 3, padding="causal", kernel_initializer="ones", use_bias=False)
    x = np.zeros((1, 6, 1), "float32")
    x[0, 4, 0] = 1.0  # an impulse at step 4 reaches steps 4, 5 only
    np.testing.assert_array_equal(as_numpy(layer(x))[0, :, 0], [0, 0, 0, 0, 1, 1])


def test_conv_kernel_shapes_names_and_aliases():
    conv1d, conv3d = layers.Conv1D(4, 3, groups=2), layers.Conv3D(2, (1, 2, 3))
    conv1d(np.zeros((1, 5, 6), "float32"))
    conv3d(np.zeros((1, 3, 3, 4, 5), "float32"))
    assert (conv1d.name, conv3d.name) == ("conv1d", "conv3d")
    assert [w.shape for w in conv1d.weights] == [(3, 3, 4), (4,)]
    assert [w.shape for w in conv3d.weights] == [(1, 2, 3, 5, 2), (2,)]
    assert layers.Convolution1D is layers.Conv1D and layers.Convolution3D is layers.Conv3D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.Conv1D(2, 3, padding="full"), '"conv1d".*padding.*"causal"'),
        (lambda: layers.Conv2D(2, 3, padding="causal"), '"conv2d".*padding'),
        (lambda: layers.Conv3D(2, (3, 3)), '"conv3d".*kernel_size'),
        (lambda: layers.Conv1D(0, 3), '"conv1d".*filters'),
        (lambda: layers.Conv1D(2, 3, strides=0), '"conv1d".*strides'),
        (lambda: layers.Conv1D(2, 3, strides=2, dilation_rate=2), '"conv1d".*strides.*dilation_rate'),
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), '"depthwise_conv2d".*depth_multiplier'),
        (lambda: layers.SeparableConv1D(2, 3, padding="causal"), '"separable_conv1d".*padding'),
        (lambda: layers.SeparableConv2D(2, (3, 3, 3)), '"separable_conv2d".*kernel_size'),
    ],
)
def test_bad_arguments_name_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_rank_and_channels_name_the_layer():
    with pytest.raises(ValueError, match=r'"conv1d".*3 dimensions.*\(5, 3\)'):
        layers.Conv1D(2, 3)(np.zeros((5, 3), "float32"))
    layer = layers.DepthwiseConv1D(3)
    layer(np.zeros((1, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r'"depthwise_conv1d".*\(1, 5, 4\)'):
        layer(np.zeros((1, 5, 4), "float32"))


# ------------------------------------------------------------------ Depthwise
def keras2_named_depthwise(keras_class):
    """Keras 3's depthwise layer with its kernel named "depthwise_kernel", as Keras 2 and lamina name it."""

    class KerasTwoNames(keras_class):
        def add_weight(self, *args, **kwargs):
            if kwargs.get("name") == "kernel":
                kwargs["name"] = "depthwise_kernel"
            return super().add_weight(*args, **kwargs)

    return KerasTwoNames


DEPTHWISE_CASES = [
    (1, dict()),
    (1, dict(depth_multiplier=2, padding="same", strides=2)),
    (1, dict(dilation_rate=2, data_format="channels_first")),
    (2, dict()),
    (2, dict(depth_multiplier=2, padding="same")),
    (2, dict(strides=(2, 1), dilation_rate=(1, 2), padding="same", activation="relu")),
    (2, dict(depth_multiplier=3, strides=2, use_bias=False)),
    (2, dict(depth_multiplier=2, padding="same", strides=2, data_format="channels_first")),
]


@pytest.mark.parametrize("rank, case", DEPTHWISE_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_depthwise_conv_matches_keras_and_numpy(keras3, rank, case):
    kwargs = {"kernel_size": 3, **case}
    data_format = kwargs.get("data_format", "channels_last")
    x = _input(rank, 3, data_format, size=7 if rank == 1 else 5)
    name = f"DepthwiseConv{rank}D"

    def reference(x, w, training):
        out = np_depthwise(
            _last(x, data_format),
            w["depthwise_kernel"],
            _tuple(kwargs.get("strides", 1), rank),
            kwargs.get("padding", "valid"),
            _tuple(kwargs.get("dilation_rate", 1), rank),
        )
        return _finish(out, w.get("bias"), kwargs.get("activation"), data_format)

    check_layer(
        lambda: getattr(layers, name)(**kwargs),
        x,
        make_keras=lambda: keras2_named_depthwise(getattr(keras3.layers, name))(**kwargs),
        reference=reference,
        weight_names=["depthwise_kernel", "bias"] if kwargs.get("use_bias", True) else ["depthwise_kernel"],
        keras_config_keys=DEPTHWISE_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


# ------------------------------------------------------------------ Separable
SEPARABLE_CASES = [
    (1, dict()),
    (1, dict(depth_multiplier=2, padding="same", strides=2)),
    (1, dict(dilation_rate=2, data_format="channels_first")),
    (2, dict()),
    (2, dict(depth_multiplier=2, padding="same", activation="relu")),
    (2, dict(strides=2, dilation_rate=2, padding="same")),
    (2, dict(strides=(1, 2), use_bias=False)),
    (2, dict(depth_multiplier=2, padding="same", strides=2, data_format="channels_first")),
]


@pytest.mark.parametrize("rank, case", SEPARABLE_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_separable_conv_matches_keras_and_numpy(keras3, rank, case):
    kwargs = {"filters": 4, "kernel_size": 3, **case}
    data_format = kwargs.get("data_format", "channels_last")
    x = _input(rank, 3, data_format, size=7 if rank == 1 else 5)
    name = f"SeparableConv{rank}D"

    def reference(x, w, training):
        depthwise = np_depthwise(
            _last(x, data_format),
            w["depthwise_kernel"],
            _tuple(kwargs.get("strides", 1), rank),
            kwargs.get("padding", "valid"),
            _tuple(kwargs.get("dilation_rate", 1), rank),
        )
        pointwise = w["pointwise_kernel"].reshape(w["pointwise_kernel"].shape[-2:])
        return _finish(depthwise @ pointwise, w.get("bias"), kwargs.get("activation"), data_format)

    names = ["depthwise_kernel", "pointwise_kernel", "bias"]
    check_layer(
        lambda: getattr(layers, name)(**kwargs),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**kwargs),
        reference=reference,
        weight_names=names if kwargs.get("use_bias", True) else names[:2],
        keras_config_keys=SEPARABLE_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def test_depthwise_and_separable_weight_shapes():
    depthwise = layers.DepthwiseConv2D((3, 2), depth_multiplier=2)
    depthwise(np.zeros((1, 5, 5, 3), "float32"))
    assert [w.shape for w in depthwise.weights] == [(3, 2, 3, 2), (6,)]
    separable = layers.SeparableConv1D(5, 2, depth_multiplier=3)
    separable(np.zeros((1, 6, 2), "float32"))
    assert [w.shape for w in separable.weights] == [(2, 2, 3), (1, 6, 5), (5,)]
    assert separable.name == "separable_conv1d" and depthwise.name == "depthwise_conv2d"
