"""BackupAndRestore: resume an interrupted `fit` where it stopped, with the same weights, optimizer and data order."""

from __future__ import annotations

import contextlib
import json
import os
import warnings

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.distribution.multi_host import is_chief

_STATE_FILE = "training_state.h5"
_GROUPS = ("model_variables", "optimizer_variables")


def _model_state_variables(model) -> list:
    """The weights plus the state that is not a weight (Dropout's seed state, RNN states), each once."""
    seen, out = set(), []
    for variable in list(model.weights) + list(model.non_trainable_variables):
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append(variable)
    return out


class BackupAndRestore(Callback):
    """Backs up the training state to `backup_dir`, and restores it when the same `fit` is started again.

    The backup is one HDF5 file, `<backup_dir>/training_state.h5`, holding every model
    variable (weights, and the random-seed state of layers like Dropout), every optimizer
    variable (step counter, learning rate, slots), the epoch to resume at and the state of
    fit's shuffling generator. It is written to a temporary file and moved into place, so a
    crash mid-write leaves the previous backup intact. When `fit` starts and a backup
    exists, it is loaded and training goes on at the epoch it had reached: with the same
    seed, an interrupted and resumed run ends with the same weights as one that never stopped.

    Args:
        backup_dir: the folder for the backup (created when needed). Use one folder per training job.
        save_freq: "epoch" (back up at the end of every epoch), an integer (back up every that many
            batches; a resumed run then starts the interrupted epoch again from its first batch,
            with the weights of the last backup, as Keras 3 does), or False (never back up).
        delete_checkpoint: delete the backup when `fit` ends normally (also when a callback such as
            EarlyStopping stopped it); an interrupted `fit` never reaches that point.
        save_before_preemption: Keras 2's TensorFlow-cluster option; accepted, without effect.

    Example:
        >>> backup = BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # killed during epoch 4 ...
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # ... goes on at epoch 4
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, save_before_preemption=False):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"BackupAndRestore: backup_dir must be a non-empty folder path, got {backup_dir!r}.")
        valid_int = isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        if save_freq not in ("epoch", False) and not valid_int:
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch', a positive integer or False, got {save_freq!r}."
            )
        if save_before_preemption:
            warnings.warn("BackupAndRestore: save_before_preemption has no effect in lamina.", stacklevel=2)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)
        self.save_before_preemption = save_before_preemption
        self._current_epoch = 0
        self._epoch_rng_state = None
        self._batches_seen_since_last_saving = 0

    @property
    def backup_path(self) -> str:
        """The backup file."""
        return os.path.join(self.backup_dir, _STATE_FILE)

    def needs_every_batch(self) -> bool:
        return self.save_freq not in ("epoch", False)

    # ------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._batches_seen_since_last_saving = 0
        if os.path.exists(self.backup_path):
            self._restore()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._epoch_rng_state = self._rng_state()  # before fit draws this epoch's order

    def on_train_batch_end(self, batch, logs=None):
        if not self.needs_every_batch():
            return
        self._batches_seen_since_last_saving += 1
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save(self._current_epoch, self._epoch_rng_state)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1, self._rng_state())

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief():
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.backup_path)
            with contextlib.suppress(OSError):  # only when nothing else is in the folder
                os.rmdir(self.backup_dir)

    # ------------------------------------------------------------- state
    def _rng_state(self):
        rng = getattr(self.model, "_shuffle_rng", None)
        return None if rng is None else rng.bit_generator.state

    def _save(self, epoch: int, rng_state) -> None:
        from lamina.saving.hdf5 import atomic_h5_file, save_attributes

        if not is_chief():  # in a multi-process job process 0 writes; every process restores (a shared folder)
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        groups = (_model_state_variables(self.model), list(self.model.optimizer.variables))
        with atomic_h5_file(self.backup_path) as f:
            f.attrs["epoch"] = int(epoch)
            f.attrs["shuffle_rng_state"] = json.dumps(rng_state) if rng_state is not None else ""
            for name, variables in zip(_GROUPS, groups):
                group = f.create_group(name)
                save_attributes(group, "paths", [v.path for v in variables])
                for index, variable in enumerate(variables):
                    group.create_dataset(str(index), data=variable.numpy())

    def _read_group(self, f, name: str, variables: list) -> list:
        path = self.backup_path
        if name not in f:
            raise ValueError(f"BackupAndRestore: {path!r} is not a backup written by BackupAndRestore (no {name!r}).")
        group = f[name]
        count = len(group.keys())
        if count != len(variables):
            raise ValueError(
                f"BackupAndRestore: {path!r} holds {count} {name.replace('_', ' ')}, but the model being trained has "
                f"{len(variables)}: it was written for another model. Delete it or use another backup_dir."
            )
        values = [np.asarray(group[str(i)][()]) for i in range(count)]
        for variable, value in zip(variables, values):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"BackupAndRestore: {path!r} holds shape {tuple(value.shape)} for {variable.path!r}, "
                    f"which has shape {tuple(variable.shape)}: it was written for another model."
                )
        return values

    def _restore(self) -> None:
        from lamina.saving.hdf5 import open_h5_for_reading

        model = self.model
        groups = (_model_state_variables(model), list(model.optimizer.variables))
        with open_h5_for_reading(self.backup_path) as f:
            read = [self._read_group(f, name, variables) for name, variables in zip(_GROUPS, groups)]
            epoch = int(f.attrs["epoch"])
            rng_text = f.attrs.get("shuffle_rng_state", "")
            rng_text = rng_text.decode() if isinstance(rng_text, bytes) else str(rng_text)
        for variables, values in zip(groups, read):
            for variable, value in zip(variables, values):
                variable.assign(value)
        model._initial_epoch = epoch
        rng = getattr(model, "_shuffle_rng", None)
        if rng_text and rng is not None:
            state = json.loads(rng_text)
            if state.get("bit_generator") == rng.bit_generator.state.get("bit_generator"):
                rng.bit_generator.state = state
