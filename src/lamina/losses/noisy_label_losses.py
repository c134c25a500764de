"""Generalized cross-entropy (Zhang and Sabuncu, 2018), as Keras 3's `CategoricalGeneralizedCrossEntropy`.

Robust to noisy labels: `(1 - p**q) / q` with `p` the predicted probability of the
true class; q near 0 behaves like cross-entropy, q near 1 like the mean absolute error.

Example:
    >>> categorical_generalized_cross_entropy([0, 1], [[0.7, 0.3], [0.2, 0.8]], q=0.5)
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import LossFunctionWrapper, match_ranks


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """`(1 - p**q) / q` per sample, `p` the probability `y_pred` gives the class index `y_true`.

    Labels of shape (batch, 1) are one-hot encoded to (batch, 1, classes) and broadcast against
    `y_pred` as Keras 3.15 does: the result is (batch, batch), entry [i, j] the loss of row j of
    `y_pred` at label i, so the mean pairs every label with every row. Models saved by Keras 3
    with such labels evaluate and train to Keras 3's numbers; give (batch,) labels for one loss
    per sample.

    Args:
        y_true: (batch,) integer class indices, or (batch, 1) (see above).
        y_pred: (batch, classes) probabilities.
        q: the noise parameter, in (0, 1).

    Example:
        >>> categorical_generalized_cross_entropy([1], [[0.0, 1.0]], q=0.5)  # [0.]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(y_pred).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, config.floatx())
    labels = ops.cast(y_true, "int32")
    one_hot = ops.one_hot(labels, y_pred.shape[-1], dtype=ops.dtype_of(y_pred))
    probability = ops.sum(y_pred * one_hot, axis=-1)
    return (1.0 - ops.power(probability, q)) / q


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy between integer class indices and class probabilities.

    Args:
        q: the noise parameter, a float in (0, 1) (default 0.5).
        reduction: how the per-sample losses are reduced (see `Loss`).
        name: the loss's name.
        dtype: accepted for Keras 3 configs.

    Example:
        >>> CategoricalGeneralizedCrossEntropy(q=0.7)(np.array([0, 1]), np.array([[0.7, 0.3], [0.2, 0.8]]))
    """

    def __init__(
        self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy", dtype=None
    ):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 < q < 1.0:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be a float in (0, 1), got q={q!r}.")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q

    def call(self, y_true, y_pred):
        y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
        return categorical_generalized_cross_entropy(y_true, y_pred, q=self.q)

    def weighted_reduce(self, values, sample_weight=None):
        """As Keras 3.15 weighs the (batch, batch) values of (batch, 1) labels: (batch,) weights multiply the
        last axis (row j of `y_pred`), and "mean_with_sample_weight" divides by the weights' own sum.

        Example:
            >>> loss = CategoricalGeneralizedCrossEntropy(reduction="sum")
            >>> loss.weighted_reduce(ops.ones((2, 2)), np.array([1.0, 3.0]))  # 8.0
        """
        if sample_weight is None or values.ndim != 2:
            return super().weighted_reduce(values, sample_weight)
        sample_weight = ops.cast(sample_weight, ops.dtype_of(values))
        weighted = values * sample_weight  # NumPy broadcasting: (batch,) along the last axis, (batch, 1) the first
        if self.reduction in ("none", None):
            return weighted
        if self.reduction == "mean_with_sample_weight":
            return ops.sum(weighted) / ops.maximum(ops.sum(sample_weight), config.epsilon())
        return super().weighted_reduce(weighted, None)
