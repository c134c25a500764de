"""Loading batches ahead of the training loop: `workers`, `use_multiprocessing`, `max_queue_size`.

A Sequence's batches are asked for by index, so several can load at once
— in threads (`ThreadFetcher`) or in "spawn" worker processes
(`ProcessFetcher`) — and still come back in the order asked for. A
generator can only be drawn from one batch after another; `GeneratorPump`
draws it in one background thread, ahead of the loop.
"""

from __future__ import annotations

import collections
import multiprocessing
import pickle
import queue
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for

_POLL_SECONDS = 0.2


def make_fetcher(sequence, workers: int, use_multiprocessing: bool, max_queue_size: int):
    """The fetcher for a Sequence: inline (workers=0), threads, or worker processes."""
    if workers <= 0:
        return InlineFetcher(sequence)
    if use_multiprocessing:
        return ProcessFetcher(sequence, workers, max_queue_size)
    return ThreadFetcher(sequence, workers, max_queue_size)


class InlineFetcher:
    """Loads each batch in the calling thread when it is needed (`workers=0`).

    Example:
        >>> batches = list(InlineFetcher(sequence).fetch([2, 0, 1]))
    """

    def __init__(self, sequence):
        self.sequence = sequence

    def fetch(self, indices):
        """The batches at `indices`, in that order."""
        for index in indices:
            yield _load(self.sequence, int(index))

    def refresh(self) -> None:
        """Nothing to do: the batches are read from the Sequence itself."""

    def close(self) -> None:
        """Nothing to release."""


def _load(sequence, index: int):
    try:
        return sequence[index]
    except Exception as err:
        err.add_note(f"(while loading batch {index} of {type(sequence).__name__})")
        raise


class ThreadFetcher:
    """Loads up to `max_queue_size` batches ahead in `workers` threads, handing them out in order.

    Example:
        >>> fetcher = ThreadFetcher(sequence, workers=4, max_queue_size=10)
        >>> for batch in fetcher.fetch(range(len(sequence))): ...
        >>> fetcher.close()
    """

    def __init__(self, sequence, workers: int, max_queue_size: int):
        self.sequence = sequence
        self.window = max(1, int(max_queue_size), int(workers))
        self.pool = ThreadPoolExecutor(max_workers=int(workers), thread_name_prefix="lamina-sequence")

    def fetch(self, indices):
        """The batches at `indices`, in that order; the pool loads the next ones meanwhile."""
        remaining = iter([int(i) for i in indices])
        pending = collections.deque()
        try:
            for index in remaining:
                pending.append(self.pool.submit(_load, self.sequence, index))
                if len(pending) >= self.window:
                    break
            while pending:
                batch = pending.popleft().result()
                following = next(remaining, None)
                if following is not None:
                    pending.append(self.pool.submit(_load, self.sequence, following))
                yield batch
        finally:
            # Nothing may still be reading the Sequence when on_epoch_end changes it.
            for future in pending:
                future.cancel()
            wait_for(list(pending))

    def refresh(self) -> None:
        """Nothing to do: the threads read the Sequence itself."""

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _pickled(sequence) -> bytes:
    try:
        return pickle.dumps(sequence, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:
        raise TypeError(
            "use_multiprocessing=True sends the Sequence to worker processes, so it must be picklable, but "
            f"{type(sequence).__name__} is not ({type(err).__name__}: {err}). Define the class at module level, "
            "open files lazily in __getitem__ rather than in __init__, or pass use_multiprocessing=False to load "
            "batches in threads."
        ) from err


def _worker_loop(tasks, results) -> None:
    """A worker process: receives the pickled Sequence, then loads batches by index until told to stop."""
    sequence, load_error = None, None
    while True:
        message = tasks.get()
        if message is None:
            return
        kind, tag, payload = message
        if kind == "sequence":
            try:
                sequence, load_error = pickle.loads(payload), None
            except BaseException:  # noqa: BLE001 - reported to the parent with each batch asked for
                load_error = "the worker process could not unpickle the Sequence:\n" + traceback.format_exc()
            continue
        position, index = payload
        try:
            if load_error is not None:
                raise RuntimeError(load_error)
            results.put(("batch", tag, position, pickle.dumps(sequence[index], protocol=pickle.HIGHEST_PROTOCOL)))
        except BaseException:  # noqa: BLE001 - any failure is sent back, with its traceback
            results.put(("error", tag, position, f"batch {index}: {traceback.format_exc()}"))


class ProcessFetcher:
    """Loads batches in `workers` processes (the "spawn" start method), handing them out in order.

    The Sequence is pickled once per worker, and sent again after
    `on_epoch_end` when its pickled state changed. At most `max_queue_size`
    batches are loading or waiting at any time.

    Example:
        >>> fetcher = ProcessFetcher(sequence, workers=2, max_queue_size=10)
        >>> for batch in fetcher.fetch(range(len(sequence))): ...
        >>> fetcher.close()
    """

    def __init__(self, sequence, workers: int, max_queue_size: int):
        self.sequence = sequence
        self._payload = _pickled(sequence)
        self.window = max(1, int(max_queue_size), int(workers))
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.tasks = [context.Queue() for _ in range(int(workers))]
        self.processes = [
            context.Process(target=_worker_loop, args=(tasks, self.results), daemon=True, name=f"lamina-worker-{i}")
            for i, tasks in enumerate(self.tasks)
        ]
        for process in self.processes:
            process.start()
        self._send_sequence()
        self._tag = 0

    def _send_sequence(self) -> None:
        for tasks in self.tasks:
            tasks.put(("sequence", None, self._payload))

    def refresh(self) -> None:
        """Sends the Sequence again if `on_epoch_end` changed it."""
        payload = _pickled(self.sequence)
        if payload != self._payload:
            self._payload = payload
            self._send_sequence()

    def _receive(self):
        while True:
            try:
                return self.results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                for process in self.processes:
                    if not process.is_alive():
                        raise RuntimeError(
                            f"A use_multiprocessing worker process ({process.name}) exited unexpectedly "
                            f"(exit code {process.exitcode}) while loading batches of {type(self.sequence).__name__}. "
                            "Workers start with 'spawn', which imports the main script again: a script must "
                            'guard its training code with `if __name__ == "__main__":`.'
                        ) from None

    def fetch(self, indices):
        """The batches at `indices`, in that order."""
        self._tag += 1
        tag, indices = self._tag, [int(i) for i in indices]
        ready, sent = {}, 0
        for position in range(len(indices)):
            while sent < len(indices) and sent - position < self.window:
                self.tasks[sent % len(self.tasks)].put(("get", tag, (sent, indices[sent])))
                sent += 1
            while position not in ready:
                kind, got_tag, got_position, payload = self._receive()
                if got_tag != tag:
                    continue  # left over from an epoch that stopped early
                if kind == "error":
                    raise RuntimeError(
                        f"Loading a batch of {type(self.sequence).__name__} in a worker process failed, at {payload}"
                    )
                ready[got_position] = payload
            yield pickle.loads(ready.pop(position))

    def close(self) -> None:
        """Tells the workers to stop; they exit by themselves (an engine's shutdown takes a while: no waiting)."""
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=0.05)
        for channel in [*self.tasks, self.results]:
            channel.cancel_join_thread()
            channel.close()


class GeneratorPump:
    """Draws a generator in one background thread, up to `max_queue_size` batches ahead of the loop.

    At most `limit` batches are drawn ahead (the number the loop will use), so
    a generator passed to fit and then to evaluate loses nothing to the pump.

    Example:
        >>> pump = GeneratorPump(generator, max_queue_size=10, limit=100)
        >>> batch = pump.next()
    """

    def __init__(self, generator, max_queue_size: int, limit: int | None):
        self.generator = generator
        self.queue = queue.Queue(maxsize=max(1, int(max_queue_size)))
        self._stop = threading.Event()
        self._direct = False
        self.thread = threading.Thread(target=self._run, args=(limit,), daemon=True, name="lamina-generator")
        self.thread.start()

    def _run(self, limit) -> None:
        drawn = 0
        while not self._stop.is_set():
            if limit is not None and drawn >= limit:
                self._put(("limit", None))
                return
            try:
                item = ("batch", next(self.generator))
            except StopIteration:
                item = ("end", None)
            except BaseException as err:  # noqa: BLE001 - raised again in the training loop
                item = ("error", err)
            drawn += 1
            self._put(item)
            if item[0] != "batch":
                return

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def next(self):
        """The next batch; StopIteration when the generator is exhausted."""
        if self._direct:
            return next(self.generator)
        kind, value = self.queue.get()
        if kind == "batch":
            return value
        if kind == "end":
            raise StopIteration
        if kind == "limit":  # the loop wants more than planned (it never should): draw here
            self._direct = True
            return next(self.generator)
        raise value

    def close(self) -> None:
        self._stop.set()
