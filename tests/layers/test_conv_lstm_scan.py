"""ConvLSTM's training step through the engine's `ops.conv_lstm` (JAX: a scan with a hand-written backward pass).

Autodiff of a scan that convolves runs very slowly on XLA:CPU, so on JAX the layer trains through
`ops.conv_lstm`; torch declines it and runs the step loop. One SGD step is checked against Keras 3 given
the same weights, with what the existing ConvLSTM tests leave out: an even kernel (asymmetric "same"
padding), go_backwards, dilation and an unknown number of time steps.
"""

from __future__ import annotations

import numpy as np
from recurrent_reference import compare_sgd_step

import lamina


def test_one_sgd_step_through_the_conv_lstm_kernel(monkeypatch, keras3):
    calls = []
    original = lamina.ops.conv_lstm

    def counted(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(kwargs["go_backwards"])
        return result

    monkeypatch.setattr(lamina.ops, "conv_lstm", counted)

    def make(mod):
        L = mod.layers
        conv_lstm = L.ConvLSTM2D(3, (2, 3), padding="same", dilation_rate=(1, 2), go_backwards=True)
        return mod.Sequential([mod.Input((None, 5, 6, 2)), conv_lstm, L.Flatten(), L.Dense(1)])

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 6, 2)).astype("float32")
    y = rng.normal(size=(3, 1)).astype("float32")
    compare_sgd_step(make, keras3, x, y, learning_rate=0.1)
    # JAX traces the layer through the kernel (shape inference and the train step); torch refuses it.
    assert set(calls) == ({True} if lamina.backend.backend() == "jax" else set())
