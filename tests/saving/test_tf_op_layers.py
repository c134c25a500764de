"""tf-keras 2.x files whose graphs hold TFOpLambda, SlicingOpLambda and AddLoss layers load, predict and train
as tf-keras computed (fixtures written by tf-keras 2.21: tests/fixtures/tf_ops/make_tf_ops.py)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import lamina
from lamina.layers.core.tf_op_lambda import TFOpLambda

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "tf_ops"


def test_tf_ops_model_predicts_as_tf_keras_and_round_trips(tmp_path):
    model = lamina.models.load_model(FIXTURES / "ops.h5")
    expected = np.load(FIXTURES / "ops.npz")
    got = model.predict([expected["a"], expected["b"]], verbose=0)
    assert len(got) == 27
    for index, value in enumerate(got):
        np.testing.assert_allclose(value, expected[f"y{index}"], rtol=1e-5, atol=1e-6, err_msg=f"output {index}")
    model.save(tmp_path / "again.h5")  # lamina writes the TF ops as OpLambda layers naming `tf.<function>`
    again = lamina.models.load_model(tmp_path / "again.h5")
    for index, value in enumerate(again.predict([expected["a"], expected["b"]], verbose=0)):
        np.testing.assert_allclose(value, expected[f"y{index}"], rtol=1e-5, atol=1e-6, err_msg=f"output {index}")


def test_add_loss_model_evaluates_and_trains_as_tf_keras():
    model = lamina.models.load_model(FIXTURES / "loss.h5")
    expected = np.load(FIXTURES / "loss.npz")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["predictions"], rtol=1e-5, atol=1e-6)
    assert model.evaluate(expected["x"], batch_size=8, verbose=0) == pytest.approx(float(expected["loss"]), rel=1e-5)
    history = model.fit(expected["x"], epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_an_unknown_tf_function_is_named():
    with pytest.raises(ValueError, match=r"calls TensorFlow's `tf.signal.fft`, which lamina cannot run"):
        TFOpLambda(function="signal.fft", name="tf.signal.fft")
