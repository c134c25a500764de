"""IoU metrics and F-scores: against NumPy confusion matrices and counts written out here, scikit-learn's
F1 and Jaccard scores, and Keras 3 metric objects fed the same weighted batches."""

from __future__ import annotations

import numpy as np
import pytest
from metric_checks import check_against_keras

from lamina import metrics

pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")

K = 4  # classes
N = 10  # samples per batch (one shape for every batch: JAX compiles each eager op once per shape)


def _label_batches(rng, count=3):
    return [(rng.integers(0, K, N), rng.integers(0, K, N)) for _ in range(count)]


def _int_weights(rng, count=3):
    return [rng.integers(0, 3, N).astype("int32") for _ in range(count)]


def np_confusion(batches, weights, ignore_class=None, num_classes=K):
    matrix = np.zeros((num_classes, num_classes))
    for index, (y_true, y_pred) in enumerate(batches):
        w = np.ones(len(y_true)) if weights is None else np.trunc(weights[index])  # int32 state truncates
        for t, p, weight in zip(np.ravel(y_true), np.ravel(y_pred), np.broadcast_to(w, np.shape(np.ravel(y_true)))):
            if t != ignore_class and 0 <= t < num_classes and 0 <= p < num_classes:
                matrix[int(t), int(p)] += weight
    return matrix


def np_mean_iou(matrix, class_ids=None):
    tp = np.diag(matrix)
    denominator = matrix.sum(0) + matrix.sum(1) - tp
    ids = list(range(len(matrix))) if class_ids is None else class_ids
    valid = denominator[ids] > 0
    return np.sum(tp[ids][valid] / denominator[ids][valid]) / valid.sum()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mean_iou(weighted, rng, keras3):
    from sklearn.metrics import jaccard_score

    batches = _label_batches(rng)
    weights = _int_weights(rng) if weighted else None
    expected = np_mean_iou(np_confusion(batches, weights))
    got = check_against_keras(metrics.MeanIoU(K), keras3.metrics.MeanIoU(K), batches, weights, expected)
    y_true, y_pred = (np.concatenate([b[i] for b in batches]) for i in (0, 1))
    sample_weight = None if weights is None else np.concatenate(weights)
    assert got == pytest.approx(jaccard_score(y_true, y_pred, average="macro", sample_weight=sample_weight), abs=1e-5)


def test_iou_target_classes_and_ignore_class(rng, keras3):
    batches, weights = _label_batches(rng), _int_weights(rng)
    for labels, _ in batches:
        labels[:3] = 2
    kwargs = {"num_classes": K, "target_class_ids": [0, 2, 3], "ignore_class": 2}
    expected = np_mean_iou(np_confusion(batches, weights, ignore_class=2), [0, 2, 3])
    check_against_keras(metrics.IoU(**kwargs), keras3.metrics.IoU(**kwargs), batches, weights, expected)


def test_iou_with_out_of_range_labels_skips_them(rng, keras3):
    batches = _label_batches(rng)
    batches[0][0][0], batches[0][1][1] = K + 3, -1
    expected = np_mean_iou(np_confusion(batches, None))
    check_against_keras(metrics.MeanIoU(K), keras3.metrics.MeanIoU(K), batches, None, expected)


def test_binary_iou(rng, keras3):
    batches = [(rng.integers(0, 2, N), rng.uniform(size=N).astype("float32")) for _ in range(3)]
    weights = _int_weights(rng)
    for ids, threshold in (([0, 1], 0.5), ([1], 0.3), ([0], 0.7)):
        thresholded = [(t, (p >= threshold).astype(int)) for t, p in batches]
        expected = np_mean_iou(np_confusion(thresholded, weights, num_classes=2), ids)
        metric = metrics.BinaryIoU(target_class_ids=ids, threshold=threshold)
        oracle = keras3.metrics.BinaryIoU(target_class_ids=ids, threshold=threshold)
        check_against_keras(metric, oracle, batches, weights, expected)


def test_one_hot_iou_forms(rng, keras3):
    batches = [
        (np.eye(K)[t].astype("float32"), rng.normal(size=(N, K)).astype("float32")) for t, _ in _label_batches(rng)
    ]
    sparse = [(np.argmax(t, -1), np.argmax(p, -1)) for t, p in batches]
    expected = np_mean_iou(np_confusion(sparse, None))
    check_against_keras(metrics.OneHotMeanIoU(K), keras3.metrics.OneHotMeanIoU(K), batches, None, expected)
    expected = np_mean_iou(np_confusion(sparse, None), [1, 3])
    metric, oracle = metrics.OneHotIoU(K, [1, 3]), keras3.metrics.OneHotIoU(K, [1, 3])
    check_against_keras(metric, oracle, batches, None, expected)


def test_iou_configs_match_keras3(keras3):
    for metric, oracle in (
        (metrics.MeanIoU(3, name="miou", ignore_class=0), keras3.metrics.MeanIoU(3, name="miou", ignore_class=0)),
        (
            metrics.IoU(3, [1, 2], name="iou", sparse_y_pred=False),
            keras3.metrics.IoU(3, [1, 2], name="iou", sparse_y_pred=False),
        ),
        (metrics.BinaryIoU([1], threshold=0.3, name="b"), keras3.metrics.BinaryIoU([1], threshold=0.3, name="b")),
    ):
        assert metric.get_config() == oracle.get_config()
        assert metrics.deserialize(metrics.serialize(metric)).get_config() == metric.get_config()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: metrics.IoU(3, [3]), "target_class_ids"),
        (lambda: metrics.MeanIoU(0), "num_classes"),
        (lambda: metrics.FBetaScore(average="mean"), "average"),
        (lambda: metrics.FBetaScore(beta=0.0), "beta"),
        (lambda: metrics.F1Score(threshold=1.5), "threshold"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------- F-scores
def _multilabel_batches(rng, count=3):
    return [
        (rng.integers(0, 2, size=(N, K)).astype("float32"), rng.uniform(size=(N, K)).astype("float32"))
        for _ in range(count)
    ]


def np_fbeta(batches, weights, average, beta, threshold):
    tp = fp = fn = support = 0.0
    for index, (y_true, y_pred) in enumerate(batches):
        if threshold is None:
            predicted = (y_pred >= y_pred.max(-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > threshold
        w = np.ones((len(y_true), 1)) if weights is None else weights[index][:, None]
        axis = None if average == "micro" else 0
        tp = tp + np.sum(w * (predicted & (y_true > 0)), axis=axis)
        fp = fp + np.sum(w * (predicted & (y_true == 0)), axis=axis)
        fn = fn + np.sum(w * (~predicted & (y_true > 0)), axis=axis)
        support = support + np.sum(w * y_true, axis=axis)
    precision, recall = tp / (tp + fp + 1e-7), tp / (tp + fn + 1e-7)
    score = (1 + beta**2) * precision * recall / (beta**2 * precision + recall + 1e-7)
    if average == "weighted":
        return np.sum(score * support / (support.sum() + 1e-7))
    return score if average is None else np.mean(score)


F_CASES = [
    (None, 1.0, 0.5),
    ("micro", 1.0, 0.5),
    ("macro", 2.0, 0.4),
    ("weighted", 0.5, 0.6),
    (None, 1.0, None),
    ("macro", 1.0, None),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("average, beta, threshold", F_CASES, ids=[f"{a}-{b}-{t}" for a, b, t in F_CASES])
def test_fbeta_score(average, beta, threshold, weighted, rng, keras3):
    batches = _multilabel_batches(rng)
    weights = [rng.uniform(0, 2, N).astype("float32") for _ in batches] if weighted else None
    expected = np_fbeta(batches, weights, average, beta, threshold)
    kwargs = {"average": average, "beta": beta, "threshold": threshold}
    check_against_keras(metrics.FBetaScore(**kwargs), keras3.metrics.FBetaScore(**kwargs), batches, weights, expected)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_matches_scikit_learn(average, rng, keras3):
    from sklearn.metrics import f1_score

    batches, weights = _multilabel_batches(rng), [rng.uniform(0.5, 2, N).astype("float32") for _ in range(3)]
    got = check_against_keras(
        metrics.F1Score(average=average, threshold=0.5),
        keras3.metrics.F1Score(average=average, threshold=0.5),
        batches,
        weights,
    )
    y_true = np.concatenate([b[0] for b in batches]).astype(int)
    y_pred = (np.concatenate([b[1] for b in batches]) > 0.5).astype(int)
    expected = f1_score(y_true, y_pred, average=average, sample_weight=np.concatenate(weights))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_f_score_configs_match_keras3(keras3):
    metric = metrics.F1Score(average="macro", threshold=0.3, name="f1")
    assert metric.get_config() == keras3.metrics.F1Score(average="macro", threshold=0.3, name="f1").get_config()
    metric = metrics.FBetaScore(average="weighted", beta=2.0)
    assert metric.get_config() == keras3.metrics.FBetaScore(average="weighted", beta=2.0).get_config()
    assert metrics.deserialize(metrics.serialize(metric)).get_config() == metric.get_config()


def test_f_score_build_creates_per_class_state_before_any_data():
    metric = metrics.F1Score()
    assert not metric.built and metric.variables == []
    metric.build((None, K), (None, K))
    assert [tuple(v.shape) for v in metric.variables] == [(K,)] * 4
    assert [v.path for v in metric.variables] == [
        "f1_score/true_positives",
        "f1_score/false_positives",
        "f1_score/false_negatives",
        "f1_score/intermediate_weights",
    ]
    with pytest.raises(ValueError, match="F1Score"):
        metrics.F1Score().build((None,), (None,))
