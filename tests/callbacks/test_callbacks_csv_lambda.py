"""CSVLogger (the file, byte for byte against Keras 3) and LambdaCallback."""

from __future__ import annotations

import numpy as np
import pytest
from callback_helpers import keras_linear_model, linear_model

from lamina.callbacks import CSVLogger, LambdaCallback

# A model that predicts 0 and does not learn (SGD with lr 0): every loss is exact in float32.
X = np.linspace(-1.0, 1.0, 4, dtype="float32").reshape(4, 1)
Y = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
XV, YV = np.zeros((2, 1), "float32"), np.array([[1.0], [-3.0]], "float32")


def test_csv_file_matches_keras3_byte_for_byte(tmp_path, keras3):
    ours, theirs = tmp_path / "lamina.csv", tmp_path / "keras.csv"
    model = linear_model([[0.0]], [0.0], metrics=["mae"])
    model.fit(X, Y, batch_size=2, epochs=3, validation_data=(XV, YV), callbacks=[CSVLogger(str(ours))], verbose=0)
    keras_model = keras_linear_model(keras3, [[0.0]], [0.0], metrics=["mae"])
    keras_model.fit(X, Y, batch_size=2, epochs=3, validation_data=(XV, YV), verbose=0,
                    callbacks=[keras3.callbacks.CSVLogger(str(theirs))])  # fmt: skip
    # loss = mean(y**2) = 7.5, mae = 2.5, val_loss = 5.0, val_mae = 2.0; Python's csv writes "\r\n" line ends.
    expected = "epoch,loss,mae,val_loss,val_mae\r\n" + "".join(f"{e},7.5,2.5,5.0,2.0\r\n" for e in range(3))
    assert ours.read_bytes() == expected.encode()
    assert ours.read_bytes() == theirs.read_bytes()


def test_separator_and_append_write_the_header_once(tmp_path):
    path = tmp_path / "log.tsv"
    model = linear_model([[0.0]], [0.0])
    for _ in range(2):
        model.fit(
            X, Y, batch_size=4, epochs=2, callbacks=[CSVLogger(str(path), separator="\t", append=True)], verbose=0
        )
    lines = path.read_text().splitlines()
    # No validation: Keras still makes a val_ column for each entry (for validation_freq > 1), filled with NA.
    assert lines == ["epoch\tloss\tval_loss", "0\t7.5\tNA", "1\t7.5\tNA", "0\t7.5\tNA", "1\t7.5\tNA"]
    model.fit(X, Y, batch_size=4, epochs=1, callbacks=[CSVLogger(str(path), separator="\t")], verbose=0)
    assert path.read_text().splitlines() == ["epoch\tloss\tval_loss", "0\t7.5\tNA"]  # append=False overwrites


def test_validation_freq_leaves_na_in_the_epochs_without_validation(tmp_path):
    path = tmp_path / "log.csv"
    model = linear_model([[0.0]], [0.0])
    model.fit(X, Y, batch_size=4, epochs=3, validation_data=(XV, YV), validation_freq=2, verbose=0,
              callbacks=[CSVLogger(str(path))])  # fmt: skip
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,7.5,NA", "1,7.5,5.0", "2,7.5,NA"]


def test_each_row_is_on_disk_when_its_epoch_ends(tmp_path):
    path = tmp_path / "log.csv"
    rows_seen = []
    peek = LambdaCallback(on_epoch_end=lambda epoch, logs: rows_seen.append(len(path.read_text().splitlines())))
    model = linear_model([[0.0]], [0.0])
    model.fit(X, Y, epochs=3, callbacks=[CSVLogger(str(path)), peek], verbose=0)
    assert rows_seen == [2, 3, 4]  # header + one row per finished epoch


def test_csv_logger_arguments():
    with pytest.raises(ValueError, match="CSVLogger: separator must be a single character, got ', '"):
        CSVLogger("log.csv", separator=", ")
    with pytest.raises(TypeError, match="CSVLogger: filename must be a path, got int"):
        CSVLogger(3)


# ------------------------------------------------------------------ LambdaCallback
def test_lambda_callback_calls_each_function_with_the_hook_arguments():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", sorted(logs))),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: calls.append(("train_end", logs["loss"])),
        on_test_end=lambda logs: calls.append(("test_end", logs["loss"])),
        on_predict_batch_end=lambda batch, logs: calls.append(("predict_batch_end", batch, logs["outputs"][0].shape)),
    )
    assert callback.needs_every_batch()
    model = linear_model([[0.0]], [0.0])
    model.fit(X, Y, batch_size=2, epochs=1, shuffle=False, callbacks=[callback], verbose=0)
    model.evaluate(XV, YV, callbacks=[callback], verbose=0)
    model.predict(X, batch_size=3, callbacks=[callback], verbose=0)
    assert calls == [
        ("train_begin", []),
        ("epoch_begin", 0),
        ("batch_begin", 0),
        ("batch_end", 0, 2.5),  # targets 1 and 2, prediction 0: (1 + 4) / 2
        ("batch_begin", 1),
        ("batch_end", 1, 7.5),  # the running mean over the epoch: (1 + 4 + 9 + 16) / 4
        ("epoch_end", 0, 7.5),
        ("train_end", 7.5),
        ("test_end", 5.0),
        ("predict_batch_end", 0, (3, 1)),
        ("predict_batch_end", 1, (1, 1)),
    ]


def test_lambda_callback_without_batch_functions_lets_fit_fuse_steps():
    assert not LambdaCallback(on_epoch_end=lambda epoch, logs: None).needs_every_batch()
    assert LambdaCallback(on_train_batch_end=lambda batch, logs: None).needs_every_batch()


def test_lambda_callback_rejects_unknown_hooks_and_non_functions():
    with pytest.raises(TypeError, match=r"LambdaCallback got unexpected keyword argument\(s\): \['on_epoch_ends'\]"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="LambdaCallback: on_epoch_end must be a function, got int"):
        LambdaCallback(on_epoch_end=3)
