"""Progbar: the Keras 2 progress bar, written as tf.keras 2.x (tf-keras 2.21) prints it.

On a terminal (or in a notebook) the bar is redrawn in place, byte for byte as
tf.keras draws it. Anywhere else (a log file, a pipe, captured output) the same
lines are written without backspaces or carriage returns, at most one every
`_LOG_INTERVAL` seconds plus the final one, so logs stay readable.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

_LOG_INTERVAL = 5.0  # seconds between two lines when the stream is not a terminal


def format_value(value, signed: bool = True) -> str:
    """A logged number as Keras prints it: `0.1234`, or `1.2340e-04` when it is small.

    A per-class metric (an array) is shown by its mean, as tf.keras does.
    tf.keras's one-line (`verbose=2`) summary compares the signed value with
    1e-3, so a negative value prints in scientific notation there: `signed=False`.

    Example:
        >>> format_value(0.69314)
        '0.6931'
        >>> format_value(4.3e-08)
        '4.3000e-08'
    """
    try:
        mean = float(np.mean(value))
    except (TypeError, ValueError):
        return str(value)
    size = abs(mean) if signed else mean
    return f"{mean:.4f}" if size > 1e-3 else f"{mean:.4e}"


def format_time(seconds: float, unit_name: str) -> str:
    """A duration per unit: `2s/epoch`, `254ms/epoch`, `7ms/step` or `835us/step`.

    Example:
        >>> format_time(0.0072, "step")
        '7ms/step'
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def format_eta(seconds: float) -> str:
    """The time left as the bar shows it: `42s`, `1:05` or `1:02:03`.

    Example:
        >>> format_eta(65.5)
        '1:05'
    """
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _pairs(values) -> list:
    if values is None:
        return []
    return list(values.items()) if isinstance(values, dict) else list(values)


class Progbar:
    """Shows progress towards `target` steps, with the latest values.

    `verbose=1` draws `12/100 [==>...........] - ETA: 3s - loss: 0.1234`, and when
    done `100/100 [==============================] - 1s 7ms/step - loss: 0.1234`.
    `verbose=2` writes only the final line:
    `100/100 - 1s - loss: 0.1234 - 710ms/epoch - 7ms/step`.

    Args:
        target: the number of steps expected, or None if unknown.
        width: the bar's width in characters.
        verbose: 0 (silent), 1 (the bar) or 2 (one line at the end).
        interval: the least time between two redraws, in seconds.
        stateful_metrics: names whose values are shown as given; every other
            value is averaged over the steps seen, as in Keras.
        unit_name: what a step is called (`step`, `sample`).
        stream: where to write (default `sys.stdout`).

    Example:
        >>> bar = Progbar(100)
        >>> bar.update(50, [("loss", 0.25)])
        >>> bar.add(50, [("loss", 0.15)])  # shows loss: 0.2000, the mean
    """

    def __init__(
        self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step", stream=None
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.stateful_metrics = set(stateful_metrics or ())
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self.dynamic = (hasattr(self.stream, "isatty") and self.stream.isatty()) or "ipykernel" in sys.modules
        self.interval = interval if self.dynamic else max(interval, _LOG_INTERVAL)
        self._values = {}  # name -> [weighted sum, weight]
        self._seen_so_far = 0
        self._total_width = 0
        self._start = time.time()
        # A log file gets its first line only after `interval` seconds, not on step 1.
        self._last_update = 0.0 if self.dynamic else self._start
        self._time_at_epoch_start = self._start
        self._time_at_epoch_end = None
        self._time_after_first_step = None

    def update(self, current, values=None, finalize=None) -> None:
        """Moves the bar to `current` steps done.

        Args:
            current: the number of steps done.
            values: `(name, value)` pairs (or a dict) for the latest step.
            finalize: whether this is the last update (default: `current >= target`).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, _pairs(values))
        now = time.time()
        if current == 1:  # tf.keras always draws step 1; a log that skips the line keeps the time all the same
            self._time_after_first_step = now
        if current == self.target:
            self._time_at_epoch_end = now
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._draw(current, now, finalize)
        elif self.verbose == 2 and finalize:
            self._write(self._summary_line(current, now))
        self._last_update = now

    def add(self, n, values=None) -> None:
        """Moves the bar `n` steps on."""
        self.update(self._seen_so_far + n, values)

    def _record(self, current, pairs) -> None:
        for name, value in pairs:
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
                continue
            # Weighted by the steps since the last update, so fused steps count fully.
            weight = max(current - self._seen_so_far, 1)
            total = self._values.setdefault(name, [0.0, 0])
            total[0] = total[0] + np.asarray(value) * weight
            total[1] += weight
        self._seen_so_far = current

    def _values_text(self, signed: bool) -> str:
        parts = []
        for name, (total, weight) in self._values.items():
            parts.append(f" - {name}: {format_value(_mean(total, weight), signed)}")
        return "".join(parts)

    def _draw(self, current, now, finalize) -> None:
        bar = self._bar_text(current)
        per_step = self._estimate_step_duration(current, now)
        if self.target is None or finalize:
            info = f" - {now - self._start:.0f}s {format_time(per_step, self.unit_name)}"
        else:
            info = f" - ETA: {format_eta(per_step * (self.target - current))}"
        info += self._values_text(signed=True)
        previous = self._total_width
        self._total_width = len(bar) + len(info)
        if not self.dynamic:
            self._write(bar + info + "\n")
            return
        padding = " " * max(previous - self._total_width, 0)
        self._write("\b" * previous + "\r" + bar + info + padding + ("\n" if finalize else ""))

    def _bar_text(self, current) -> str:
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        filled = int(self.width * current / self.target) if self.target else self.width
        bar = ""
        if filled > 0:
            bar = "=" * (filled - 1) + (">" if current < self.target else "=")
        return f"{current:{digits}d}/{self.target} [{bar}{'.' * (self.width - filled)}]"

    def _summary_line(self, current, now) -> str:
        target = self.target if self.target is not None else current
        line = f"{current:{len(str(target))}d}/{target} - {now - self._start:.0f}s" + self._values_text(signed=False)
        if self._time_at_epoch_end is not None:
            epoch_time = self._time_at_epoch_end - self._time_at_epoch_start
            line += f" - {format_time(epoch_time, 'epoch')}"
            line += f" - {format_time(epoch_time / max(target, 1), self.unit_name)}"
            self._time_at_epoch_start = now
            self._time_at_epoch_end = None
        return line + "\n"

    def _estimate_step_duration(self, current, now) -> float:
        """Seconds per step, leaving out the first step (compilation) once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            return (now - self._time_after_first_step) / (current - 1)
        return (now - self._start) / current

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _mean(total, weight):
    return total if weight == 1 else total / weight  # a stateful value may be anything printable


def terminal_width() -> int:
    """The terminal's width in columns (80 when there is no terminal)."""
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 80
