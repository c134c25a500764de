"""History: the object `fit` returns, with every epoch's logs."""

from __future__ import annotations

from lamina.callbacks.callback import Callback

# The keys, in order, of tf.keras 2.x's `History.params`: {'verbose': 1, 'epochs': 5, 'steps': 32}.
_KERAS_PARAMS = ("verbose", "epochs", "steps")


class History(Callback):
    """Records `history.history[name]` (one value per epoch) and `history.epoch`.

    `history.params` holds fit's settings with exactly Keras 2's keys.

    Example:
        >>> hist = model.fit(x, y, epochs=5, validation_split=0.2)
        >>> hist.history["val_loss"]
        >>> hist.params
        {'verbose': 1, 'epochs': 5, 'steps': 32}
    """

    handles_fused_steps = True

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def set_params(self, params: dict) -> None:
        # The callbacks' shared params carry lamina's extra keys too; History shows Keras's own.
        self.params = {key: params[key] for key in _KERAS_PARAMS if key in params}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self
