"""Losses by Keras name: functions of (y_true, y_pred) per sample, and Loss classes that reduce them.

Example:
    >>> lamina.losses.get("mse")(np.zeros((2, 1)), np.ones((2, 1)))
    >>> lamina.losses.Huber(delta=2.0, reduction="sum")(y_true, y_pred, sample_weight=weights)
"""

from lamina.losses.circle_loss import Circle as Circle
from lamina.losses.circle_loss import circle as circle
from lamina.losses.ctc_loss import CTC as CTC
from lamina.losses.ctc_loss import ctc as ctc
from lamina.losses.losses import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.losses import BinaryFocalCrossentropy as BinaryFocalCrossentropy
from lamina.losses.losses import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.losses import CategoricalFocalCrossentropy as CategoricalFocalCrossentropy
from lamina.losses.losses import CategoricalHinge as CategoricalHinge
from lamina.losses.losses import CosineSimilarity as CosineSimilarity
from lamina.losses.losses import Hinge as Hinge
from lamina.losses.losses import Huber as Huber
from lamina.losses.losses import KLDivergence as KLDivergence
from lamina.losses.losses import LogCosh as LogCosh
from lamina.losses.losses import Loss as Loss
from lamina.losses.losses import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.losses import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.losses import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.losses.losses import MeanSquaredError as MeanSquaredError
from lamina.losses.losses import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.losses.losses import Poisson as Poisson
from lamina.losses.losses import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.losses.losses import SquaredHinge as SquaredHinge
from lamina.losses.losses import binary_crossentropy as binary_crossentropy
from lamina.losses.losses import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.losses import categorical_crossentropy as categorical_crossentropy
from lamina.losses.losses import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.losses import categorical_hinge as categorical_hinge
from lamina.losses.losses import cosine_similarity as cosine_similarity
from lamina.losses.losses import deserialize as deserialize
from lamina.losses.losses import get as get
from lamina.losses.losses import hinge as hinge
from lamina.losses.losses import huber as huber
from lamina.losses.losses import kl_divergence as kl_divergence
from lamina.losses.losses import log_cosh as log_cosh
from lamina.losses.losses import mean_absolute_error as mean_absolute_error
from lamina.losses.losses import mean_absolute_percentage_error as mean_absolute_percentage_error
from lamina.losses.losses import mean_squared_error as mean_squared_error
from lamina.losses.losses import mean_squared_logarithmic_error as mean_squared_logarithmic_error
from lamina.losses.losses import poisson as poisson
from lamina.losses.losses import serialize as serialize
from lamina.losses.losses import sparse_categorical_crossentropy as sparse_categorical_crossentropy
from lamina.losses.losses import squared_hinge as squared_hinge
from lamina.losses.noisy_label_losses import CategoricalGeneralizedCrossEntropy as CategoricalGeneralizedCrossEntropy
from lamina.losses.noisy_label_losses import (
    categorical_generalized_cross_entropy as categorical_generalized_cross_entropy,
)
from lamina.losses.overlap_losses import Dice as Dice
from lamina.losses.overlap_losses import Tversky as Tversky
from lamina.losses.overlap_losses import dice as dice
from lamina.losses.overlap_losses import tversky as tversky

# Keras's short and legacy names for the loss functions.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy


def _make_symbolic_aware() -> set:
    """Wraps the loss functions so that Keras 2 code can apply them to symbolic tensors (`mse(inputs, outputs)`).

    Given values, each runs as before; given a KerasTensor it returns the tensor of a graph node (an OpLambda).
    Returns the names an OpLambda may call as `losses.<name>`.
    """
    from lamina.backend.common.symbolic import symbolic_aware

    names = set()
    wrapped: dict = {}
    for name, value in list(globals().items()):
        if name.startswith("_") or isinstance(value, type) or not callable(value) or name in ("get", "serialize"):
            continue
        if name == "deserialize" or getattr(value, "__module__", "").split(".")[:2] != ["lamina", "losses"]:
            continue
        if id(value) not in wrapped:
            wrapped[id(value)] = symbolic_aware(value, f"losses.{value.__name__}")
        globals()[name] = wrapped[id(value)]
        names.add(name)
    return names


SYMBOLIC_FUNCTIONS = _make_symbolic_aware()
