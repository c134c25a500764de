"""Cropping, ZeroPadding and UpSampling 1D/2D/3D, against Keras 3 and NumPy references written here."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _ids(case):
    return "-".join(f"{k}={v}" for k, v in case.items()) or "default"


def _input(rank, data_format, sizes=None):
    spatial = sizes or (6,) * rank
    return _x(2, 3, *spatial) if data_format == "channels_first" else _x(2, *spatial, 3)


def _pairs(value, rank):
    """Keras's forms: an int (every side), `rank` ints (symmetric per axis) or `rank` pairs."""
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return [tuple(value)]
    return [(v, v) if isinstance(v, int) else tuple(v) for v in value]


def _spatial_axes(rank, data_format):
    return range(2, 2 + rank) if data_format == "channels_first" else range(1, 1 + rank)


def np_crop(x, cropping, rank, data_format):
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(_spatial_axes(rank, data_format), _pairs(cropping, rank)):
        index[axis] = slice(before, x.shape[axis] - after)
    return x[tuple(index)]


def np_zero_pad(x, padding, rank, data_format):
    widths = [(0, 0)] * x.ndim
    for axis, pair in zip(_spatial_axes(rank, data_format), _pairs(padding, rank)):
        widths[axis] = pair
    return np.pad(x, widths)


# -------------------------------------------------------------------- Cropping
CROP_CASES = [
    (1, dict()),
    (1, dict(cropping=(2, 0))),
    (1, dict(cropping=2)),
    (2, dict(cropping=1)),
    (2, dict(cropping=(1, 2))),
    (2, dict(cropping=((0, 2), (1, 0)), data_format="channels_first")),
    (3, dict()),
    (3, dict(cropping=(0, 1, 2), data_format="channels_first")),
    (3, dict(cropping=((1, 0), (0, 2), (2, 1)))),
]


@pytest.mark.parametrize("rank, case", CROP_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_cropping_matches_keras_and_numpy(keras3, rank, case):
    data_format = case.get("data_format", "channels_last")
    default = {1: (1, 1), 2: ((0, 0), (0, 0)), 3: ((1, 1), (1, 1), (1, 1))}[rank]
    x = _input(rank, data_format)
    name = f"Cropping{rank}D"
    check_layer(
        lambda: getattr(layers, name)(**case),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**case),
        reference=lambda x, w, training: np_crop(x, case.get("cropping", default), rank, data_format),
        keras_config_keys=("cropping",) + (("data_format",) if rank > 1 else ()),
    )


def test_cropping_everything_names_the_layer():
    with pytest.raises(ValueError, match=r'"cropping2d".*cropping.*\(1, 4, 4, 1\)'):
        layers.Cropping2D(((2, 2), (0, 0)))(np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match=r'"cropping1d".*cropping.*\(before, after\)'):
        layers.Cropping1D((1, -1))
    with pytest.raises(ValueError, match=r'"cropping3d".*cropping'):
        layers.Cropping3D(((1, 1), (1, 1)))


# ----------------------------------------------------------------- ZeroPadding
PAD_CASES = [
    (1, dict()),
    (1, dict(padding=(2, 0))),
    (1, dict(padding=3, data_format="channels_first")),
    (2, dict()),
    (2, dict(padding=(1, 2))),
    (2, dict(padding=((0, 2), (1, 0)), data_format="channels_first")),
    (3, dict()),
    (3, dict(padding=(0, 1, 2), data_format="channels_first")),
    (3, dict(padding=((1, 0), (0, 2), (2, 1)))),
]


@pytest.mark.parametrize("rank, case", PAD_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_zero_padding_matches_keras_and_numpy(keras3, rank, case):
    data_format = case.get("data_format", "channels_last")
    default = {1: 1, 2: (1, 1), 3: ((1, 1), (1, 1), (1, 1))}[rank]
    x = _input(rank, data_format, (3,) * rank)
    name = f"ZeroPadding{rank}D"
    check_layer(
        lambda: getattr(layers, name)(**case),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**case),
        reference=lambda x, w, training: np_zero_pad(x, case.get("padding", default), rank, data_format),
        keras_config_keys=("padding", "data_format"),
    )


def test_zero_padding_bad_argument_names_the_layer():
    with pytest.raises(ValueError, match=r'"zero_padding2d".*padding.*2 ints or 2 pairs'):
        layers.ZeroPadding2D((1, 2, 3))


# ------------------------------------------------------------------ UpSampling
def np_bilinear(x, factors):
    """Half-pixel centers, edges clamped: output pixel i samples input position (i + 0.5) / factor - 0.5."""
    out = x.astype("float64")
    for axis, factor in zip((1, 2), factors):
        size = out.shape[axis]
        source = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, size - 1)
        weight = (source - low).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        out = np.take(out, low, axis) * (1 - weight) + np.take(out, high, axis) * weight
    return out


UP_CASES = [
    (1, dict()),
    (1, dict(size=3)),
    (2, dict()),
    (2, dict(size=(3, 1), data_format="channels_first")),
    (2, dict(size=(2, 3), interpolation="bilinear")),
    (2, dict(size=(3, 2), interpolation="bilinear", data_format="channels_first")),
    (3, dict()),
    (3, dict(size=(1, 2, 3), data_format="channels_first")),
]


@pytest.mark.parametrize("rank, case", UP_CASES, ids=lambda c: _ids(c) if isinstance(c, dict) else f"{c}d")
def test_up_sampling_matches_keras_and_numpy(keras3, rank, case):
    data_format = case.get("data_format", "channels_last")
    x = _input(rank, data_format, (3,) * rank)
    size = case.get("size", 2)
    factors = (size,) * rank if isinstance(size, int) else size
    name = f"UpSampling{rank}D"

    def reference(x, w, training):
        if case.get("interpolation") == "bilinear":
            last = np.moveaxis(x, 1, -1) if data_format == "channels_first" else x
            out = np_bilinear(last, factors)
            return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out
        for axis, factor in zip(_spatial_axes(rank, data_format), factors):
            x = np.repeat(x, factor, axis=axis)
        return x

    keys = {1: ("size",), 2: ("size", "data_format", "interpolation"), 3: ("size", "data_format")}[rank]
    check_layer(
        lambda: getattr(layers, name)(**case),
        x,
        make_keras=lambda: getattr(keras3.layers, name)(**case),
        reference=reference,
        keras_config_keys=keys,
        rtol=1e-5,
        atol=1e-6,
    )


def test_bilinear_up_sampling_hand_computed():
    x = np.array([0.0, 4.0], "float32").reshape(1, 1, 2, 1)
    out = as_numpy(layers.UpSampling2D((1, 2), interpolation="bilinear")(x))
    np.testing.assert_allclose(out[0, 0, :, 0], [0.0, 1.0, 3.0, 4.0])


def test_up_sampling_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="up_sampling2d.*interpolation.*'bicubic'"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match=r'"up_sampling3d".*size'):
        layers.UpSampling3D((2, 2))
    with pytest.raises(ValueError, match=r'"up_sampling1d".*size'):
        layers.UpSampling1D(0)
