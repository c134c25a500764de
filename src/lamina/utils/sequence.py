"""`Sequence`: a dataset that hands out whole batches by index, for data that does not fit in memory.

`fit`, `evaluate` and `predict` (and Keras 2's `*_generator` methods) accept a
Sequence in place of arrays. Because a batch is asked for by its index, the
trainer can shuffle the batch order every epoch and load batches ahead of time
in worker threads (`workers=4`) or worker processes (`use_multiprocessing=True`)
while still delivering them in order.
"""

from __future__ import annotations


class Sequence:
    """Base class for a dataset served batch by batch: override `__len__` and `__getitem__`.

    `__getitem__(index)` returns one batch: `(x, y)` or `(x, y, sample_weight)`
    for training and evaluation (`x` alone is enough for `predict`), where each
    of x/y is an array, a list of arrays, or a dict by input/output name.
    `__len__` is the number of batches in one epoch. `on_epoch_end` is called
    after every pass the trainer makes over it (every epoch of `fit`, every
    validation run, every `evaluate` or `predict`), e.g. to reshuffle the samples.

    With `use_multiprocessing=True` the Sequence is pickled and sent to the worker
    processes (the "spawn" start method), so it must be picklable: define the
    class at module level and keep open files out of its state (open them lazily
    in `__getitem__`). Its state is sent again after `on_epoch_end` if it changed.

    Example:
        >>> class Batches(lamina.utils.Sequence):
        ...     def __init__(self, x, y, batch_size):
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, index):
        ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        ...         return self.x[part], self.y[part]
        >>> model.fit(Batches(x, y, 32), epochs=5, workers=2)
    """

    def __getitem__(self, index):
        """The batch at position `index` (0 <= index < len(self))."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) to return one batch.")

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() (the number of batches).")

    def on_epoch_end(self) -> None:
        """Called after every epoch; override it to change the data between epochs."""

    def __iter__(self):
        """The batches in order, once."""
        for index in range(len(self)):
            yield self[index]
