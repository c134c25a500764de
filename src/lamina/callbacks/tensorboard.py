"""TensorBoard: writes event files that TensorBoard reads (scalars, weight histograms, the model as text).

The files are written with the `tensorboardX` package (no TensorFlow needed):
`pip install tensorboardX`. The layout follows Keras: `<log_dir>/train` and
`<log_dir>/validation`, scalars named `epoch_<metric>` (step = epoch) and
`batch_<metric>` (step = the number of batches trained so far), and
`evaluation_<metric>_vs_iterations` for each validation run (step = optimizer steps).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.distribution.multi_host import is_chief


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "The TensorBoard callback writes its event files with the `tensorboardX` package, which is not "
            "installed: pip install tensorboardX"
        ) from error
    return SummaryWriter


def _check_update_freq(update_freq):
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return "epoch"
    if isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0:
        return update_freq
    raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, got {update_freq!r}.")


class TensorBoard(Callback):
    """Logs training to event files for TensorBoard: `tensorboard --logdir=<log_dir>`.

    Args:
        log_dir: the folder for the event files (`train/` and `validation/` below it).
        histogram_freq: every how many epochs to write a histogram of each weight
            (tag `<layer>/<weight>_0/histogram`, as Keras 2 names it); 0 writes none.
        write_graph: write the model at the start of training, as text (TensorBoard's Text tab):
            its JSON config (tag `keras/text_summary`) and its `model.summary()`
            (tag `model_summary/text_summary`).
        write_images: accepted for Keras compatibility; images of weights are not written.
        write_steps_per_second: also log the training speed (`epoch_steps_per_second`,
            and `batch_steps_per_second` with batch-level logging).
        update_freq: "epoch" (scalars once per epoch), "batch" (also `batch_<metric>`
            after every batch) or an integer N (after every N batches). Batch-level
            logging makes fit run one step per compiled call.
        profile_batch: accepted for Keras compatibility; profiling is not supported (must be 0).
        embeddings_freq, embeddings_metadata: accepted for Keras compatibility; no embeddings are written.

    Example:
        >>> tensorboard = TensorBoard(log_dir="./logs", histogram_freq=1)
        >>> model.fit(x, y, validation_split=0.2, epochs=5, callbacks=[tensorboard])
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
        **kwargs,
    ):
        super().__init__()
        for legacy in ("batch_size", "write_grads"):  # Keras 2.0-era arguments, ignored by Keras 2 as well
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"TensorBoard got unexpected keyword argument(s): {sorted(kwargs)}.")
        self._writer_class = _summary_writer_class()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"TensorBoard: log_dir must be a folder path, got {type(log_dir).__name__}.")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0, got {histogram_freq!r}.")
        if profile_batch not in (0, None, (0, 0)):
            warnings.warn("TensorBoard: profile_batch is not supported by lamina; no profile is written.", stacklevel=2)
        if embeddings_freq:
            warnings.warn("TensorBoard: embeddings_freq is not supported; no embeddings are written.", stacklevel=2)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _check_update_freq(update_freq)
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_first_batch = 0
        self._epoch_start_time = 0.0
        self._batch_start_time = 0.0

    def needs_every_batch(self) -> bool:
        return self.update_freq != "epoch"

    # ----------------------------------------------------------- writers
    def _writer(self, name: str):
        """The writer for `train` or `validation`, opened on first use."""
        if name not in self._writers:
            # In a multi-process job only process 0 writes event files; the others log nowhere.
            writer_class = self._writer_class if is_chief() else _NoWriter
            self._writers[name] = writer_class(logdir=os.path.join(self.log_dir, name))
        return self._writers[name]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.write_graph:
            self._write_model()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_first_batch = self._global_train_batch

    def on_train_batch_begin(self, batch, logs=None):
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        # Counted from the batch index: without batch-level logging fit calls this once per group of fused steps.
        self._global_train_batch = self._epoch_first_batch + batch + 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._batch_start_time, 1e-9)
            writer.add_scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in _scalars(logs or {}):
            writer.add_scalar(f"batch_{name}", value, step)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        step = int(np.asarray(optimizer.iterations))
        for name, value in _scalars(logs):
            writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)
        writer.flush()
        if not self.params.get("in_fit"):  # a standalone evaluate(): no on_train_end will close the files
            self._close_writers()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    # ------------------------------------------------------------ content
    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[len("val_") :]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "_schedule", None) is not None:
            train.setdefault("learning_rate", float(np.asarray(optimizer.learning_rate)))
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train["steps_per_second"] = (self._global_train_batch - self._epoch_first_batch) / elapsed
        for run, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(run)
                for name, value in _scalars(values):
                    writer.add_scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                values = np.asarray(weight.numpy(), dtype="float64")
                if values.size:
                    writer.add_histogram(f"{weight.path.replace(':', '_')}_0/histogram", values, epoch)

    def _write_model(self) -> None:
        writer = self._writer("train")
        try:
            config = self.model.to_json()
        except (NotImplementedError, TypeError, ValueError, AttributeError) as error:
            warnings.warn(f"TensorBoard: the model could not be written as JSON ({error}); skipped.", stacklevel=3)
        else:
            writer.add_text("keras", config, 0)
        lines = []
        try:
            self.model.summary(print_fn=lines.append)
        except (TypeError, ValueError, AttributeError) as error:
            warnings.warn(f"TensorBoard: model.summary() failed ({error}); skipped.", stacklevel=3)
        else:
            # Indented by four spaces: TensorBoard's text view renders Markdown, where that is a code block.
            writer.add_text("model_summary", "\n".join("    " + line for line in lines), 0)
        writer.flush()


def _scalars(logs: dict):
    """(name, float) pairs of the logs; a per-class metric gives one scalar per class, `name_0`, `name_1`, ..."""
    for name, value in logs.items():
        if np.size(value) == 1:
            yield name, float(np.asarray(value).reshape(-1)[0])
        else:
            for i, item in enumerate(np.asarray(value).reshape(-1)):
                yield f"{name}_{i}", float(item)


class _NoWriter:
    """A summary writer that writes nothing (processes other than 0 of a multi-process job)."""

    def __init__(self, logdir):
        self.logdir = logdir

    def __getattr__(self, name):
        return lambda *args, **kwargs: None
