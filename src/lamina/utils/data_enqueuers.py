"""Keras 2's `OrderedEnqueuer` and `GeneratorEnqueuer`: batches loaded ahead for a hand-written training loop.

`fit` does this itself (`workers=`, `use_multiprocessing=`); these classes are for code that drives
`train_on_batch` from a Sequence or a generator, as Keras 2 programs did:

    >>> enqueuer = OrderedEnqueuer(sequence, shuffle=True)
    >>> enqueuer.start(workers=2, max_queue_size=10)
    >>> batches = enqueuer.get()
    >>> for step in range(steps):
    ...     model.train_on_batch(*next(batches))
    >>> enqueuer.stop()
"""

from __future__ import annotations

import queue
import random
import threading
import warnings

from lamina.trainers.data.enqueuers import make_fetcher


class SequenceEnqueuer:
    """The common interface: `start(workers, max_queue_size)`, `get()`, `is_running()`, `stop()`.

    Example:
        >>> enqueuer = OrderedEnqueuer(sequence)
        >>> enqueuer.start(workers=1)
        >>> x, y = next(enqueuer.get())
    """

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence = sequence
        self.use_multiprocessing = bool(use_multiprocessing)
        self.workers = 0
        self.max_queue_size = 10
        self._thread = None
        self._stop_event = None
        self._queue = None

    def is_running(self) -> bool:
        """Whether `start` was called and `stop` not yet."""
        return self._stop_event is not None and not self._stop_event.is_set()

    def start(self, workers=1, max_queue_size=10) -> None:
        """Starts loading batches in the background: `workers` threads (or processes), `max_queue_size` ahead."""
        if self.is_running():
            raise RuntimeError(f"{type(self).__name__}.start() was called twice without stop().")
        self.workers, self.max_queue_size = int(workers), int(max_queue_size)
        self._queue = queue.Queue(maxsize=max(1, self.max_queue_size))
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run_guarded, daemon=True, name=f"lamina-{type(self).__name__}")
        self._thread.start()

    def stop(self, timeout=None) -> None:
        """Stops the background loading and waits up to `timeout` seconds for it to end."""
        if self._stop_event is None:
            return
        self._stop_event.set()
        while self._thread is not None and self._thread.is_alive():
            try:  # make room so a blocked put() can see the stop
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(0.05 if timeout is None else min(timeout, 0.05))
            if timeout is not None:
                timeout -= 0.05
                if timeout <= 0:
                    break
        self._thread = None

    def _put(self, item) -> bool:
        while not self._stop_event.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run_guarded(self) -> None:
        try:
            self._run()
        except BaseException as err:  # noqa: BLE001 - handed to the consumer in get()
            self._put(("error", err))

    def get(self):
        """A generator of the loaded batches (forever for a Sequence; until the generator ends otherwise)."""
        if not self.is_running() and (self._queue is None or self._queue.empty()):
            raise RuntimeError(f"Call {type(self).__name__}.start() before get().")
        while True:
            kind, value = self._queue.get()
            if kind == "batch":
                yield value
            elif kind == "end":
                return
            else:
                self.stop()
                raise value

    def _run(self) -> None:
        raise NotImplementedError


class OrderedEnqueuer(SequenceEnqueuer):
    """Loads a `Sequence`'s batches ahead, in threads or processes, handing them out in order, epoch after epoch.

    After each pass over the Sequence its `on_epoch_end()` is called and, with `shuffle=True`, the next
    pass visits the batches in a new random order.

    Args:
        sequence: a `lamina.utils.Sequence`.
        use_multiprocessing: load in "spawn" worker processes (the Sequence must be picklable) instead of threads.
        shuffle: visit the batches in a new random order every epoch.

    Example:
        >>> enqueuer = OrderedEnqueuer(sequence, use_multiprocessing=False, shuffle=True)
        >>> enqueuer.start(workers=4, max_queue_size=8)
        >>> first = next(enqueuer.get())
        >>> enqueuer.stop()
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        self.shuffle = bool(shuffle)

    def _run(self) -> None:
        fetcher = make_fetcher(self.sequence, self.workers, self.use_multiprocessing, self.max_queue_size)
        try:
            while not self._stop_event.is_set():
                order = list(range(len(self.sequence)))
                if self.shuffle:
                    random.shuffle(order)
                for batch in fetcher.fetch(order):
                    if not self._put(("batch", batch)):
                        return
                self.sequence.on_epoch_end()
                fetcher.refresh()
        finally:
            fetcher.close()


class GeneratorEnqueuer(SequenceEnqueuer):
    """Draws a Python generator ahead of the loop in a background thread.

    A generator cannot be copied to other processes or shared safely between threads, so it is always
    drawn by one background thread: `workers` above 1 and `use_multiprocessing=True` are accepted for
    Keras 2 code and warn once (Keras 2 ran a copy of the generator per process, which repeats its
    batches). For parallel loading write a `Sequence` and use `OrderedEnqueuer`.

    Args:
        generator: a generator (or any iterator) of batches.
        use_multiprocessing: accepted; see above.
        random_seed: accepted for Keras 2's signature (it seeded the worker processes).

    Example:
        >>> enqueuer = GeneratorEnqueuer(batch_generator())
        >>> enqueuer.start(max_queue_size=10)
        >>> x, y = next(enqueuer.get())
        >>> enqueuer.stop()
    """

    def __init__(self, generator, use_multiprocessing=False, wait_time=None, random_seed=None):
        super().__init__(generator, use_multiprocessing)
        del wait_time
        self.random_seed = random_seed

    def start(self, workers=1, max_queue_size=10) -> None:
        if self.use_multiprocessing or workers > 1:
            warnings.warn(
                "GeneratorEnqueuer draws the generator in one background thread (a generator cannot be shared "
                "between processes or threads); write a lamina.utils.Sequence and use OrderedEnqueuer to load "
                "batches in parallel.",
                stacklevel=2,
            )
        super().start(workers, max_queue_size)

    def _run(self) -> None:
        iterator = iter(self.sequence)
        while not self._stop_event.is_set():
            try:
                batch = next(iterator)
            except StopIteration:
                self._put(("end", None))
                return
            if not self._put(("batch", batch)):
                return
