"""Circle loss (Sun et al., 2020) for metric learning, as Keras 3's `keras.losses.Circle` / `circle`.

Pulls embeddings of the same class together and pushes other classes apart, each
similarity weighted by how far it is from its optimum. The embeddings should be
L2-normalized (a `UnitNormalization` layer after the last `Dense`).

Example:
    >>> circle(np.array([0, 0, 1]), embeddings)  # one loss per sample
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import LossFunctionWrapper, match_ranks, reduce_values


def _label_masks(labels, ref_labels, remove_diagonal: bool):
    """(positive, negative) boolean (query, reference) masks: same label or not; self-pairs left out of positive."""
    labels, ref_labels = ops.reshape(labels, (-1, 1)), ops.reshape(ref_labels, (1, -1))
    positive = ops.equal(labels, ref_labels)
    negative = ops.logical_not(positive)
    if remove_diagonal:
        rows = ops.expand_dims(ops.arange(labels.shape[0]), 1)
        cols = ops.expand_dims(ops.arange(ref_labels.shape[1]), 0)
        positive = ops.logical_and(positive, ops.not_equal(rows, cols))
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss per sample of `y_pred` (query embeddings, L2-normalized) against reference embeddings.

    Args:
        y_true: (batch,) integer labels of the queries.
        y_pred: (batch, dim) L2-normalized embeddings.
        ref_labels, ref_embeddings: the references (default: the queries themselves).
        remove_diagonal: leave each query's pair with itself out of the positives.
        gamma: the scale of the similarities.
        margin: the relaxation: positives aim for distance `margin`, negatives for `1 - margin`.

    Example:
        >>> circle([0, 0, 1], [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], gamma=10.0)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(y_pred).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, config.floatx())
    labels = ops.cast(y_true, "int32")
    references = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else ops.cast(ref_labels, "int32")
    distances = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(references)), 0.0)
    positive, negative = _label_masks(labels, ref_labels, remove_diagonal)
    dtype = ops.dtype_of(distances)
    # Weights: how far each similarity is from its optimum (distance -margin for positives, 1 + margin for negatives).
    positive_weights = ops.maximum((margin + distances) * ops.cast(positive, dtype), 0.0)
    negative_weights = ops.maximum((1.0 + margin - distances) * ops.cast(negative, dtype), 0.0)
    positive_terms = -gamma * positive_weights * (margin - distances)
    negative_terms = gamma * negative_weights * ((1.0 - margin) - distances)
    positive_loss = ops.logsumexp(ops.where(positive, positive_terms, float("-inf")), axis=1)
    negative_loss = ops.logsumexp(ops.where(negative, negative_terms, float("-inf")), axis=1)
    return ops.softplus(positive_loss + negative_loss)


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and L2-normalized embeddings of one batch.

    As in Keras, samples whose loss is 0 (no positive or no negative pair) do not count
    towards the mean: "sum_over_batch_size" divides by the number of samples with a loss.

    Args:
        gamma: the scale of the similarities (default 80).
        margin: the relaxation factor (default 0.4).
        remove_diagonal: leave each sample's pair with itself out of the positives.
        reduction: how the per-sample losses are reduced (see `Loss`).
        name: the loss's name.
        dtype: accepted for Keras 3 configs.

    Example:
        >>> model.compile("adam", loss=Circle(gamma=64.0))  # outputs: UnitNormalization()(Dense(64)(x))
    """

    def __init__(
        self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size", name="circle", dtype=None
    ):
        super().__init__(
            circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
            remove_diagonal=remove_diagonal,
        )  # fmt: skip
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def call(self, y_true, y_pred):
        y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
        return circle(y_true, y_pred, **self.fn_kwargs)

    def weighted_reduce(self, values, sample_weight=None):
        # Only samples with a positive loss count: here, so a compiled model reduces as a direct call does.
        counted = values > 0
        weight = ops.cast(counted, ops.dtype_of(values))
        if self.reduction in ("sum_over_batch_size", "mean"):
            # Each counted sample weighs size / counted, so the mean is over the counted samples only.
            valid = ops.sum(weight)
            weight = weight * ops.where(valid > 0, values.shape[0] / ops.maximum(valid, 1.0), 0.0)
        if sample_weight is not None:
            sample_weight = ops.reshape(ops.cast(sample_weight, ops.dtype_of(values)), (-1,))
            weight = weight * sample_weight
        return reduce_values(values, weight, self.reduction)
