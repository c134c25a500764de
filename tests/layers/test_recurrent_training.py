"""Recurrent layers in training: one SGD step against Keras 3 (gradients through every path), and dropout.

On torch each SGD comparison runs through torch's fused kernels and through the generic loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close
from recurrent_reference import PATHS, compare_sgd_step, kernel_path, lstm_step, run_rnn, zeros_states

import lamina
from lamina import layers

ENGINE = lamina.backend.backend()


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _y(batch, units=1, seed=9):
    return np.random.default_rng(seed).normal(size=(batch, units)).astype("float32")


def _padded_ids(side: str):
    """Integer sequences (batch 4, length 6) with zeros as padding on one side (one sequence unpadded)."""
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 10, size=(4, 6)).astype("int32")
    for row, length in enumerate([6, 4, 2, 5]):
        if side == "right":
            ids[row, length:] = 0
        else:
            ids[row, : 6 - length] = 0
    return ids


MODELS = {
    # LSTM and both GRU forms, sequences in and out.
    "lstm_gru": lambda lib: lib.Sequential(
        [
            lib.Input((5, 3)),
            lib.layers.LSTM(4, return_sequences=True),
            lib.layers.GRU(3, reset_after=False, return_sequences=True),
            lib.layers.GRU(3),
            lib.layers.Dense(1),
        ]
    ),
    # go_backwards, unroll and stacked cells.
    "backwards_unrolled_stacked": lambda lib: lib.Sequential(
        [
            lib.Input((5, 3)),
            lib.layers.SimpleRNN(4, go_backwards=True, return_sequences=True),
            lib.layers.LSTM(3, unroll=True, return_sequences=True),
            lib.layers.RNN([lib.layers.LSTMCell(3), lib.layers.GRUCell(2)]),
            lib.layers.Dense(1),
        ]
    ),
    # Weight penalties in the loss and constraints after the update, on the cell's weights.
    "regularized_constrained": lambda lib: lib.Sequential(
        [
            lib.Input((5, 3)),
            lib.layers.LSTM(
                4,
                kernel_regularizer=lib.regularizers.L2(0.05),
                recurrent_regularizer=lib.regularizers.L1(0.02),
                bias_constraint=lib.constraints.NonNeg(),
                recurrent_constraint=lib.constraints.MaxNorm(0.5),
            ),
            lib.layers.Dense(1),
        ]
    ),
}


# On JAX the fused path is the LSTM scan with a hand-written backward pass (inside the jitted step); the loop is
# autodiff of the generic scan.
TRAINING_PATHS = ["fused", "loop"]


@pytest.mark.parametrize("path", TRAINING_PATHS)
@pytest.mark.parametrize("name", list(MODELS))
def test_one_sgd_step_matches_keras(name, path, keras3):
    with kernel_path(path) as rnn:
        compare_sgd_step(MODELS[name], keras3, _x(4, 5, 3), _y(4))
    if path == "fused" and (ENGINE == "torch" or name != "backwards_unrolled_stacked"):
        assert rnn.calls, "no fused kernel ran"


@pytest.mark.parametrize("go_backwards", [False, True])
def test_the_fused_lstm_trains_as_the_generic_loop_with_states_in_and_out(go_backwards):
    """Values and gradients of every LSTM output (sequences, h, c) and of given initial states, fused vs loop."""

    def run(path):
        lamina.utils.set_random_seed(5)
        sequences, h, c = lamina.Input((6, 3)), lamina.Input((4,)), lamina.Input((4,))
        lstm = layers.LSTM(4, return_sequences=True, return_state=True, go_backwards=go_backwards)
        outputs, h_n, c_n = lstm(sequences, initial_state=[h, c])
        flat = layers.Concatenate()([layers.Flatten()(outputs), h_n, layers.Dense(3)(c_n)])
        model = lamina.Model([sequences, h, c], layers.Dense(2)(flat))
        model.compile(lamina.optimizers.SGD(0.5), "mse")
        data = [_x(5, 6, 3), _x(5, 4, seed=1), _x(5, 4, seed=2)]
        with kernel_path(path) as rnn:
            losses = [model.train_on_batch(data, _y(5, 2)) for _ in range(3)]
            predicted = model.predict(data, verbose=0)
        return losses, predicted, model.get_weights(), rnn.calls

    fused_losses, fused_predicted, fused_weights, calls = run("fused")
    loop_losses, loop_predicted, loop_weights, _ = run("loop")
    assert "lstm" in calls
    np.testing.assert_allclose(fused_losses, loop_losses, rtol=1e-5)
    np.testing.assert_allclose(fused_predicted, loop_predicted, rtol=1e-5, atol=1e-6)
    for got, want in zip(fused_weights, loop_weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("side", ["right", "left"])
def test_one_sgd_step_with_an_embedding_mask_matches_keras(side, path, keras3):
    def make(lib):
        return lib.Sequential(
            [
                lib.Input((6,), dtype="int32"),
                lib.layers.Embedding(10, 3, mask_zero=True),
                lib.layers.LSTM(4, return_sequences=True),
                lib.layers.GRU(3, return_sequences=True),
                lib.layers.SimpleRNN(3),
                lib.layers.Dense(1),
            ]
        )

    with kernel_path(path) as rnn:
        compare_sgd_step(make, keras3, _padded_ids(side), _y(4))
    if ENGINE == "torch" and path == "fused":
        # Keras's cuDNN rule: a right-padded mask runs the fused kernel, any other mask the loop.
        assert set(rnn.masked) == ({"lstm", "gru", "simple_rnn"} if side == "right" else set())


@pytest.mark.parametrize("path", PATHS)
def test_one_sgd_step_with_initial_states_from_inputs_matches_keras(path, keras3):
    def make(lib):
        sequences, h, c = lib.Input((5, 3)), lib.Input((4,)), lib.Input((4,))
        outputs = lib.layers.LSTM(4, return_sequences=True)(sequences, initial_state=[h, c])
        last = lib.layers.GRU(2)(outputs, initial_state=[lib.layers.Dense(2)(h)])
        return lib.Model([sequences, h, c], lib.layers.Dense(1)(last))

    with kernel_path(path):
        compare_sgd_step(make, keras3, [_x(4, 5, 3), _x(4, 4, seed=1), _x(4, 4, seed=2)], _y(4))


# ------------------------------------------------------------------- dropout
def _identity_rnn(**kwargs):
    layer = layers.SimpleRNN(3, activation=None, use_bias=False, return_sequences=True, **kwargs)
    layer(np.ones((1, 1, 3), "float32"))
    layer.set_weights([np.eye(3), np.eye(3) if kwargs.get("recurrent_dropout") else np.zeros((3, 3))])
    return layer


def test_input_dropout_uses_one_mask_per_sequence():
    layer = _identity_rnn(dropout=0.5, seed=3)
    x = np.ones((8, 6, 3), "float32")
    out = as_numpy(layer(x, training=True))  # every output is the input mask: x @ I with h @ 0
    assert set(np.unique(out)) <= {0.0, 2.0} and 0.0 in out and 2.0 in out
    np.testing.assert_array_equal(out, np.repeat(out[:, :1], 6, axis=1))  # the same units at every step
    again = as_numpy(layer(x, training=True))
    assert not np.array_equal(again, out), "the next call should draw new masks"
    np.testing.assert_array_equal(as_numpy(layer(x, training=False)), x)


def test_recurrent_dropout_uses_one_mask_per_sequence():
    layer = _identity_rnn(recurrent_dropout=0.5, seed=4)
    out = as_numpy(layer(np.ones((8, 5, 3), "float32"), training=True))
    dropped = np.ones(5)  # h_t = 1 + m * h_{t-1}: m = 0 gives 1, 1, 1, ...; m = 2 gives 1, 3, 7, 15, 31
    kept = np.array([1.0, 3.0, 7.0, 15.0, 31.0])
    series = out.transpose(0, 2, 1).reshape(-1, 5)
    assert all(np.allclose(s, dropped) or np.allclose(s, kept) for s in series)
    assert any(np.allclose(s, dropped) for s in series) and any(np.allclose(s, kept) for s in series)


@pytest.mark.parametrize("path", PATHS)
def test_lstm_dropout_applies_the_masks_as_keras_does(monkeypatch, path):
    """With the random draws fixed, training outputs follow Keras's formula: x * mask and h * recurrent mask."""
    rng = np.random.default_rng(5)
    x = _x(3, 4, 2)
    masks = {(3, 2): rng.integers(0, 2, (3, 2)) * 2.0, (3, 4): rng.integers(0, 2, (3, 4)) * 2.0}
    monkeypatch.setattr(
        lamina.ops.random,
        "dropout",
        lambda ones, rate, seed=None, noise_shape=None: lamina.ops.convert_to_tensor(
            masks[tuple(ones.shape)].astype("float32")
        ),
    )
    for recurrent_dropout in (0.0, 0.5):
        layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=recurrent_dropout, return_sequences=True)
        layer(x)
        kernel, recurrent_kernel, bias = layer.get_weights()
        base = lstm_step(kernel, recurrent_kernel, bias)
        rec_mask = masks[(3, 4)] if recurrent_dropout else 1.0

        def step(x_t, states, base=base, rec_mask=rec_mask):
            h, c = states
            # h * mask feeds the gates; the carried state is the unmasked new h.
            return base(x_t * masks[(3, 2)], [h * rec_mask, c])

        expected, _ = run_rnn(step, x, zeros_states(3, 4, 2))
        with kernel_path(path) as rnn:
            got = layer(x, training=True)
        assert_close(as_numpy(got), expected, atol=1e-5)
        if ENGINE == "torch" and path == "fused":
            # Input dropout alone keeps the fused kernel (on the masked inputs); recurrent dropout needs the loop.
            assert rnn.calls == ([] if recurrent_dropout else ["lstm"])


def test_dropout_in_fit_draws_new_masks_every_step():
    model = lamina.Sequential(
        [lamina.Input((4, 2)), layers.GRU(3, dropout=0.3, recurrent_dropout=0.3), layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    seed_state = model.layers[0].cell.seed_generator.state
    assert any(v is seed_state for v in model.non_trainable_variables)
    assert all(v is not seed_state for v in model.weights)
    before = seed_state.numpy().copy()
    model.fit(_x(16, 4, 2), _y(16), batch_size=4, epochs=1, verbose=0)
    assert not np.array_equal(seed_state.numpy(), before)
    # Inference ignores dropout: predictions are those of the same weights without it.
    plain = lamina.Sequential([lamina.Input((4, 2)), layers.GRU(3), layers.Dense(1)])
    plain.set_weights(model.get_weights())
    assert_close(model.predict(_x(5, 4, 2), verbose=0), plain.predict(_x(5, 4, 2), verbose=0))
