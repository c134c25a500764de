"""Loss classes with Keras names, defaults and configs, and the name lookup (`get`).

Each class wraps one per-sample function (regression_losses, probabilistic_losses,
hinge_losses) and reduces its values as `Loss` says.

Example:
    >>> loss = Huber(delta=2.0, reduction="sum")
    >>> get("kld")  # a KLDivergence
"""

from __future__ import annotations

from lamina import ops
from lamina.losses.circle_loss import Circle, circle
from lamina.losses.ctc_loss import CTC, ctc
from lamina.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from lamina.losses.loss import (
    Loss,
    LossFunctionWrapper,
    float_pair,
    match_ranks,
    reduce_values,
)
from lamina.losses.noisy_label_losses import CategoricalGeneralizedCrossEntropy
from lamina.losses.overlap_losses import Dice, Tversky, dice, tversky
from lamina.losses.probabilistic_losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.losses.regression_losses import (
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)

# Re-exported: other modules import the helpers from here.
__all__ = ["Loss", "LossFunctionWrapper", "float_pair", "match_ranks", "reduce_values"]
_DEFAULT = "sum_over_batch_size"


def _simple(class_name, fn, default_name, doc):
    """A Loss class around `fn` with no options but reduction, name and dtype."""

    class Simple(LossFunctionWrapper):
        def __init__(self, reduction=_DEFAULT, name=default_name, dtype=None):
            super().__init__(fn, reduction=reduction, name=name, dtype=dtype)

    Simple.__name__ = Simple.__qualname__ = class_name
    Simple.__doc__ = doc
    return Simple


MeanSquaredError = _simple(
    "MeanSquaredError",
    mean_squared_error,
    "mean_squared_error",
    "Mean of squared errors.\n\n    Example:\n        >>> MeanSquaredError()(np.zeros((2, 1)), np.ones((2, 1)))\n",
)
MeanAbsoluteError = _simple(
    "MeanAbsoluteError",
    mean_absolute_error,
    "mean_absolute_error",
    "Mean of absolute errors.\n\n    Example:\n        >>> MeanAbsoluteError(reduction='sum')(y_true, y_pred)\n",
)
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError",
    mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    "100 times the mean relative error.\n\n    Example:\n        >>> MeanAbsolutePercentageError()(y_true, y_pred)\n",
)
MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError",
    mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    "Mean squared error of log(1 + x).\n\n    Example:\n        >>> MeanSquaredLogarithmicError()(y_true, y_pred)\n",
)
LogCosh = _simple(
    "LogCosh",
    log_cosh,
    "log_cosh",
    "Mean of log(cosh(error)).\n\n    Example:\n        >>> LogCosh()(y_true, y_pred)\n",
)
Hinge = _simple(
    "Hinge",
    hinge,
    "hinge",
    "Hinge loss with -1/1 (or 0/1) targets.\n\n    Example:\n        >>> Hinge()(y_true, y_pred)\n",
)
SquaredHinge = _simple(
    "SquaredHinge",
    squared_hinge,
    "squared_hinge",
    "Squared hinge loss with -1/1 (or 0/1) targets.\n\n    Example:\n        >>> SquaredHinge()(y_true, y_pred)\n",
)
CategoricalHinge = _simple(
    "CategoricalHinge",
    categorical_hinge,
    "categorical_hinge",
    "Hinge loss with one-hot targets.\n\n    Example:\n        >>> CategoricalHinge()(y_true, y_pred)\n",
)
KLDivergence = _simple(
    "KLDivergence",
    kl_divergence,
    "kl_divergence",
    "Kullback-Leibler divergence.\n\n    Example:\n        >>> KLDivergence()(y_true, y_pred)\n",
)
Poisson = _simple(
    "Poisson",
    poisson,
    "poisson",
    "Poisson loss: mean(y_pred - y_true * log(y_pred)).\n\n    Example:\n        >>> Poisson()(y_true, y_pred)\n",
)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along `axis` (-1 for parallel vectors).

    Example:
        >>> CosineSimilarity(axis=-1)(y_true, y_pred)
    """

    def __init__(self, axis=-1, reduction=_DEFAULT, name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to `delta`, linear beyond.

    Example:
        >>> Huber(delta=1.0)(y_true, y_pred)
    """

    def __init__(self, delta=1.0, reduction=_DEFAULT, name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=float(delta))


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for 0/1 targets; `from_logits=True` for unnormalized predictions.

    Example:
        >>> BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(y_true, logits)
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=_DEFAULT,
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy that down-weights well-classified samples by `(1 - p_t) ** gamma`.

    Example:
        >>> BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)(y_true, y_pred)
    """

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=_DEFAULT,
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            binary_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with one-hot targets; `from_logits=True` for unnormalized predictions.

    Example:
        >>> CategoricalCrossentropy(label_smoothing=0.1)(one_hot, probabilities)
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=_DEFAULT,
        name="categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy scaled by `alpha * (1 - p) ** gamma`.

    Example:
        >>> CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)(one_hot, probabilities)
    """

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=_DEFAULT,
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            categorical_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with integer labels; `from_logits=True` for unnormalized predictions.

    With `ignore_class`, samples of that label count for nothing: with the mean reductions the
    loss is the mean over the other samples, as in Keras.

    Example:
        >>> SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(labels, logits)
    """

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction=_DEFAULT,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
        )

    def __call__(self, y_true, y_pred, sample_weight=None):
        ignore_class = self.fn_kwargs["ignore_class"]
        if ignore_class is None or self.reduction != "mean_with_sample_weight":
            return super().__call__(y_true, y_pred, sample_weight)
        # Ignored samples weigh nothing: the mean divides by the weights of the kept samples only.
        values = super().call(y_true, y_pred)
        weights = reduce_values(self._valid(y_true, values, ignore_class), sample_weight, "none")  # valid * weights
        return reduce_values(values, weights, self.reduction)

    @staticmethod
    def _valid(y_true, values, ignore_class):
        labels = ops.convert_to_tensor(y_true)
        if labels.ndim == values.ndim + 1:
            labels = ops.squeeze(labels, -1)
        return ops.cast(ops.not_equal(labels, ignore_class), ops.dtype_of(values))

    def call(self, y_true, y_pred):
        values = super().call(y_true, y_pred)
        ignore_class = self.fn_kwargs["ignore_class"]
        if ignore_class is None or self.reduction not in ("sum_over_batch_size", "mean"):
            return values
        # The mean is over the samples not ignored: scale the kept values by size / kept, so that
        # dividing by the size afterwards (here or in the trainer's reduction) divides by `kept`.
        valid = self._valid(y_true, values, ignore_class)
        kept = ops.sum(valid)
        size = 1
        for dim in values.shape:
            size *= dim
        return values * ops.where(kept > 0, size / ops.maximum(kept, 1.0), 0.0)

    def get_config(self) -> dict:
        return {**Loss.get_config(self), **self.fn_kwargs}


_CLASS_LIST = (
    CTC,
    CategoricalGeneralizedCrossEntropy,
    Circle,
    Dice,
    Tversky,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    Huber,
    LogCosh,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
)
_CLASSES = {cls.__name__: cls for cls in _CLASS_LIST}
# Names Keras 2 and 3 accept for each loss (function names and their aliases).
_FUNCTIONS = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity,
    "cosine_proximity": CosineSimilarity,  # Keras 2's names for the same loss
    "cosine": CosineSimilarity,
    "huber": Huber,
    "huber_loss": Huber,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
    "ctc": CTC,
    "categorical_generalized_cross_entropy": CategoricalGeneralizedCrossEntropy,
    "circle": Circle,
    "dice": Dice,
    "tversky": Tversky,
}
_BY_FUNCTION = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    cosine_similarity: CosineSimilarity,
    huber: Huber,
    log_cosh: LogCosh,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    ctc: CTC,
    circle: Circle,
    dice: Dice,
    tversky: Tversky,
}


def get(identifier) -> Loss | None:
    """A Loss object from a name, a class, a config dict, a Loss, or a function `(y_true, y_pred)`.

    Example:
        >>> get("huber").get_config()["delta"]
        1.0
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _FUNCTIONS.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss {identifier!r}. Known: {sorted(_FUNCTIONS)}.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _BY_FUNCTION.get(getattr(identifier, "__wrapped__", identifier))
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss {identifier!r}: expected a name, a Loss or a function.")


def serialize(loss) -> dict:
    """A loss's Keras-2 style config: `{"class_name": ..., "config": ...}`.

    Example:
        >>> serialize(Huber(delta=2.0))["config"]["delta"]
        2.0
    """
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict, custom_objects=None) -> Loss:
    """A Loss from `{"class_name", "config"}` (Keras 2 or Keras 3's form; a function name also works).

    Example:
        >>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}})
    """
    name = config.get("class_name")
    custom = (custom_objects or {}).get(config.get("registered_name") or name)
    cls = custom or _CLASSES.get(name) or _FUNCTIONS.get(name)
    if cls is None and name == "function" and isinstance(config.get("config"), str):
        return get(config["config"])  # Keras 3 writes loss functions as {"class_name": "function", ...}
    if cls is None:
        raise ValueError(f"Unknown loss {name!r}. Known: {sorted(_CLASSES)}.")
    inner = dict(config.get("config") or {})
    inner.pop("fn", None)
    return cls.from_config(inner)
