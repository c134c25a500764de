"""What `compile()` turns its loss, loss_weights and metrics arguments into.

CompileLoss computes the weighted total loss over a model's outputs;
CompileMetrics owns the loss trackers and the compiled metrics, resolves
"accuracy" the way Keras does, and names every log entry.
"""

from __future__ import annotations

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import ops
from lamina.backend.common import standardize_dtype
from lamina.losses.losses import LossFunctionWrapper, reduce_values


def _per_output(spec, output_names: list, what: str) -> list:
    """`spec` (one value, a list, or a dict by output name) as one entry per output."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in output_names]
        if unknown:
            raise ValueError(f"compile() got {what} for unknown output(s) {unknown}; the outputs are {output_names}.")
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(output_names):
            raise ValueError(
                f"compile() got {len(spec)} {what} for a model with {len(output_names)} outputs {output_names}."
            )
        return list(spec)
    return [spec] * len(output_names)


def _loss_name(loss) -> str:
    if isinstance(loss, LossFunctionWrapper):
        return loss.fn.__name__
    return getattr(loss, "name", type(loss).__name__)


class CompileLoss:
    """The total loss: sum over outputs of loss_weight * loss(y_true, y_pred, sample_weight)."""

    def __init__(self, loss, loss_weights=None):
        self.loss_spec = loss
        self.loss_weights_spec = loss_weights
        self.losses = None
        self.weights = None

    def build(self, output_names: list) -> None:
        specs = _per_output(self.loss_spec, output_names, "losses")
        self.losses = [None if s is None else losses_module.get(s) for s in specs]
        if self.loss_weights_spec is None:
            self.weights = [1.0] * len(output_names)
        else:
            weights = _per_output(self.loss_weights_spec, output_names, "loss_weights")
            self.weights = [1.0 if w is None else float(w) for w in weights]

    def __call__(self, y_true: list, y_pred: list, sample_weight: list | None):
        """(total, [per-output loss or None])."""
        total = 0.0
        per_output = []
        for i, loss in enumerate(self.losses):
            if loss is None:
                per_output.append(None)
                continue
            if y_true is None or y_true[i] is None:
                raise ValueError(f"The model's output {i} has a loss but no target was given for it.")
            weight = None if sample_weight is None else sample_weight[i]
            prediction = _full_precision(y_pred[i])
            value = loss(target_like_output(y_true[i], prediction), prediction, weight)  # the Loss's own __call__
            per_output.append(value)
            # `0.0 + 1.0 * value` would add two nodes to every backward pass of a one-output model.
            weighted = value if self.weights[i] == 1.0 else self.weights[i] * value
            total = weighted if isinstance(total, float) and total == 0.0 else total + weighted
        return total, per_output


def target_like_output(y_true, y_pred):
    """The target in its (float) output's dtype, as Keras 2 fed targets through placeholders of that dtype.

    So integer or boolean targets work with every loss and metric, custom ones included (which see float
    targets, as in Keras 2); sparse losses and metrics cast the labels back to integers themselves.

    Example:
        >>> target_like_output(np.array([[1], [0]]), ops.zeros((2, 1))).dtype  # float32
    """
    if y_true is None or not hasattr(y_true, "dtype") or not hasattr(y_pred, "dtype"):
        return y_true
    dtype = standardize_dtype(y_pred.dtype)
    if not dtype.startswith(("float", "bfloat")) or standardize_dtype(y_true.dtype) == dtype:
        return y_true
    return ops.cast(y_true, dtype)


def _full_precision(y_pred):
    """float16/bfloat16 predictions (a mixed-precision model's) as float32: Keras computes losses in floatx."""
    if getattr(y_pred, "dtype", None) is not None and standardize_dtype(y_pred.dtype) in ("float16", "bfloat16"):
        return ops.cast(y_pred, "float32")
    return y_pred


def _resolve_accuracy(name: str, loss, y_true_shape, y_pred_shape):
    """Keras's rule for "accuracy"/"acc": by the loss first, then by the shapes."""
    loss_name = _loss_name(loss) if loss is not None else ""
    if loss_name == "sparse_categorical_crossentropy":
        return metrics_module.SparseCategoricalAccuracy(name=name)
    if loss_name == "binary_crossentropy":
        return metrics_module.BinaryAccuracy(name=name)
    if loss_name == "categorical_crossentropy":
        return metrics_module.CategoricalAccuracy(name=name)
    if y_pred_shape[-1:] == (1,):
        return metrics_module.BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1:] == (1,) and y_pred_shape[-1] != 1):
        return metrics_module.SparseCategoricalAccuracy(name=name)
    return metrics_module.CategoricalAccuracy(name=name)


class CompileMetrics:
    """The loss trackers and the compiled metrics of a model, in log order."""

    def __init__(self, metrics=None, weighted_metrics=None):
        self.metrics_spec = metrics
        self.weighted_spec = weighted_metrics
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.output_loss_trackers = []
        self.metrics = []  # (output index, metric, weighted)

    def build(self, output_names: list, compile_loss: CompileLoss, y_true_shapes: list, y_pred_shapes: list) -> None:
        multi = len(output_names) > 1
        if multi:
            self.output_loss_trackers = [
                None if loss is None else metrics_module.Mean(name=f"{name}_loss")
                for name, loss in zip(output_names, compile_loss.losses or [None] * len(output_names))
            ]
        self.metrics = []
        for spec, weighted in ((self.metrics_spec, False), (self.weighted_spec, True)):
            if spec is None:
                continue
            if isinstance(spec, dict) or (
                isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], (list, tuple))
            ):
                per_output = _per_output(spec, output_names, "metrics")
            else:
                per_output = [spec] * len(output_names)
            for i, entries in enumerate(per_output):
                if entries is None:
                    continue
                entries = entries if isinstance(entries, (list, tuple)) else [entries]
                loss = compile_loss.losses[i] if compile_loss.losses else None
                for entry in entries:
                    metric = self._make(entry, loss, y_true_shapes[i], y_pred_shapes[i])
                    if multi:
                        metric.name = f"{output_names[i]}_{metric.name}"
                    if weighted:
                        metric.name = f"weighted_{metric.name}" if not multi else metric.name
                    self.metrics.append((i, metric, weighted))

    @staticmethod
    def _make(entry, loss, y_true_shape, y_pred_shape):
        if entry in ("accuracy", "acc"):
            return _resolve_accuracy(entry, loss, y_true_shape, y_pred_shape)
        metric = metrics_module.get(entry, name=entry) if isinstance(entry, str) else metrics_module.get(entry)
        if isinstance(metric, metrics_module.Metric) and not metric.built:
            # Per-class metrics (F1Score, ...) make their variables now, before any step is traced.
            metric.build(y_true_shape, y_pred_shape)
        return metric

    @property
    def all_metrics(self) -> list:
        trackers = [t for t in self.output_loss_trackers if t is not None]
        return [self.loss_tracker, *trackers, *(m for _, m, _ in self.metrics)]

    @property
    def variables(self) -> list:
        return [v for metric in self.all_metrics for v in metric.variables]

    def update(self, y_true, y_pred, sample_weight, total_loss, per_output_losses, batch_size, masks=None) -> None:
        """Updates the trackers and metrics; an output's mask (`masks[i]`) weighs its metrics, as in Keras."""
        self.loss_tracker.update_state(total_loss, sample_weight=batch_size)
        for tracker, value in zip(self.output_loss_trackers, per_output_losses):
            if tracker is not None and value is not None:
                tracker.update_state(value, sample_weight=batch_size)
        for i, metric, weighted in self.metrics:
            weight = sample_weight[i] if (weighted and sample_weight is not None) else None
            if masks is not None and i < len(masks) and masks[i] is not None:
                weight = _with_mask(weight, masks[i])
            prediction = _full_precision(y_pred[i])
            metric.update_state(target_like_output(y_true[i], prediction), prediction, sample_weight=weight)

    def results(self) -> dict:
        return {metric.name: metric.result() for metric in self.all_metrics}

    def reset(self) -> None:
        for metric in self.all_metrics:
            metric.reset_state()


def _with_mask(weight, mask):
    """The sample weights times the output's mask (1 for kept entries, 0 for masked ones)."""
    return reduce_values(ops.cast(mask, "float32"), weight, "none")  # broadcast as the loss's weights are


def masked_sample_weights(masks: list, sample_weight, count: int) -> list:
    """Per-output sample weights with each output's mask folded in, as Keras 2 and 3 do for the loss.

    A masked output's loss is the mean over its unmasked entries: the mask, scaled by size / kept, multiplies
    the output's sample weights (Keras 3's `apply_mask` for "sum_over_batch_size").
    """
    weights = list(sample_weight) if sample_weight is not None else [None] * count
    for i, mask in enumerate(masks[:count]):
        if mask is None:
            continue
        mask = ops.cast(mask, "float32")
        size = 1
        for dim in mask.shape:
            size *= dim
        weights[i] = _with_mask(weights[i], mask) * (size / ops.maximum(ops.sum(mask), 1.0))
    return weights


def regularization_total(model):
    """The sum of the model's added losses and weight penalties, or 0.0."""
    total = 0.0
    for loss in model.losses:
        total = total + ops.cast(loss, "float32") if not isinstance(loss, float) else total + loss
    return total
