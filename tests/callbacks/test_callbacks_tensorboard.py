"""TensorBoard: event files read back with TensorBoard's own reader hold the right values at the right steps."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from callback_helpers import linear_model

from lamina.callbacks import LambdaCallback, TensorBoard

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 2)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0]], "float32") + 0.5).astype("float32")
XV, YV = X[:3] + 0.5, Y[:3]


def read(folder):
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                                                 "tensors": 0})  # fmt: skip
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_epoch_scalars_match_the_history(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1, metrics=["mae"])
    history = model.fit(X, Y, batch_size=4, epochs=3, validation_data=(XV, YV), verbose=0,
                        callbacks=[TensorBoard(log_dir=str(tmp_path))])  # fmt: skip
    train, validation = read(tmp_path / "train"), read(tmp_path / "validation")
    for name in ("loss", "mae"):
        assert scalars(train, f"epoch_{name}") == [(e, pytest.approx(v, rel=1e-6)) for e, v in
                                                   enumerate(history.history[name])]  # fmt: skip
        assert scalars(validation, f"epoch_{name}") == [(e, pytest.approx(v, rel=1e-6)) for e, v in
                                                        enumerate(history.history[f"val_{name}"])]  # fmt: skip
        # Each validation run, at the optimizer step it ran after (2 batches per epoch).
        assert scalars(validation, f"evaluation_{name}_vs_iterations") == [
            (2 * (e + 1), pytest.approx(v, rel=1e-6)) for e, v in enumerate(history.history[f"val_{name}"])
        ]
    assert len(set(history.history["loss"])) == 3  # training moved the model: three different values
    assert not any(tag.startswith("batch_") for tag in train.Tags()["scalars"])  # update_freq="epoch"


@pytest.mark.parametrize("update_freq, steps", [("batch", [1, 2, 3, 4, 5, 6]), (4, [4])])
def test_batch_scalars_every_n_batches(tmp_path, update_freq, steps):
    batch_losses = []
    record = LambdaCallback(on_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    model.fit(X, Y, batch_size=3, epochs=2, callbacks=[TensorBoard(str(tmp_path), update_freq=update_freq), record],
              verbose=0)  # fmt: skip
    # The step counts batches over the whole of fit (3 per epoch); the value is the running loss of the epoch.
    assert scalars(read(tmp_path / "train"), "batch_loss") == [
        (step, pytest.approx(batch_losses[step - 1], rel=1e-6)) for step in steps
    ]


def test_weight_histograms_and_the_model_as_text(tmp_path):
    model = linear_model(np.array([[1.0], [-1.0]]), np.zeros(1), lr=0.1)
    kernels = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: kernels.append(model.get_weights()[0]))
    model.fit(X, Y, batch_size=8, epochs=4, callbacks=[TensorBoard(str(tmp_path), histogram_freq=2), record], verbose=0)
    train = read(tmp_path / "train")
    assert sorted(train.Tags()["histograms"]) == ["dense/bias_0/histogram", "dense/kernel_0/histogram"]
    histograms = train.Histograms("dense/kernel_0/histogram")
    assert [h.step for h in histograms] == [0, 2]  # every second epoch
    for histogram, kernel in zip(histograms, (kernels[0], kernels[2])):
        value = histogram.histogram_value
        assert value.num == 2
        assert value.min == pytest.approx(kernel.min(), rel=1e-6) and value.max == pytest.approx(kernel.max(), rel=1e-6)
        assert value.sum == pytest.approx(kernel.sum(), rel=1e-5, abs=1e-6)
    # tensorboardX files text under "<tag>/text_summary".
    texts = {tag: train.Tensors(f"{tag}/text_summary")[0].tensor_proto.string_val[0].decode()
             for tag in ("keras", "model_summary")}  # fmt: skip
    assert json.loads(texts["keras"]) == json.loads(model.to_json())
    assert 'Model: "sequential' in texts["model_summary"] and "dense (Dense)" in texts["model_summary"]


def test_write_graph_false_writes_no_model_and_steps_per_second(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1))
    model.fit(X, Y, epochs=2, callbacks=[TensorBoard(str(tmp_path), write_graph=False, write_steps_per_second=True)],
              verbose=0)  # fmt: skip
    train = read(tmp_path / "train")
    assert train.Tags()["tensors"] == []
    speeds = scalars(train, "epoch_steps_per_second")
    assert [step for step, _ in speeds] == [0, 1] and all(value > 0 for _, value in speeds)


def test_evaluate_alone_logs_the_evaluation_at_the_optimizer_step(tmp_path):
    model = linear_model(np.zeros((2, 1)), np.zeros(1), lr=0.1)
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0)
    loss = model.evaluate(XV, YV, callbacks=[TensorBoard(str(tmp_path))], verbose=0)
    assert scalars(read(tmp_path / "validation"), "evaluation_loss_vs_iterations") == [(2, pytest.approx(loss))]


def test_missing_tensorboardx_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard("logs")


def test_bad_arguments():
    with pytest.raises(ValueError, match="TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer"):
        TensorBoard("logs", update_freq="step")
    with pytest.raises(ValueError, match="TensorBoard: histogram_freq must be an integer >= 0, got -1"):
        TensorBoard("logs", histogram_freq=-1)
    assert TensorBoard("logs", update_freq=10).needs_every_batch()
    assert not TensorBoard("logs", histogram_freq=1).needs_every_batch()
