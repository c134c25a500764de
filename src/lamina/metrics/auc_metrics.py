"""AUC: the area under the ROC or precision-recall curve, from confusion counts at fixed thresholds.

Example:
    >>> m = AUC(curve="PR", num_thresholds=100)
    >>> m.update_state(y_true, y_pred)
    >>> float(m.result())
"""

from __future__ import annotations

from lamina import config, ops
from lamina.metrics.confusion_metrics import confusion_counts, divide_no_nan, parse_thresholds, prepare
from lamina.metrics.metric import Metric

_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Approximate AUC by a Riemann sum over `num_thresholds` thresholds (Keras's algorithm).

    Args:
        num_thresholds: thresholds spread evenly over [0, 1] (the ends just outside it).
        curve: "ROC" (recall against false-positive rate) or "PR" (precision against recall).
        summation_method: "interpolation" (trapezoids; for PR, Davis & Goadrich's interpolation),
            "minoring" or "majoring" (the lower or upper rectangle of each step).
        thresholds: explicit thresholds in [0, 1] instead of `num_thresholds`.
        multi_label: one curve per label (column), averaged (weighted by `label_weights`);
            otherwise every prediction is one point of a single curve.
        num_labels: the number of labels with `multi_label` (else taken from the first batch).
        label_weights: per-label weights of the counts (or of the average with `multi_label`).
        from_logits: the predictions are logits (passed through a sigmoid first).

    Example:
        >>> AUC(num_thresholds=200, curve="ROC", summation_method="interpolation")
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        curve = str(curve).upper()
        if curve not in _CURVES:
            raise ValueError(f"AUC: curve must be one of {_CURVES}, got curve={curve!r}.")
        summation_method = str(summation_method).lower()
        if summation_method not in _SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {_SUMMATIONS}, got summation_method={summation_method!r}."
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds("AUC", thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an int > 1, got num_thresholds={num_thresholds!r}.")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        # The end thresholds sit just outside [0, 1], so predictions of exactly 0 and 1 land inside.
        self._thresholds = [0.0 - config.epsilon(), *inner, 1.0 + config.epsilon()]
        self.curve, self.summation_method = curve, summation_method
        if num_labels is not None and not multi_label:
            raise ValueError("AUC: num_labels is only used with multi_label=True.")
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        self._from_logits = bool(from_logits)
        self.built = False
        if not self.multi_label:
            self._create_variables(())
        elif num_labels is not None:
            self._create_variables((num_labels,))

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _create_variables(self, label_shape) -> None:
        shape = (self.num_thresholds, *label_shape)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.built = True

    def build(self, y_true_shape, y_pred_shape) -> None:
        if self.built:
            return
        if len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(f"AUC with multi_label=True expects predictions of rank 2, got shape {y_pred_shape}.")
        self._create_variables((y_pred_shape[-1],))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if not self.built:
            self._build_at_first_update(tuple(ops.convert_to_tensor(y_true).shape), tuple(y_pred.shape))
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        label_weights = None if self.multi_label else self.label_weights
        labels, y_pred, weight = prepare(y_true, y_pred, sample_weight, label_weights=label_weights)
        counts = confusion_counts(
            labels, y_pred, weight, self._thresholds, ("tp", "fp", "tn", "fn"), per_label=self.multi_label
        )
        for variable, kind in (
            (self.true_positives, "tp"),
            (self.false_positives, "fp"),
            (self.true_negatives, "tn"),
            (self.false_negatives, "fn"),
        ):
            variable.assign_add(ops.cast(counts[kind], self.dtype))

    def _average(self, per_label):
        if not self.multi_label:
            return ops.sum(per_label)
        per_label = ops.sum(per_label, axis=0)
        if self.label_weights is None:
            return ops.mean(per_label)
        weights = ops.convert_to_tensor(self.label_weights, "float32")
        return divide_no_nan(ops.sum(per_label * weights), ops.sum(weights))

    def _interpolate_pr_auc(self):
        # Davis & Goadrich (2006): precision is interpolated along the curve between thresholds.
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        dtp = tp[:-1] - tp[1:]
        predicted = tp + fp
        dp = predicted[:-1] - predicted[1:]
        slope = divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = tp[1:] - slope * predicted[1:]
        both_positive = ops.logical_and(predicted[:-1] > 0, predicted[1:] > 0)
        ratio = ops.where(both_positive, divide_no_nan(predicted[:-1], ops.maximum(predicted[1:], 0.0)), 1.0)
        increments = divide_no_nan(slope * (dtp + intercept * ops.log(ratio)), ops.maximum(tp[1:] + fn[1:], 0.0))
        return self._average(increments)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:-1], y[1:])
        else:
            heights = ops.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self) -> None:
        if self.built:
            super().reset_state()

    def get_config(self) -> dict:
        config_dict = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config_dict["thresholds"] = self._thresholds[1:-1]
        return config_dict
