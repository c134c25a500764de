"""History: the object `fit` returns, with every epoch's logs."""

from __future__ import annotations

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records `history.history[name]` (one value per epoch) and `history.epoch`.

    Example:
        >>> hist = model.fit(x, y, validation_split=0.2)
        >>> hist.history["val_loss"]
    """

    handles_fused_steps = True

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self
