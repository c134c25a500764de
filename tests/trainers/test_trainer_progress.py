"""What fit/evaluate/predict print for verbose=0, 1 and 2 (captured stdout is not a terminal)."""

from __future__ import annotations

import re

import numpy as np

import lamina
from lamina import layers

BAR_LINE = re.compile(r"^\s*(\d+)/(\d+) \[[=>.]{30}\] - .*loss: \d+\.\d+")


def small_model():
    model = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(lamina.optimizers.SGD(learning_rate=0.01), "mse")
    return model


def data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_verbose_1_prints_epoch_headers_and_a_keras_bar(capsys):
    x, y = data()
    history = small_model().fit(x, y, batch_size=8, epochs=3, verbose=1)
    out = capsys.readouterr().out
    lines = out.splitlines()
    headers = [line for line in lines if line.startswith("Epoch ")]
    assert headers == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    finals = [line for line in lines if BAR_LINE.match(line) and line.lstrip().startswith("5/5 ")]
    assert len(finals) == 3, out
    assert "[==============================]" in finals[0]
    # Each epoch's last line shows that epoch's logged loss, formatted as Keras does.
    for line, loss in zip(finals, history.history["loss"]):
        assert re.search(r"loss: (\S+)", line).group(1) in (f"{loss:.4f}", f"{loss:.4e}")
    assert "\b" not in out and "\r" not in out


def test_verbose_1_without_a_terminal_writes_only_a_few_lines(capsys):
    x, y = data(400)
    small_model().fit(x, y, batch_size=2, epochs=2, verbose=1)  # 200 steps per epoch
    out = capsys.readouterr().out
    assert "\b" not in out and "\r" not in out
    lines = out.splitlines()
    assert len(lines) <= 8, out  # a header and a final line per epoch, and rarely one in between
    assert sum(line.lstrip().startswith("200/200 [") for line in lines) == 2

    class EveryBatch(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    small_model().fit(x, y, batch_size=2, epochs=1, verbose=1, callbacks=[EveryBatch()])
    out = capsys.readouterr().out
    assert "\b" not in out and "\r" not in out
    assert len(out.splitlines()) <= 5, out


def test_verbose_1_shows_validation_values_on_the_final_line(capsys):
    x, y = data()
    small_model().fit(x, y, batch_size=8, epochs=1, validation_split=0.25, verbose=1)
    final = [line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("4/4 [")]
    assert len(final) == 1
    assert re.search(r"- loss: \S+ - val_loss: \S+$", final[0]), final[0]


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = data()
    small_model().fit(x, y, batch_size=4, epochs=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    summaries = lines[1::2]
    assert len(lines) == 6
    for line in summaries:
        assert re.match(r"^10/10 - \S+ - \S+/step - loss: \d", line), line
        assert "[" not in line and "ETA" not in line


def test_verbose_0_prints_nothing(capsys):
    x, y = data()
    model = small_model()
    model.fit(x, y, batch_size=4, epochs=2, validation_split=0.2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model.predict_on_batch(x)
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_verbose_1_print_a_final_bar(capsys):
    x, y = data()
    model = small_model()
    loss = model.evaluate(x, y, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and BAR_LINE.match(lines[0]) and lines[0].startswith("5/5 [")
    assert re.search(r"loss: (\S+)", lines[0]).group(1) == f"{loss:.4f}"
    model.predict(x, batch_size=8, verbose=1)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("5/5 [==============================]")
    assert "loss" not in lines[0]


def test_progbar_on_a_terminal_redraws_in_place():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = lamina.utils.Progbar(4, stream=stream, interval=0.0)
    bar.interval = 0.0
    for step in range(1, 5):
        bar.update(step, {"loss": 1.0 / step})
    text = stream.getvalue()
    assert text.count("\r") >= 2  # redrawn in place, one line in the end
    assert text.endswith("\n") and text.count("\n") == 1
    assert "4/4 [==============================]" in text and "loss: 0.2500" in text
