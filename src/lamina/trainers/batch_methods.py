"""Keras's batch methods: `train_on_batch`, `test_on_batch`, `predict_on_batch`, mixed into the Trainer."""

from __future__ import annotations

import numpy as np

from lamina.trainers.arguments import evaluate_result
from lamina.trainers.target_checks import check_targets
from lamina.utils import nest


class BatchMethods:
    """One step on exactly the given batch; the Trainer supplies `_data`, `_prepare`, `_runner` and the rest."""

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True, return_dict=False):
        """One gradient update on exactly this batch; returns its loss (and metrics).

        Example:
            >>> loss = model.train_on_batch(x[:32], y[:32])
        """
        return self._one_batch("train", x, y, sample_weight, class_weight, reset_metrics, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        """The loss (and metrics) on exactly this batch, in inference mode."""
        return self._one_batch("test", x, y, sample_weight, None, reset_metrics, return_dict)

    def _one_batch(self, step: str, x, y, sample_weight, class_weight, reset_metrics, return_dict):
        """One `step` ("train" or "test") of the step runner on the whole of `x` as one batch."""
        self._assert_compiled(f"{step}_on_batch")
        data = self._data(x, y, sample_weight, class_weight)
        self._prepare(data)
        check_targets(self, data)
        if reset_metrics:
            self.reset_metrics()
        run = getattr(self._runner, step)
        logs = self._host_logs(run(*self._step_inputs(data, np.arange(data.n), 1)))
        return evaluate_result(logs, return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for exactly this batch, as NumPy arrays."""
        return self.predict(x, batch_size=len(nest.flatten(x)[0]) or 1, verbose=0)
