"""What fit/evaluate/predict print for verbose=0, 1 and 2, and the Progbar itself, as tf.keras 2.x prints them.

Every literal expected text here is what tf-keras 2.21 (TensorFlow 2.21) printed for the
same updates at the same (faked) clock times: the clock is Progbar's `time`, replaced by
a fake that the tests (or the `Ticking` callback) move. Captured stdout is not a
terminal, where lamina writes the same lines as tf.keras without redrawing them, so
for fit/evaluate/predict the expected text is tf.keras's final frame of each bar.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.trainers import trainer as trainer_module
from lamina.utils import progbar as progbar_module

BAR_LINE = re.compile(r"^\s*(\d+)/(\d+) \[[=>.]{30}\] - .*loss: \d+\.\d+")


class Clock:
    """Stands in for the `time` module inside lamina.utils.progbar."""

    def __init__(self, times=()):
        self.times = list(times)
        self.now = 1000.0

    def time(self):
        if self.times:
            self.now = self.times.pop(0)
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


class Ticking(lamina.callbacks.Callback):
    """Moves the clock: each step takes `step` seconds, each validation `validation` seconds."""

    handles_fused_steps = True

    def __init__(self, clock, step, validation=0.0):
        super().__init__()
        self.clock, self.step, self.validation = clock, step, validation
        self.start, self.in_fit = 0.0, False

    def _restart(self, at):
        self.start = self.clock.now = at

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._restart(1000.0 * (epoch + 1))

    def on_train_batch_end(self, batch, logs=None):
        self.clock.now = self.start + (batch + 1) * self.step

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._restart(500.0)

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.clock.now = self.start + (batch + 1) * self.step

    def on_test_end(self, logs=None):
        if self.in_fit:
            self.clock.now += self.validation

    def on_predict_begin(self, logs=None):
        self._restart(500.0)

    def on_predict_batch_end(self, batch, logs=None):
        self.clock.now = self.start + (batch + 1) * self.step


def small_model(lr=0.01):
    model = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(lamina.optimizers.SGD(learning_rate=lr), "mse")
    return model


def constant_model():
    """Predicts 0 and never learns: the loss is mean(y**2) and the MAE mean(|y|) in every epoch."""
    model = lamina.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="zeros")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.0), "mse", metrics=["mae"])
    return model


def data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def constant_data(n=50):
    """y alternates 1.5, 0.5: MSE 1.25 and MAE 1.0 on any even-sized slice."""
    x = np.ones((n, 2), "float32")
    return x, np.where(np.arange(n) % 2 == 0, 1.5, 0.5).astype("float32").reshape(n, 1)


# ------------------------------------------------------------------- Progbar
def draw(clock, times, target, updates, **kwargs):
    clock.times = list(times)
    stream = Terminal()
    bar = lamina.utils.Progbar(target, stream=stream, **kwargs)
    for current, values, finalize in updates:
        bar.update(current, values, finalize=finalize)
    return stream.getvalue()


def test_progbar_redraws_in_place_and_leaves_the_first_step_out_of_the_rate(clock):
    # Step 1 after 0.63 s (compilation), then 37 steps of 1 ms each.
    text = draw(clock, [100.0, 100.63, 100.667], 38,
                [(1, [("loss", 0.5168), ("accuracy", 0.75)], None),
                 (38, [("loss", 0.6197), ("accuracy", 0.7033)], None)],
                stateful_metrics=["loss", "accuracy"])  # fmt: skip
    assert text == (
        "\r 1/38 [..............................] - ETA: 23s - loss: 0.5168 - accuracy: 0.7500"
        + "\b" * 83
        + "\r38/38 [==============================] - 1s 1ms/step - loss: 0.6197 - accuracy: 0.7033\n"
    )


def test_progbar_eta_formats_and_padding_of_a_shorter_line(clock):
    text = draw(clock, [100.0, 100.5, 130.0, 200.0, 300.0], 2000,
                [(1, [("loss", 1.0)], None), (40, [("loss", 0.5)], None), (1500, [("loss", 0.25)], None),
                 (2000, [("loss", 0.125), ("val_loss", 0.0625)], None)],
                stateful_metrics=["loss"])  # fmt: skip
    assert text == (
        "\r   1/2000 [..............................] - ETA: 16:39 - loss: 1.0000"
        + "\b" * 70
        + "\r  40/2000 [..............................] - ETA: 24:42 - loss: 0.5000"
        + "\b" * 70
        + "\r1500/2000 [=====================>........] - ETA: 33s - loss: 0.2500  "
        + "\b" * 68
        + "\r2000/2000 [==============================] - 200s 100ms/step - loss: 0.1250 - val_loss: 0.0625\n"
    )
    text = draw(clock, [100.0, 102.0, 103.0], 100000, [(1, None, None), (2, None, None)])
    assert text == (
        "\r     1/100000 [..............................] - ETA: 55:33:18"
        + "\b" * 62
        + "\r     2/100000 [..............................] - ETA: 27:46:38"
    )


def test_progbar_averages_values_that_are_not_stateful(clock):
    text = draw(clock, [100.0, 101.0, 102.0, 103.0], 4,
                [(1, [("loss", 4.0)], None), (3, [("loss", 1.0)], None), (4, [("loss", 2.0)], None)])  # fmt: skip
    assert text == (
        "\r1/4 [======>.......................] - ETA: 3s - loss: 4.0000"
        + "\b" * 61
        + "\r3/4 [=====================>........] - ETA: 0s - loss: 2.0000"
        + "\b" * 61
        + "\r4/4 [==============================] - 3s 667ms/step - loss: 2.0000\n"
    )


def test_progbar_verbose_2_prints_one_line_with_epoch_and_step_times(clock):
    values = [("loss", 0.69314), ("accuracy", 0.5), ("val_loss", -0.25)]
    text = draw(clock, [10.0, 10.254], 38, [(38, values, True)], verbose=2, stateful_metrics=[v[0] for v in values])
    # tf.keras's one-line summary writes a negative value in scientific notation.
    assert text == "38/38 - 0s - loss: 0.6931 - accuracy: 0.5000 - val_loss: -2.5000e-01 - 254ms/epoch - 7ms/step\n"
    text = draw(clock, [10.0, 13.4], 2, [(2, [("loss", 4.3e-08)], True)], verbose=2, stateful_metrics=["loss"])
    assert text == "2/2 - 3s - loss: 4.3000e-08 - 3s/epoch - 2s/step\n"


def test_progbar_number_formats_and_unknown_targets(clock):
    values = [("a", 4.3067e-08), ("b", -0.5), ("c", 0.001), ("d", 0.0)]
    text = draw(
        clock,
        [100.0, 100.0005, 100.001],
        2,
        [(1, values, None), (2, values, None)],
        stateful_metrics=["a", "b", "c", "d"],
    )
    values_text = " - a: 4.3067e-08 - b: -0.5000 - c: 1.0000e-03 - d: 0.0000e+00"
    assert text == (
        "\r1/2 [==============>...............] - ETA: 0s"
        + values_text
        + "\b" * 107
        + "\r2/2 [==============================] - 0s 500us/step"
        + values_text
        + "\n"
    )
    text = draw(clock, [100.0, 101.5, 102.0], None, [(5, [("loss", 0.5)], None), (9, [("loss", 0.25)], True)],
                stateful_metrics=["loss"])  # fmt: skip
    assert text == (
        "\r      5/Unknown - 2s 300ms/step - loss: 0.5000"
        + "\b" * 46
        + "\r      9/Unknown - 2s 222ms/step - loss: 0.2500\n"
    )


def test_progbar_redraws_at_most_every_interval(clock):
    text = draw(clock, [100.0, 101.0, 101.01, 101.02, 101.2], 10, [(1, None, None), (2, None, None), (3, None, None),
                                                          (10, None, None)])  # fmt: skip
    assert text == (
        "\r 1/10 [==>...........................] - ETA: 9s"
        + "\b" * 48
        + "\r10/10 [==============================] - 1s 22ms/step\n"
    )


def test_progbar_in_a_log_writes_plain_lines_every_few_seconds(clock):
    clock.times = [100.0, 101.0, 106.0, 107.0, 108.0]
    stream = io.StringIO()  # not a terminal
    bar = lamina.utils.Progbar(8, stream=stream)
    for step in (1, 6, 7):
        bar.update(step, {"loss": 1.0 / step})
    bar.update(8, {"loss": 0.125})
    assert stream.getvalue() == (
        "6/8 [=====================>........] - ETA: 2s - loss: 0.3056\n"
        "8/8 [==============================] - 8s 1s/step - loss: 0.2626\n"
    )


# ------------------------------------------------------------- fit and co.
def test_fit_verbose_2_prints_headers_and_one_line_per_epoch(clock, capsys):
    x, y = constant_data()
    history = constant_model().fit(
        x, y, batch_size=4, epochs=2, validation_split=0.2, verbose=2, callbacks=[Ticking(clock, 0.007, 0.184)]
    )
    line = "10/10 - 0s - loss: 1.2500 - mae: 1.0000 - val_loss: 1.2500 - val_mae: 1.0000 - 254ms/epoch - 25ms/step\n"
    assert capsys.readouterr().out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line
    assert history.history["loss"] == [1.25, 1.25]
    constant_model().fit(x, y, batch_size=25, epochs=1, verbose=2, callbacks=[Ticking(clock, 1.2, 0.0)])
    assert capsys.readouterr().out == "2/2 - 2s - loss: 1.2500 - mae: 1.0000 - 2s/epoch - 1s/step\n"  # no Epoch 1/1


class EveryStep(Ticking):
    """Ticking that sees every step (no fused calls), as tf.keras's callbacks do."""

    handles_fused_steps = False


def test_fit_verbose_1_in_a_log_prints_the_final_bar_of_each_epoch(clock, capsys):
    x, y = constant_data()
    constant_model().fit(x, y, batch_size=4, epochs=2, validation_split=0.2, callbacks=[EveryStep(clock, 0.007, 0.184)])
    # 27ms: the rate leaves the first step out, (0.254 - 0.007) / 9.
    bar = "10/10 [==============================] - 0s 27ms/step - loss: 1.2500 - mae: 1.0000"
    line = bar + " - val_loss: 1.2500 - val_mae: 1.0000\n"
    assert capsys.readouterr().out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line
    constant_model().fit(x, y, batch_size=4, epochs=1, verbose=1, callbacks=[Ticking(clock, 0.007, 0.0)])
    assert (
        capsys.readouterr().out == "13/13 [==============================] - 0s 7ms/step - loss: 1.2500 - mae: 1.0000\n"
    )


def test_evaluate_and_predict_print_a_bar_or_a_line(clock, capsys):
    x, y = constant_data()
    model = constant_model()
    for verbose in (1, 2, 0):
        model.evaluate(x, y, batch_size=10, verbose=verbose, callbacks=[Ticking(clock, 0.007)])
        model.predict(x, batch_size=10, verbose=verbose, callbacks=[Ticking(clock, 0.007)])
    assert capsys.readouterr().out == (
        "5/5 [==============================] - 0s 7ms/step - loss: 1.2500 - mae: 1.0000\n"
        "5/5 [==============================] - 0s 7ms/step\n"
        "5/5 - 0s - loss: 1.2500 - mae: 1.0000 - 35ms/epoch - 7ms/step\n"
        "5/5 - 0s - 35ms/epoch - 7ms/step\n"
    )


def test_verbose_1_final_lines_show_each_epochs_logs(capsys):
    x, y = data()
    history = small_model().fit(x, y, batch_size=8, epochs=3, verbose=1)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("Epoch ")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    finals = [line for line in lines if BAR_LINE.match(line) and line.startswith("5/5 [")]
    assert len(finals) == 3, out
    assert all(re.match(r"^5/5 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \S+$", line) for line in finals), out
    for line, loss in zip(finals, history.history["loss"]):
        assert re.search(r"loss: (\S+)", line).group(1) == (f"{loss:.4f}" if abs(loss) > 1e-3 else f"{loss:.4e}")
    assert "\b" not in out and "\r" not in out


def test_verbose_1_without_a_terminal_writes_only_a_few_lines(capsys):
    x, y = data(400)
    small_model().fit(x, y, batch_size=2, epochs=2, verbose=1)  # 200 steps per epoch
    out = capsys.readouterr().out
    assert "\b" not in out and "\r" not in out
    lines = out.splitlines()
    assert len(lines) <= 8, out  # a header and a final line per epoch, and rarely one in between
    assert sum(line.startswith("200/200 [") for line in lines) == 2

    class EveryBatch(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    small_model().fit(x, y, batch_size=2, epochs=1, verbose=1, callbacks=[EveryBatch()])
    out = capsys.readouterr().out
    assert "\b" not in out and "\r" not in out
    assert len(out.splitlines()) <= 3, out


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


def test_a_progbar_logger_passed_in_replaces_the_built_in_one(clock, capsys):
    x, y = constant_data()
    logger = lamina.callbacks.ProgbarLogger(count_mode="steps")
    constant_model().fit(x, y, batch_size=25, epochs=2, verbose=2, callbacks=[Ticking(clock, 0.5), logger])
    line = "2/2 - 1s - loss: 1.2500 - mae: 1.0000 - 1s/epoch - 500ms/step\n"
    assert capsys.readouterr().out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line
    with pytest.raises(ValueError, match="count_mode"):
        lamina.callbacks.ProgbarLogger(count_mode="batches")


# ------------------------------------------------------------ History.params
def test_history_params_have_exactly_keras_2s_keys():
    x, y = data()
    history = small_model().fit(x, y, batch_size=8, epochs=5, verbose=0, validation_split=0.25)
    assert history.params == {"verbose": 0, "epochs": 5, "steps": 4}
    assert list(history.params) == ["verbose", "epochs", "steps"]
    history = small_model().fit(x, y, epochs=2, steps_per_epoch=3, batch_size=4)
    assert history.params == {"verbose": 1, "epochs": 2, "steps": 3}


# ------------------------------------------------------- fused steps and bar
class BatchEnds(lamina.callbacks.Callback):
    """Records the batch index each fused call reports, epoch by epoch (it allows fused calls)."""

    handles_fused_steps = True

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1].append(batch)


def test_slow_fused_calls_get_fewer_steps_while_a_bar_is_shown(monkeypatch):
    x, y = data(2048)
    model = small_model()
    model.fit(x[:64], y[:64], batch_size=4, epochs=1, verbose=0)  # builds the step runner
    clock = Clock()
    clock.perf_counter = clock.time
    monkeypatch.setattr(trainer_module, "time", clock)
    train = model._runner.train

    def five_ms_a_step(x_steps, y_steps, sw_steps):
        clock.now += 0.005 * len(x_steps)  # x_steps is (k, batch, ...): a call of k steps
        return train(x_steps, y_steps, sw_steps)

    monkeypatch.setattr(model._runner, "train", five_ms_a_step)
    model._fused.steps = 256  # as if measured: 256 steps a call
    ends = BatchEnds()
    model.fit(x, y, batch_size=4, epochs=2, verbose=1, callbacks=[ends])
    # Every epoch starts with the two single steps "auto" times, then 510 steps in calls of at most 256 (1.28 s).
    # The first call of a size compiles and is not judged; after two slow calls in a row, calls take at most 32
    # steps (0.16 s), and the bar moves 6 times a second. The rest of the epoch follows the plan for 32: 510 steps
    # in 14 calls of 32 and 2 of 31, joined at step 257 with a call of one step.
    assert ends.epochs[0] == [0, 1, 256, 511]
    assert ends.epochs[1] == [0, 1, 256, 257, *range(257 + 32, 450, 32), 480, 511]
    ends = BatchEnds()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[ends])  # no bar: the fast chunks again
    assert ends.epochs == [[0, 1, 256, 511]]


def test_quick_fused_calls_are_left_alone_with_a_bar():
    model = small_model()
    model._fused.steps = 256
    for _ in range(3):
        model._fused.pace_bar(256, 32, 0.05)
    assert model._fused.choose(True, with_bar=True) == 256
    model._fused.pace_bar(128, 32, 5.0)  # the first call of a new size compiles: not judged
    model._fused.pace_bar(256, 32, 0.8)  # one slow call may be a hiccup of a busy machine
    model._fused.pace_bar(256, 32, 0.05)
    model._fused.pace_bar(256, 32, 0.8)
    assert model._fused.choose(True, with_bar=True) == 256
    model._fused.pace_bar(256, 32, 0.8)  # two in a row: 0.2 s of 0.8 s is a quarter
    assert model._fused.choose(True, with_bar=True) == 64 and model._fused.choose(True) == 256
    assert model._fused.choose(False, with_bar=True) == 1
    model._fused.steps_per_execution = 32  # the caller's own choice is kept
    assert model._fused.choose(True, with_bar=True) == 32
