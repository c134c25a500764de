"""Max/Average pooling 1D/2D/3D and global pooling, against Keras 3 and NumPy references written here.

(MaxPooling2D's first tests are in test_layer_conv_pool.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

from lamina import layers

POOL_KEYS = ("pool_size", "strides", "padding", "data_format")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _ids(case):
    return "-".join(f"{k}={v}" for k, v in case.items()) or "default"


def np_pool(x, pool, strides, padding, mode):
    """Channels_last, float64; 'same' pads with NaN so neither the max nor the mean's count sees padding."""
    rank = x.ndim - 2
    pads = [(0, 0)] * rank
    if padding == "same":
        pads = []
        for i in range(rank):
            total = max((math.ceil(x.shape[1 + i] / strides[i]) - 1) * strides[i] + pool[i] - x.shape[1 + i], 0)
            pads.append((total // 2, total - total // 2))
    padded = np.pad(x.astype("float64"), [(0, 0), *pads, (0, 0)], constant_values=np.nan)
    outs = [(padded.shape[1 + i] - pool[i]) // strides[i] + 1 for i in range(rank)]
    out = np.empty((x.shape[0], *outs, x.shape[-1]))
    for pos in np.ndindex(*outs):
        window = padded[(slice(None), *(slice(p * s, p * s + k) for p, s, k in zip(pos, strides, pool)))]
        values = window.reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *pos)] = np.nanmax(values, 1) if mode == "max" else np.nanmean(values, 1)
    return out


POOL_CASES = [
    (1, dict()),
    (1, dict(pool_size=3, strides=2, padding="same")),
    (1, dict(pool_size=2, strides=1, padding="same", data_format="channels_first")),
    (2, dict(pool_size=(2, 3), strides=(1, 2), padding="same")),
    (2, dict(pool_size=3, strides=2, padding="valid", data_format="channels_first")),
    (3, dict()),
    (3, dict(pool_size=(3, 2, 2), strides=(2, 1, 2), padding="same")),
    (3, dict(pool_size=2, strides=1, padding="same", data_format="channels_first")),
]


@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("rank, case", POOL_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_pooling_matches_keras_and_numpy(keras3, mode, rank, case):
    kwargs = {"pool_size": 2, **case}
    data_format = kwargs.get("data_format", "channels_last")
    spatial = (7,) if rank == 1 else (5,) * rank
    x = _x(2, 3, *spatial) if data_format == "channels_first" else _x(2, *spatial, 3)
    pool = _tuple(kwargs["pool_size"], rank)
    strides = pool if kwargs.get("strides") is None else _tuple(kwargs["strides"], rank)
    name = f"{mode}Pooling{rank}D"

    def reference(x, w, training):
        last = np.moveaxis(x, 1, -1) if data_format == "channels_first" else x
        out = np_pool(last, pool, strides, kwargs.get("padding", "valid"), mode.lower())
        return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out

    check_layer(
        lambda: getattr(layers, name)(**kwargs),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**kwargs),
        reference=reference,
        keras_config_keys=POOL_KEYS,
    )


def test_same_average_leaves_padding_out_of_the_count():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32").reshape(1, 5, 1)
    # pool 2, stride 2 on 5 steps: windows [1, 2], [3, 4], [5 + padding] -> the last mean is 5, not 2.5.
    out = as_numpy(layers.AveragePooling1D(2, padding="same")(x))
    np.testing.assert_allclose(out[0, :, 0], [1.5, 3.5, 5.0])


def test_pooling_aliases_and_names():
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.MaxPool3D is layers.MaxPooling3D
    assert layers.AvgPool1D is layers.AveragePooling1D and layers.AvgPool2D is layers.AveragePooling2D
    assert layers.AvgPool3D is layers.AveragePooling3D
    assert (
        layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D and layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    )
    assert (
        layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D and layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    )
    assert (
        layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D and layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    )
    assert layers.AveragePooling3D(2).name == "average_pooling3d"
    assert layers.GlobalAveragePooling1D().name == "global_average_pooling1d"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.AveragePooling1D(2, padding="causal"), '"average_pooling1d".*padding'),
        (lambda: layers.MaxPooling3D((2, 2)), '"max_pooling3d".*pool_size'),
        (lambda: layers.AveragePooling2D(2, strides=0), '"average_pooling2d".*strides'),
    ],
)
def test_bad_pooling_arguments_name_the_layer(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_pooling_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r'"max_pooling1d".*3 dimensions.*\(2, 4, 4, 3\)'):
        layers.MaxPooling1D()(np.zeros((2, 4, 4, 3), "float32"))


# -------------------------------------------------------------- global pooling
GLOBAL_CASES = [
    (1, dict()),
    (1, dict(keepdims=True, data_format="channels_first")),
    (2, dict()),
    (2, dict(keepdims=True)),
    (2, dict(data_format="channels_first")),
    (3, dict()),
    (3, dict(keepdims=True, data_format="channels_first")),
]


@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("rank, case", GLOBAL_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_global_pooling_matches_keras_and_numpy(keras3, mode, rank, case):
    data_format = case.get("data_format", "channels_last")
    spatial = (4,) * rank
    x = _x(2, 3, *spatial) if data_format == "channels_first" else _x(2, *spatial, 3)
    axes = tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))
    reduce = np.max if mode == "Max" else np.mean
    name = f"Global{mode}Pooling{rank}D"
    check_layer(
        lambda: getattr(layers, name)(**case),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**case),
        reference=lambda x, w, training: reduce(x, axis=axes, keepdims=case.get("keepdims", False)),
        keras_config_keys=("data_format", "keepdims"),
    )


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling1d_averages_unmasked_steps(keras3, data_format, keepdims):
    x = _x(3, 5, 2)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 1, 0, 1, 0]], bool)
    inputs = np.moveaxis(x, 1, -1) if data_format == "channels_first" else x
    layer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    out = as_numpy(layer(inputs, mask=mask))
    want = np.stack([x[i][mask[i]].mean(axis=0) for i in range(3)])  # (batch, channels)
    if keepdims:
        want = want[:, None, :] if data_format == "channels_last" else want[:, :, None]
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    keras_layer = keras3.layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    np.testing.assert_allclose(out, np.asarray(keras_layer(inputs, mask=mask)), rtol=1e-6, atol=1e-6)
    # Without a mask, every step counts.
    steps_axis = 1 if data_format == "channels_last" else 2
    np.testing.assert_allclose(as_numpy(layer(inputs)), np.mean(inputs, steps_axis, keepdims=keepdims), 1e-6, 1e-6)
    assert layer.compute_mask(inputs, mask) is None
