"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, against Keras 3 and a NumPy reference written here."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

from lamina import layers

KEYS = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format", "dilation_rate", "use_bias")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _ids(case):
    return "-".join(f"{k}={v}" for k, v in case.items()) or "default"


def output_length(size, kernel, stride, dilation, padding, output_padding):
    """Keras's documented output length of a transposed convolution along one axis."""
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    return (size - 1) * stride + span + output_padding - (0 if padding == "valid" else 2 * (span // 2))


def np_conv_transpose(x, kernel, strides, padding, output_padding, dilation):
    """Channels_last, float64: input entry `o` under kernel tap `t` lands at `o * stride + t * dilation - before`.

    `before` is what the forward convolution from the output length back to the input's pads before
    ('same': half the total, the odd entry after; 'valid': nothing), so this is that convolution's adjoint.
    """
    rank = x.ndim - 2
    sizes = kernel.shape[:rank]
    lengths, before = [], []
    for i in range(rank):
        n, span = x.shape[1 + i], (sizes[i] - 1) * dilation[i] + 1
        length = output_length(n, sizes[i], strides[i], dilation[i], padding, output_padding[i])
        lengths.append(length)
        before.append(0 if padding == "valid" else max((n - 1) * strides[i] + span - length, 0) // 2)
    out = np.zeros((x.shape[0], *lengths, kernel.shape[-2]))
    for pos in np.ndindex(*x.shape[1 : 1 + rank]):
        for tap in np.ndindex(*sizes):
            where = [pos[i] * strides[i] + tap[i] * dilation[i] - before[i] for i in range(rank)]
            if all(0 <= w < n for w, n in zip(where, lengths)):
                out[(slice(None), *where)] += x[(slice(None), *pos)].astype("float64") @ kernel[tap].T
    return out


CASES = [
    (1, dict()),
    (1, dict(strides=2)),
    (1, dict(strides=3, padding="same", kernel_size=4)),
    (1, dict(strides=2, padding="same", output_padding=1)),
    (1, dict(strides=2, padding="valid", output_padding=1, kernel_size=2)),
    (1, dict(dilation_rate=2, padding="same", activation="relu")),
    (1, dict(strides=2, padding="same", data_format="channels_first")),
    (2, dict()),
    (2, dict(strides=2, padding="same")),
    (2, dict(strides=(2, 3), padding="same", output_padding=(1, 2), kernel_size=(4, 3))),
    (2, dict(strides=2, padding="valid", output_padding=0, use_bias=False)),
    (2, dict(dilation_rate=(2, 1), padding="valid")),
    (2, dict(strides=2, padding="same", output_padding=1, data_format="channels_first")),
    (3, dict(strides=2, padding="same")),
    (3, dict(kernel_size=2, strides=(1, 2, 2), padding="valid", output_padding=(0, 1, 0))),
    (3, dict(strides=2, data_format="channels_first")),
]


@pytest.mark.parametrize("rank, case", CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_conv_transpose_matches_keras_and_numpy(keras3, rank, case):
    kwargs = {"filters": 2, "kernel_size": 3, **case}
    data_format = kwargs.get("data_format", "channels_last")
    spatial = (5,) if rank == 1 else (3,) * rank
    x = _x(2, 3, *spatial) if data_format == "channels_first" else _x(2, *spatial, 3)
    name = f"Conv{rank}DTranspose"

    def reference(x, w, training):
        extra = kwargs.get("output_padding")
        out = np_conv_transpose(
            np.moveaxis(x, 1, -1) if data_format == "channels_first" else x,
            w["kernel"],
            _tuple(kwargs.get("strides", 1), rank),
            kwargs.get("padding", "valid"),
            (None,) * rank if extra is None else _tuple(extra, rank),
            _tuple(kwargs.get("dilation_rate", 1), rank),
        )
        if "bias" in w:
            out = out + w["bias"]
        if kwargs.get("activation") == "relu":
            out = np.maximum(out, 0)
        return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out

    check_layer(
        lambda: getattr(layers, name)(**kwargs),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**kwargs),
        reference=reference,
        weight_names=["kernel", "bias"] if kwargs.get("use_bias", True) else ["kernel"],
        keras_config_keys=KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


def test_conv2d_transpose_hand_computed():
    """Stride 2, a 2x2 all-ones kernel: each input pixel becomes a 2x2 block of itself."""
    layer = layers.Conv2DTranspose(1, 2, strides=2, kernel_initializer="ones", use_bias=False)
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32").reshape(1, 2, 2, 1)
    out = as_numpy(layer(x))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_kernel_shape_name_and_aliases():
    layer = layers.Conv2DTranspose(5, (3, 2))
    layer(np.zeros((1, 4, 4, 3), "float32"))
    assert layer.name == "conv2d_transpose"
    assert [w.shape for w in layer.weights] == [(3, 2, 5, 3), (5,)]  # (kernel..., filters, input channels)
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.Convolution2DTranspose is layers.Deconvolution2D is layers.Deconv2D is layers.Conv2DTranspose
    assert layers.Convolution3DTranspose is layers.Deconvolution3D is layers.Deconv3D is layers.Conv3DTranspose


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(output_padding=2, strides=2), r"output_padding.*strides"),
        (dict(output_padding=1), r"output_padding.*strides"),
        (dict(output_padding=-1, strides=2), r"output_padding"),
        (dict(padding="causal"), r"padding"),
        (dict(strides=2, dilation_rate=2), r"strides.*dilation_rate"),
        (dict(kernel_size=(3, 3, 3)), r"kernel_size"),
    ],
)
def test_bad_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=f'"conv2d_transpose".*{match}'):
        layers.Conv2DTranspose(**{"filters": 2, "kernel_size": 3, **kwargs})


def test_unknown_channels_name_the_layer():
    with pytest.raises(ValueError, match=r'"conv1d_transpose".*channels'):
        layers.Conv1DTranspose(2, 3).build((None, 5, None))


def test_keras2_configs_with_groups_load():
    """tf.keras wrote "groups": 1 into Conv2DTranspose and DepthwiseConv2D configs; other values are refused."""
    keras2 = {"name": "deconv", "filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}
    layer = layers.Conv2DTranspose.from_config({**keras2, "groups": 1, "output_padding": None})
    assert layer.get_config()["strides"] == [2, 2] and "groups" not in layer.get_config()
    depthwise = layers.DepthwiseConv2D.from_config({"name": "dw", "kernel_size": [3, 3], "groups": 1})
    assert depthwise.kernel_size == (3, 3)
    with pytest.raises(ValueError, match='"deconv_2".*groups'):
        layers.Conv2DTranspose.from_config({**keras2, "name": "deconv_2", "groups": 2})
