"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from lamina.callbacks.callback import _BATCH_HOOKS, Callback

_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
) + _BATCH_HOOKS  # fmt: skip


class LambdaCallback(Callback):
    """Calls the given functions at the matching moments of fit/evaluate/predict.

    Each argument is a function with the hook's arguments: `on_epoch_begin(epoch, logs)`,
    `on_epoch_end(epoch, logs)`, `on_batch_begin(batch, logs)`, `on_batch_end(batch, logs)`,
    `on_train_begin(logs)`, `on_train_end(logs)`. Any other hook of `Callback`
    (`on_test_batch_end=...`, `on_predict_begin=...`) may be passed by keyword too.

    Example:
        >>> print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
        >>> model.fit(x, y, callbacks=[print_epoch])
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_batch_begin=None,
        on_batch_end=None,
        on_train_begin=None,
        on_train_end=None,
        **kwargs,
    ):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback got unexpected keyword argument(s): {unknown}; hooks: {list(_HOOKS)}.")
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_batch_begin=on_batch_begin,
            on_batch_end=on_batch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            **kwargs,
        )
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback: {name} must be a function, got {type(function).__name__}.")
            setattr(self, name, function)

    def needs_every_batch(self) -> bool:
        """True when a batch hook was given (they are set on the instance, not the class)."""
        return any(hook in self.__dict__ for hook in _BATCH_HOOKS)
