"""Callbacks: hooks into fit/evaluate/predict.

Example:
    >>> class PrintLoss(lamina.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, logs["loss"])
"""

from lamina.callbacks.callback import Callback as Callback
from lamina.callbacks.callback import CallbackList as CallbackList
from lamina.callbacks.history import History as History
from lamina.callbacks.progbar_logger import ProgbarLogger as ProgbarLogger
