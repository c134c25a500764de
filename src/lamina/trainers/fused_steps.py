"""How many train steps run in one compiled call ("fused" steps, Keras's `steps_per_execution`).

On JAX, `fit` runs several steps per compiled call when no callback needs every batch. The
count is measured once, from one step's time, so that a call takes about
`TARGET_SECONDS`; with a progress bar on screen, calls that turn out slower are
split further so the bar still moves several times a second.

Example:
    >>> plan = FusedSteps()
    >>> plan.measure(seconds=0.001, bytes_per_batch=4096)
    >>> plan.choose(fusable=True)
    128
"""

from __future__ import annotations

TARGET_SECONDS = 0.25  # one fused call should take about this long, so progress still moves
BAR_SECONDS = 0.2  # with a progress bar on screen, at most about this long: it moves 5+ times a second
MAX_STEPS = 1024
MAX_BYTES = 64 * 2**20


def pow2_floor(value: float) -> int:
    """The largest power of two <= value (1 for anything below 2)."""
    out = 1
    while out * 2 <= value:
        out *= 2
    return out


class FusedSteps:
    """The number of steps per compiled call for one compiled model.

    Args:
        steps_per_execution: "auto" to measure, or the caller's fixed number.
    """

    def __init__(self, steps_per_execution="auto"):
        self.steps_per_execution = steps_per_execution
        self.steps = None  # measured; None until the first timed step
        self.bar_steps = None  # a smaller cap, found while a progress bar is on screen
        self._timed_chunks: set = set()
        self._slow_calls = 0

    def choose(self, fusable: bool, with_bar: bool = False) -> int | None:
        """Steps for the next call: 1 when steps cannot fuse, None while not yet measured."""
        if not fusable:
            return 1
        if self.steps_per_execution != "auto":
            return self.steps_per_execution
        if with_bar and self.steps is not None and self.bar_steps is not None:
            return min(self.steps, self.bar_steps)
        return self.steps

    def lead_steps(self) -> int:
        """Single steps at the start of every epoch: the two that "auto" times (the first compiles), else none.

        Every epoch keeps them, so that its calls have the sizes the first epoch compiled.
        """
        return 2 if self.steps_per_execution == "auto" else 0

    def measure(self, seconds: float, bytes_per_batch: float) -> None:
        """Sizes calls from one step's time, within the step and memory caps."""
        by_time = TARGET_SECONDS / max(seconds, 1e-7)
        by_bytes = MAX_BYTES / max(bytes_per_batch, 1)
        self.steps = max(1, pow2_floor(min(by_time, by_bytes, MAX_STEPS)))

    def pace_bar(self, k: int, batch_size: int, seconds: float) -> None:
        """With a bar on screen, fused calls slower than `BAR_SECONDS` get fewer steps from now on.

        The first call of each size is not judged: on JAX it compiles. Two slow calls in a
        row are needed, so one hiccup of a busy machine does not count. Calls that are quick
        enough change nothing, so a bar costs no speed where it already moves smoothly.
        """
        if (k, batch_size) not in self._timed_chunks:
            self._timed_chunks.add((k, batch_size))
            return
        self._slow_calls = self._slow_calls + 1 if seconds > BAR_SECONDS else 0
        if self._slow_calls >= 2:
            self.bar_steps = max(1, pow2_floor(k * BAR_SECONDS / seconds))
            self._slow_calls = 0
