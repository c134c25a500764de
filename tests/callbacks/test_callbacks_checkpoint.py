"""ModelCheckpoint: file names from the template, and files that hold the model as it was at that moment."""

from __future__ import annotations

import os

import numpy as np
import pytest
from callback_helpers import Scripted, keras_linear_model, linear_model, mse

import lamina
from lamina.callbacks import LambdaCallback, ModelCheckpoint

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 2)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0]], "float32") + 0.5).astype("float32")
XV, YV = X[:3] + 0.5, Y[:3]


def saved_weights(path):
    """The weights in `path` (a weights file or a whole model), loaded into a fresh model."""
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    model.load_weights(path)
    return model.get_weights()


def epoch_end_recorder(model, store):
    return LambdaCallback(on_epoch_end=lambda epoch, logs: store.append((model.get_weights(), dict(logs))))


def test_file_names_are_formatted_and_each_file_holds_that_epochs_weights(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    template = str(tmp_path / "weights.{epoch:02d}-{val_loss:.2f}.h5")
    checkpoint = ModelCheckpoint(template, save_weights_only=True)
    epochs = []
    model.fit(X, Y, batch_size=4, epochs=3, validation_data=(XV, YV), verbose=0,
              callbacks=[checkpoint, epoch_end_recorder(model, epochs)])  # fmt: skip
    expected = [f"weights.{e + 1:02d}-{logs['val_loss']:.2f}.h5" for e, (_, logs) in enumerate(epochs)]
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    assert len(set(expected)) == 3  # the validation loss changed from epoch to epoch
    for name, (weights, _) in zip(expected, epochs):
        for got, want in zip(saved_weights(tmp_path / name), weights):
            np.testing.assert_array_equal(got, want)
    assert not checkpoint.needs_every_batch()  # per-epoch saving leaves fit free to fuse steps


def test_save_best_only_keeps_the_best_epoch(tmp_path, capsys):
    values = [3.0, 2.0, 2.5, 1.0, 1.5]
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.05)
    epochs = []
    best = ModelCheckpoint(str(tmp_path / "best.h5"), save_best_only=True, save_weights_only=True, verbose=1)
    each = ModelCheckpoint(str(tmp_path / "improved-{epoch}.h5"), save_best_only=True, save_weights_only=True)
    model.fit(X, Y, batch_size=8, epochs=5, verbose=0,
              callbacks=[Scripted(values), best, each, epoch_end_recorder(model, epochs)])  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["best.h5", "improved-1.h5", "improved-2.h5", "improved-4.h5"]
    for got, want in zip(saved_weights(tmp_path / "best.h5"), epochs[3][0]):
        np.testing.assert_array_equal(got, want)
    assert best.best == 1.0
    out = capsys.readouterr().out
    assert "Epoch 4: val_loss improved from 2.00000 to 1.00000, saving model to" in out
    assert "Epoch 5: val_loss did not improve from 1.00000" in out


def test_mode_max_and_initial_value_threshold(tmp_path):
    values = [0.5, 0.7, 0.6, 0.8]
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    for mode in ("max", "auto"):  # "auto": a name with "acc" in it is maximized
        folder = tmp_path / mode
        checkpoint = ModelCheckpoint(str(folder / "w-{epoch}.h5"), monitor="val_acc", mode=mode, save_best_only=True,
                                     save_weights_only=True, initial_value_threshold=0.65)  # fmt: skip
        model.fit(X, Y, epochs=4, callbacks=[Scripted(values, "val_acc"), checkpoint], verbose=0)
        assert sorted(os.listdir(folder)) == ["w-2.h5", "w-4.h5"]


def test_save_freq_in_batches_names_the_batch_and_saves_that_moment(tmp_path, keras3):
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    after_batch = {}
    state = {"epoch": 0}
    record = LambdaCallback(on_epoch_begin=lambda epoch, logs: state.update(epoch=epoch),
                            on_batch_end=lambda batch, logs: after_batch.update(
                                {(state["epoch"] + 1, batch + 1): model.get_weights()}))  # fmt: skip
    checkpoint = ModelCheckpoint(str(tmp_path / "w-{epoch}-{batch}.h5"), save_freq=3, save_weights_only=True)
    assert checkpoint.needs_every_batch()
    model.fit(X, Y, batch_size=2, epochs=2, shuffle=False, callbacks=[checkpoint, record], verbose=0)
    # 4 batches per epoch; a save after every 3 batches: epoch 1 batch 3, then epoch 2 batch 2.
    assert sorted(os.listdir(tmp_path)) == ["w-1-3.h5", "w-2-2.h5"]
    for epoch, batch in ((1, 3), (2, 2)):
        for got, want in zip(saved_weights(tmp_path / f"w-{epoch}-{batch}.h5"), after_batch[(epoch, batch)]):
            np.testing.assert_array_equal(got, want)

    keras_folder = tmp_path / "keras"
    keras_model = keras_linear_model(keras3, np.zeros((2, 1)), np.zeros(1), lr=0.1)
    keras_model.fit(X, Y, batch_size=2, epochs=2, shuffle=False, verbose=0,
                    callbacks=[keras3.callbacks.ModelCheckpoint(str(keras_folder / "w-{epoch}-{batch}.weights.h5"),
                                                                save_freq=3, save_weights_only=True)])  # fmt: skip
    assert sorted(os.listdir(keras_folder)) == ["w-1-3.weights.h5", "w-2-2.weights.h5"]


@pytest.mark.parametrize("extension", ["h5", "keras"])
def test_whole_model_checkpoints_load_with_their_optimizer_state(tmp_path, extension):
    model = linear_model(np.zeros((2, 1)), np.zeros(1), optimizer=lamina.optimizers.Adam(0.1))
    epochs = []
    checkpoint = ModelCheckpoint(str(tmp_path / "sub" / f"model-{{epoch}}.{extension}"), monitor="loss")
    model.fit(X, Y, batch_size=4, epochs=2, callbacks=[checkpoint, epoch_end_recorder(model, epochs)], verbose=0)
    for epoch, (weights, _) in enumerate(epochs):
        loaded = lamina.models.load_model(tmp_path / "sub" / f"model-{epoch + 1}.{extension}")
        for got, want in zip(loaded.get_weights(), weights):
            np.testing.assert_array_equal(got, want)
        assert int(np.asarray(loaded.optimizer.iterations)) == 2 * (epoch + 1)
        np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), mse(X, Y, *weights), rtol=1e-5)
    assert not [name for name in os.listdir(tmp_path / "sub") if name.endswith(".tmp")]  # atomic writes, no leftovers


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path):
    model = linear_model(np.ones((2, 1)), np.zeros(1))
    path = tmp_path / "w.h5"
    model.fit(X, Y, epochs=1, callbacks=[ModelCheckpoint(str(path), save_weights_only=True)], verbose=0)
    before = path.read_bytes()

    class Broken(ModelCheckpoint):
        def _write(self, filepath):
            from lamina.saving.hdf5 import atomic_h5_file

            with atomic_h5_file(filepath) as f:
                f.attrs["partial"] = 1
                raise KeyboardInterrupt  # interrupted in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=1, callbacks=[Broken(str(path), save_weights_only=True)], verbose=0)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.h5"]


def test_template_errors_and_bad_arguments(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    with pytest.raises(
        KeyError,
        match=r"Failed to format this callback filepath.*w-\{val_acc\}\.h5.*val_acc.*available fields.*epoch.*loss",
    ):
        model.fit(X, Y, epochs=1, callbacks=[ModelCheckpoint(str(tmp_path / "w-{val_acc}.h5"))], verbose=0)
    with pytest.raises(ValueError, match="Unrecognized save_freq: 'batch'"):
        ModelCheckpoint("w.h5", save_freq="batch")
    with pytest.raises(ValueError, match="ModelCheckpoint: mode must be one of"):
        ModelCheckpoint("w.h5", mode="best")
    with pytest.raises(TypeError, match=r"ModelCheckpoint got unexpected keyword argument\(s\): \['save_best'\]"):
        ModelCheckpoint("w.h5", save_best=True)
    (tmp_path / "folder.h5").mkdir()
    with pytest.raises(IsADirectoryError, match="Please specify a non-directory filepath for ModelCheckpoint"):
        model.fit(X, Y, epochs=1, callbacks=[ModelCheckpoint(str(tmp_path / "folder.h5"))], verbose=0)


def test_save_best_only_without_the_monitor_warns_and_skips(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available, skipping"):
        model.fit(X, Y, epochs=1, callbacks=[ModelCheckpoint(str(tmp_path / "w.h5"), save_best_only=True)], verbose=0)
    assert os.listdir(tmp_path) == []


def test_period_saves_every_n_epochs(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    checkpoint = ModelCheckpoint(str(tmp_path / "w-{epoch}.h5"), save_weights_only=True, period=2)
    model.fit(X, Y, epochs=5, callbacks=[checkpoint], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["w-2.h5", "w-4.h5"]
