"""The recurrent ops (`ops.rnn`, the fused `ops.lstm` / `ops.gru` / `ops.simple_rnn`) and `ops.flip`, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import ops

ENGINE = lamina.backend.backend()


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _np(value):
    return np.asarray(ops.convert_to_numpy(value))


def _mask():
    return np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]], bool)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2)])
def test_flip_matches_numpy(axis):
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(_np(ops.flip(ops.convert_to_tensor(x), axis=axis)), np.flip(x, axis=axis))


def _numpy_cumulative(x, mask, go_backwards, zero_output_for_mask, initial):
    """The running sum h_t = h_{t-1} + x_t with Keras's masking, outputs in processing order."""
    state, previous, outputs = initial.copy(), initial.copy(), []
    order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    for t in order:
        new = state + x[:, t]
        keep = np.ones((len(x), 1), bool) if mask is None else mask[:, t : t + 1]
        state = np.where(keep, new, state)
        previous = np.where(keep, new, previous)
        outputs.append(np.where(keep, new, 0.0) if zero_output_for_mask else previous)
    return np.stack(outputs, 1), state


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_rnn_loop_matches_numpy(unroll, go_backwards, masked, zero_output_for_mask):
    x, initial = _x(3, 4, 2), _x(3, 2, seed=1)
    mask = _mask() if masked else None

    def step(x_t, states):
        new = states[0] + x_t
        return new, [new]

    def run(x, mask, initial):
        return ops.rnn(
            step,
            x,
            [initial],
            go_backwards=go_backwards,
            mask=mask,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            initial_output=initial,
        )

    runs = [run]
    if ENGINE == "jax":  # inside jit the loop is one lax.scan (outside, a Python loop)
        import jax

        runs.append(jax.jit(run))
    expected, final = _numpy_cumulative(x, mask, go_backwards, zero_output_for_mask, initial)
    for function in runs:
        t = ops.convert_to_tensor
        last, outputs, states = function(t(x), None if mask is None else t(mask), t(initial))
        np.testing.assert_allclose(_np(outputs), expected, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(_np(last), expected[:, -1], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(_np(states[0]), final, rtol=1e-6, atol=1e-6)


def test_rnn_loop_without_all_outputs_and_nested_states():
    x = _x(2, 3, 2)

    def step(x_t, states):
        (a,), (b, c) = states
        return a + x_t, [[a + x_t], [b * 2.0, c + 1.0]]

    zeros = ops.zeros((2, 2))
    last, outputs, states = ops.rnn(
        step, ops.convert_to_tensor(x), [[zeros], [zeros + 1.0, zeros]], return_all_outputs=False
    )
    assert outputs is None
    np.testing.assert_allclose(_np(last), x.sum(1), rtol=1e-6)
    np.testing.assert_allclose(_np(states[1][0]), np.full((2, 2), 8.0))
    np.testing.assert_allclose(_np(states[1][1]), np.full((2, 2), 3.0))


def _lstm_loop(x, h, c, mask, kernel, recurrent_kernel, bias, go_backwards, zero_output_for_mask):
    units = recurrent_kernel.shape[0]

    def step(x_t, states):
        z = ops.matmul(x_t, kernel) + ops.matmul(states[0], recurrent_kernel) + bias
        i, f = ops.sigmoid(z[:, :units]), ops.sigmoid(z[:, units : 2 * units])
        new_c = f * states[1] + i * ops.tanh(z[:, 2 * units : 3 * units])
        new_h = ops.sigmoid(z[:, 3 * units :]) * ops.tanh(new_c)
        return new_h, [new_h, new_c]

    return ops.rnn(
        step,
        x,
        [h, c],
        go_backwards=go_backwards,
        mask=mask,
        zero_output_for_mask=zero_output_for_mask,
        initial_output=h,
    )


@pytest.mark.parametrize(
    "mask_kind, go_backwards, zero_output_for_mask",
    [(None, False, False), (None, True, False), ("right", False, False), ("right", False, True)],
)
def test_fused_lstm_matches_the_loop_or_is_refused(mask_kind, go_backwards, zero_output_for_mask):
    t = ops.convert_to_tensor
    x, h, c = t(_x(3, 4, 2)), t(_x(3, 5, seed=1)), t(_x(3, 5, seed=2))
    kernel, recurrent_kernel, bias = t(_x(2, 20, seed=3)), t(_x(5, 20, seed=4)), t(_x(20, seed=5))
    mask = None if mask_kind is None else t(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool))
    arguments = (x, h, c, mask, kernel, recurrent_kernel, bias)
    options = {"go_backwards": go_backwards, "zero_output_for_mask": zero_output_for_mask}
    if ENGINE == "jax":
        with pytest.raises(NotImplementedError):
            ops.lstm(*arguments, **options)
        return
    last, outputs, (h_n, c_n) = ops.lstm(*arguments, **options)
    want_last, want_outputs, (want_h, want_c) = _lstm_loop(*arguments, go_backwards, zero_output_for_mask)
    for got, want in ((last, want_last), (outputs, want_outputs), (h_n, want_h), (c_n, want_c)):
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-5, atol=1e-6)


def test_fused_kernels_refuse_what_they_cannot_do_as_keras():
    if ENGINE == "jax":
        pytest.skip(
            "the JAX engine has no fused GRU or simple-RNN kernel (they run one lax.scan), so nothing to refuse"
        )
    t = ops.convert_to_tensor
    x, h = t(_x(3, 4, 2)), t(_x(3, 5, seed=1))
    kernel, recurrent_kernel = t(_x(2, 15)), t(_x(5, 15))
    left = t(np.array([[0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1]], bool))
    with pytest.raises(NotImplementedError, match="right-padded"):
        ops.gru(x, h, left, kernel, recurrent_kernel, t(_x(2, 15)))
    with pytest.raises(NotImplementedError, match="reset_after"):
        ops.gru(x, h, None, kernel, recurrent_kernel, t(_x(15)))
    with pytest.raises(NotImplementedError, match="activation"):
        ops.simple_rnn(x, h, None, t(_x(2, 5)), t(_x(5, 5)), None, activation="sigmoid")
