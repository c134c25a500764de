"""ProgbarLogger: prints fit/evaluate/predict progress as tf.keras 2.x does.

`verbose=1` draws a bar per epoch (and for evaluate/predict), `verbose=2`
prints one line per epoch; both print `Epoch i/n` first when there is more
than one epoch. Validation inside `fit` prints nothing of its own: its values
appear on the epoch's last line.
"""

from __future__ import annotations

import sys

from lamina.callbacks.callback import Callback
from lamina.distribution.multi_host import is_chief
from lamina.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar with the running logs.

    `fit`, `evaluate` and `predict` add one themselves when `verbose` is 1 or 2
    (not when `callbacks` already holds one); its verbosity comes from their
    `verbose` argument (`self.params["verbose"]`).

    Args:
        count_mode: "samples" or "steps", as in Keras. lamina's logs carry no
            per-batch sample count, so both count steps (batches).
        stateful_metrics: names of logged values to show as they are; the
            model's metrics (running means already) always are. Other values are
            averaged over the steps seen, as in Keras.

    Example:
        >>> model.fit(x, y, epochs=5, verbose=1)  # adds a ProgbarLogger itself
        Epoch 1/5
        38/38 [==============================] - 0s 7ms/step - loss: 0.6931
    """

    handles_fused_steps = True

    def __init__(self, count_mode="samples", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError(f'Unknown `count_mode`: {count_mode!r}. Expected values are ["samples", "steps"].')
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.progbar = None
        self.seen = 0
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1) if is_chief() else 0  # one bar per job: process 0's
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    # ------------------------------------------------------------- the bar
    def _new_progbar(self) -> None:
        names = set(getattr(self.model, "metrics_names", None) or ())
        self.progbar = Progbar(self.target, verbose=self.verbose, stateful_metrics=self.stateful_metrics | names)
        self.seen = 0

    def _batch_update(self, batch, logs) -> None:
        if self.progbar is None:
            self._new_progbar()
        self.seen = batch + 1  # fused steps report their last batch: the bar jumps to it
        if self.verbose == 1:
            self.progbar.update(self.seen, logs, finalize=False)

    def _finalize(self, logs) -> None:
        if self.progbar is None:
            self._new_progbar()
        if self.target is None:  # a stream of unknown length: now it is known
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.target, logs, finalize=True)

    # --------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._called_in_fit = True  # the validation inside fit draws no bar of its own

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_progbar()
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            sys.stdout.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._new_progbar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._batch_update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._new_progbar()

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_update(batch, None)  # the predictions are not shown

    def on_predict_end(self, logs=None):
        self._finalize(None)
