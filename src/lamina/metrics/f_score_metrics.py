"""FBetaScore and F1Score: per-class (or micro-averaged) F-scores from accumulated tp, fp and fn.

The counts are per class, so their Variables need the number of classes: they are
made in `build(y_true_shape, y_pred_shape)` (or at the first `update_state`).

Example:
    >>> m = F1Score(average="macro", threshold=0.5)
    >>> m.update_state(one_hot_targets, probabilities)
"""

from __future__ import annotations

from lamina import config, ops
from lamina.metrics.metric import Metric

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """`(1 + beta**2) * precision * recall / (beta**2 * precision + recall)` per class.

    Args:
        average: None (one score per class), "micro" (from counts summed over classes),
            "macro" (the mean of the per-class scores) or "weighted" (weighted by each class's support).
        beta: the weight of recall against precision (a float > 0).
        threshold: predictions above it count as positive; None: each row's highest prediction is positive.

    Example:
        >>> FBetaScore(average="weighted", beta=2.0, threshold=0.5).update_state(y_true, y_pred)
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if average not in _AVERAGES:
            raise ValueError(f"{owner}: average must be one of {_AVERAGES}, got average={average!r}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{owner}: beta must be a float > 0, got beta={beta!r}.")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{owner}: threshold must be a float in (0, 1] or None, got threshold={threshold!r}.")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.built = False

    def build(self, y_true_shape, y_pred_shape) -> None:
        if self.built:
            return
        y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects targets and predictions of shape (batch_size, classes), "
                f"got y_true.shape={y_true_shape} and y_pred.shape={y_pred_shape}."
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        if not self.built:
            self._build_at_first_update(tuple(y_true.shape), tuple(y_pred.shape))
        if self.threshold is None:
            # The row's highest prediction is the positive one (all-zero rows have none).
            row_max = ops.max(y_pred, axis=-1, keepdims=True)
            predicted = ops.logical_and(y_pred >= row_max, ops.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = ops.cast(predicted, self.dtype)
        axis = None if self.average == "micro" else 0

        def weighted_sum(values):
            if sample_weight is not None:
                values = values * ops.expand_dims(ops.cast(sample_weight, self.dtype), 1)
            return ops.sum(values, axis=axis)

        self.true_positives.assign_add(weighted_sum(predicted * y_true))
        self.false_positives.assign_add(weighted_sum(predicted * (1.0 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1.0 - predicted) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        if not self.built:
            return ops.zeros((), self.dtype)
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        beta_squared = self.beta**2
        score = (1.0 + beta_squared) * (precision * recall / (beta_squared * precision + recall + eps))
        if self.average == "weighted":
            support = self.intermediate_weights.value
            return ops.sum(score * support / (ops.sum(support) + eps))
        if self.average is not None:
            return ops.mean(score)
        return score

    def reset_state(self) -> None:
        if self.built:
            super().reset_state()

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-score with beta = 1: the harmonic mean of precision and recall.

    Example:
        >>> F1Score(average="micro", threshold=0.5).update_state(y_true, y_pred)
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("beta")
        return config_dict
