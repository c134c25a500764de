"""Hinge losses as per-sample functions (maximum-margin losses for -1/1 or one-hot targets).

Example:
    >>> hinge([[1.0, 0.0]], [[0.3, -0.8]])  # 0/1 targets are read as 1/-1: [(0.7 + 0.2) / 2]
"""

from __future__ import annotations

from lamina import ops
from lamina.losses.loss import float_pair


def _signed_labels(y_true):
    """0/1 targets as -1/1; targets that are not all 0 or 1 are left as they are (Keras's rule)."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis, with targets in -1/1 (or 0/1).

    Example:
        >>> hinge([[-1.0]], [[0.5]])  # [1.5]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "hinge")
    return ops.mean(ops.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)**2) over the last axis, with targets in -1/1 (or 0/1).

    Example:
        >>> squared_hinge([[-1.0]], [[0.5]])  # [2.25]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "squared_hinge")
    return ops.mean(ops.square(ops.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max over wrong classes of y_pred - y_pred of the true class + 1, 0), with one-hot targets.

    Example:
        >>> categorical_hinge([[0.0, 1.0]], [[0.4, 0.6]])  # [0.8]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "categorical_hinge")
    positive = ops.sum(y_true * y_pred, axis=-1)
    negative = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(negative - positive + 1.0, 0.0)
