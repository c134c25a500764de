"""Regression metrics: the running (weighted) mean of a per-sample error, and its root for RMSE.

Example:
    >>> m = RootMeanSquaredError()
    >>> m.update_state([[1.0], [3.0]], [[2.0], [3.0]])
    >>> float(m.result())  # sqrt(0.5)
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.losses.loss import float_pair
from lamina.losses.regression_losses import (
    cosine_similarity,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.metrics.metric import Mean, MeanMetricWrapper, wrapper_class

MeanSquaredError = wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error", module=__name__)
MeanAbsoluteError = wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", module=__name__)
MeanAbsolutePercentageError = wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error", module=__name__
)
MeanSquaredLogarithmicError = wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error", module=__name__
)
LogCoshError = wrapper_class("LogCoshError", log_cosh, "logcosh", module=__name__)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between targets and predictions along `axis` (1 for parallel vectors).

    Example:
        >>> CosineSimilarity(axis=-1).update_state(y_true, y_pred)
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=axis)


class CosineProximity(MeanMetricWrapper):
    """Keras 2's `cosine_proximity` metric: the mean of the cosine loss, `-cos(y_true, y_pred)` (-1 for parallel).

    Example:
        >>> model.compile(loss="mse", metrics=["cosine_proximity"])  # as Keras 2 programs wrote it
    """

    def __init__(self, name="cosine_proximity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


def _cosine_similarity(y_true, y_pred, axis=-1):
    # The loss is the negative similarity; the metric reports the similarity itself.
    return -cosine_similarity(y_true, y_pred, axis=axis)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors over every value seen.

    Example:
        >>> RootMeanSquaredError().update_state(y_true, y_pred, sample_weight=weights)
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = float_pair(y_true, y_pred, "root_mean_squared_error")
        super().update_state(ops.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())


class MeanRelativeError(Mean):
    """The mean of `|y_true - y_pred| / normalizer` over every value seen (tf-keras's metric; 0 where it is 0).

    Args:
        normalizer: what each error is divided by: a number or an array broadcast against `y_pred`.

    Example:
        >>> m = MeanRelativeError(normalizer=[1.0, 2.0])
        >>> m.update_state([[1.0, 2.0]], [[2.0, 4.0]])
        >>> float(m.result())  # (1 / 1 + 2 / 2) / 2
        1.0
    """

    def __init__(self, normalizer, name=None, dtype=None):
        super().__init__(name=name or "mean_relative_error", dtype=dtype)
        if isinstance(normalizer, dict) and normalizer.get("class_name") in ("__numpy__", "__tensor__"):
            normalizer = normalizer["config"]["value"]  # how tf-keras's `.keras` config writes an array
        self.normalizer = np.asarray(normalizer, "float32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = float_pair(y_true, y_pred, self.name)
        normalizer = ops.convert_to_tensor(self.normalizer)
        safe = ops.where(ops.equal(normalizer, 0.0), 1.0, normalizer)
        relative = ops.where(ops.equal(normalizer, 0.0), 0.0, ops.abs(y_true - y_pred) / safe)
        super().update_state(relative, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "normalizer": self.normalizer.tolist()}
