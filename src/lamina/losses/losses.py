"""Loss functions and classes with Keras semantics (reduction "sum_over_batch_size")."""

from __future__ import annotations

import numpy as np

from lamina import config, ops


def match_ranks(y_true, y_pred):
    """Squeezes or expands a trailing axis of size 1 so both have the same rank (as Keras does).

    A rank-1 side is expanded rather than the other squeezed, so targets of shape (N,)
    against predictions of shape (N, 1) still give one value per sample, not a scalar.
    """
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        else:
            y_true = ops.squeeze(y_true, -1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = ops.expand_dims(y_true, -1)
        else:
            y_pred = ops.squeeze(y_pred, -1)
    return y_true, y_pred


def _float_pair(y_true, y_pred, loss_name):
    """Targets cast to the predictions' dtype, ranks matched; a ValueError naming the loss if shapes disagree."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype_of(y_pred))
    y_true, y_pred = match_ranks(y_true, y_pred)
    try:
        np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    except ValueError:
        raise ValueError(
            f"{loss_name} expects targets of the predictions' shape {tuple(y_pred.shape)}, "
            f"got targets of shape {tuple(y_true.shape)}."
        ) from None
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)**2) over the last axis."""
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """-sum(y_true * log(p)) with one-hot targets; p is y_pred normalized and clipped to [eps, 1-eps]."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype_of(y_pred))
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"categorical_crossentropy expects one-hot targets of the predictions' shape {tuple(y_pred.shape)}, "
            f"got targets of shape {tuple(y_true.shape)}. For integer class labels use "
            "sparse_categorical_crossentropy."
        )
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis, epsilon=config.epsilon())


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Categorical crossentropy with integer class labels as targets."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] != 1:
        raise ValueError(
            f"sparse_categorical_crossentropy expects integer labels of shape {tuple(y_pred.shape[:-1])} "
            f"(or with a trailing 1), got targets of shape {tuple(y_true.shape)}. "
            "For one-hot targets use categorical_crossentropy."
        )
    return ops.sparse_categorical_crossentropy(
        y_true, y_pred, from_logits=from_logits, axis=axis, epsilon=config.epsilon()
    )


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """mean over the last axis of -(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1-eps]."""
    y_true, y_pred = _float_pair(y_true, y_pred, "binary_crossentropy")
    values = ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits, epsilon=config.epsilon())
    return ops.mean(values, axis=-1)


class Loss:
    """Base class: `call(y_true, y_pred)` gives per-sample losses; `__call__` weights and reduces them.

    Args:
        reduction: "sum_over_batch_size" (default: the weighted sum divided by the
            number of values), "sum", "mean" (the same as "sum_over_batch_size", as in Keras 3),
            "mean_with_sample_weight" (the weighted sum divided by the sum of the weights) or "none".
        name: the loss's name.

    Example:
        >>> MeanSquaredError()(np.zeros((4, 1)), np.ones((4, 1)))
    """

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", "auto", None):
            raise ValueError(
                "Loss reduction must be sum_over_batch_size, sum, mean, mean_with_sample_weight or none, "
                f"got {reduction!r}."
            )
        self.reduction = "sum_over_batch_size" if reduction == "auto" else reduction
        self.name = name or type(self).__name__

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config_dict: dict):
        return cls(**config_dict)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Applies `sample_weight` (broadcast over trailing axes) and reduces as Keras does."""
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, ops.dtype_of(values))
        while sample_weight.ndim > values.ndim and sample_weight.shape[-1] == 1:
            sample_weight = ops.squeeze(sample_weight, -1)
        while sample_weight.ndim < values.ndim:
            sample_weight = ops.expand_dims(sample_weight, -1)
        values = values * sample_weight
    if reduction in ("none", None):
        return values
    if reduction == "sum_over_batch_size" and values.ndim:
        return ops.mean(values)  # one kernel (and one backward node) for sum / size
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return total / ops.maximum(ops.sum(ops.broadcast_to(sample_weight, values.shape)), config.epsilon())
    size = 1
    for dim in values.shape:
        size *= dim
    return total / max(size, 1)


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function and its keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name or fn.__name__)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with one-hot targets; `from_logits=True` for unnormalized predictions."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="categorical_crossentropy", axis=-1):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, from_logits=from_logits, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with integer labels; `from_logits=True` for unnormalized predictions."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, from_logits=from_logits)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for 0/1 targets; `from_logits=True` for unnormalized predictions."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="binary_crossentropy"):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, from_logits=from_logits)


_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        BinaryCrossentropy,
    )
}
_FUNCTIONS = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
}


def get(identifier) -> Loss:
    """A Loss object from a name, a class, a config dict, a Loss, or a function `(y_true, y_pred)`."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _FUNCTIONS.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss {identifier!r}. Known: {sorted(_FUNCTIONS)}.")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name")) or _FUNCTIONS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown loss {identifier.get('class_name')!r}.")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        for name, cls in _FUNCTIONS.items():
            if globals().get(name) is identifier:
                return cls()
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss {identifier!r}: expected a name, a Loss or a function.")


def serialize(loss) -> dict | str:
    """A loss's Keras-2 style config."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
