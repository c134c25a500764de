"""Correlation metrics, as Keras 3 has them: PearsonCorrelation, ConcordanceCorrelation and R2Score.

The two correlations are computed per sample along `axis` and averaged over the
samples seen; R2Score accumulates sums per output and finds the coefficient of
determination over everything seen.

Example:
    >>> m = R2Score()
    >>> m.update_state(np.array([[1.0], [4.0], [3.0]]), np.array([[2.0], [4.0], [4.0]]))
    >>> float(m.result())  # 0.5714
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import match_ranks
from lamina.metrics.metric import MeanMetricWrapper, Metric


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(y_pred).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, config.floatx())
    return match_ranks(ops.cast(y_true, ops.dtype_of(y_pred)), y_pred)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def pearson_correlation(y_true, y_pred, axis=-1):
    """The Pearson correlation of `y_true` and `y_pred` along `axis` (one value per sample).

    Example:
        >>> pearson_correlation([[0.0, 1.0, 0.5]], [[0.1, 0.9, 0.5]])  # [0.993]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    true_centred = y_true - ops.mean(y_true, axis=axis, keepdims=True)
    pred_centred = y_pred - ops.mean(y_pred, axis=axis, keepdims=True)
    true_scaled = true_centred / ops.std(true_centred, axis=axis, keepdims=True)
    pred_scaled = pred_centred / ops.std(pred_centred, axis=axis, keepdims=True)
    return ops.mean(true_scaled * pred_scaled, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along `axis`, written as Keras 3 computes it (one value per sample).

    `mean(2 (y_true - mean(y_pred)) (y_pred - mean(y_pred)) / (var(y_true) + var(y_pred)
    + (mean(y_true) - mean(y_pred))**2 + epsilon))`. Keras centres `y_true` on the mean of
    `y_pred` in the numerator; lamina keeps that, so the numbers are Keras's.

    Example:
        >>> concordance_correlation([[0.0, 1.0, 0.5]], [[0.1, 0.9, 0.5]])  # [0.9756]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = ops.var(y_pred - pred_mean, axis=axis, keepdims=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + ops.square(true_mean - pred_mean)
    return ops.mean(2.0 * covariance / (norm + config.epsilon()), axis=axis)


class _CorrelationMetric(MeanMetricWrapper):
    """The mean over samples of a correlation along `axis`."""

    def __init__(self, fn, name, dtype, axis):
        super().__init__(fn, name=name, dtype=dtype, axis=_axis(axis))
        self.axis = _axis(axis)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class PearsonCorrelation(_CorrelationMetric):
    """The mean Pearson correlation coefficient between targets and predictions (along `axis`, per sample).

    Args:
        name: the metric's name.
        dtype: the dtype of its state.
        axis: the axis (or axes) the correlation is taken along (default -1).

    Example:
        >>> m = PearsonCorrelation()
        >>> m.update_state([[0.0, 1.0, 0.5], [1.0, 1.0, 0.2]], [[0.1, 0.9, 0.5], [1.0, 0.9, 0.2]])
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name, dtype, axis)


class ConcordanceCorrelation(_CorrelationMetric):
    """The mean concordance correlation coefficient between targets and predictions (along `axis`, per sample).

    Args:
        name: the metric's name.
        dtype: the dtype of its state.
        axis: the axis (or axes) the correlation is taken along (default -1).

    Example:
        >>> model.compile("sgd", "mse", metrics=[ConcordanceCorrelation()])
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name, dtype, axis)


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination `1 - sum((y_true - y_pred)**2) / sum((y_true - mean(y_true))**2)`.

    Computed per output (last axis) over every sample seen, then aggregated. Inputs are
    (batch, outputs); the per-output sums are made in `build` (or at the first update).

    Args:
        class_aggregation: None (one score per output), "uniform_average" (their mean) or
            "variance_weighted_average" (weighted by each output's variance).
        num_regressors: p > 0 gives the adjusted score `1 - (1 - R2)(n - 1) / (n - p - 1)`,
            n the number of values seen (the plain score when n - 1 <= p).
        name: the metric's name.
        dtype: the dtype of its state.

    Example:
        >>> R2Score(class_aggregation=None).update_state(y_true, y_pred)
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"R2Score: class_aggregation must be one of {_AGGREGATIONS}, "
                f"got class_aggregation={class_aggregation!r}."
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be an int >= 0, got num_regressors={num_regressors!r}.")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self.built = False

    def build(self, y_true_shape, y_pred_shape) -> None:
        if self.built:
            return
        y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                "R2Score expects targets and predictions of shape (batch_size, outputs) with a known number of "
                f"outputs, got y_true.shape={y_true_shape} and y_pred.shape={y_pred_shape}."
            )
        outputs = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(outputs, name="squared_sum")
        self.sum = self.add_variable(outputs, name="sum")
        self.total_mse = self.add_variable(outputs, name="residual")
        self.count = self.add_variable(outputs, name="count")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = match_ranks(ops.cast(y_true, self.dtype), ops.cast(y_pred, self.dtype))
        if not self.built:
            self._build_at_first_update(tuple(y_true.shape), tuple(y_pred.shape))
        weight = ops.ones((), self.dtype) if sample_weight is None else ops.cast(sample_weight, self.dtype)
        if weight.ndim == 1:
            weight = ops.expand_dims(weight, 1)
        weight = ops.broadcast_to(weight, tuple(y_true.shape))
        weighted_true = y_true * weight
        self.sum.assign_add(ops.sum(weighted_true, axis=0))
        self.squared_sum.assign_add(ops.sum(y_true * weighted_true, axis=0))
        self.total_mse.assign_add(ops.sum(ops.square(y_true - y_pred) * weight, axis=0))
        self.count.assign_add(ops.sum(weight, axis=0))
        self.num_samples.assign_add(y_true.shape[0] * y_true.shape[1])

    def result(self):
        if not self.built:
            return ops.zeros((), self.dtype)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1.0 - self.total_mse.value / total
        raw = ops.where(ops.abs(raw) == float("inf"), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.sum(total * raw) / ops.sum(total)
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        n, p = self.num_samples.value, float(self.num_regressors)
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / ops.maximum(n - p - 1.0, 1.0)
        # With no more values than regressors + 1, Keras falls back to the plain score.
        return ops.where(n - 1.0 > p, adjusted, score)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
