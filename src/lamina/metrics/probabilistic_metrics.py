"""Probabilistic and hinge metrics: the running (weighted) mean of a loss function per sample.

Example:
    >>> m = BinaryCrossentropy(from_logits=True)
    >>> m.update_state(targets, logits, sample_weight=weights)
"""

from __future__ import annotations

from lamina import ops
from lamina.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from lamina.losses.probabilistic_losses import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.metrics.metric import MeanMetricWrapper, wrapper_class

Hinge = wrapper_class("Hinge", hinge, "hinge", module=__name__)
SquaredHinge = wrapper_class("SquaredHinge", squared_hinge, "squared_hinge", module=__name__)
CategoricalHinge = wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge", module=__name__)
KLDivergence = wrapper_class("KLDivergence", kl_divergence, "kl_divergence", module=__name__)
Poisson = wrapper_class("Poisson", poisson, "poisson", module=__name__)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary crossentropy per sample.

    Example:
        >>> BinaryCrossentropy(from_logits=True, label_smoothing=0.1).update_state(y_true, logits)
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(
            binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical crossentropy per sample (one-hot targets).

    Example:
        >>> CategoricalCrossentropy(label_smoothing=0.1).update_state(one_hot, probabilities)
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(
            categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean crossentropy per sample with integer labels; samples labelled `ignore_class` are left out.

    Example:
        >>> SparseCategoricalCrossentropy(from_logits=True, ignore_class=0).update_state(labels, logits)
    """

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        ignore_class = self._fn_kwargs["ignore_class"]
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if ignore_class is not None:
            # Ignored samples count for nothing: a weight of 0 (times any weight given).
            labels = ops.convert_to_tensor(y_true)
            if labels.ndim == values.ndim + 1:
                labels = ops.squeeze(labels, -1)
            kept = ops.cast(ops.not_equal(labels, ignore_class), self.dtype)
            if sample_weight is not None:
                weight = ops.cast(sample_weight, self.dtype)
                if weight.ndim == kept.ndim + 1 and weight.shape[-1] == 1:
                    weight = ops.squeeze(weight, -1)
                kept = kept * weight
            sample_weight = kept
        super(MeanMetricWrapper, self).update_state(values, sample_weight=sample_weight)
