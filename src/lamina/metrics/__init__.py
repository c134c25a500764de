"""Metrics by Keras name: stateful objects with update_state / result / reset_state.

Example:
    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]))
    >>> float(m.result())
    0.5
"""

from lamina.losses.losses import binary_crossentropy as binary_crossentropy
from lamina.losses.losses import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.losses import categorical_crossentropy as categorical_crossentropy
from lamina.losses.losses import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.losses import categorical_hinge as categorical_hinge
from lamina.losses.losses import hinge as hinge
from lamina.losses.losses import huber as huber
from lamina.losses.losses import kl_divergence as kl_divergence
from lamina.losses.losses import log_cosh as log_cosh
from lamina.losses.losses import mean_absolute_error as mean_absolute_error
from lamina.losses.losses import mean_absolute_percentage_error as mean_absolute_percentage_error
from lamina.losses.losses import mean_squared_error as mean_squared_error
from lamina.losses.losses import mean_squared_logarithmic_error as mean_squared_logarithmic_error
from lamina.losses.losses import poisson as poisson
from lamina.losses.losses import sparse_categorical_crossentropy as sparse_categorical_crossentropy
from lamina.losses.losses import squared_hinge as squared_hinge
from lamina.metrics.accuracy_metrics import Accuracy as Accuracy
from lamina.metrics.accuracy_metrics import BinaryAccuracy as BinaryAccuracy
from lamina.metrics.accuracy_metrics import CategoricalAccuracy as CategoricalAccuracy
from lamina.metrics.accuracy_metrics import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from lamina.metrics.accuracy_metrics import SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy
from lamina.metrics.accuracy_metrics import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from lamina.metrics.accuracy_metrics import accuracy as accuracy
from lamina.metrics.accuracy_metrics import binary_accuracy as binary_accuracy
from lamina.metrics.accuracy_metrics import categorical_accuracy as categorical_accuracy
from lamina.metrics.accuracy_metrics import sparse_categorical_accuracy as sparse_categorical_accuracy
from lamina.metrics.accuracy_metrics import sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy
from lamina.metrics.accuracy_metrics import top_k_categorical_accuracy as top_k_categorical_accuracy
from lamina.metrics.auc_metrics import AUC as AUC
from lamina.metrics.confusion_metrics import FalseNegatives as FalseNegatives
from lamina.metrics.confusion_metrics import FalsePositives as FalsePositives
from lamina.metrics.confusion_metrics import Precision as Precision
from lamina.metrics.confusion_metrics import Recall as Recall
from lamina.metrics.confusion_metrics import TrueNegatives as TrueNegatives
from lamina.metrics.confusion_metrics import TruePositives as TruePositives
from lamina.metrics.correlation_metrics import ConcordanceCorrelation as ConcordanceCorrelation
from lamina.metrics.correlation_metrics import PearsonCorrelation as PearsonCorrelation
from lamina.metrics.correlation_metrics import R2Score as R2Score
from lamina.metrics.correlation_metrics import concordance_correlation as concordance_correlation
from lamina.metrics.correlation_metrics import pearson_correlation as pearson_correlation
from lamina.metrics.f_score_metrics import F1Score as F1Score
from lamina.metrics.f_score_metrics import FBetaScore as FBetaScore
from lamina.metrics.iou_metrics import BinaryIoU as BinaryIoU
from lamina.metrics.iou_metrics import IoU as IoU
from lamina.metrics.iou_metrics import MeanIoU as MeanIoU
from lamina.metrics.iou_metrics import OneHotIoU as OneHotIoU
from lamina.metrics.iou_metrics import OneHotMeanIoU as OneHotMeanIoU
from lamina.metrics.metric import Mean as Mean
from lamina.metrics.metric import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.metric import Metric as Metric
from lamina.metrics.metric import Sum as Sum
from lamina.metrics.metrics import deserialize as deserialize
from lamina.metrics.metrics import get as get
from lamina.metrics.metrics import serialize as serialize
from lamina.metrics.probabilistic_metrics import BinaryCrossentropy as BinaryCrossentropy
from lamina.metrics.probabilistic_metrics import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.metrics.probabilistic_metrics import CategoricalHinge as CategoricalHinge
from lamina.metrics.probabilistic_metrics import Hinge as Hinge
from lamina.metrics.probabilistic_metrics import KLDivergence as KLDivergence
from lamina.metrics.probabilistic_metrics import Poisson as Poisson
from lamina.metrics.probabilistic_metrics import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.metrics.probabilistic_metrics import SquaredHinge as SquaredHinge
from lamina.metrics.regression_metrics import CosineSimilarity as CosineSimilarity
from lamina.metrics.regression_metrics import LogCoshError as LogCoshError
from lamina.metrics.regression_metrics import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.regression_metrics import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.metrics.regression_metrics import MeanRelativeError as MeanRelativeError
from lamina.metrics.regression_metrics import MeanSquaredError as MeanSquaredError
from lamina.metrics.regression_metrics import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.metrics.regression_metrics import RootMeanSquaredError as RootMeanSquaredError
from lamina.metrics.sensitivity_metrics import PrecisionAtRecall as PrecisionAtRecall
from lamina.metrics.sensitivity_metrics import RecallAtPrecision as RecallAtPrecision
from lamina.metrics.sensitivity_metrics import SensitivityAtSpecificity as SensitivityAtSpecificity
from lamina.metrics.sensitivity_metrics import SpecificityAtSensitivity as SpecificityAtSensitivity

# Keras's short and legacy names for the metric functions.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
