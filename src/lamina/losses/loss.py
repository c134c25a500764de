"""The Loss base class, Keras's reductions, and the shape helpers every loss function shares."""

from __future__ import annotations

import numpy as np

from lamina import config, ops

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")


def match_ranks(y_true, y_pred):
    """Squeezes or expands a trailing axis of size 1 so both have the same rank (as Keras does).

    A rank-1 side is expanded rather than the other squeezed, so targets of shape (N,)
    against predictions of shape (N, 1) still give one value per sample, not a scalar.

    Example:
        >>> match_ranks(ops.zeros((4,)), ops.zeros((4, 1)))[0].shape
        (4, 1)
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


def float_pair(y_true, y_pred, loss_name):
    """Targets cast to the predictions' dtype, ranks matched; a ValueError naming the loss if shapes disagree.

    Example:
        >>> y_true, y_pred = float_pair([[1.0]], [[0.5]], "hinge")
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(y_pred).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, config.floatx())
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


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Applies `sample_weight` (broadcast over trailing axes) and reduces as Keras does.

    Example:
        >>> float(reduce_values(ops.ones((4,)), sample_weight=ops.zeros((4,)) + 0.5))
        0.5
    """
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


class Loss:
    """Base class: `call(y_true, y_pred)` gives per-sample losses; `__call__` weights and reduces them.

    Args:
        reduction: "sum_over_batch_size" (default: the weighted sum divided by the
            number of values), "sum", "mean" (the same as "sum_over_batch_size", as in Keras 3),
            "mean_with_sample_weight" (the weighted sum divided by the sum of the weights) or "none".
            Keras 2's "auto" reads as "sum_over_batch_size".
        name: the loss's name.
        dtype: accepted for Keras 3 configs; the predictions' dtype is used.

    Example:
        >>> MeanSquaredError()(np.zeros((4, 1)), np.ones((4, 1)))
    """

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        if reduction not in (*REDUCTIONS, "auto", None):
            raise ValueError(f"Loss reduction must be one of {', '.join(REDUCTIONS)}, got reduction={reduction!r}.")
        self.reduction = "sum_over_batch_size" if reduction == "auto" else reduction
        self.name = name or type(self).__name__

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.weighted_reduce(self.call(y_true, y_pred), sample_weight)

    def weighted_reduce(self, values, sample_weight=None):
        """`call`'s values weighted by `sample_weight` and reduced (also what a compiled model does with them).

        Example:
            >>> MeanSquaredError(reduction="sum").weighted_reduce(ops.ones((4,)), ops.ones((4,)) * 0.5)  # 2.0
        """
        return reduce_values(values, sample_weight, self.reduction)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config_dict: dict):
        config_dict = dict(config_dict)
        if isinstance(config_dict.get("dtype"), dict):  # Keras 3's dtype policy
            config_dict["dtype"] = None
        return cls(**config_dict)


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function and its keyword arguments.

    Example:
        >>> LossFunctionWrapper(huber, delta=2.0, reduction="sum")
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(reduction=reduction, name=name or fn.__name__, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}
