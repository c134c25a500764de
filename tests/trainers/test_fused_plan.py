"""`fit` splits every epoch into the same compiled calls, so no call size is first met (and compiled) after epoch 1."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.trainers.data.array_data import planned_chunk


def epoch_calls(full_batches: int, cap, lead: int) -> list:
    """The call sizes of one epoch, as `fit` takes them (cap None: the steps before the measurement)."""
    sizes, step = [], 0
    while step < full_batches:
        size = planned_chunk(step, full_batches, cap(step) if callable(cap) else cap, lead)
        sizes.append(size)
        step += size
    return sizes


@pytest.mark.parametrize("cap", [1, 2, 3, 8, 32, 64, 1024])
@pytest.mark.parametrize("lead", [0, 2])
def test_every_epoch_makes_the_calls_of_the_first(cap, lead):
    for full in range(1, 300):
        # The first epoch of "auto" takes single steps until step 2, where it has measured and knows its cap.
        first = epoch_calls(full, lambda step: 1 if step < lead else cap, lead)
        later = epoch_calls(full, cap, lead)
        assert sum(first) == sum(later) == full
        assert later == first
        assert max(later[lead:], default=1) <= cap
        calls = -(-(full - min(lead, full)) // cap)
        assert len(later) == min(lead, full) + calls
        assert max(later[lead:], default=0) - min(later[lead:], default=0) <= 1  # as even as they can be


def test_a_partial_last_batch_is_one_call():
    assert planned_chunk(10, 10, 8) == 1
    assert planned_chunk(12, 10, 8, lead=2) == 1


class RecordCalls(lamina.callbacks.Callback):
    """Records the number of steps of each compiled train call, per epoch (wraps the model's step runner)."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])
        runner = self.model._runner
        if not getattr(runner, "_recorded", False):
            train = runner.train

            def recorded(x, y, sw):
                self.epochs[-1].append(int(np.shape(x)[0]))
                return train(x, y, sw)

            runner.train, runner._recorded = recorded, True


@pytest.mark.parametrize("steps_per_execution", ["auto", 4])
def test_fit_repeats_the_first_epochs_calls(steps_per_execution):
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    x, y = np.ones((90, 3), "float32"), np.zeros((90, 2), "float32")  # 22 full batches of 4 and one of 2
    recorder = RecordCalls()
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[recorder])
    first, second, third = recorder.epochs
    assert sum(first) == 23 and second == first and third == first
    if steps_per_execution == 4:
        assert first == [4, 4, 4, 4, 3, 3, 1]  # 22 full batches in six calls of at most 4, then the partial one
    else:
        assert first[:2] == [1, 1] and len(first) < 23  # two timed single steps, then fused calls


@pytest.mark.skipif(lamina.backend.backend() != "jax", reason="the JAX engine fuses steps into one lax.scan")
def test_on_the_cpu_only_convolving_models_run_one_step_per_call():
    # XLA:CPU runs convolutions slowly inside loops, so a convolving step is not fused there; a model that only
    # casts its inputs (Embedding on float ids, as Keras 2 models feed them: `convert_element_type`, which once
    # matched "conv") is.
    import jax

    if jax.default_backend() != "cpu":
        pytest.skip("on accelerators every model fuses")

    def fusable(model, x):
        model.compile("sgd", "mse")
        model.fit(x, np.zeros((len(x), 1), "float32"), batch_size=4, epochs=1, verbose=0)
        return model._runner.can_fuse(x[:4])

    ids = np.arange(16).reshape(8, 2) % 5
    embedding = lamina.Sequential([layers.Input((2,)), layers.Embedding(5, 3), layers.Flatten(), layers.Dense(1)])
    convolving = lamina.Sequential([layers.Input((6, 1)), layers.Conv1D(2, 3), layers.Flatten(), layers.Dense(1)])
    assert fusable(embedding, ids) is True
    assert fusable(convolving, np.ones((8, 6, 1), "float32")) is False
