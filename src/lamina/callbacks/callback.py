"""Callback, the base of every hook object, and CallbackList, which calls them in order."""

from __future__ import annotations

_BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
)  # fmt: skip


class Callback:
    """Override any of the `on_*` hooks. `self.model` and `self.params` are set by fit/evaluate/predict.

    `on_batch_begin`/`on_batch_end` are Keras 2's names for the training batch hooks.

    Example:
        >>> class StopAt(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         if logs["loss"] < 0.1:
        ...             self.model.stop_training = True
    """

    # Callbacks written by lamina that accept one call per group of fused steps.
    handles_fused_steps = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def needs_every_batch(self) -> bool:
        """True when this callback overrides a batch hook and so must see every single step."""
        if self.handles_fused_steps:
            return False
        return any(getattr(type(self), hook) is not getattr(Callback, hook) for hook in _BATCH_HOOKS)


class CallbackList:
    """Calls each hook on every callback in order."""

    def __init__(self, callbacks, model, params: dict):
        self.callbacks = list(callbacks)
        # Keras gives evaluate's and predict's callbacks `epochs=1` too.
        params.setdefault("epochs", 1)
        self.params = params
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks must be lamina.callbacks.Callback instances, got {type(callback).__name__}."
                )
            callback.set_model(model)
            callback.set_params(params)

    def needs_every_batch(self) -> bool:
        return any(c.needs_every_batch() for c in self.callbacks)

    def call(self, hook: str, *args) -> None:
        """Calls `hook` on every callback; logs of None reach the callbacks as `{}`, as in Keras."""
        if args and args[-1] is None:
            args = (*args[:-1], {})
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_batch_begin(self, batch, logs=None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)
            callback.on_train_batch_end(batch, logs)
