"""Callbacks: hooks into fit/evaluate/predict.

Example:
    >>> class PrintLoss(lamina.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, logs["loss"])
"""

from lamina.callbacks.backup_and_restore import BackupAndRestore as BackupAndRestore
from lamina.callbacks.callback import Callback as Callback
from lamina.callbacks.callback import CallbackList as CallbackList
from lamina.callbacks.csv_logger import CSVLogger as CSVLogger
from lamina.callbacks.early_stopping import EarlyStopping as EarlyStopping
from lamina.callbacks.early_stopping import TerminateOnNaN as TerminateOnNaN
from lamina.callbacks.history import History as History
from lamina.callbacks.lambda_callback import LambdaCallback as LambdaCallback
from lamina.callbacks.learning_rate import LearningRateScheduler as LearningRateScheduler
from lamina.callbacks.learning_rate import ReduceLROnPlateau as ReduceLROnPlateau
from lamina.callbacks.model_checkpoint import ModelCheckpoint as ModelCheckpoint
from lamina.callbacks.progbar_logger import ProgbarLogger as ProgbarLogger
from lamina.callbacks.tensorboard import TensorBoard as TensorBoard
