"""The PyTorch step runner: eager train, test and predict steps with autograd.

Variables hold torch tensors directly (the trainable ones are autograd
leaves), so a step is: forward, loss, `torch.autograd.grad`, then the
optimizer and metric updates under `torch.no_grad`, which assign in place.
"""

from __future__ import annotations

import torch

from lamina.backend.torch.core import device_put_batch
from lamina.utils import nest

__all__ = ["StepRunner"]


def _index(tree, i: int):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {key: value[i] for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_index(value, i) for value in tree)
    return tree[i]


class StepRunner:
    """Train/test/predict steps for one compiled model, one step per batch.

    Example:
        >>> runner = StepRunner(model)
        >>> logs = runner.train(x_steps, y_steps, None)  # arrays shaped (k, batch, ...)
    """

    def __init__(self, model, predict_only=False, placement=None):
        self.model = model
        # A DataParallelPlacement (backend/torch/distribute.py) splits each batch over worker processes.
        self.placement = placement
        self._predict_only = predict_only
        trainable = model.trainable_variables if predict_only else model._compiled_trainable
        self.tv = list(trainable)
        trainable_ids = {id(v) for v in self.tv}
        # Only the compiled trainable set needs gradients (the FAQ's freezing semantics).
        for variable in model.weights + model.non_trainable_variables:
            if variable._value.is_floating_point():
                variable._value.requires_grad_(id(variable) in trainable_ids)
        # compile(jit_compile=True): forward and loss go through torch.compile (the default stays eager).
        self._forward = self._forward_and_loss
        if getattr(model, "_jit_compile", "auto") is True:
            self._forward = torch.compile(self._forward_and_loss, dynamic=False)

    def _forward_and_loss(self, x, y, sw, training: bool):
        y_pred = nest.flatten(self.model(x, training=training))
        total, per_output = self.model._compute_loss(x, y, y_pred, sw, training=training)
        return y_pred, total, per_output, getattr(self.model, "_output_masks_for_metrics", None)

    def can_fuse(self, x_batch) -> bool:
        """True: a call runs its k steps in a Python loop, and reads the metric results once at the end."""
        return True

    # ------------------------------------------------------------- train
    def _train_step(self, x, y, sw) -> None:
        model = self.model
        y_pred, total, per_output, masks = self._forward(x, y, sw, True)
        leaves = [v._value for v in self.tv]
        if leaves and isinstance(total, torch.Tensor) and total.requires_grad:
            grads = torch.autograd.grad(model.optimizer.scale_loss(total), leaves, allow_unused=True)
            grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
        else:
            grads = [torch.zeros_like(leaf) for leaf in leaves]
        with torch.no_grad():
            model.optimizer.apply(grads, self.tv)
            detached = [p.detach() for p in y_pred]
            losses = [None if v is None else v.detach() for v in per_output]
            masks = None if masks is None else [None if m is None else m.detach() for m in masks]
            model._compile_metrics.update(y, detached, sw, _detach(total), losses, nest.leading_dim(x), masks)

    def _results(self) -> list:
        with torch.no_grad():
            return list(self.model._compile_metrics.results().values())

    def train(self, x, y, sw) -> list:
        """Runs one train step per leading index of x/y/sw; returns the metric results in log order."""
        if self._parallel((x, y, sw)):
            self.placement.replicas(self).train(x, y, sw)
            return self._results()
        x, y, sw = device_put_batch(x), device_put_batch(y), device_put_batch(sw)
        for i in range(nest.leading_dim(x)):
            self._train_step(_index(x, i), _index(y, i), _index(sw, i))
        return self._results()

    def _parallel(self, batch) -> bool:
        """Whether a call on `batch` runs split over the placement's replicas (else whole, in this process)."""
        return self.placement is not None and self.placement.replicas(self).splits(batch)

    # -------------------------------------------------------------- test
    def test(self, x, y, sw) -> list:
        """Runs one test step per leading index; returns the metric results in log order."""
        model = self.model
        if self._parallel((x, y, sw)):
            self.placement.replicas(self).test(x, y, sw)
            return self._results()
        x, y, sw = device_put_batch(x), device_put_batch(y), device_put_batch(sw)
        with torch.no_grad():
            for i in range(nest.leading_dim(x)):
                xb, yb, swb = _index(x, i), _index(y, i), _index(sw, i)
                y_pred, total, per_output, masks = self._forward(xb, yb, swb, False)
                model._compile_metrics.update(yb, y_pred, swb, total, per_output, nest.leading_dim(xb), masks)
        return self._results()

    # ----------------------------------------------------------- predict
    def predict(self, x) -> list:
        """The outputs for each leading index of x, stacked: [(k, batch, ...), ...]."""
        if self._parallel(x):
            return self.placement.replicas(self).predict(x)
        x = device_put_batch(x)
        steps = []
        with torch.no_grad():
            for i in range(nest.leading_dim(x)):
                steps.append(nest.flatten(self.model(_index(x, i), training=False)))
        return [torch.stack(parts) for parts in zip(*steps)]


def _detach(value):
    return value.detach() if isinstance(value, torch.Tensor) else value
