"""Metrics by Keras name: stateful objects with update_state / result / reset_state.

Example:
    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]))
    >>> float(m.result())
    0.5
"""

from lamina.losses.losses import mean_absolute_error as mean_absolute_error  # noqa: E402
from lamina.losses.losses import mean_squared_error as mean_squared_error  # noqa: E402
from lamina.metrics.metrics import Accuracy as Accuracy
from lamina.metrics.metrics import BinaryAccuracy as BinaryAccuracy
from lamina.metrics.metrics import CategoricalAccuracy as CategoricalAccuracy
from lamina.metrics.metrics import Mean as Mean
from lamina.metrics.metrics import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.metrics import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.metrics import MeanSquaredError as MeanSquaredError
from lamina.metrics.metrics import Metric as Metric
from lamina.metrics.metrics import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from lamina.metrics.metrics import accuracy as accuracy
from lamina.metrics.metrics import binary_accuracy as binary_accuracy
from lamina.metrics.metrics import categorical_accuracy as categorical_accuracy
from lamina.metrics.metrics import get as get
from lamina.metrics.metrics import sparse_categorical_accuracy as sparse_categorical_accuracy

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
