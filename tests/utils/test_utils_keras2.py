"""Keras 2's `keras.utils` odds: print_summary, get_source_inputs, the enqueuers, (de)serialization, packers."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import lamina
from lamina import utils


class Counting(utils.Sequence):
    """Batch i is `[[i, epoch]]`; counts `on_epoch_end` calls and which threads loaded batches."""

    def __init__(self, batches=4):
        self.batches, self.epoch, self.threads = batches, 0, set()

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        return np.array([[index, self.epoch]])

    def on_epoch_end(self):
        self.epoch += 1


def test_print_summary_prints_the_model_table():
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3, name="hidden"), lamina.layers.Dense(1)])
    lines, reference = [], []
    utils.print_summary(model, line_length=70, print_fn=lines.append)
    model.summary(line_length=70, print_fn=reference.append)
    assert lines == reference
    assert any("hidden" in line and "9" in line for line in lines)  # 2 * 3 weights + 3 biases
    assert any(line.startswith("Total params: 13") for line in lines)  # 9 + (3 * 1 + 1)


def test_get_source_inputs_walks_back_to_the_inputs():
    a, b = lamina.Input((2,), name="a"), lamina.Input((2,), name="b")
    hidden = lamina.layers.Dense(2)(b)
    out = lamina.layers.Concatenate()([lamina.layers.Add()([hidden, a]), hidden])
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is b and sources[1] is a
    assert utils.get_source_inputs(a)[0] is a
    with pytest.raises(ValueError, match="symbolic tensor"):
        utils.get_source_inputs(np.zeros(2))


def test_ordered_enqueuer_in_order_epoch_after_epoch_in_threads():
    sequence = Counting()
    enqueuer = utils.OrderedEnqueuer(sequence, use_multiprocessing=False)
    enqueuer.start(workers=2, max_queue_size=3)
    assert enqueuer.is_running()
    batches = enqueuer.get()
    seen = [next(batches)[0].tolist() for _ in range(8)]
    enqueuer.stop()
    assert not enqueuer.is_running()
    assert seen == [[i, 0] for i in range(4)] + [[i, 1] for i in range(4)]
    assert all(name.startswith("lamina-sequence") for name in sequence.threads)


def test_ordered_enqueuer_shuffles_each_epoch_and_raises_loading_errors():
    enqueuer = utils.OrderedEnqueuer(Counting(batches=6), shuffle=True)
    enqueuer.start(workers=1)
    batches = enqueuer.get()
    epochs = [[next(batches)[0, 0] for _ in range(6)] for _ in range(3)]
    enqueuer.stop()
    assert all(sorted(epoch) == list(range(6)) for epoch in epochs)
    assert any(epoch != list(range(6)) for epoch in epochs)

    class Broken(Counting):
        def __getitem__(self, index):
            raise OSError("disk gone")

    enqueuer = utils.OrderedEnqueuer(Broken())
    enqueuer.start(workers=1)
    with pytest.raises(OSError, match="disk gone"):
        next(enqueuer.get())
    assert not enqueuer.is_running()


def test_generator_enqueuer_draws_every_batch_then_ends():
    enqueuer = utils.GeneratorEnqueuer((np.full((2,), i) for i in range(5)), use_multiprocessing=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enqueuer.start(workers=3, max_queue_size=2)
    assert "one background thread" in str(caught[0].message)
    assert [batch[0] for batch in enqueuer.get()] == [0, 1, 2, 3, 4]
    enqueuer.stop()
    with pytest.raises(RuntimeError, match="start"):
        next(utils.GeneratorEnqueuer(iter([])).get())


def test_serialize_and_deserialize_keras_objects(keras3):
    config = utils.serialize_keras_object(lamina.layers.Dense(2, name="d"))
    assert config["class_name"] == "Dense" and config["config"]["units"] == 2
    layer = utils.deserialize_keras_object(config, module_objects=vars(lamina.layers))
    assert isinstance(layer, lamina.layers.Dense) and layer.units == 2 and layer.name == "d"
    assert utils.serialize_keras_object(lamina.activations.relu) == "relu"
    # A config written by Keras 3 (with its `module` and `registered_name` keys)
    written = keras3.saving.serialize_keras_object(keras3.initializers.Constant(2.5))
    constant = utils.deserialize_keras_object(written, vars(lamina.initializers), printable_module_name="initializer")
    assert constant.get_config()["value"] == 2.5

    def scaled(x):
        return 3 * x

    assert utils.deserialize_keras_object("scaled", custom_objects={"scaled": scaled}) is scaled
    with pytest.raises(ValueError, match="initializer"):
        utils.deserialize_keras_object("no_such_thing", vars(lamina.initializers), printable_module_name="initializer")


@pytest.mark.parametrize(
    "args",
    [((np.ones(2),), {}), ((np.ones(2), np.zeros(2)), {}), ((np.ones(2), np.zeros(2), np.ones(2) * 3), {}),
     (([np.ones(2), np.ones(2)],), {}), ((np.ones(2),), {"sample_weight": np.ones(2)})],
)  # fmt: skip
def test_pack_and_unpack_x_y_sample_weight_match_keras(keras3, args):
    positional, keywords = args
    mine = utils.pack_x_y_sample_weight(*positional, **keywords)
    theirs = keras3.utils.pack_x_y_sample_weight(*positional, **keywords)
    assert type(mine) is type(theirs)
    assert len(mine) == len(theirs)
    for a, b in zip(utils.unpack_x_y_sample_weight(mine), keras3.utils.unpack_x_y_sample_weight(theirs)):
        assert (a is None and b is None) or all(
            np.array_equal(p, q) for p, q in zip(np.atleast_1d(a), np.atleast_1d(b))
        )


def test_generic_utils_list_helpers():
    assert utils.to_list(3) == [3] and utils.to_list((1, 2)) == [(1, 2)] and utils.to_list((1, 2), True) == [1, 2]
    assert utils.unpack_singleton([5]) == 5 and utils.unpack_singleton([5, 6]) == [5, 6]

    def f(x, *, axis=0, **kwargs):
        return x

    assert utils.has_arg(f, "axis") and not utils.has_arg(f, "mask") and utils.has_arg(f, "mask", accept_all=True)
    with pytest.raises(ValueError, match="4 items"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))
