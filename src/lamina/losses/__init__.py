"""Losses by Keras name: functions of (y_true, y_pred) per sample, and Loss classes that reduce them.

Example:
    >>> lamina.losses.get("mse")(np.zeros((2, 1)), np.ones((2, 1)))
"""

from lamina.losses.losses import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.losses import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.losses import Loss as Loss
from lamina.losses.losses import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.losses import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.losses import MeanSquaredError as MeanSquaredError
from lamina.losses.losses import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.losses.losses import binary_crossentropy as binary_crossentropy
from lamina.losses.losses import categorical_crossentropy as categorical_crossentropy
from lamina.losses.losses import get as get
from lamina.losses.losses import mean_absolute_error as mean_absolute_error
from lamina.losses.losses import mean_squared_error as mean_squared_error
from lamina.losses.losses import serialize as serialize
from lamina.losses.losses import sparse_categorical_crossentropy as sparse_categorical_crossentropy

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
