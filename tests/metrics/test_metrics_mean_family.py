"""Mean-of-a-function metrics (regression, top-k accuracy, crossentropy, hinge, KL, Poisson), Sum and RMSE:
values over several weighted batches against NumPy formulas and against Keras 3 metric objects."""

from __future__ import annotations

import numpy as np
import pytest
from metric_checks import check_against_keras, weighted_mean

from lamina import metrics

EPS = 1e-7
C = 5


def _f(x):
    return np.asarray(x, np.float64)


def _clip32(p, low=EPS, high=1.0 - EPS):
    return _f(np.clip(np.asarray(p, np.float32), np.float32(low), np.float32(high)))


# ---------------------------------------------------------------- per-sample NumPy references
def np_mape(t, p):
    return 100 * np.mean(np.abs((_f(t) - p) / np.maximum(np.abs(_f(t)), EPS)), axis=-1)


def np_msle(t, p):
    return np.mean((np.log(np.maximum(_f(p), EPS) + 1) - np.log(np.maximum(_f(t), EPS) + 1)) ** 2, axis=-1)


def np_cosine(t, p):
    t, p = _f(t), _f(p)
    return np.sum(t * p, axis=-1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1)


def np_logcosh(t, p):
    return np.mean(np.log(np.cosh(_f(p) - t)), axis=-1)


def _rank_of_label(labels, scores):
    at_label = np.take_along_axis(scores, labels[:, None], axis=-1)
    return np.sum(scores > at_label, axis=-1)  # how many scores beat the label's


def np_top_k(t, p, k):
    return (_rank_of_label(np.argmax(t, axis=-1), _f(p)) < k).astype(float)


def np_sparse_top_k(t, p, k):
    return (_rank_of_label(np.asarray(t).astype(int), _f(p)) < k).astype(float)


def np_bce(t, p, from_logits=False, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = -(t * -np.logaddexp(0, -_f(p)) + (1 - t) * -np.logaddexp(0, _f(p)))
    else:
        p = _clip32(p)
        values = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return values.mean(axis=-1)


def np_cce(t, p, label_smoothing=0.0):
    t = _f(t) * (1 - label_smoothing) + label_smoothing / np.shape(t)[-1]
    return -np.sum(t * np.log(_clip32(_f(p) / _f(p).sum(axis=-1, keepdims=True))), axis=-1)


def np_scce_logits(labels, logits):
    logits = _f(logits)
    log_p = logits - logits.max(axis=-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_p, np.asarray(labels).astype(int)[:, None], axis=-1)[:, 0]


def np_hinge(t, p):
    return np.mean(np.maximum(1 - _f(t) * p, 0), axis=-1)


def np_squared_hinge(t, p):
    return np.mean(np.maximum(1 - _f(t) * p, 0) ** 2, axis=-1)


def np_categorical_hinge(t, p):
    t, p = _f(t), _f(p)
    return np.maximum(np.max((1 - t) * p, axis=-1) - np.sum(t * p, axis=-1) + 1, 0)


def np_kld(t, p):
    t, p = _clip32(t, EPS, 1), _clip32(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def np_poisson(t, p):
    return np.mean(_f(p) - _f(t) * np.log(_f(p) + EPS), axis=-1)


# ---------------------------------------------------------------- batches
def _batch(kind, rng, n):
    if kind == "regression":
        return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")
    if kind == "positive":
        return np.abs(rng.normal(size=(n, 3))).astype("float32") * 2, np.abs(rng.normal(size=(n, 3))).astype(
            "float32"
        ) * 2
    if kind == "one_hot":
        return np.eye(C, dtype="float32")[rng.integers(0, C, n)], rng.normal(size=(n, C)).astype("float32")
    if kind == "probs_one_hot":
        return np.eye(C, dtype="float32")[rng.integers(0, C, n)], rng.uniform(0.05, 1, size=(n, C)).astype("float32")
    if kind == "labels":
        return rng.integers(0, C, n), rng.normal(size=(n, C)).astype("float32")
    if kind == "binary":
        return rng.integers(0, 2, size=(n, 3)).astype("float32"), rng.uniform(0.02, 0.98, size=(n, 3)).astype("float32")
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(n, 3)).astype("float32"), rng.normal(scale=2, size=(n, 3)).astype("float32")
    if kind == "signed":
        return (2 * rng.integers(0, 2, size=(n, 3)) - 1).astype("float32"), rng.normal(size=(n, 3)).astype("float32")
    probs = rng.uniform(0.0, 1.0, size=(n, C))
    return (probs / probs.sum(-1, keepdims=True)).astype("float32"), rng.dirichlet(np.ones(C), n).astype("float32")


# name -> (lamina class, Keras 3 class, keyword arguments, NumPy per-sample reference, batch kind)
CASES = {
    "mape": ("MeanAbsolutePercentageError", {}, np_mape, "regression"),
    "msle": ("MeanSquaredLogarithmicError", {}, np_msle, "positive"),
    "cosine": ("CosineSimilarity", {}, np_cosine, "regression"),
    "logcosh": ("LogCoshError", {}, np_logcosh, "regression"),
    "top_k": ("TopKCategoricalAccuracy", {"k": 2}, lambda t, p: np_top_k(t, p, 2), "one_hot"),
    "top_k_default": ("TopKCategoricalAccuracy", {}, lambda t, p: np_top_k(t, p, 5), "one_hot"),
    "sparse_top_k": ("SparseTopKCategoricalAccuracy", {"k": 3}, lambda t, p: np_sparse_top_k(t, p, 3), "labels"),
    "bce": ("BinaryCrossentropy", {}, np_bce, "binary"),
    "bce_logits": (
        "BinaryCrossentropy",
        {"from_logits": True, "label_smoothing": 0.2},
        lambda t, p: np_bce(t, p, True, 0.2),
        "binary_logits",
    ),
    "cce": ("CategoricalCrossentropy", {"label_smoothing": 0.1}, lambda t, p: np_cce(t, p, 0.1), "probs_one_hot"),
    "scce": ("SparseCategoricalCrossentropy", {"from_logits": True}, np_scce_logits, "labels"),
    "hinge": ("Hinge", {}, np_hinge, "signed"),
    "squared_hinge": ("SquaredHinge", {}, np_squared_hinge, "signed"),
    "categorical_hinge": ("CategoricalHinge", {}, np_categorical_hinge, "one_hot"),
    "kld": ("KLDivergence", {}, np_kld, "distribution"),
    "poisson": ("Poisson", {}, np_poisson, "positive"),
}
SIZES = (8, 8, 8)  # one batch shape: JAX compiles each eager op once per shape


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("key", list(CASES))
def test_mean_of_function_metric(key, weighted, rng, keras3):
    cls_name, kwargs, reference, kind = CASES[key]
    batches = [_batch(kind, rng, n) for n in SIZES]
    weights = [rng.uniform(0, 2, size=(n,)).astype("float32") for n in SIZES] if weighted else None
    metric = getattr(metrics, cls_name)(**kwargs)
    oracle = getattr(keras3.metrics, cls_name)(**kwargs)
    assert metric.name == oracle.name
    values = np.concatenate([reference(*b) for b in batches])
    expected = weighted_mean(values, None if weights is None else np.concatenate(weights))
    got = check_against_keras(metric, oracle, batches, weights, expected)
    assert np.isfinite(got)


def test_sparse_crossentropy_metric_leaves_ignored_samples_out(rng, keras3):
    batches = [_batch("labels", rng, n) for n in SIZES]
    for labels, _ in batches:
        labels[:2] = 0
    weights = [rng.uniform(0.5, 2, size=(n,)).astype("float32") for n in SIZES]
    metric = metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    oracle = keras3.metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    labels = np.concatenate([b[0] for b in batches])
    values = np.concatenate([np_scce_logits(*b) for b in batches])
    kept = np.concatenate(weights) * (labels != 0)
    check_against_keras(metric, oracle, batches, weights, np.sum(values * kept) / kept.sum())


def test_top_k_counts_ties_for_the_label():
    # The label's score ties with two others: it is "in the top 1" (no score beats it), as in Keras.
    scores = np.array([[0.3, 0.3, 0.3, 0.1]], "float32")
    assert float(metrics.sparse_top_k_categorical_accuracy(np.array([1]), scores, k=1)[0]) == 1.0
    assert float(metrics.sparse_top_k_categorical_accuracy(np.array([3]), scores, k=3)[0]) == 0.0


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_root_mean_squared_error(weighted, rng, keras3):
    batches = [_batch("regression", rng, n) for n in SIZES]
    weights = [rng.uniform(0, 2, size=(n,)).astype("float32") for n in SIZES] if weighted else None
    errors = np.concatenate([(_f(t) - p) ** 2 for t, p in batches])
    expected = np.sqrt(weighted_mean(errors, None if weights is None else np.concatenate(weights)))
    check_against_keras(
        metrics.RootMeanSquaredError(), keras3.metrics.RootMeanSquaredError(), batches, weights, expected
    )


def test_sum_and_mean_with_weights(rng, keras3):
    values = [rng.normal(size=(n, 2)).astype("float32") for n in SIZES]
    weights = [rng.uniform(0, 2, size=(n,)).astype("float32") for n in SIZES]
    for cls_name in ("Sum", "Mean"):
        metric, oracle = getattr(metrics, cls_name)(), getattr(keras3.metrics, cls_name)()
        for v, w in zip(values, weights):
            metric.update_state(v, sample_weight=w)
            oracle.update_state(v, sample_weight=w)
        total = sum(np.sum(_f(v) * w[:, None]) for v, w in zip(values, weights))
        expected = total if cls_name == "Sum" else total / sum(2 * w.sum() for w in weights)
        assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
        assert float(metric.result()) == pytest.approx(float(oracle.result()), rel=1e-5)
        metric.reset_state()
        assert float(metric.result()) == 0.0


def test_module_function_aliases():
    assert metrics.mape is metrics.MAPE is metrics.mean_absolute_percentage_error
    assert metrics.msle is metrics.MSLE
    assert metrics.kld is metrics.kullback_leibler_divergence is metrics.kl_divergence
    assert metrics.logcosh is metrics.log_cosh


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_k_is_a_value_error(k):
    with pytest.raises(ValueError, match="k"):
        metrics.TopKCategoricalAccuracy(k=k)
