"""The metric name lookup (`get`, `serialize`, `deserialize`), over every metric module.

The names are those Keras 2 and Keras 3 accept in `compile(metrics=[...])`:
class names, their snake_case forms, and the function names and aliases.

Example:
    >>> get("auc")  # an AUC()
    >>> get("top_k_categorical_accuracy", name="top5")
"""

from __future__ import annotations

from lamina.backend.common import to_snake_case
from lamina.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from lamina.losses.probabilistic_losses import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.losses.regression_losses import (
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.metrics import accuracy_metrics as acc
from lamina.metrics import confusion_metrics as confusion
from lamina.metrics import correlation_metrics as correlation
from lamina.metrics import f_score_metrics as f_score
from lamina.metrics import iou_metrics as iou
from lamina.metrics import probabilistic_metrics as prob
from lamina.metrics import regression_metrics as reg
from lamina.metrics import sensitivity_metrics as sensitivity
from lamina.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
)
from lamina.metrics.auc_metrics import AUC
from lamina.metrics.metric import Mean, MeanMetricWrapper, Metric, Sum
from lamina.metrics.regression_metrics import MeanAbsoluteError, MeanSquaredError

# Kept importable from here, where they used to live.
__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "SparseCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "deserialize",
    "get",
    "serialize",
    "sparse_categorical_accuracy",
]

_CLASS_LIST = (
    Mean,
    Sum,
    MeanMetricWrapper,
    acc.Accuracy,
    acc.BinaryAccuracy,
    acc.CategoricalAccuracy,
    acc.SparseCategoricalAccuracy,
    acc.TopKCategoricalAccuracy,
    acc.SparseTopKCategoricalAccuracy,
    reg.MeanSquaredError,
    reg.MeanAbsoluteError,
    reg.MeanAbsolutePercentageError,
    reg.MeanSquaredLogarithmicError,
    reg.RootMeanSquaredError,
    reg.CosineSimilarity,
    reg.LogCoshError,
    reg.MeanRelativeError,
    prob.BinaryCrossentropy,
    prob.CategoricalCrossentropy,
    prob.SparseCategoricalCrossentropy,
    prob.Hinge,
    prob.SquaredHinge,
    prob.CategoricalHinge,
    prob.KLDivergence,
    prob.Poisson,
    confusion.TruePositives,
    confusion.FalsePositives,
    confusion.TrueNegatives,
    confusion.FalseNegatives,
    confusion.Precision,
    confusion.Recall,
    AUC,
    iou.IoU,
    iou.MeanIoU,
    iou.BinaryIoU,
    iou.OneHotIoU,
    iou.OneHotMeanIoU,
    f_score.FBetaScore,
    f_score.F1Score,
    correlation.PearsonCorrelation,
    correlation.ConcordanceCorrelation,
    correlation.R2Score,
    sensitivity.SensitivityAtSpecificity,
    sensitivity.SpecificityAtSensitivity,
    sensitivity.PrecisionAtRecall,
    sensitivity.RecallAtPrecision,
)
_CLASSES = {cls.__name__: cls for cls in _CLASS_LIST}
# Class names, their snake_case forms (Keras 3 accepts "auc", "precision", "f1_score", ...) and aliases.
_BY_NAME = {**_CLASSES, **{to_snake_case(name): cls for name, cls in _CLASSES.items()}}
_BY_NAME.update(
    {
        "mse": reg.MeanSquaredError,
        "MSE": reg.MeanSquaredError,
        "mae": reg.MeanAbsoluteError,
        "MAE": reg.MeanAbsoluteError,
        "mape": reg.MeanAbsolutePercentageError,
        "MAPE": reg.MeanAbsolutePercentageError,
        "msle": reg.MeanSquaredLogarithmicError,
        "MSLE": reg.MeanSquaredLogarithmicError,
        "logcosh": reg.LogCoshError,
        "log_cosh": reg.LogCoshError,
        "bce": prob.BinaryCrossentropy,
        "BCE": prob.BinaryCrossentropy,
        "kld": prob.KLDivergence,
        "KLD": prob.KLDivergence,
        "kullback_leibler_divergence": prob.KLDivergence,
        "mean_iou": iou.MeanIoU,
        "binary_iou": iou.BinaryIoU,
        "fbeta_score": f_score.FBetaScore,
        "cosine_proximity": reg.CosineProximity,
        "cosine": reg.CosineProximity,
    }
)
# Functions given as metrics: the metric class that averages them (the loss functions included).
_FUNCTIONS = {
    accuracy: acc.Accuracy,
    binary_accuracy: acc.BinaryAccuracy,
    categorical_accuracy: acc.CategoricalAccuracy,
    sparse_categorical_accuracy: acc.SparseCategoricalAccuracy,
    acc.top_k_categorical_accuracy: acc.TopKCategoricalAccuracy,
    acc.sparse_top_k_categorical_accuracy: acc.SparseTopKCategoricalAccuracy,
    mean_squared_error: reg.MeanSquaredError,
    mean_absolute_error: reg.MeanAbsoluteError,
    mean_absolute_percentage_error: reg.MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: reg.MeanSquaredLogarithmicError,
    log_cosh: reg.LogCoshError,
    binary_crossentropy: prob.BinaryCrossentropy,
    categorical_crossentropy: prob.CategoricalCrossentropy,
    sparse_categorical_crossentropy: prob.SparseCategoricalCrossentropy,
    hinge: prob.Hinge,
    squared_hinge: prob.SquaredHinge,
    categorical_hinge: prob.CategoricalHinge,
    kl_divergence: prob.KLDivergence,
    poisson: prob.Poisson,
    correlation.pearson_correlation: correlation.PearsonCorrelation,
    correlation.concordance_correlation: correlation.ConcordanceCorrelation,
}


def _make(cls, name):
    try:
        return cls(name=name) if name is not None else cls()
    except TypeError as error:
        raise ValueError(
            f"Metric {cls.__name__} needs arguments ({error}); create it yourself, e.g. "
            f"lamina.metrics.{cls.__name__}(...), and pass the object."
        ) from None


def get(identifier, name=None) -> Metric | None:
    """A Metric object from a name, a class, a config dict, a Metric or a function `(y_true, y_pred)`.

    "accuracy"/"acc" are resolved against the loss by the compile step, not here.

    Example:
        >>> get("auc").name
        'auc'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None or cls is MeanMetricWrapper:
            known = sorted(k for k in _BY_NAME if k.islower() and _BY_NAME[k] is not MeanMetricWrapper)
            raise ValueError(f"Unknown metric {identifier!r}. Known: {known}.")
        return _make(cls, name or identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return _make(identifier, name)
    if callable(identifier):
        cls = _FUNCTIONS.get(getattr(identifier, "__wrapped__", identifier))  # lamina.losses.mse is wrapped
        if cls is not None:
            return cls(name=name or identifier.__name__)
        return MeanMetricWrapper(identifier, name=name)
    raise ValueError(f"Could not interpret metric {identifier!r}: expected a name, a Metric or a function.")


def serialize(metric) -> dict:
    """`{"class_name": ..., "config": ...}` for a metric.

    Example:
        >>> serialize(AUC(curve="PR"))["config"]["curve"]
        'PR'
    """
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict, custom_objects=None) -> Metric:
    """A Metric from `{"class_name", "config"}` (Keras 2 or Keras 3's form).

    Example:
        >>> deserialize({"class_name": "Precision", "config": {"thresholds": 0.7}})
    """
    class_name = config.get("class_name")
    cls = (custom_objects or {}).get(config.get("registered_name") or class_name) or _CLASSES.get(class_name)
    if cls is None or cls is MeanMetricWrapper:
        raise ValueError(
            f"Unknown metric {class_name!r}. Known: {sorted(k for k in _CLASSES if k != 'MeanMetricWrapper')}."
        )
    return cls.from_config(dict(config.get("config") or {}))
