"""Overlap losses for segmentation, as Keras 3's `Dice` / `dice` and `Tversky` / `tversky`.

Both compare soft masks: `y_true` in {0, 1} (or soft targets) and `y_pred` in [0, 1],
summed over `axis` (every axis when None, as Keras does: one loss for the whole batch).

Example:
    >>> dice(np.ones((2, 4, 4, 1)), np.full((2, 4, 4, 1), 0.5), axis=(1, 2, 3))  # [0.333, 0.333]
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import LossFunctionWrapper, match_ranks


def _axis(axis):
    """Keras configs write a tuple of axes as a list; ops want a tuple (or an int, or None)."""
    return tuple(axis) if isinstance(axis, list) else axis


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(y_pred).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, config.floatx())
    return ops.cast(y_true, ops.dtype_of(y_pred)), y_pred


def dice(y_true, y_pred, axis=None):
    """`1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)` over `axis`.

    Example:
        >>> dice([[1.0, 0.0]], [[1.0, 0.0]])  # 0.0 (up to epsilon)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    intersection = ops.sum(y_true * y_pred, axis=axis)
    union = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (union + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """`1 - tp / (tp + alpha * fp + beta * fn + epsilon)` with soft counts over `axis`.

    `alpha` weighs false positives, `beta` false negatives; 0.5 and 0.5 give the Dice loss.

    Example:
        >>> tversky([[1.0, 0.0]], [[0.5, 0.5]], alpha=0.7, beta=0.3)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    true_positives = ops.sum(y_true * y_pred, axis=axis)
    # Keras's names: "fp" counts (1 - y_pred) * y_true, "fn" counts y_pred * (1 - y_true); kept for its numbers.
    false_positives = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    false_negatives = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    denominator = true_positives + alpha * false_positives + beta * false_negatives + config.epsilon()
    return 1.0 - true_positives / denominator


class _RankMatched(LossFunctionWrapper):
    """Matches a trailing size-1 axis between targets and predictions first, as Keras's loss classes do."""

    def call(self, y_true, y_pred):
        y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
        return self.fn(y_true, y_pred, **self.fn_kwargs)


class Dice(_RankMatched):
    """The Dice loss: one minus the soft Dice coefficient over `axis`.

    Args:
        reduction: how the losses are reduced (see `Loss`).
        name: the loss's name.
        axis: the axes summed over (None: all of them, giving one loss for the batch).
        dtype: accepted for Keras 3 configs.

    Example:
        >>> Dice(axis=(1, 2, 3), reduction="none")(masks, predicted_masks)  # one loss per image
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=_axis(axis))
        self.axis = _axis(axis)


class Tversky(_RankMatched):
    """The Tversky loss: Dice with separate weights on false positives (`alpha`) and false negatives (`beta`).

    Args:
        alpha, beta: the weights (0.5 and 0.5: the Dice loss).
        reduction: how the losses are reduced (see `Loss`).
        name: the loss's name.
        axis: the axes summed over (None: all of them).
        dtype: accepted for Keras 3 configs.

    Example:
        >>> Tversky(alpha=0.3, beta=0.7)(masks, predicted_masks)
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=_axis(axis))
        self.alpha, self.beta, self.axis = alpha, beta, _axis(axis)
