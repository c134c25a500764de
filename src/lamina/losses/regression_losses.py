"""Regression losses as per-sample functions: each reduces the last axis and keeps one value per sample.

Example:
    >>> mean_squared_error(np.zeros((2, 3)), np.ones((2, 3)))  # [1., 1.]
"""

from __future__ import annotations

import math

from lamina import config, ops
from lamina.losses.loss import float_pair


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)**2) over the last axis.

    Example:
        >>> mean_squared_error([[0.0, 2.0]], [[1.0, 0.0]])  # [2.5]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis.

    Example:
        >>> mean_absolute_error([[0.0, 2.0]], [[1.0, 0.0]])  # [1.5]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon)) over the last axis.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 5.0]])  # [37.5]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "mean_absolute_percentage_error")
    ratio = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), config.epsilon()))
    return 100.0 * ops.mean(ratio, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))**2) over the last axis.

    Example:
        >>> mean_squared_logarithmic_error([[0.0]], [[math.e - 1.0]])  # [1.]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    difference = ops.log(ops.maximum(y_pred, eps) + 1.0) - ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.mean(ops.square(difference), axis=-1)


def _l2_normalize(x, axis):
    # Keras divides by sqrt(max(sum(x**2), 1e-12)), so an all-zero vector stays zero.
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), 1e-12))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`: -1 for parallel vectors.

    Example:
        >>> cosine_similarity([[1.0, 1.0]], [[2.0, 2.0]])  # [-1.]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "cosine_similarity")
    return -ops.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e**2 where |e| <= delta, else delta |e| - 0.5 delta**2 (e = y_pred - y_true).

    Example:
        >>> huber([[0.0, 0.0]], [[0.5, 3.0]])  # [(0.125 + 2.5) / 2]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "huber")
    error = y_pred - y_true
    magnitude = ops.abs(error)
    delta = float(delta)
    values = ops.where(magnitude <= delta, 0.5 * ops.square(error), delta * magnitude - 0.5 * delta * delta)
    return ops.mean(values, axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed without overflow.

    Example:
        >>> log_cosh([[0.0]], [[1.0]])  # [0.4338]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "log_cosh")
    error = y_pred - y_true
    # log(cosh(x)) = x + log(1 + exp(-2x)) - log(2), with softplus keeping large |x| finite.
    return ops.mean(error + ops.softplus(-2.0 * error) - math.log(2.0), axis=-1)
