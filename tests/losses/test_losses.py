"""Losses against NumPy formulas written out here and against real Keras 3 given the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import losses

EPS = 1e-7  # Keras's default fuzz factor (config.epsilon())
N, C = 6, 4  # samples, classes


# ---------------------------------------------------------------- NumPy references
def _clipped(p):
    # Keras clips in float32, where 1 - 1e-7 rounds to 1 - 2**-23: clip the same way so that
    # fully confident wrong predictions give the same (finite) loss.
    return np.clip(np.asarray(p, np.float32), np.float32(EPS), np.float32(1.0 - EPS))


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -np.asarray(z, np.float64))


def np_mse(y_true, y_pred):
    return np.mean((np.asarray(y_true, np.float64) - y_pred) ** 2, axis=-1)


def np_mae(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_true, np.float64) - y_pred), axis=-1)


def np_binary_crossentropy(y_true, y_pred, from_logits=False):
    y_true = np.asarray(y_true, np.float64)
    if from_logits:
        values = -(y_true * _log_sigmoid(y_pred) + (1.0 - y_true) * _log_sigmoid(-np.asarray(y_pred)))
    else:
        p = _clipped(y_pred)
        values = -(y_true * np.log(p) + (1.0 - y_true) * np.log(np.float32(1.0) - p))
    return np.mean(values, axis=-1)


def np_categorical_crossentropy(y_true, y_pred, from_logits=False):
    y_pred = np.asarray(y_pred, np.float64)
    if from_logits:
        shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        # Keras renormalizes the predictions to sum to 1 before clipping.
        log_p = np.log(_clipped(y_pred / y_pred.sum(axis=-1, keepdims=True)))
    return -np.sum(np.asarray(y_true, np.float64) * log_p, axis=-1)


def np_sparse_categorical_crossentropy(labels, y_pred, from_logits=False):
    labels = np.asarray(labels).reshape(-1).astype(int)
    return np_categorical_crossentropy(np.eye(y_pred.shape[-1])[labels], y_pred, from_logits)


def np_reduce(values, sample_weight, reduction):
    """Keras's reduction: weight per sample, then none / sum / sum divided by the number of values."""
    values = np.asarray(values, np.float64)
    if sample_weight is not None:
        values = values * np.asarray(sample_weight, np.float64).reshape(values.shape)
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / values.size


# ---------------------------------------------------------------- inputs
def _data(kind, from_logits, rng):
    """(y_true, y_pred) for a loss kind, with a few exact 0/1 predictions to exercise the clipping."""
    if kind in ("mse", "mae"):
        return rng.normal(size=(N, 3)).astype("float32"), rng.normal(size=(N, 3)).astype("float32")
    if kind == "binary_crossentropy":
        y_true = rng.integers(0, 2, size=(N, 3)).astype("float32")
        if from_logits:
            return y_true, rng.normal(scale=3.0, size=(N, 3)).astype("float32")
        y_pred = rng.uniform(0.05, 0.95, size=(N, 3)).astype("float32")
        y_pred[0] = [0.0, 1.0, 1.0]  # exact 0 and 1: only the clip keeps the loss finite
        y_true[0] = [1.0, 0.0, 1.0]
        return y_true, y_pred
    labels = rng.integers(0, C, size=(N,))
    if from_logits:
        y_pred = rng.normal(scale=2.0, size=(N, C)).astype("float32")
    else:
        # Unnormalized scores (rows do not sum to 1), one of them 0 on the true class.
        y_pred = rng.uniform(0.1, 2.0, size=(N, C)).astype("float32")
        y_pred[1, labels[1]] = 0.0
    y_true = labels if kind == "sparse_categorical_crossentropy" else np.eye(C, dtype="float32")[labels]
    return y_true, y_pred


# name -> (lamina function, lamina class, NumPy reference, Keras 3 function name, Keras 3 class name)
CASES = {
    "mse": (losses.mean_squared_error, losses.MeanSquaredError, np_mse, "mean_squared_error", "MeanSquaredError"),
    "mae": (losses.mean_absolute_error, losses.MeanAbsoluteError, np_mae, "mean_absolute_error", "MeanAbsoluteError"),
    "binary_crossentropy": (
        losses.binary_crossentropy,
        losses.BinaryCrossentropy,
        np_binary_crossentropy,
        "binary_crossentropy",
        "BinaryCrossentropy",
    ),
    "categorical_crossentropy": (
        losses.categorical_crossentropy,
        losses.CategoricalCrossentropy,
        np_categorical_crossentropy,
        "categorical_crossentropy",
        "CategoricalCrossentropy",
    ),
    "sparse_categorical_crossentropy": (
        losses.sparse_categorical_crossentropy,
        losses.SparseCategoricalCrossentropy,
        np_sparse_categorical_crossentropy,
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
    ),
}
VARIANTS = [
    ("mse", None),
    ("mae", None),
    ("binary_crossentropy", False),
    ("binary_crossentropy", True),
    ("categorical_crossentropy", False),
    ("categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", True),
]
VARIANT_IDS = [f"{k}-logits" if f else k for k, f in VARIANTS]


def _kwargs(from_logits):
    return {} if from_logits is None else {"from_logits": from_logits}


# ---------------------------------------------------------------- per-sample functions
@pytest.mark.parametrize("kind, from_logits", VARIANTS, ids=VARIANT_IDS)
def test_function_gives_per_sample_values(kind, from_logits, rng, keras3):
    fn, _, reference, keras_fn, _ = CASES[kind]
    y_true, y_pred = _data(kind, from_logits, rng)
    got = np.asarray(fn(y_true, y_pred, **_kwargs(from_logits)))
    expected = reference(y_true, y_pred, **_kwargs(from_logits))
    assert got.shape == (N,)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    oracle = np.asarray(getattr(keras3.losses, keras_fn)(y_true, y_pred, **_kwargs(from_logits)))
    np.testing.assert_allclose(got, oracle, rtol=1e-5, atol=1e-6)


def test_crossentropy_clips_confident_mistakes_to_minus_log_epsilon():
    # p = 0 for the true class costs -log(1e-7) (in float32), not infinity.
    got = float(losses.categorical_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0])
    assert got == pytest.approx(-np.log(np.float32(EPS)), rel=1e-5)
    got = float(losses.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]]))[0])
    assert got == pytest.approx(-np.log(np.float32(EPS)), rel=1e-5)


def test_categorical_crossentropy_renormalizes_predictions():
    # [2, 6] is read as [0.25, 0.75].
    got = float(losses.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[2.0, 6.0]]))[0])
    assert got == pytest.approx(-np.log(0.75), rel=1e-6)


# ---------------------------------------------------------------- Loss classes and reductions
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("kind, from_logits", VARIANTS, ids=VARIANT_IDS)
def test_class_reductions(kind, from_logits, reduction, weighted, rng, keras3):
    _, cls, reference, _, keras_cls = CASES[kind]
    y_true, y_pred = _data(kind, from_logits, rng)
    sample_weight = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 3.0], "float32") if weighted else None
    loss = cls(reduction=reduction, **_kwargs(from_logits))
    got = np.asarray(loss(y_true, y_pred, sample_weight=sample_weight))
    expected = np_reduce(reference(y_true, y_pred, **_kwargs(from_logits)), sample_weight, reduction)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    oracle = getattr(keras3.losses, keras_cls)(reduction=reduction, **_kwargs(from_logits))
    np.testing.assert_allclose(
        got, np.asarray(oracle(y_true, y_pred, sample_weight=sample_weight)), rtol=1e-5, atol=1e-6
    )


def test_sum_over_batch_size_divides_by_every_value_not_the_weights():
    values_true, values_pred = np.zeros((4, 1)), np.ones((4, 1))
    weights = np.array([1.0, 1.0, 0.0, 0.0])
    # Two of four samples have weight 0: the sum (2) is still divided by 4.
    assert float(losses.MeanSquaredError()(values_true, values_pred, sample_weight=weights)) == pytest.approx(0.5)


def test_sample_weight_with_trailing_axis_and_per_element(rng, keras3):
    y_true, y_pred = _data("mse", None, rng)
    for weights in (rng.uniform(size=(N, 1)).astype("float32"), rng.uniform(size=(N,)).astype("float32")):
        got = float(losses.MeanSquaredError()(y_true, y_pred, sample_weight=weights))
        expected = np.sum(np_mse(y_true, y_pred) * weights.reshape(-1)) / N
        assert got == pytest.approx(expected, rel=1e-5)
        assert got == pytest.approx(float(keras3.losses.MeanSquaredError()(y_true, y_pred, sample_weight=weights)))


def test_mean_reduction_follows_keras3(rng, keras3):
    y_true, y_pred = _data("mae", None, rng)
    weights = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 1.0], "float32")
    per_sample = np_mae(y_true, y_pred)
    # "mean" is Keras 3's synonym for "sum_over_batch_size"; "mean_with_sample_weight" divides by sum(weights).
    got = float(losses.MeanAbsoluteError(reduction="mean")(y_true, y_pred, sample_weight=weights))
    assert got == pytest.approx(np.sum(per_sample * weights) / N, rel=1e-5)
    oracle = keras3.losses.MeanAbsoluteError(reduction="mean")(y_true, y_pred, sample_weight=weights)
    assert got == pytest.approx(float(oracle), rel=1e-5)
    got = float(losses.MeanAbsoluteError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=weights))
    assert got == pytest.approx(np.sum(per_sample * weights) / weights.sum(), rel=1e-5)
    oracle = keras3.losses.MeanAbsoluteError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=weights)
    assert got == pytest.approx(float(oracle), rel=1e-5)


def test_unknown_reduction_is_a_value_error():
    with pytest.raises(ValueError, match="bogus"):
        losses.MeanSquaredError(reduction="bogus")


def test_class_names_and_config_round_trip(rng):
    y_true, y_pred = _data("categorical_crossentropy", True, rng)
    loss = losses.CategoricalCrossentropy(from_logits=True, reduction="sum")
    assert loss.name == "categorical_crossentropy"
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.MeanAbsoluteError().name == "mean_absolute_error"
    assert losses.BinaryCrossentropy().name == "binary_crossentropy"
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    restored = losses.get(losses.serialize(loss))
    assert type(restored) is losses.CategoricalCrossentropy
    assert restored.reduction == "sum"
    np.testing.assert_allclose(np.asarray(restored(y_true, y_pred)), np.asarray(loss(y_true, y_pred)), rtol=1e-6)
    expected = np.sum(np_categorical_crossentropy(y_true, y_pred, from_logits=True))
    assert float(restored(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- get()
@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("mse", losses.MeanSquaredError),
        ("MSE", losses.MeanSquaredError),
        ("mean_squared_error", losses.MeanSquaredError),
        ("MeanSquaredError", losses.MeanSquaredError),
        ("mae", losses.MeanAbsoluteError),
        ("mean_absolute_error", losses.MeanAbsoluteError),
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("BinaryCrossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
        (losses.mean_squared_error, losses.MeanSquaredError),
        (losses.mse, losses.MeanSquaredError),
        (losses.categorical_crossentropy, losses.CategoricalCrossentropy),
        (losses.BinaryCrossentropy, losses.BinaryCrossentropy),
    ],
)
def test_get_accepts_names_functions_and_classes(identifier, cls):
    loss = losses.get(identifier)
    assert type(loss) is cls
    if cls is losses.MeanSquaredError:
        assert float(loss(np.zeros((2, 2)), np.full((2, 2), 3.0))) == pytest.approx(9.0)
    if cls is losses.CategoricalCrossentropy:
        assert float(loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))) == pytest.approx(np.log(2.0), rel=1e-6)


def test_get_returns_loss_objects_as_given():
    loss = losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    assert losses.get(loss) is loss
    # from_logits=True: a logit of 0 is p = 0.5 whatever the target.
    assert float(losses.get(loss)(np.array([[1.0], [0.0]]), np.zeros((2, 1)))) == pytest.approx(2 * np.log(2.0))


def test_get_wraps_a_custom_function():
    def doubled_mae(y_true, y_pred):
        return 2.0 * lamina.ops.mean(lamina.ops.abs(y_true - y_pred), axis=-1)

    loss = losses.get(doubled_mae)  # per sample: 2 * [2, 1], so a mean of 3
    assert isinstance(loss, losses.Loss)
    assert float(loss(np.zeros((2, 2)), np.array([[1.0, 3.0], [0.0, 2.0]]))) == pytest.approx(3.0)


def test_get_unknown_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="no_such_loss"):
        losses.get("no_such_loss")
    with pytest.raises(ValueError, match="NoSuchLoss"):
        losses.get({"class_name": "NoSuchLoss", "config": {}})


# ---------------------------------------------------------------- shapes
def test_one_hot_targets_to_sparse_crossentropy_is_a_clear_value_error():
    with pytest.raises(
        ValueError, match=r"sparse_categorical_crossentropy.*\(4,\).*\(4, 3\).*categorical_crossentropy"
    ):
        losses.sparse_categorical_crossentropy(np.eye(3)[[0, 1, 2, 1]], np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy()(np.eye(3)[[0, 1, 2, 1]], np.full((4, 3), 1 / 3))


def test_integer_labels_to_categorical_crossentropy_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"categorical_crossentropy.*\(4, 3\).*\(4,\).*sparse_categorical"):
        losses.categorical_crossentropy(np.array([0, 1, 2, 1]), np.full((4, 3), 1 / 3))


@pytest.mark.parametrize("cls", [losses.MeanSquaredError, losses.MeanAbsoluteError, losses.BinaryCrossentropy])
def test_incompatible_shapes_are_a_value_error_naming_the_loss(cls):
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)") as info:
        cls()(np.zeros((4, 3)), np.full((4, 2), 0.5))
    assert cls().name in str(info.value)


@pytest.mark.parametrize("kind", ["mse", "mae", "binary_crossentropy"])
def test_targets_of_rank_one_against_predictions_with_trailing_one(kind, rng, keras3):
    fn, cls, reference, _, keras_cls = CASES[kind]
    y_true = rng.integers(0, 2, size=(N,)).astype("float32")
    y_pred = rng.uniform(0.1, 0.9, size=(N, 1)).astype("float32")
    weights = rng.uniform(size=(N,)).astype("float32")
    expected = reference(y_true[:, None], y_pred)  # as Keras does: y_true is read as (N, 1)
    got = np.asarray(fn(y_true, y_pred))
    assert got.shape == (N,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # The other way round, (N, 1) targets against (N,) predictions, is the same per-sample loss.
    np.testing.assert_allclose(np.asarray(fn(y_true[:, None], y_pred[:, 0])), expected, rtol=1e-5, atol=1e-6)
    for reduction in ("none", "sum_over_batch_size"):
        got = np.asarray(cls(reduction=reduction)(y_true, y_pred, sample_weight=weights))
        oracle = getattr(keras3.losses, keras_cls)(reduction=reduction)(y_true, y_pred, sample_weight=weights)
        np.testing.assert_allclose(got, np_reduce(expected, weights, reduction), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, np.asarray(oracle), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_labels_with_a_trailing_one(from_logits, rng, keras3):
    labels, y_pred = _data("sparse_categorical_crossentropy", from_logits, rng)
    expected = np_sparse_categorical_crossentropy(labels, y_pred, from_logits)
    got = np.asarray(losses.sparse_categorical_crossentropy(labels[:, None], y_pred, from_logits=from_logits))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    oracle = keras3.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    assert float(loss(labels[:, None], y_pred)) == pytest.approx(float(np.mean(expected)), rel=1e-5)
    assert float(loss(labels[:, None], y_pred)) == pytest.approx(float(oracle(labels[:, None], y_pred)), rel=1e-5)
