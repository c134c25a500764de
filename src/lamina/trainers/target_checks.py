"""Targets checked against the model's outputs on the host, before a step can train on them silently.

Two mistakes pass through the compiled step without an error in every engine: integer labels outside an
output's classes (a label of 10 for 10 classes gives `nan` on JAX and a finite, wrong loss on torch), and
targets that broadcast against an output of another shape (y of shape (100, 2) for a 1-unit output with
"mse" gives a loss over 100 × 2 pairs). `TargetChecks` refuses both with the output's name, cheaply: the
shapes once per call, the labels with one NumPy min/max over the targets (per batch for file-backed arrays
and streams).

Example:
    >>> checks = TargetChecks(["dense"], [(10,)], compile_loss, compile_metrics)
    >>> checks.check_data(data)  # ValueError: Received a label value of 10 ... [0, 10) for output "dense" ...
"""

from __future__ import annotations

import numpy as np

from lamina import losses as losses_module
from lamina.losses.probabilistic_losses import sparse_categorical_crossentropy
from lamina.metrics.accuracy_metrics import sparse_categorical_accuracy, sparse_top_k_categorical_accuracy

# Built-in losses whose targets have the output's shape (up to a trailing 1); custom losses may take any.
_SAME_SHAPE_LOSSES = (
    losses_module.MeanSquaredError,
    losses_module.MeanAbsoluteError,
    losses_module.MeanAbsolutePercentageError,
    losses_module.MeanSquaredLogarithmicError,
    losses_module.LogCosh,
    losses_module.Huber,
    losses_module.CosineSimilarity,
    losses_module.Hinge,
    losses_module.SquaredHinge,
    losses_module.CategoricalHinge,
    losses_module.KLDivergence,
    losses_module.Poisson,
    losses_module.BinaryCrossentropy,
    losses_module.BinaryFocalCrossentropy,
    losses_module.CategoricalCrossentropy,
    losses_module.CategoricalFocalCrossentropy,
)
# Functions of losses and metrics that take integer class labels, indexing the output's last axis.
_SPARSE_FUNCTIONS = (sparse_categorical_crossentropy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy)


def _without_trailing_ones(shape: tuple) -> tuple:
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def shapes_compatible(target_shape: tuple, output_shape: tuple) -> bool:
    """Whether targets of `target_shape` fit an output of `output_shape` (both without the batch axis).

    Equal shapes fit, a trailing axis of 1 may be added or left out on either side ((n,) against (n, 1)),
    and an unknown (None) output size fits any size.

    Example:
        >>> shapes_compatible((), (1,)), shapes_compatible((2,), (1,))
        (True, False)
    """
    target, output = _without_trailing_ones(tuple(target_shape)), _without_trailing_ones(tuple(output_shape))
    while len(output) > len(target) and output[-1] is None:  # a None may stand for the 1 the target left out
        output = output[:-1]
    return len(target) == len(output) and all(o is None or o == t for t, o in zip(target, output))


def _sparse_rule(entry, output_shape: tuple):
    """(what, classes, ignored label) when a loss or metric takes integer labels over the output's classes."""
    fn = getattr(entry, "fn", None) or getattr(entry, "_fn", None)
    if fn not in _SPARSE_FUNCTIONS:
        return None
    kwargs = getattr(entry, "fn_kwargs", None) or getattr(entry, "_fn_kwargs", None) or {}
    axis = kwargs.get("axis", -1)
    if not output_shape or not -len(output_shape) <= axis < len(output_shape) or axis == 0:
        return None
    classes = output_shape[axis if axis < 0 else axis - 1]  # output_shape has no batch axis
    if classes is None:
        return None
    kind = "loss" if hasattr(entry, "fn") else "metric"
    return f"{entry.name} {kind}", int(classes), kwargs.get("ignore_class")


class _OutputRule:
    """What one output's targets must satisfy."""

    def __init__(self, name: str, output_shape: tuple, loss, metrics: list):
        self.name = name
        self.output_shape = tuple(output_shape)
        self.shape_loss = loss.name if type(loss) in _SAME_SHAPE_LOSSES else None
        rules = [_sparse_rule(entry, self.output_shape) for entry in [loss, *metrics] if entry is not None]
        self.sparse = [rule for rule in rules if rule is not None]

    def check_shape(self, target_shape: tuple, argument: str) -> None:
        if self.shape_loss is None or shapes_compatible(target_shape[1:], self.output_shape):
            return
        output_shape = (target_shape[0], *self.output_shape)
        raise ValueError(
            f'{argument} does not fit output "{self.name}" (loss {self.shape_loss}): the output has shape '
            f"{output_shape}, got targets of shape {tuple(target_shape)}. Targets must have the output's shape "
            "(a trailing axis of 1 may be added or left out); they would be broadcast against it instead."
        )

    def check_labels(self, labels: np.ndarray, argument: str) -> None:
        for what, classes, ignore_class in self.sparse:
            bad = _first_out_of_range(labels, classes, ignore_class)
            if bad is not None:
                raise ValueError(
                    f"Received a label value of {bad} in {argument} which is outside the valid range of "
                    f'[0, {classes}) for output "{self.name}": its {what} takes integer class labels from 0 to '
                    f"{classes - 1}, one per output unit."
                )


def _first_out_of_range(labels: np.ndarray, classes: int, ignore_class):
    """The largest label ≥ classes, else the smallest label < 0, else None (labels cast to int as the step does)."""
    if labels.size == 0 or labels.dtype.kind not in "biuf":
        return None
    if ignore_class is not None:
        labels = labels[labels != ignore_class]
        if labels.size == 0:
            return None
    high, low = labels.max(), labels.min()
    if labels.dtype.kind == "f":
        if not (np.isfinite(high) and np.isfinite(low)):
            return None  # NaN targets are another mistake, left to the loss
        high, low = np.trunc(high), np.trunc(low)
    if high >= classes:
        return int(high)
    if low < 0:
        return int(low)
    return None


class TargetChecks:
    """The checks of every output's targets, built once per compile.

    Args:
        output_names: the outputs' names, in order.
        output_shapes: the outputs' shapes without the batch axis.
        compile_loss: the built `CompileLoss`.
        compile_metrics: the built `CompileMetrics`.

    Example:
        >>> TargetChecks(["dense"], [(1,)], compile_loss, compile_metrics).check_batch([np.zeros((8, 2))])
        ValueError: y does not fit output "dense" (loss mean_squared_error): the output has shape (8, 1), ...
    """

    def __init__(self, output_names: list, output_shapes: list, compile_loss, compile_metrics):
        losses = compile_loss.losses or [None] * len(output_names)
        metrics = [[m for i, m, _ in compile_metrics.metrics if i == index] for index in range(len(output_names))]
        self.rules = [
            _OutputRule(name, shape, loss, output_metrics)
            for name, shape, loss, output_metrics in zip(output_names, output_shapes, losses, metrics)
        ]

    def _pairs(self, targets, argument: str):
        if targets is None:
            return []
        described = [argument if len(targets) == 1 else f"{argument}[{i}]" for i in range(len(targets))]
        return [(rule, target, what) for rule, target, what in zip(self.rules, targets, described)]

    def check_data(self, data, argument: str = "y") -> None:
        """Shapes of every target array; labels of the in-memory ones (file-backed ones per batch)."""
        for rule, target, what in self._pairs(data.y, argument):
            rule.check_shape(tuple(target.shape), what)
            if isinstance(target, np.ndarray):
                rule.check_labels(target, what)

    def check_batch(self, targets, argument: str = "y", labels_only: bool = False) -> None:
        """One batch's targets (NumPy arrays, one per output)."""
        for rule, target, what in self._pairs(targets, argument):
            if not labels_only:
                rule.check_shape(tuple(target.shape), what)
            rule.check_labels(np.asarray(target), what)


def check_targets(model, data, argument: str = "y") -> None:
    """`data`'s targets against `model`'s outputs, when the model has been prepared for training."""
    checks = getattr(model, "_target_checks", None)
    if checks is not None:
        checks.check_data(data, argument)


def check_batch_targets(model, targets, argument: str = "y", labels_only: bool = False) -> None:
    """One batch's targets against `model`'s outputs (streams and file-backed arrays)."""
    checks = getattr(model, "_target_checks", None)
    if checks is not None and targets is not None:
        checks.check_batch(targets, argument, labels_only)
