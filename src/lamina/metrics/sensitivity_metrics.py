"""One rate at a floor on another, over evenly spaced thresholds, as Keras has them:
SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall and RecallAtPrecision.

Each keeps true/false positive/negative counts at `num_thresholds` thresholds from 0
to 1 (one comparison of every prediction with every threshold, so it runs inside a
jitted step) and reports the best value of one rate among the thresholds where the
other reaches the requested level (0 where none does).

Example:
    >>> m = SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0.0, 0.3, 0.8, 0.3, 0.8])
    >>> float(m.result())  # 0.5
"""

from __future__ import annotations

from lamina import ops
from lamina.metrics.confusion_metrics import confusion_counts, divide_no_nan, prepare
from lamina.metrics.metric import Metric


def even_thresholds(num_thresholds: int) -> list:
    """`num_thresholds` thresholds spread evenly over [0, 1] (a single one: 0.5), as Keras spaces them."""
    if num_thresholds == 1:
        return [0.5]
    return [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]


class _RateAtRate(Metric):
    """Counts at evenly spaced thresholds; `result` maximizes one rate where another is at least `value`."""

    _value_name = ""  # the constructor argument holding the floor ("specificity", "recall", ...)
    _constrained = _maximized = ""  # the rate held at the floor, the rate whose best value is the result

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{owner}: {self._value_name} must be in [0, 1], got {self._value_name}={value!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"{owner}: num_thresholds must be an int > 0, got num_thresholds={num_thresholds!r}.")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0):
            raise ValueError(f"{owner}: class_id must be a non-negative int or None, got class_id={class_id!r}.")
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        setattr(self, self._value_name, value)
        self.thresholds = even_thresholds(num_thresholds)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, name="true_positives")
        self.false_positives = self.add_variable(size, name="false_positives")
        self.true_negatives = self.add_variable(size, name="true_negatives")
        self.false_negatives = self.add_variable(size, name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, y_pred, weight = prepare(y_true, y_pred, sample_weight, class_id=self.class_id)
        counts = confusion_counts(labels, y_pred, weight, self.thresholds, ("tp", "fp", "tn", "fn"))
        self.true_positives.assign_add(ops.cast(counts["tp"], self.dtype))
        self.false_positives.assign_add(ops.cast(counts["fp"], self.dtype))
        self.true_negatives.assign_add(ops.cast(counts["tn"], self.dtype))
        self.false_negatives.assign_add(ops.cast(counts["fn"], self.dtype))

    def _rates(self) -> dict:
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {
            "sensitivity": divide_no_nan(tp, tp + fn),  # also the recall
            "specificity": divide_no_nan(tn, tn + fp),
            "precision": divide_no_nan(tp, tp + fp),
        }

    def result(self):
        rates = self._rates()
        return self._best_where(rates[self._constrained], rates[self._maximized])

    def _best_where(self, constrained, dependent):
        """The largest `dependent` over the thresholds where `constrained >= value`; 0 if there is none."""
        return ops.maximum(ops.max(ops.where(constrained >= self.value, dependent, 0.0)), 0.0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_name: self.value,
        }


class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) among the thresholds where the specificity is at least `specificity`.

    Args:
        specificity: the floor on specificity, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] are tried (default 200).
        class_id: only this class (column) is counted.
        name: the metric's name.
        dtype: the dtype of its state.

    Example:
        >>> model.compile("adam", "binary_crossentropy", metrics=[SensitivityAtSpecificity(0.9)])
    """

    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    _constrained, _maximized = "specificity", "sensitivity"


class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity among the thresholds where the sensitivity is at least `sensitivity`.

    Args:
        sensitivity: the floor on sensitivity, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] are tried (default 200).
        class_id: only this class (column) is counted.
        name: the metric's name.
        dtype: the dtype of its state.

    Example:
        >>> SpecificityAtSensitivity(0.8, num_thresholds=50).update_state(y_true, y_pred)
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    _constrained, _maximized = "sensitivity", "specificity"


class PrecisionAtRecall(_RateAtRate):
    """The best precision among the thresholds where the recall is at least `recall`.

    Args:
        recall: the floor on recall, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] are tried (default 200).
        class_id: only this class (column) is counted.
        name: the metric's name.
        dtype: the dtype of its state.

    Example:
        >>> PrecisionAtRecall(0.5).update_state([0, 1, 1], [0.4, 0.6, 0.2])
    """

    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    _constrained, _maximized = "sensitivity", "precision"


class RecallAtPrecision(_RateAtRate):
    """The best recall among the thresholds where the precision is at least `precision`.

    Args:
        precision: the floor on precision, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] are tried (default 200).
        class_id: only this class (column) is counted.
        name: the metric's name.
        dtype: the dtype of its state.

    Example:
        >>> RecallAtPrecision(0.8).update_state([0, 1, 1], [0.4, 0.6, 0.2])
    """

    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    _constrained, _maximized = "precision", "sensitivity"
