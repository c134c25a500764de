"""Weight regularizers: l1, l2, l1_l2 penalties against NumPy and keras.regularizers."""

from __future__ import annotations

import numpy as np
import pytest

from lamina import layers, ops, regularizers

W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.0, 3.0]], "float32")
ABS_SUM = 7.25
SQUARE_SUM = 0.25 + 2.25 + 4.0 + 0.0625 + 0.0 + 9.0


@pytest.mark.parametrize(
    "regularizer, expected",
    [
        (regularizers.l1(0.1), 0.1 * ABS_SUM),
        (regularizers.l2(0.2), 0.2 * SQUARE_SUM),
        (regularizers.l1_l2(l1=0.1, l2=0.2), 0.1 * ABS_SUM + 0.2 * SQUARE_SUM),
        (regularizers.L1L2(l1=0.3), 0.3 * ABS_SUM),
        (regularizers.l1(), 0.01 * ABS_SUM),
        (regularizers.l2(), 0.01 * SQUARE_SUM),
        (regularizers.l1_l2(), 0.01 * ABS_SUM + 0.01 * SQUARE_SUM),
    ],
    ids=["l1", "l2", "l1_l2", "L1L2-l1-only", "l1-default", "l2-default", "l1_l2-default"],
)
def test_penalty_values(regularizer, expected):
    assert float(regularizer(W)) == pytest.approx(expected, rel=1e-6)
    assert ABS_SUM == pytest.approx(float(np.abs(W).sum())) and SQUARE_SUM == pytest.approx(float((W**2).sum()))


def test_penalties_match_keras(keras3):
    pairs = [
        (regularizers.L1(0.1), keras3.regularizers.L1(0.1)),
        (regularizers.L2(0.2), keras3.regularizers.L2(0.2)),
        (regularizers.L1L2(0.1, 0.2), keras3.regularizers.L1L2(0.1, 0.2)),
    ]
    for ours, theirs in pairs:
        assert float(ours(W)) == pytest.approx(float(theirs(W)), rel=1e-6)
        assert set(ours.get_config()) == set(theirs.get_config())


def test_l1l2_without_factors_is_zero():
    assert float(regularizers.L1L2()(W)) == 0.0
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize(
    "identifier, cls, config",
    [
        ("l1", regularizers.L1, {"l1": 0.01}),
        ("l2", regularizers.L2, {"l2": 0.01}),
        ("l1_l2", regularizers.L1L2, {"l1": 0.01, "l2": 0.01}),
        ({"class_name": "L2", "config": {"l2": 0.5}}, regularizers.L2, {"l2": 0.5}),
        ({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}}, regularizers.L1L2, {"l1": 0.1, "l2": 0.2}),
    ],
)
def test_get(identifier, cls, config):
    regularizer = regularizers.get(identifier)
    assert type(regularizer) is cls
    assert regularizer.get_config() == pytest.approx(config)


def test_serialize_round_trip():
    original = regularizers.L1L2(l1=0.125, l2=0.5)
    config = regularizers.serialize(original)
    assert config == {"class_name": "L1L2", "config": {"l1": 0.125, "l2": 0.5}}
    clone = regularizers.get(config)
    assert float(clone(W)) == pytest.approx(float(original(W)))


def test_get_passes_none_instances_and_callables():
    assert regularizers.get(None) is None
    instance = regularizers.L2(0.3)
    assert regularizers.get(instance) is instance
    custom = lambda w: 0.0  # noqa: E731
    assert regularizers.get(custom) is custom


def test_get_unknown_is_a_clear_error():
    with pytest.raises(ValueError, match="'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="'Elastic'"):
        regularizers.get({"class_name": "Elastic", "config": {}})


def test_layer_penalty_tracks_current_weights():
    layer = layers.Dense(3, use_bias=False, kernel_regularizer="l1")
    layer(np.ones((1, 2), "float32"))
    layer.set_weights([W])
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([0.01 * ABS_SUM])
    layer.set_weights([2 * W])
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == pytest.approx([0.02 * ABS_SUM])
