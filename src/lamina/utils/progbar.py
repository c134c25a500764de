"""Progbar: the Keras progress bar, with a quiet mode for logs that are not terminals."""

from __future__ import annotations

import os
import sys
import time


def _format_value(value) -> str:
    if getattr(value, "size", 1) != 1:  # a per-class metric
        return "[" + " ".join(_format_value(v) for v in value.reshape(-1)) + "]"
    value = float(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        return f"{value:.4e}"
    return f"{value:.4f}"


def _format_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class Progbar:
    """Shows progress towards `target` steps with the latest values.

    verbose=1 draws the bar (`12/100 [==>....] - ETA: 3s - loss: 0.1234`); when the
    stream is not a terminal it writes no backspaces and at most one line every
    `interval` seconds, plus the final one. verbose=2 writes only the final line.

    Example:
        >>> bar = Progbar(100)
        >>> bar.update(50, {"loss": 0.25})
    """

    def __init__(self, target, width=30, verbose=1, interval=5.0, stream=None, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.unit_name = unit_name
        self.dynamic = (hasattr(self.stream, "isatty") and self.stream.isatty()) or "ipykernel" in sys.modules
        self.interval = 0.05 if self.dynamic else interval
        self.start = time.time()
        # A log file gets its first line only after `interval` seconds, not on step 1.
        self._last_write = 0.0 if self.dynamic else self.start
        self._last_width = 0
        self._finished = False

    def _values_text(self, values) -> str:
        return "".join(f" - {name}: {_format_value(value)}" for name, value in (values or {}).items())

    def update(self, current, values=None, finalize=None) -> None:
        """Moves the bar to `current` steps done; `values` maps names to numbers."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        if self.verbose == 0 or self._finished:
            return
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        if self.verbose == 2:
            if finalize:
                total = self.target or current
                self._write(f"{total}/{total} - {_format_duration(elapsed)} - {_format_per_step(per_step)}"
                            f"{self._values_text(values)}\n")  # fmt: skip
                self._finished = True
            return
        if not finalize and now - self._last_write < self.interval:
            return
        self._last_write = now
        line = self._bar_text(current) + " - "
        if finalize:
            line += f"{_format_duration(elapsed)} {_format_per_step(per_step)}"
        else:
            eta = per_step * (self.target - current) if self.target else 0.0
            line += f"ETA: {_format_duration(eta)}"
        line += self._values_text(values)
        if self.dynamic:
            padding = max(0, self._last_width - len(line))
            self._write("\r" + line + " " * padding + ("\n" if finalize else ""))
            self._last_width = len(line)
        else:
            self._write(line + "\n")
        self._finished = finalize

    def _bar_text(self, current) -> str:
        if self.target is None:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * current / max(self.target, 1))
        bar = "=" * max(done - 1, 0) + (">" if current < self.target else "=") if done > 0 else ""
        return f"{current:{digits}d}/{self.target} [{bar}{'.' * (self.width - len(bar))}]"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 80
