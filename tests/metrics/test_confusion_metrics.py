"""Confusion-count metrics, Precision, Recall and AUC: against NumPy counts written out here, scikit-learn's
ROC AUC, and Keras 3 metric objects fed the same weighted batches."""

from __future__ import annotations

import numpy as np
import pytest
from metric_checks import check_against_keras

from lamina import metrics

SIZES = (8, 8, 8)  # one batch shape: JAX compiles each eager op once per shape


def _binary_batches(rng, shape=(3,), logits=False):
    batches = []
    for n in SIZES:
        y_true = rng.integers(0, 2, size=(n, *shape)).astype("float32")
        # Predictions that lean towards the truth, so the curves are far from chance.
        y_pred = np.clip(0.25 * y_true + rng.uniform(0, 0.75, size=y_true.shape), 0, 1).astype("float32")
        if logits:
            y_pred = np.log(y_pred + 1e-3) - np.log(1.001 - y_pred)
        batches.append((y_true, y_pred.astype("float32")))
    return batches


def _weights(rng):
    return [rng.uniform(0, 2, size=(n,)).astype("float32") for n in SIZES]


def np_counts(batches, weights, thresholds):
    """tp, fp, tn, fn per threshold: every prediction against every threshold, weighted per sample."""
    counts = np.zeros((4, len(thresholds)))
    for index, (y_true, y_pred) in enumerate(batches):
        w = np.ones(len(y_true)) if weights is None else weights[index]
        w = np.broadcast_to(w.reshape(-1, *([1] * (y_true.ndim - 1))), y_true.shape)
        for i, t in enumerate(thresholds):
            positive, label = y_pred > t, y_true > 0
            counts[:, i] += [np.sum(w * (c1 & c2)) for c1, c2 in ((label, positive), (~label, positive))] + [
                np.sum(w * (c1 & c2)) for c1, c2 in ((~label, ~positive), (label, ~positive))
            ]
    return counts


COUNTS = {"TruePositives": 0, "FalsePositives": 1, "TrueNegatives": 2, "FalseNegatives": 3}


@pytest.mark.parametrize("thresholds", [None, 0.3, [0.2, 0.5, 0.8]], ids=["default", "one", "three"])
@pytest.mark.parametrize("cls_name", list(COUNTS))
def test_confusion_counts(cls_name, thresholds, rng, keras3):
    batches, weights = _binary_batches(rng), _weights(rng)
    expected = np_counts(batches, weights, [0.5] if thresholds is None else np.atleast_1d(thresholds))[COUNTS[cls_name]]
    metric = getattr(metrics, cls_name)(thresholds=thresholds)
    oracle = getattr(keras3.metrics, cls_name)(thresholds=thresholds)
    got = check_against_keras(metric, oracle, batches, weights, expected[0] if len(expected) == 1 else expected)
    assert np.any(got > 0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("thresholds", [None, [0.25, 0.5, 0.75]], ids=["default", "three"])
@pytest.mark.parametrize("cls_name", ["Precision", "Recall"])
def test_precision_recall_thresholds(cls_name, thresholds, weighted, rng, keras3):
    batches = _binary_batches(rng)
    weights = _weights(rng) if weighted else None
    tp, fp, _, fn = np_counts(batches, weights, [0.5] if thresholds is None else thresholds)
    expected = tp / (tp + (fp if cls_name == "Precision" else fn))
    metric = getattr(metrics, cls_name)(thresholds=thresholds)
    oracle = getattr(keras3.metrics, cls_name)(thresholds=thresholds)
    check_against_keras(metric, oracle, batches, weights, expected[0] if thresholds is None else expected)


def _class_batches(rng, classes=5):
    out = []
    for n in SIZES:
        y_true = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
        y_true[0, (np.argmax(y_true[0]) + 1) % classes] = 1.0  # one multi-label row
        out.append((y_true, rng.uniform(size=(n, classes)).astype("float32")))
    return out


def _np_top_k_mask(y_pred, k):
    order = np.argsort(-y_pred, axis=-1, kind="stable")[:, :k]
    mask = np.zeros_like(y_pred, bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


@pytest.mark.parametrize(
    "kwargs",
    [{"top_k": 2}, {"class_id": 3}, {"top_k": 2, "class_id": 1}, {"top_k": 3, "thresholds": [0.3, 0.6]}],
    ids=["top_k", "class_id", "top_k+class_id", "top_k+thresholds"],
)
@pytest.mark.parametrize("cls_name", ["Precision", "Recall"])
def test_precision_recall_top_k_and_class_id(cls_name, kwargs, rng, keras3):
    batches, weights = _class_batches(rng), _weights(rng)
    # NumPy: outside each row's top k a prediction is never positive; class_id keeps one column.
    thresholds = kwargs.get("thresholds", [0.5] if "top_k" not in kwargs else [-1e9])
    tp, fp, fn = (np.zeros(len(thresholds)) for _ in range(3))
    for (y_true, y_pred), w in zip(batches, weights):
        keep = _np_top_k_mask(y_pred, kwargs["top_k"]) if "top_k" in kwargs else np.ones_like(y_pred, bool)
        if "class_id" in kwargs:
            col = kwargs["class_id"]
            y_true, y_pred, keep = y_true[:, col : col + 1], y_pred[:, col : col + 1], keep[:, col : col + 1]
        for i, t in enumerate(thresholds):
            positive, label = keep & (y_pred > t), y_true > 0
            tp[i] += np.sum(w[:, None] * (positive & label))
            fp[i] += np.sum(w[:, None] * (positive & ~label))
            fn[i] += np.sum(w[:, None] * (~positive & label))
    expected = tp / (tp + (fp if cls_name == "Precision" else fn))
    metric = getattr(metrics, cls_name)(**kwargs)
    oracle = getattr(keras3.metrics, cls_name)(**kwargs)
    check_against_keras(metric, oracle, batches, weights, expected if len(expected) > 1 else expected[0])


# ---------------------------------------------------------------- AUC
def np_auc(batches, weights, num_thresholds, curve, summation):
    """Keras's Riemann sum over the curve at evenly spaced thresholds (the ends just outside [0, 1])."""
    thresholds = [-1e-7] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + 1e-7]
    tp, fp, tn, fn = np_counts(batches, weights, thresholds)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.nan_to_num(tp / (tp + fn))
        if curve == "ROC":
            x, y = np.nan_to_num(fp / (fp + tn)), recall
        else:
            x, y = recall, np.nan_to_num(tp / (tp + fp))
    heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:])}.get(
        summation, np.maximum(y[:-1], y[1:])
    )
    return np.sum((x[:-1] - x[1:]) * heights)


AUC_CASES = [
    ({}, "ROC", "interpolation"),
    ({"num_thresholds": 50, "summation_method": "minoring"}, "ROC", "minoring"),
    ({"num_thresholds": 50, "summation_method": "majoring"}, "ROC", "majoring"),
    ({"curve": "PR", "summation_method": "majoring"}, "PR", "majoring"),
    ({"curve": "PR", "summation_method": "minoring", "num_thresholds": 30}, "PR", "minoring"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kwargs, curve, summation", AUC_CASES, ids=[f"{c}-{s}" for _, c, s in AUC_CASES])
def test_auc_against_numpy_and_keras3(kwargs, curve, summation, weighted, rng, keras3):
    batches = _binary_batches(rng)
    weights = _weights(rng) if weighted else None
    expected = np_auc(batches, weights, kwargs.get("num_thresholds", 200), curve, summation)
    got = check_against_keras(metrics.AUC(**kwargs), keras3.metrics.AUC(**kwargs), batches, weights, expected)
    assert 0.6 < got < 1.0


def test_pr_auc_interpolation_and_from_logits(rng, keras3):
    batches, weights = _binary_batches(rng, logits=True), _weights(rng)
    metric = metrics.AUC(curve="PR", from_logits=True, num_thresholds=100)
    oracle = keras3.metrics.AUC(curve="PR", from_logits=True, num_thresholds=100)
    got = check_against_keras(metric, oracle, batches, weights)
    # Interpolated PR AUC lies between the lower and upper step sums computed on the probabilities.
    probs = [(t, 1 / (1 + np.exp(-p.astype(np.float64)))) for t, p in batches]
    low, high = (np_auc(probs, weights, 100, "PR", s) for s in ("minoring", "majoring"))
    assert low - 1e-6 <= got <= high + 1e-6


def test_roc_auc_approaches_scikit_learn(rng):
    from sklearn.metrics import roc_auc_score

    batches, weights = _binary_batches(rng, shape=(1,)), _weights(rng)
    metric = metrics.AUC(num_thresholds=2000)
    for (y_true, y_pred), w in zip(batches, weights):
        metric.update_state(y_true, y_pred, sample_weight=w)
    y_true = np.concatenate([b[0] for b in batches]).ravel()
    y_pred = np.concatenate([b[1] for b in batches]).ravel()
    expected = roc_auc_score(y_true, y_pred, sample_weight=np.concatenate(weights))
    assert float(metric.result()) == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"multi_label": True, "num_labels": 3},
        {"multi_label": True},
        {"multi_label": True, "num_labels": 3, "label_weights": [0.2, 1.0, 0.5], "curve": "PR"},
        {"label_weights": [0.2, 1.0, 0.5]},
        {"thresholds": [0.1, 0.4, 0.45, 0.9]},
    ],
    ids=["multi_label", "multi_label_lazy", "multi_label_weights_pr", "label_weights", "thresholds"],
)
def test_auc_options_match_keras3(kwargs, rng, keras3):
    batches, weights = _binary_batches(rng), _weights(rng)
    metric, oracle = metrics.AUC(**kwargs), keras3.metrics.AUC(**kwargs)
    got = check_against_keras(metric, oracle, batches, weights)
    assert 0.5 < got <= 1.0
    if "thresholds" in kwargs:
        assert metric.thresholds[1:-1] == kwargs["thresholds"] and metric.num_thresholds == 6


def test_auc_config_round_trip_and_keras3_config(keras3):
    metric = metrics.AUC(num_thresholds=77, curve="pr", summation_method="minoring", name="pr_auc", from_logits=True)
    config = metric.get_config()
    assert config["curve"] == "PR" and config["num_thresholds"] == 77 and config["name"] == "pr_auc"
    assert metrics.deserialize(metrics.serialize(metric)).get_config() == config
    oracle = keras3.metrics.AUC(
        num_thresholds=77, curve="PR", summation_method="minoring", name="pr_auc", from_logits=True
    )
    assert metrics.AUC.from_config(oracle.get_config()).get_config() == config
    assert keras3.metrics.AUC.from_config(config).get_config() == oracle.get_config()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: metrics.AUC(curve="ROCK"), "curve"),
        (lambda: metrics.AUC(summation_method="trapezoid"), "summation_method"),
        (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
        (lambda: metrics.AUC(num_labels=3), "num_labels"),
        (lambda: metrics.Precision(thresholds=1.5), "thresholds"),
        (lambda: metrics.Recall(top_k=0), "top_k"),
        (lambda: metrics.TruePositives(thresholds=[-0.1]), "thresholds"),
        (lambda: metrics.Precision(class_id=-2), "class_id"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cls_name", ["Precision", "Recall", "TruePositives", "FalseNegatives"])
def test_configs_round_trip_and_match_keras3(cls_name, keras3):
    kwargs = {"thresholds": [0.3, 0.6]}
    if cls_name in ("Precision", "Recall"):
        kwargs.update(top_k=2, class_id=1)
    metric = getattr(metrics, cls_name)(name="mine", **kwargs)
    oracle = getattr(keras3.metrics, cls_name)(name="mine", **kwargs)
    assert metric.get_config() == oracle.get_config()
    assert metrics.deserialize(metrics.serialize(metric)).get_config() == metric.get_config()
