"""The train, test and predict loops over a stream (generator, Sequence, DataLoader), one batch per step.

They mirror the array loops of `Trainer` (same callbacks, same logs), but
each batch is converted as it arrives, so only one batch is in memory at a
time.
"""

from __future__ import annotations

import contextlib

import numpy as np

from lamina.backend import engine
from lamina.trainers.data.array_data import ArrayData
from lamina.trainers.data.stream_data import to_batch
from lamina.trainers.target_checks import check_targets
from lamina.utils import nest


def stacked(batch: ArrayData):
    """One batch as the step runner takes it: every array with a leading axis of 1 step."""
    x, y, sample_weight = batch.take(slice(None))
    one = lambda array: array[None]
    return (
        nest.map_structure(one, x),
        None if y is None else [one(a) for a in y],
        None if sample_weight is None else [one(a) for a in sample_weight],
    )


def prepare_from_stream(model, stream, method: str, class_weight=None) -> ArrayData:
    """Reads the stream's first batch (handed out again later) and checks it against the model."""
    first = to_batch(model, stream, stream.first_batch(), 0, method, class_weight)
    if model.built:
        model._check_inputs(first.take(slice(None))[0])
    return first


def train_stream_epoch(model, stream, callback_list, per_batch: bool, class_weight=None) -> dict:
    """One epoch of `stream.steps` train steps; the logs after the last one."""
    logs = {}
    with contextlib.closing(stream.batches()) as batches:
        for step, raw in enumerate(batches):
            batch = to_batch(model, stream, raw, step, "fit", class_weight)
            check_targets(model, batch)  # each batch's labels and shapes, before the step trains on them
            if per_batch:
                callback_list.on_train_batch_begin(step, None)
            logs = model._host_logs(model._runner.train(*stacked(batch)))
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
    stream.end_pass()
    return logs


def evaluate_stream(model, stream, callback_list, in_fit: bool) -> dict:
    """The loss and metrics over `stream.steps` batches, in inference mode."""
    model.reset_metrics()
    per_batch = callback_list.needs_every_batch()
    callback_list.params["in_fit"] = in_fit
    callback_list.call("on_test_begin", None)
    logs = {}
    method = "fit" if in_fit else "evaluate"
    with contextlib.closing(stream.batches()) as batches:
        for step, raw in enumerate(batches):
            batch = to_batch(model, stream, raw, step, method)
            check_targets(model, batch, "validation y" if in_fit else "y")
            if per_batch:
                callback_list.call("on_test_batch_begin", step, None)
            logs = model._host_logs(model._runner.test(*stacked(batch)))
            callback_list.call("on_test_batch_end", step, logs)
    stream.end_pass()
    callback_list.call("on_test_end", logs)
    callback_list.params["in_fit"] = False
    return logs


def predict_stream(model, stream, runner, callback_list) -> list:
    """The outputs for `stream.steps` batches, concatenated per output as NumPy arrays."""
    per_batch = callback_list.needs_every_batch()
    callback_list.call("on_predict_begin", None)
    pieces = []
    with contextlib.closing(stream.batches()) as batches:
        for step, raw in enumerate(batches):
            x = stacked(to_batch(model, stream, raw, step, "predict"))[0]
            if per_batch:
                callback_list.call("on_predict_batch_begin", step, None)
            outputs = engine.core.convert_to_numpy_tree(runner.predict(x))
            pieces.append([o.reshape((-1, *o.shape[2:])) for o in nest.flatten(outputs)])
            callback_list.call("on_predict_batch_end", step, {"outputs": pieces[-1]})
    stream.end_pass()
    callback_list.call("on_predict_end", None)
    return [np.concatenate(parts, axis=0) for parts in zip(*pieces)]
