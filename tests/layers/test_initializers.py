"""Initializers: bounds and spread checked statistically on large shapes with fixed seeds, exact ones exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lamina
from lamina import initializers

DENSE = (400, 300)  # fan_in 400, fan_out 300
CONV = (3, 3, 16, 32)  # fan_in 3*3*16 = 144, fan_out 3*3*32 = 288
TRUNCATED_STD = 0.87962566103423978  # stddev of a unit normal truncated at +-2


def _fans(shape):
    return (400, 300) if shape == DENSE else (144, 288)


# (name, scale, mode, uniform?)
VARIANCE_SCALING = [
    ("glorot_uniform", 1.0, "fan_avg", True),
    ("glorot_normal", 1.0, "fan_avg", False),
    ("he_uniform", 2.0, "fan_in", True),
    ("he_normal", 2.0, "fan_in", False),
    ("lecun_uniform", 1.0, "fan_in", True),
    ("lecun_normal", 1.0, "fan_in", False),
]


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name, scale, mode, uniform", VARIANCE_SCALING, ids=[c[0] for c in VARIANCE_SCALING])
def test_variance_scaling_family_bounds_and_spread(name, scale, mode, uniform, shape):
    fan_in, fan_out = _fans(shape)
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = math.sqrt(scale / fan)
    values = initializers.get(name)(shape, "float32")
    assert values.shape == shape and values.dtype == np.float32
    assert abs(values.mean()) < 0.05 * std
    assert values.std() == pytest.approx(std, rel=0.03)
    if uniform:
        limit = math.sqrt(3.0) * std  # e.g. glorot: sqrt(6 / (fan_in + fan_out))
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.99 * limit
    else:
        bound = 2.0 * std / TRUNCATED_STD  # truncated at two stddevs of the untruncated normal
        assert np.abs(values).max() <= bound * (1 + 1e-6)
        assert np.abs(values).max() > 0.98 * bound


@pytest.mark.parametrize("name", [c[0] for c in VARIANCE_SCALING])
def test_variance_scaling_family_spread_matches_keras(keras3, name):
    ours = initializers.get(name)(CONV, "float32")
    theirs = np.asarray(keras3.initializers.get(name)(CONV))
    assert ours.std() == pytest.approx(theirs.std(), rel=0.05)
    assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.05)
    assert type(initializers.get(name)).__name__ == type(keras3.initializers.get(name)).__name__


def test_compute_fans():
    assert initializers.compute_fans(DENSE) == (400, 300)
    assert initializers.compute_fans(CONV) == (144, 288)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans(()) == (1, 1)


def test_variance_scaling_untruncated_and_fan_out():
    values = initializers.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal", seed=1)(DENSE)
    assert values.std() == pytest.approx(math.sqrt(3.0 / 300), rel=0.03)
    assert np.abs(values).max() > 3.5 * math.sqrt(3.0 / 300)  # not truncated: 120,000 draws reach past 3.5 sigma


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(scale=0.0), "scale"), (dict(mode="fan_sum"), "mode"), (dict(distribution="cauchy"), "cauchy")],
)
def test_variance_scaling_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initializers.VarianceScaling(**kwargs)


def test_seeded_initializers_repeat_and_differ_by_seed():
    a = initializers.GlorotUniform(seed=3)((5, 4))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=3)((5, 4)))
    assert not np.array_equal(a, initializers.GlorotUniform(seed=4)((5, 4)))


def test_unseeded_initializers_follow_set_random_seed():
    lamina.utils.set_random_seed(5)
    a = initializers.HeNormal()((6, 6))
    b = initializers.HeNormal()((6, 6))
    lamina.utils.set_random_seed(5)
    np.testing.assert_array_equal(initializers.HeNormal()((6, 6)), a)
    assert not np.array_equal(a, b)


def test_zeros_ones_constant():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()((4,)), np.ones(4))
    constant = initializers.Constant(3.5)((2, 2), "float16")
    assert constant.dtype == np.float16
    np.testing.assert_array_equal(constant, np.full((2, 2), 3.5))
    assert initializers.Constant(3.5).get_config() == {"value": 3.5}


def test_random_normal():
    values = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=0)((300, 300))
    assert values.mean() == pytest.approx(1.0, abs=0.03)
    assert values.std() == pytest.approx(2.0, rel=0.02)
    default = initializers.RandomNormal(seed=0)((300, 300))
    assert default.std() == pytest.approx(0.05, rel=0.02)


def test_random_uniform():
    values = initializers.RandomUniform(minval=-3.0, maxval=2.0, seed=0)((300, 300))
    assert values.min() >= -3.0 and values.max() < 2.0
    assert values.min() < -2.99 and values.max() > 1.99
    assert values.mean() == pytest.approx(-0.5, abs=0.02)
    default = initializers.get("uniform")((300, 300))
    assert np.abs(default).max() <= 0.05


def test_truncated_normal_never_beyond_two_stddevs():
    mean, stddev = 1.0, 0.5
    values = initializers.TruncatedNormal(mean=mean, stddev=stddev, seed=0)((300, 300))
    assert np.abs(values - mean).max() <= 2 * stddev
    assert np.abs(values - mean).max() > 0.99 * 2 * stddev
    assert values.mean() == pytest.approx(mean, abs=0.01)
    assert values.std() == pytest.approx(stddev * TRUNCATED_STD, rel=0.02)


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (3, 3, 4, 8)])
def test_orthogonal(shape):
    q = initializers.Orthogonal(gain=2.0, seed=0)(shape).astype("float64")
    assert q.shape == shape
    matrix = q.reshape(-1, shape[-1])
    small = min(matrix.shape)
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)


def test_orthogonal_needs_rank_two():
    with pytest.raises(ValueError, match="rank >= 2"):
        initializers.Orthogonal()((5,))


def test_identity():
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((3, 3)), 3.0 * np.eye(3))
    np.testing.assert_array_equal(initializers.Identity()((2, 4)), np.eye(2, 4))
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("glorot_uniform", initializers.GlorotUniform),
        ("GlorotUniform", initializers.GlorotUniform),
        ("he_normal", initializers.HeNormal),
        ("zeros", initializers.Zeros),
        ("zero", initializers.Zeros),
        ("ones", initializers.Ones),
        ("normal", initializers.RandomNormal),
        ("random_uniform", initializers.RandomUniform),
        ("truncated_normal", initializers.TruncatedNormal),
        ("orthogonal", initializers.Orthogonal),
        ("identity", initializers.Identity),
        (initializers.Ones, initializers.Ones),
    ],
)
def test_get_by_name_or_class(identifier, cls):
    assert type(initializers.get(identifier)) is cls


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="'glorot_unifrom'.*glorot_uniform"):
        initializers.get("glorot_unifrom")


@pytest.mark.parametrize(
    "initializer",
    [
        initializers.Constant(2.0),
        initializers.RandomNormal(0.5, 0.1, seed=3),
        initializers.RandomUniform(-1.0, 1.0, seed=3),
        initializers.TruncatedNormal(0.0, 0.2, seed=3),
        initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
        initializers.GlorotNormal(seed=3),
        initializers.Orthogonal(gain=0.5, seed=3),
        initializers.Identity(gain=2.0),
    ],
    ids=lambda i: type(i).__name__,
)
def test_serialize_deserialize_round_trip(initializer):
    config = initializers.serialize(initializer)
    assert config["class_name"] == type(initializer).__name__
    clone = initializers.deserialize(config)
    assert type(clone) is type(initializer) and clone.get_config() == initializer.get_config()
    np.testing.assert_array_equal(clone((4, 4)), initializer((4, 4)))


def test_configs_use_keras_keys(keras3):
    pairs = [
        (initializers.RandomNormal(), keras3.initializers.RandomNormal()),
        (initializers.RandomUniform(), keras3.initializers.RandomUniform()),
        (initializers.TruncatedNormal(), keras3.initializers.TruncatedNormal()),
        (initializers.Constant(1.0), keras3.initializers.Constant(1.0)),
        (initializers.Orthogonal(), keras3.initializers.Orthogonal()),
        (initializers.GlorotUniform(), keras3.initializers.GlorotUniform()),
    ]
    for ours, theirs in pairs:
        assert set(ours.get_config()) <= set(theirs.get_config()), type(ours).__name__
        for key, value in ours.get_config().items():
            assert value == theirs.get_config()[key], f"{type(ours).__name__} {key}"


def test_deserialize_unknown_class_is_a_clear_error():
    with pytest.raises(ValueError, match="'Mystery'.*custom_objects"):
        initializers.deserialize({"class_name": "Mystery", "config": {}})
