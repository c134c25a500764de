"""BackupAndRestore: an interrupted fit, started again, ends with the weights of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from backup_job import Interrupt, build, data, train

import lamina
from lamina.callbacks import BackupAndRestore

HERE = os.path.dirname(os.path.abspath(__file__))


def assert_same_weights(model_a, model_b):
    for a, b in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_fit_killed_with_sigkill_resumes_to_the_same_weights(tmp_path):
    reference, reference_history, _ = train(str(tmp_path / "reference"))
    assert not os.path.exists(tmp_path / "reference")  # delete_checkpoint: the backup goes when fit ends

    backup_dir = tmp_path / "backup"
    job = subprocess.run([sys.executable, os.path.join(HERE, "backup_job.py"), str(backup_dir), "3", "2"],
                         cwd=HERE, env=dict(os.environ), capture_output=True, text=True, timeout=300)  # fmt: skip
    assert job.returncode == -signal.SIGKILL, job.stderr[-2000:]
    assert os.listdir(backup_dir) == ["training_state.h5"]  # no temporary file left behind

    resumed, history, _ = train(str(backup_dir))
    assert history.epoch == [3, 4, 5]  # epochs 0-2 were backed up before the kill in epoch 3
    np.testing.assert_array_equal(history.history["loss"], reference_history.history["loss"][3:])
    assert_same_weights(resumed, reference)
    assert int(np.asarray(resumed.optimizer.iterations)) == int(np.asarray(reference.optimizer.iterations)) == 30
    for ours, theirs in zip(resumed.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not os.path.exists(backup_dir)


def test_resuming_restores_every_variable_and_the_shuffling_state(tmp_path):
    backup_dir = str(tmp_path / "backup")
    interrupted = Interrupt(2, 3, kill=False)
    with pytest.raises(KeyboardInterrupt):
        train(backup_dir, interrupted)
    model = build()
    model._shuffle_rng = np.random.default_rng(0)  # what fit sets up before on_train_begin, with the optimizer
    model.optimizer.build(model.trainable_variables)
    backup = BackupAndRestore(backup_dir)
    backup.set_model(model)
    backup.on_train_begin({})
    assert model._initial_epoch == 2
    rng_state, values = interrupted.at_epoch_begin[2]  # as they were when epoch 2 started
    assert model._shuffle_rng.bit_generator.state == rng_state
    variables = model.variables + model.optimizer.variables
    assert len(variables) == len(values) == 5 + 10  # 4 weights and Dropout's seed; step, rate, Adam's m and v
    for variable, value in zip(variables, values):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)
    assert int(np.asarray(model.optimizer.iterations)) == 10  # 2 epochs of 5 batches


def test_backup_every_n_batches_resumes_the_interrupted_epoch_from_its_start(tmp_path):
    backup_dir = str(tmp_path / "backup")
    interrupted = Interrupt(2, 3, kill=False)
    with pytest.raises(KeyboardInterrupt):
        train(backup_dir, interrupted, save_freq=3)
    # Saves after the 3rd, 6th, 9th and 12th batch; the 12th is batch 1 of epoch 2.
    resumed_start = {}

    class Peek(Interrupt):
        def on_train_begin(self, logs=None):
            resumed_start["weights"] = self.model.get_weights()
            resumed_start["iterations"] = int(np.asarray(self.model.optimizer.iterations))

    _, history, _ = train(backup_dir, Peek(), save_freq=3)
    assert history.epoch == [2, 3, 4, 5]
    assert resumed_start["iterations"] == 12
    for got, want in zip(resumed_start["weights"], interrupted.after_batch[(2, 1)]):
        np.testing.assert_array_equal(got, want)


def test_delete_checkpoint_false_keeps_the_backup_and_a_new_fit_starts_after_it(tmp_path):
    backup_dir = str(tmp_path / "backup")
    train(backup_dir, delete_checkpoint=False)
    assert os.listdir(backup_dir) == ["training_state.h5"]
    _, history, _ = train(backup_dir, delete_checkpoint=False)
    assert history.epoch == []  # the backup says all 6 epochs are done


def test_a_backup_of_another_model_is_refused_with_the_file_name(tmp_path):
    import lamina

    backup_dir = str(tmp_path / "backup")
    train(backup_dir, delete_checkpoint=False)
    other = lamina.Sequential([lamina.layers.Dense(1, input_shape=(3,))])
    other.compile("adam", "mse")
    message = r"BackupAndRestore: .*training_state.h5' holds 5 model variables, but the model being trained has 2"
    with pytest.raises(ValueError, match=message):
        other.fit(*data(), callbacks=[BackupAndRestore(backup_dir)], verbose=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="BackupAndRestore: save_freq must be 'epoch', a positive integer or False"):
        BackupAndRestore("dir", save_freq="batch")
    with pytest.raises(ValueError, match="BackupAndRestore: backup_dir must be a non-empty folder path"):
        BackupAndRestore("")
    assert not BackupAndRestore("dir").needs_every_batch()
    assert BackupAndRestore("dir", save_freq=10).needs_every_batch()


class _Batches(lamina.utils.Sequence):
    """The backup job's data as a Sequence of 5 batches (shuffled by fit when shuffle=True)."""

    def __len__(self):
        return 5

    def __getitem__(self, index):
        x, y = data()
        return x[index * 8 : (index + 1) * 8], y[index * 8 : (index + 1) * 8]


def test_a_resumed_fit_on_a_shuffled_sequence_replays_the_same_orders(tmp_path):
    def run(backup_dir, interrupt):
        model = build()
        callbacks = [BackupAndRestore(str(backup_dir)), interrupt]
        history = model.fit(_Batches(), epochs=6, shuffle=True, callbacks=callbacks, verbose=0, workers=0)
        return model, history

    reference, reference_history = run(tmp_path / "reference", Interrupt())
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "backup", Interrupt(3, 2, kill=False))
    resumed, history = run(tmp_path / "backup", Interrupt())
    assert history.epoch == [3, 4, 5]
    np.testing.assert_array_equal(history.history["loss"], reference_history.history["loss"][3:])
    assert_same_weights(resumed, reference)
