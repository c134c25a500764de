"""Intersection-over-union metrics from an accumulated confusion matrix (IoU, MeanIoU, BinaryIoU, one-hot forms).

IoU of a class = tp / (tp + fp + fn). The confusion matrix (rows: true class,
columns: predicted class) lives in a Variable of `dtype` (int32 by default, as in
Keras: float sample weights are truncated to integers).

Example:
    >>> m = MeanIoU(num_classes=3)
    >>> m.update_state([0, 1, 2, 2], [0, 1, 1, 2])
    >>> float(m.result())
"""

from __future__ import annotations

from lamina import config, ops
from lamina.metrics.metric import Metric


class IoU(Metric):
    """The mean IoU over `target_class_ids` (classes never seen or predicted are left out of the mean).

    Args:
        num_classes: the number of classes (the confusion matrix is num_classes x num_classes).
        target_class_ids: the classes whose IoU is averaged.
        ignore_class: a target label whose samples are not counted.
        sparse_y_true, sparse_y_pred: False when that side holds one-hot rows or scores (argmax is taken).
        axis: the class axis for the argmax.

    Example:
        >>> IoU(num_classes=3, target_class_ids=[0, 2]).update_state(labels, predicted_labels)
    """

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        owner = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: num_classes must be a positive int, got num_classes={num_classes!r}.")
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(
                f"{owner}: target_class_ids must be class ids in [0, {num_classes}), "
                f"got target_class_ids={target_class_ids!r}."
            )
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes, self.target_class_ids = num_classes, target_class_ids
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.total_cm = self.add_variable((num_classes, num_classes), name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, "int32"), (-1,))
        if sample_weight is None:
            weight = ops.ones(y_true.shape, "float32")
        else:
            # Cast to the matrix's dtype first, as Keras does (int32 truncates float weights).
            weight = ops.cast(ops.cast(sample_weight, self.dtype), "float32")
            weight = ops.broadcast_to(ops.reshape(weight, (-1,)) if weight.ndim > 1 else weight, y_true.shape)
        n = self.num_classes
        keep = ops.logical_and(ops.logical_and(y_true >= 0, y_true < n), ops.logical_and(y_pred >= 0, y_pred < n))
        if self.ignore_class is not None:
            keep = ops.logical_and(keep, ops.not_equal(y_true, self.ignore_class))
        weight = ops.where(keep, weight, 0.0)
        true_rows = ops.one_hot(ops.where(keep, y_true, 0), n) * ops.expand_dims(weight, -1)
        predicted_rows = ops.one_hot(ops.where(keep, y_pred, 0), n)
        matrix = ops.matmul(ops.transpose(true_rows), predicted_rows)
        self.total_cm.assign_add(ops.cast(matrix, self.dtype))

    def result(self):
        matrix = ops.cast(self.total_cm.value, "float32")
        predicted = ops.sum(matrix, axis=0)
        actual = ops.sum(matrix, axis=1)
        true_positives = ops.sum(matrix * ops.one_hot(ops.arange(self.num_classes), self.num_classes), axis=1)
        denominator = predicted + actual - true_positives
        ids = ops.convert_to_tensor(self.target_class_ids, "int32")
        true_positives, denominator = ops.take(true_positives, ids), ops.take(denominator, ids)
        valid = ops.greater(denominator, 1e-9)
        iou = ops.where(valid, true_positives / (denominator + config.epsilon()), 0.0)
        return ops.sum(iou) / (ops.sum(ops.cast(valid, "float32")) + config.epsilon())

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class MeanIoU(IoU):
    """The IoU averaged over every class.

    Example:
        >>> MeanIoU(num_classes=2).update_state([0, 0, 1, 1], [0, 1, 0, 1])  # 1/3
    """

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1
    ):
        super().__init__(
            num_classes,
            target_class_ids=list(range(num_classes)) if isinstance(num_classes, int) else [],
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("target_class_ids")
        return config_dict


class BinaryIoU(IoU):
    """IoU of 0/1 targets against predictions thresholded at `threshold` (>= counts as 1).

    Example:
        >>> BinaryIoU(target_class_ids=[1], threshold=0.5).update_state([0, 1, 1], [0.2, 0.7, 0.4])
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = ops.cast(ops.greater_equal(ops.cast(y_pred, "float32"), self.threshold), "int32")
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self) -> dict:
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


class OneHotIoU(IoU):
    """IoU with one-hot targets and class scores as predictions.

    Example:
        >>> OneHotIoU(num_classes=3, target_class_ids=[0, 1]).update_state(one_hot, scores)
    """

    def __init__(
        self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("sparse_y_true")
        return config_dict


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot targets and class scores as predictions.

    Example:
        >>> OneHotMeanIoU(num_classes=3).update_state(one_hot, scores)
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("sparse_y_true")
        return config_dict
