"""Accuracy metrics: per-sample functions (1.0 for a hit) and the Mean-of-them metric classes.

Example:
    >>> m = TopKCategoricalAccuracy(k=2)
    >>> m.update_state(one_hot_targets, scores)
"""

from __future__ import annotations

from lamina import ops
from lamina.losses.loss import match_ranks
from lamina.metrics.metric import MeanMetricWrapper, wrapper_class


def accuracy(y_true, y_pred):
    """1.0 where y_true equals y_pred exactly.

    Example:
        >>> accuracy([1, 2], [1, 3])  # [1., 0.]
    """
    y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
    return ops.cast(ops.equal(ops.cast(y_true, ops.dtype_of(y_pred)), y_pred), "float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of (y_pred > threshold) == y_true.

    Example:
        >>> binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]])  # [1., 0.]
    """
    y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
    predicted = ops.cast(ops.greater(y_pred, threshold), "float32")
    return ops.mean(ops.cast(ops.equal(ops.cast(y_true, "float32"), predicted), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot targets).

    Example:
        >>> categorical_accuracy([[0, 1]], [[0.3, 0.7]])  # [1.]
    """
    return ops.cast(ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)), "float32")


def _labels(y_true, y_pred):
    """Integer labels of rank `y_pred.ndim - 1` (a trailing axis of 1 squeezed)."""
    y_true = ops.convert_to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals argmax(y_pred).

    Example:
        >>> sparse_categorical_accuracy([1], [[0.3, 0.7]])  # [1.]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = _labels(y_true, y_pred)
    predicted = ops.argmax(y_pred, axis=-1)
    return ops.cast(ops.equal(ops.cast(y_true, ops.dtype_of(predicted)), predicted), "float32")


def _in_top_k(labels, scores, k):
    """Whether each label's score is among the k largest (ties counted in the label's favour, as Keras does)."""
    at_label = ops.take_along_axis(scores, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1)
    at_label = ops.where(ops.isnan(at_label), float("-inf"), at_label)  # NaN is no high score
    above = ops.sum(ops.cast(ops.greater(scores, at_label), "int32"), axis=-1)
    return ops.less(above, k)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the k highest scores.

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2)  # [0.]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(_in_top_k(ops.argmax(y_true, axis=-1), y_pred, k), "float32")


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the k highest scores.

    Example:
        >>> sparse_top_k_categorical_accuracy([1], [[0.5, 0.3, 0.2]], k=2)  # [1.]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(_in_top_k(_labels(y_true, y_pred), y_pred, k), "float32")


Accuracy = wrapper_class("Accuracy", accuracy, "accuracy", module=__name__)
BinaryAccuracy = wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", module=__name__)
CategoricalAccuracy = wrapper_class(
    "CategoricalAccuracy", categorical_accuracy, "categorical_accuracy", module=__name__
)
SparseCategoricalAccuracy = wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy", module=__name__
)


def _check_k(owner: str, k) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{owner}: k must be a positive int, got k={k!r}.")


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose one-hot target is among the k highest scores.

    Example:
        >>> TopKCategoricalAccuracy(k=3).update_state(one_hot_targets, scores)
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k("TopKCategoricalAccuracy", k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose integer label is among the k highest scores.

    Example:
        >>> SparseTopKCategoricalAccuracy(k=3).update_state(labels, scores)
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        _check_k("SparseTopKCategoricalAccuracy", k)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
