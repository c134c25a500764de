"""Confusion-matrix metrics at one or more thresholds: true/false positives/negatives, Precision, Recall.

A prediction counts as positive when it is above a threshold. Counts are kept
per threshold in Variables and updated with ops only (one comparison of every
prediction with every threshold), so they run inside a jitted step.

Example:
    >>> m = Precision(thresholds=[0.3, 0.7])
    >>> m.update_state(y_true, y_pred)
    >>> m.result()  # one precision per threshold
"""

from __future__ import annotations

from lamina import ops
from lamina.losses.loss import match_ranks
from lamina.metrics.metric import Metric

NEG_INF = -1e10  # what Keras puts in place of the predictions outside the top k


def parse_thresholds(owner: str, thresholds, default):
    """Thresholds as a list of floats in [0, 1]; `default` when None."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    bad = [t for t in values if t is None or not 0.0 <= float(t) <= 1.0]
    if bad or not values:
        raise ValueError(f"{owner}: thresholds must be in [0, 1], got thresholds={thresholds!r}.")
    return [float(t) for t in values]


def divide_no_nan(numerator, denominator):
    """numerator / denominator, and 0 where the denominator is 0."""
    safe = ops.where(denominator == 0, 1.0, denominator)
    return ops.where(denominator == 0, 0.0, numerator / safe)


def _keep_top_k(y_pred, k):
    """y_pred with every value outside each row's k largest set to NEG_INF (ties go to the lower index)."""
    values = ops.expand_dims(y_pred, -1)  # [..., i, 1]
    others = ops.expand_dims(y_pred, -2)  # [..., 1, j]
    size = y_pred.shape[-1]
    index = ops.arange(size)
    earlier = ops.expand_dims(index, 0) < ops.expand_dims(index, 1)  # [i, j]: j comes before i
    beaten_by = ops.logical_or(others > values, ops.logical_and(others == values, earlier))
    rank = ops.sum(ops.cast(beaten_by, "int32"), axis=-1)
    return ops.where(rank < k, y_pred, NEG_INF)


def prepare(y_true, y_pred, sample_weight=None, top_k=None, class_id=None, label_weights=None):
    """(labels as bool, predictions, weights or None), all of the predictions' shape, as Keras lines them up."""
    y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, "float32")
    y_pred, y_true = match_ranks(y_pred, y_true)
    y_true = ops.broadcast_to(y_true, y_pred.shape)
    weight = None
    if sample_weight is not None:
        weight = ops.cast(sample_weight, "float32")
        while weight.ndim > y_pred.ndim and weight.shape[-1] == 1:
            weight = ops.squeeze(weight, -1)
        while weight.ndim < y_pred.ndim:
            weight = ops.expand_dims(weight, -1)
        weight = ops.broadcast_to(weight, y_pred.shape)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if label_weights is not None:
        label_weights = ops.broadcast_to(ops.cast(label_weights, "float32"), y_pred.shape)
        weight = label_weights if weight is None else weight * label_weights
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(
                f"class_id={class_id} needs predictions of shape (samples, classes), got shape {tuple(y_pred.shape)}."
            )
        y_true, y_pred = y_true[..., class_id : class_id + 1], y_pred[..., class_id : class_id + 1]
        weight = None if weight is None else weight[..., class_id : class_id + 1]
    return ops.not_equal(y_true, 0.0), y_pred, weight


def confusion_counts(labels, y_pred, weight, thresholds, kinds, per_label=False):
    """{kind: counts per threshold} for kinds in "tp", "fp", "tn", "fn".

    With `per_label`, predictions are (samples, labels) and counts are (thresholds, labels).
    """
    thresholds = ops.convert_to_tensor(thresholds, "float32")
    if per_label:
        shape = (-1, 1, 1)
    else:
        labels, y_pred = ops.reshape(labels, (-1,)), ops.reshape(y_pred, (-1,))
        weight = None if weight is None else ops.reshape(weight, (-1,))
        shape = (-1, 1)
    positive = ops.greater(ops.expand_dims(y_pred, 0), ops.reshape(thresholds, shape))
    labels = ops.expand_dims(labels, 0)
    weight = None if weight is None else ops.expand_dims(weight, 0)
    cases = {
        "tp": (labels, positive),
        "fp": (ops.logical_not(labels), positive),
        "tn": (ops.logical_not(labels), ops.logical_not(positive)),
        "fn": (labels, ops.logical_not(positive)),
    }
    counts = {}
    for kind in kinds:
        hit = ops.logical_and(*cases[kind])
        values = ops.cast(hit, "float32") if weight is None else ops.where(hit, weight, 0.0)
        counts[kind] = ops.sum(values, axis=1)
    return counts


class _ConfusionCount(Metric):
    """The (weighted) count of one kind of outcome, per threshold."""

    _kind = ""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(type(self).__name__, thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, y_pred, weight = prepare(y_true, y_pred, sample_weight)
        counts = confusion_counts(labels, y_pred, weight, self.thresholds, (self._kind,))
        self.accumulator.assign_add(ops.cast(counts[self._kind], self.dtype))

    def result(self):
        value = self.accumulator.value
        return value[0] if len(self.thresholds) == 1 else value + 0.0

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The (weighted) number of positive samples predicted positive.

    Example:
        >>> TruePositives(thresholds=0.5).update_state([0, 1, 1], [0.2, 0.9, 0.4])  # 1.0
    """

    _kind = "tp"


class FalsePositives(_ConfusionCount):
    """The (weighted) number of negative samples predicted positive.

    Example:
        >>> FalsePositives().update_state([0, 1], [0.8, 0.9])  # 1.0
    """

    _kind = "fp"


class TrueNegatives(_ConfusionCount):
    """The (weighted) number of negative samples predicted negative.

    Example:
        >>> TrueNegatives().update_state([0, 1], [0.2, 0.9])  # 1.0
    """

    _kind = "tn"


class FalseNegatives(_ConfusionCount):
    """The (weighted) number of positive samples predicted negative.

    Example:
        >>> FalseNegatives().update_state([1, 1], [0.2, 0.9])  # 1.0
    """

    _kind = "fn"


class _PrecisionRecall(Metric):
    """Shared by Precision and Recall: tp and one other count, per threshold."""

    _other = ""
    _other_name = ""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"{owner}: top_k must be a positive int or None, got top_k={top_k!r}.")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0):
            raise ValueError(f"{owner}: class_id must be a non-negative int or None, got class_id={class_id!r}.")
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        # With top_k and no thresholds, every prediction kept in the top k counts as positive.
        self.thresholds = parse_thresholds(owner, thresholds, 0.5 if top_k is None else NEG_INF)
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        self._other_variable = self.add_variable((len(self.thresholds),), name=self._other_name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, y_pred, weight = prepare(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        counts = confusion_counts(labels, y_pred, weight, self.thresholds, ("tp", self._other))
        self.true_positives.assign_add(ops.cast(counts["tp"], self.dtype))
        self._other_variable.assign_add(ops.cast(counts[self._other], self.dtype))

    def result(self):
        tp = self.true_positives.value
        value = divide_no_nan(tp, tp + self._other_variable.value)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        extra = {"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id}
        return {**super().get_config(), **extra}


class Precision(_PrecisionRecall):
    """tp / (tp + fp): how many of the predicted positives are positive.

    Args:
        thresholds: one float or a list in [0, 1] (default 0.5): a result per threshold.
        top_k: only each sample's k highest predictions can count as positive.
        class_id: only this class (column) is counted.

    Example:
        >>> Precision(top_k=2, class_id=1).update_state(y_true, y_pred)
    """

    _other, _other_name = "fp", "false_positives"

    @property
    def false_positives(self):
        return self._other_variable


class Recall(_PrecisionRecall):
    """tp / (tp + fn): how many of the positives are predicted positive.

    Args:
        thresholds: one float or a list in [0, 1] (default 0.5): a result per threshold.
        top_k: only each sample's k highest predictions can count as positive.
        class_id: only this class (column) is counted.

    Example:
        >>> Recall(thresholds=[0.3, 0.6]).update_state(y_true, y_pred)
    """

    _other, _other_name = "fn", "false_negatives"

    @property
    def false_negatives(self):
        return self._other_variable
