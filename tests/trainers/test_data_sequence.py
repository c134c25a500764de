"""lamina.utils.Sequence as training data: on_epoch_end, shuffled batch order, threads and worker processes.

Batch order is read back from the training loop itself: with a model that
predicts 0 and never learns (SGD with learning rate 0), batch i of
`LabelledBatches` has loss (i + 1)**2, and each batch's loss follows from the
running mean fit reports after every batch.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import lamina
from lamina import layers

N, BATCH = 40, 8
_rng = np.random.default_rng(11)
X = _rng.normal(size=(N, 3)).astype("float32")
Y = _rng.normal(size=(N, 2)).astype("float32")
KERNEL = _rng.normal(size=(3, 2)).astype("float32") * 0.5
BIAS = np.array([0.1, -0.2], "float32")


class ArrayBatches(lamina.utils.Sequence):
    """Batches of X/Y by index (module level, so worker processes can unpickle it)."""

    def __init__(self, x=X, y=Y, batch_size=BATCH, delay=0.0):
        self.x, self.y, self.batch_size, self.delay = x, y, batch_size, delay

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        if self.delay:  # uneven loading times, so parallel workers finish out of order
            time.sleep(self.delay * ((index * 7) % 5))
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


class LabelledBatches(lamina.utils.Sequence):
    """Batch i is 4 samples with target i + 1; `on_epoch_end` moves every target up by `shift`."""

    def __init__(self, count=6, shift=0.0, delay=0.0):
        self.count, self.shift, self.offset, self.delay = count, shift, 0.0, delay

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if self.delay:
            time.sleep(self.delay * ((index * 7) % 5))
        return np.zeros((4, 1), "float32"), np.full((4, 1), index + 1 + self.offset, "float32")

    def on_epoch_end(self):
        self.offset += self.shift


class FlippingBatches(ArrayBatches):
    """`on_epoch_end` negates the targets: a change of state the worker processes must receive."""

    def on_epoch_end(self):
        self.y = -self.y


class FailingBatches(ArrayBatches):
    def __getitem__(self, index):
        if index == 2:
            raise KeyError("no such file: batch_2.npy")
        return super().__getitem__(index)


def make_model(lr=0.05):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=lr), loss="mse", metrics=["mae"])
    return model


def zero_model():
    model = lamina.Sequential([layers.Dense(1, input_shape=(1,), kernel_initializer="zeros", use_bias=False)])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


class BatchLosses(lamina.callbacks.Callback):
    """Each epoch's per-batch losses, recovered from the running means in the logs (equal batch sizes)."""

    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1].append(logs["loss"])

    def targets(self):
        """The target of each batch delivered, per epoch (loss = target**2)."""
        out = []
        for means in self.epochs:
            totals = np.asarray(means) * np.arange(1, len(means) + 1)
            out.append(np.round(np.sqrt(np.diff(totals, prepend=0.0)), 3).tolist())
        return out


def reference(epochs=2):
    model = make_model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
    return history.history, model.get_weights(), model


def assert_same(history, weights, want_history, want_weights):
    assert sorted(history) == sorted(want_history)
    for key in want_history:
        np.testing.assert_allclose(history[key], want_history[key], rtol=2e-5, atol=1e-6, err_msg=key)
    for got, want in zip(weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


# --------------------------------------------------------------- values, order
@pytest.mark.parametrize("workers", [0, 1, 3])
def test_sequence_trains_like_arrays(workers):
    want_history, want_weights, fitted = reference()
    model = make_model()
    history = model.fit(ArrayBatches(delay=0.002), epochs=2, shuffle=False, workers=workers, verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    np.testing.assert_allclose(
        model.evaluate(ArrayBatches(), workers=workers, verbose=0),
        fitted.evaluate(X, Y, batch_size=BATCH, verbose=0),
        rtol=1e-6,
    )
    np.testing.assert_allclose(model.predict(ArrayBatches(), workers=workers, verbose=0), fitted.predict(X), rtol=1e-6)


def test_on_epoch_end_is_called_after_every_epoch_once_its_batches_are_loaded():
    events = []

    class Recording(ArrayBatches):
        def __getitem__(self, index):
            events.append(("get", index))
            return super().__getitem__(index)

        def on_epoch_end(self):
            events.append(("epoch_end", None))

    make_model().fit(Recording(), epochs=3, shuffle=False, workers=0, verbose=0)
    one_epoch = [("get", i) for i in range(5)] + [("epoch_end", None)]
    assert events == one_epoch * 3
    events.clear()
    make_model().fit(Recording(), steps_per_epoch=2, epochs=2, shuffle=False, workers=2, verbose=0)
    assert events == [("get", 0), ("get", 1), ("epoch_end", None)] * 2  # no batch loaded beyond the steps


def test_shuffle_reorders_the_batches_every_epoch():
    recorder = BatchLosses()
    zero_model().fit(LabelledBatches(), epochs=3, shuffle=True, workers=0, callbacks=[recorder], verbose=0)
    orders = recorder.targets()
    assert all(sorted(order) == [1, 2, 3, 4, 5, 6] for order in orders)
    assert len({tuple(order) for order in orders}) > 1, orders
    recorder = BatchLosses()
    zero_model().fit(LabelledBatches(), epochs=2, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.targets() == [[1, 2, 3, 4, 5, 6]] * 2


def test_threads_deliver_the_same_batches_in_the_same_order():
    runs = {}
    for workers in (0, 3):
        lamina.utils.set_random_seed(5)
        recorder = BatchLosses()
        sequence = LabelledBatches(delay=0.002, shift=10.0)
        zero_model().fit(sequence, epochs=2, shuffle=True, workers=workers, callbacks=[recorder], verbose=0)
        runs[workers] = recorder.targets()
    assert runs[3] == runs[0]
    assert sorted(runs[0][1]) == [11, 12, 13, 14, 15, 16]  # on_epoch_end's change is seen by the next epoch


def test_worker_processes_deliver_the_same_batches_in_order_and_see_on_epoch_end_changes():
    # SGD with a learning rate depends on the order of the batches, and on_epoch_end flips the targets:
    # the workers must load every batch in the same order, from the Sequence as the last epoch left it.
    runs = {}
    for use_multiprocessing, workers in ((False, 0), (True, 2)):
        lamina.utils.set_random_seed(5)
        model, sequence = make_model(), FlippingBatches(delay=0.002)
        history = model.fit(
            sequence, epochs=3, shuffle=True, workers=workers, use_multiprocessing=use_multiprocessing, verbose=0
        )
        runs[workers] = history.history, model.get_weights()
    assert_same(*runs[2], *runs[0])
    unflipped_history, _, _ = reference(epochs=3)
    assert not np.allclose(runs[0][0]["loss"], unflipped_history["loss"])


def test_steps_per_epoch_larger_than_the_sequence_goes_round_again():
    recorder = BatchLosses()
    zero_model().fit(LabelledBatches(count=3), steps_per_epoch=5, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.targets() == [[1, 2, 3, 1, 2]]


# ---------------------------------------------------------------------- errors
def test_an_unpicklable_sequence_with_use_multiprocessing_says_why():
    sequence = ArrayBatches()
    sequence.lock = threading.Lock()
    with pytest.raises(TypeError, match=r"must be picklable, but ArrayBatches is not .*use_multiprocessing=False"):
        make_model().fit(sequence, workers=2, use_multiprocessing=True, verbose=0)


def test_an_error_in_a_worker_thread_reaches_the_caller_with_the_batch():
    with pytest.raises(KeyError, match="batch_2.npy") as info:
        make_model().fit(FailingBatches(), workers=2, shuffle=False, verbose=0)
    assert "while loading batch 2 of FailingBatches" in "".join(getattr(info.value, "__notes__", []))


def test_an_error_in_a_worker_process_reaches_the_caller_with_its_traceback():
    with pytest.raises(RuntimeError, match=r"(?s)in a worker process failed, at batch 2:.*KeyError.*batch_2.npy"):
        make_model().fit(FailingBatches(), workers=1, use_multiprocessing=True, shuffle=False, verbose=0)


def test_an_empty_sequence_and_arguments_it_carries_itself():
    with pytest.raises(ValueError, match=r"fit\(\): the Sequence has no batches \(its len\(\) is 0\)"):
        make_model().fit(ArrayBatches(x=X[:0], y=Y[:0]), verbose=0)
    with pytest.raises(ValueError, match=r"`y` cannot be used when x is a Sequence"):
        make_model().fit(ArrayBatches(), Y, verbose=0)
    with pytest.raises(NotImplementedError, match=r"Bare must implement __len__"):
        len(type("Bare", (lamina.utils.Sequence,), {})())
