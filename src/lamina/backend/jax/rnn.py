"""The recurrent loop on JAX: one `lax.scan` over time (or an unrolled Python loop).

The loop is a pure function of its inputs, so it runs inside the jitted train
step. The layers' steps only do the recurrent matmul: their input projection is
computed for all time steps at once, outside the loop.

`lstm` is Keras's default LSTM (tanh, sigmoid gates) as one scan with a
hand-written backward pass: it keeps the gate activations of the forward scan,
does one matmul per step going back, and forms the recurrent kernel's gradient
as one large matmul after the loop (autodiff of the scan does two matmuls and
accumulates a (units, 4 units) gradient in every step). `conv_lstm` does the
same for ConvLSTM1D/2D/3D (see the note above it). Masked sequences, eager
calls, `gru` and `simple_rnn` raise NotImplementedError here and run `rnn`.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp

from lamina.backend.jax.nn import _layout, _tuple, conv

__all__ = ["conv_lstm", "gru", "lstm", "rnn", "simple_rnn"]


def _expand(mask_t, like):
    """A (batch,) boolean mask shaped to broadcast against `like` (batch, ...)."""
    return jnp.reshape(mask_t, mask_t.shape + (1,) * (like.ndim - 1))


def _masked_step(step_function, zero_output_for_mask):
    """The step with Keras's masking: a masked sample keeps its states and repeats its previous output."""

    def step(carry, x_t, mask_t):
        states, previous_output = carry
        output, new_states = step_function(x_t, states)
        if mask_t is None:
            return (new_states, output), output
        new_states = jax.tree_util.tree_map(lambda n, o: jnp.where(_expand(mask_t, n), n, o), new_states, states)
        kept = jnp.where(_expand(mask_t, output), output, previous_output)
        emitted = jnp.where(_expand(mask_t, output), output, jnp.zeros_like(output)) if zero_output_for_mask else kept
        return (new_states, kept), emitted

    return step


def rnn(
    step_function,
    inputs,
    initial_states,
    go_backwards=False,
    mask=None,
    unroll=False,
    zero_output_for_mask=False,
    return_all_outputs=True,
    initial_output=None,
):
    """Runs `step_function` over the time axis of `inputs` (batch, time, ...).

    Args:
        step_function: `(input_t, states) -> (output_t, new_states)`, pure; `states`
            is the (possibly nested) list `initial_states` is.
        inputs: (batch, time, ...) array.
        initial_states: a list (possibly nested) of (batch, ...) arrays.
        go_backwards: process the time steps last to first; outputs come in processing order.
        mask: (batch, time) booleans; a masked step keeps the states and repeats the previous output.
        unroll: a Python loop instead of `lax.scan` (the loop is always Python outside `jit`).
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        return_all_outputs: whether to return the outputs of every step (else `outputs` is None).
        initial_output: the "previous output" before the first step (zeros of the step output's shape by default).

    Returns:
        `(last_output, outputs, final_states)`; `outputs` is (batch, time, ...) in processing order.

    Example:
        >>> last, outputs, states = rnn(lambda x, s: (x + s[0], [x + s[0]]), x, [h0])
    """
    steps = jnp.swapaxes(inputs, 0, 1)
    masks = None if mask is None else jnp.swapaxes(jnp.asarray(mask).astype(bool), 0, 1)
    if go_backwards:
        steps = jnp.flip(steps, 0)
        masks = None if masks is None else jnp.flip(masks, 0)
    if initial_output is None:
        out_shape = jax.eval_shape(step_function, steps[0], initial_states)[0]
        initial_output = jnp.zeros(out_shape.shape, out_shape.dtype)
    step = _masked_step(step_function, zero_output_for_mask)
    carry = (initial_states, initial_output)
    # Outside jit (a layer called on concrete arrays) a Python loop dispatches ops that are compiled once,
    # while `lax.scan` would compile a new program for every call (its step closes over new values).
    if unroll or not isinstance(steps, jax.core.Tracer):
        emitted = []
        for t in range(steps.shape[0]):
            carry, out = step(carry, steps[t], None if masks is None else masks[t])
            emitted.append(out)
        outputs = jnp.stack(emitted, axis=1) if return_all_outputs else None
        return emitted[-1], outputs, carry[0]

    def body(scan_carry, xs):
        inner, _ = scan_carry
        x_t, mask_t = xs if masks is not None else (xs, None)
        inner, out = step(inner, x_t, mask_t)
        return (inner, out), (out if return_all_outputs else None)

    first_out = jnp.zeros_like(initial_output)
    (carry, last_output), outputs = jax.lax.scan(body, (carry, first_out), steps if masks is None else (steps, masks))
    if return_all_outputs:
        outputs = jnp.swapaxes(outputs, 0, 1)
    return last_output, outputs, carry[0]


def _no_fused_kernel(name):
    raise NotImplementedError(f"The JAX engine has no fused {name} kernel; the layer runs its lax.scan loop.")


def _lstm_gates(z, units):
    i = jax.nn.sigmoid(z[..., :units])
    f = jax.nn.sigmoid(z[..., units : 2 * units])
    g = jnp.tanh(z[..., 2 * units : 3 * units])
    o = jax.nn.sigmoid(z[..., 3 * units :])
    return i, f, g, o


def _lstm_cell(z, c, units):
    """One LSTM (or ConvLSTM) step from its pre-activations `z`: the new (h, c) and (h, c, gate activations)."""
    i, f, g, o = _lstm_gates(z, units)
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return (h, c), (h, c, jnp.concatenate([i, f, g, o], axis=-1))


def _lstm_forward(projected, h0, c0, recurrent_kernel):
    """(hs, cs, gate activations) over time-major `projected` (time, batch, 4 units)."""
    units = h0.shape[-1]

    def step(carry, z_input):
        h, c = carry
        return _lstm_cell(z_input + h @ recurrent_kernel, c, units)

    _, (hs, cs, gates) = jax.lax.scan(step, (h0, c0), projected)
    return hs, cs, gates


@jax.custom_vjp
def _lstm_scan(projected, h0, c0, recurrent_kernel):
    """`(hs, final c)` of Keras's LSTM over time-major projected inputs."""
    hs, cs, _ = _lstm_forward(projected, h0, c0, recurrent_kernel)
    return hs, cs[-1]


def _lstm_scan_forward(projected, h0, c0, recurrent_kernel):
    hs, cs, gates = _lstm_forward(projected, h0, c0, recurrent_kernel)
    return (hs, cs[-1]), (hs, cs, gates, h0, c0, recurrent_kernel)


def _lstm_scan_backward(saved, cotangents):
    hs, cs, gates, h0, c0, recurrent_kernel = saved
    d_hs, d_last_c = cotangents
    units = h0.shape[-1]
    previous_cs = jnp.concatenate([c0[None], cs[:-1]], axis=0)

    def step(carry, per_step):
        dh_next, dc_next = carry
        dh_output, gate, c, c_previous = per_step
        i, f, g, o = (gate[:, k * units : (k + 1) * units] for k in range(4))
        dh = dh_output + dh_next
        tanh_c = jnp.tanh(c)
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        dz = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_previous * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        return (dz @ recurrent_kernel.T, dc * f), dz

    (dh0, dc0), dzs = jax.lax.scan(step, (jnp.zeros_like(h0), d_last_c), (d_hs, gates, cs, previous_cs), reverse=True)
    previous_hs = jnp.concatenate([h0[None], hs[:-1]], axis=0)
    d_recurrent = jnp.einsum("tbu,tbg->ug", previous_hs, dzs)
    return dzs, dh0, dc0, d_recurrent


_lstm_scan.defvjp(_lstm_scan_forward, _lstm_scan_backward)


def lstm(
    inputs,
    initial_h,
    initial_c,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
):
    """Keras's LSTM (tanh, sigmoid gates; gates i, f, c, o) as one scan with a hand-written backward pass.

    Inside a jitted step and without a mask only; otherwise NotImplementedError (the layer runs `rnn`).
    Returns `(last_output, outputs or None, [h, c])`.

    Example:
        >>> last, outputs, (h, c) = lstm(x, h0, c0, None, kernel, recurrent_kernel, bias)
    """
    if mask is not None or not isinstance(inputs, jax.core.Tracer):
        _no_fused_kernel("masked or eager LSTM")
    projected = inputs @ kernel
    if bias is not None:
        projected = projected + bias
    steps = jnp.swapaxes(projected, 0, 1)
    if go_backwards:
        steps = jnp.flip(steps, 0)
    hs, last_c = _lstm_scan(steps, initial_h, initial_c, recurrent_kernel)
    outputs = jnp.swapaxes(hs, 0, 1) if return_sequences else None
    return hs[-1], outputs, [hs[-1], last_c]


def gru(
    inputs,
    initial_h,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
):
    """A fused GRU kernel (reset_after=True; the torch engine's); raises NotImplementedError on JAX."""
    _no_fused_kernel("GRU")


def simple_rnn(
    inputs,
    initial_h,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    activation="tanh",
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
):
    """A fused simple-RNN kernel (the torch engine's); raises NotImplementedError on JAX."""
    _no_fused_kernel("simple RNN")


# ------------------------------------------------------------------ ConvLSTM
# Autodiff of a scan whose step convolves hands XLA:CPU the recurrent kernel's gradient as a convolution
# inside the backward `while` loop, which it runs on a very slow path (measured: about 8 s against 0.3 s a
# step for a 3x3, 40 -> 160 channel step on 10 x 40 x 40 inputs, forward and backward). `_conv_lstm_scan`
# keeps the gates of the forward scan, runs only the input-gradient convolution going back (a plain
# convolution with the flipped kernel), and forms the recurrent kernel's gradient after the loop as a
# matmul per kernel offset over every step (`_kernel_gradient`), as it does for the input convolution's kernel.


def _same_conv(x, kernel, padding):
    """A stride-1 channels-last convolution with explicit `(before, after)` padding per spatial axis."""
    rank = x.ndim - 2
    layout = _layout(rank, "channels_last")
    return jax.lax.conv_general_dilated(x, kernel, (1,) * rank, padding, dimension_numbers=layout)


def _same_padding(kernel_shape):
    """XLA's "same" padding for stride 1: `(before, after)` per spatial axis, the odd pixel after."""
    return [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel_shape]


def _conv_lstm_forward(projected, h0, c0, recurrent_kernel):
    """(hs, cs, gate activations) over time-major, channels-last `projected` (time, batch, ..., 4 filters)."""
    filters = h0.shape[-1]

    def step(carry, z_input):
        h, c = carry
        return _lstm_cell(z_input + conv(h, recurrent_kernel, padding="same"), c, filters)

    _, (hs, cs, gates) = jax.lax.scan(step, (h0, c0), projected)
    return hs, cs, gates


@jax.custom_vjp
def _conv_lstm_scan(projected, h0, c0, recurrent_kernel):
    """`(hs, final c)` of Keras's ConvLSTM over time-major, channels-last projected inputs."""
    hs, cs, _ = _conv_lstm_forward(projected, h0, c0, recurrent_kernel)
    return hs, cs[-1]


def _conv_lstm_scan_forward(projected, h0, c0, recurrent_kernel):
    hs, cs, gates = _conv_lstm_forward(projected, h0, c0, recurrent_kernel)
    return (hs, cs[-1]), (hs, cs, gates, h0, c0, recurrent_kernel)


def _kernel_gradient(x, d_out, kernel_shape, strides, padding, dilation, data_format):
    """The gradient of `conv(x, kernel)` with respect to its kernel, given the output's `d_out`.

    XLA:CPU runs the convolution autodiff gives for it about 10x slower than the forward one (measured:
    15 s against 1.5 s for a 3x3, 40 -> 160 channel convolution of 150 x 40 x 40 inputs); here it is one
    matmul per kernel offset, of the inputs that offset sees with `d_out` (about 1.5x the forward's time).
    """
    rank = x.ndim - 2
    if data_format != "channels_last":
        x, d_out = jnp.moveaxis(x, 1, -1), jnp.moveaxis(d_out, 1, -1)
    spatial_kernel, channels = tuple(kernel_shape[:rank]), x.shape[-1]
    if isinstance(padding, str):
        dilated = [(k - 1) * d + 1 for k, d in zip(spatial_kernel, dilation)]
        padding = jax.lax.padtype_to_pads(x.shape[1:-1], dilated, strides, padding)
    padded = jnp.pad(x, [(0, 0), *padding, (0, 0)])
    outputs = jnp.reshape(d_out, (-1, d_out.shape[-1]))
    grads = []
    for offset in itertools.product(*(range(k) for k in spatial_kernel)):
        start = [o * d for o, d in zip(offset, dilation)]
        limit = [s + (n - 1) * st + 1 for s, n, st in zip(start, d_out.shape[1:-1], strides)]
        seen = jax.lax.slice(padded, (0, *start, 0), (x.shape[0], *limit, channels), (1, *strides, 1))
        grads.append(jnp.reshape(seen, (-1, channels)).T @ outputs)
    return jnp.reshape(jnp.stack(grads), kernel_shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _input_conv(x, kernel, strides, padding, dilation, data_format):
    """`conv(x, kernel, ...)` whose kernel gradient is `_kernel_gradient`'s matmul."""
    return conv(x, kernel, strides, padding, data_format, dilation)


def _input_conv_forward(x, kernel, strides, padding, dilation, data_format):
    return _input_conv(x, kernel, strides, padding, dilation, data_format), (x, kernel)


def _input_conv_backward(strides, padding, dilation, data_format, saved, d_out):
    x, kernel = saved
    _, input_vjp = jax.vjp(lambda inputs: conv(inputs, kernel, strides, padding, data_format, dilation), x)
    d_kernel = _kernel_gradient(x, d_out, kernel.shape, strides, padding, dilation, data_format)
    return input_vjp(d_out)[0], d_kernel.astype(kernel.dtype)


_input_conv.defvjp(_input_conv_forward, _input_conv_backward)


def _conv_lstm_scan_backward(saved, cotangents):
    hs, cs, gates, h0, c0, recurrent_kernel = saved
    d_hs, d_last_c = cotangents
    filters = h0.shape[-1]
    kernel_shape = recurrent_kernel.shape[:-2]
    # The gradient of a "same" convolution with respect to its input: the flipped kernel, inputs and
    # outputs swapped, padded with the forward padding mirrored.
    flipped = jnp.swapaxes(jnp.flip(recurrent_kernel, tuple(range(len(kernel_shape)))), -1, -2)
    mirrored = [(after, before) for before, after in _same_padding(kernel_shape)]
    previous_cs = jnp.concatenate([c0[None], cs[:-1]], axis=0)

    def step(carry, per_step):
        dh_next, dc_next = carry
        dh_output, gate, c, c_previous = per_step
        i, f, g, o = (gate[..., k * filters : (k + 1) * filters] for k in range(4))
        dh = dh_output + dh_next
        tanh_c = jnp.tanh(c)
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        dz = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_previous * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        return (_same_conv(dz, flipped, mirrored), dc * f), dz

    (dh0, dc0), dzs = jax.lax.scan(step, (jnp.zeros_like(h0), d_last_c), (d_hs, gates, cs, previous_cs), reverse=True)
    previous_hs = jnp.concatenate([h0[None], hs[:-1]], axis=0)
    rank = len(kernel_shape)
    d_recurrent = _kernel_gradient(
        jnp.reshape(previous_hs, (-1, *h0.shape[1:])), jnp.reshape(dzs, (-1, *dzs.shape[2:])),
        recurrent_kernel.shape, (1,) * rank, _same_padding(kernel_shape), (1,) * rank, "channels_last",
    )  # fmt: skip
    return dzs, dh0, dc0, d_recurrent.astype(recurrent_kernel.dtype)


_conv_lstm_scan.defvjp(_conv_lstm_scan_forward, _conv_lstm_scan_backward)


def conv_lstm(
    inputs,
    initial_h,
    initial_c,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    strides=1,
    padding="valid",
    dilation_rate=1,
    data_format="channels_last",
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
):
    """Keras's ConvLSTM (tanh, sigmoid gates; gates i, f, c, o) as one scan with a hand-written backward pass.

    `inputs` are (batch, time, *spatial, channels) (or channels first); the input convolution (`kernel`,
    `strides`, `padding`, `dilation_rate`) runs once over every step, the recurrent one (stride 1, "same")
    in the loop. Inside a jitted step and without a mask only; otherwise NotImplementedError (the layer
    runs `rnn`). Returns `(last_output, outputs or None, [h, c])`.

    Example:
        >>> last, outputs, (h, c) = conv_lstm(x, h0, c0, None, kernel, recurrent_kernel, bias, padding="same")
    """
    if mask is not None or not isinstance(inputs, jax.core.Tracer):
        _no_fused_kernel("masked or eager ConvLSTM")
    steps, rank = inputs.shape[1], inputs.ndim - 3
    folded = jnp.reshape(inputs, (-1, *inputs.shape[2:]))
    strides, dilation_rate = _tuple(strides, rank), _tuple(dilation_rate, rank)
    projected = _input_conv(folded, kernel, strides, padding.upper(), dilation_rate, data_format)
    projected = jnp.reshape(projected, (-1, steps, *projected.shape[1:]))
    states = [initial_h, initial_c]
    if data_format != "channels_last":  # the loop runs channels last; states and outputs move back after
        projected, states = jnp.moveaxis(projected, 2, -1), [jnp.moveaxis(s, 1, -1) for s in states]
    if bias is not None:
        projected = projected + bias
    projected = jnp.swapaxes(projected, 0, 1)
    if go_backwards:
        projected = jnp.flip(projected, 0)
    hs, last_c = _conv_lstm_scan(projected, *states, recurrent_kernel)
    outputs = jnp.swapaxes(hs, 0, 1) if return_sequences else None
    last_h = hs[-1]
    if data_format != "channels_last":
        outputs = None if outputs is None else jnp.moveaxis(outputs, -1, 2)
        last_h, last_c = jnp.moveaxis(last_h, -1, 1), jnp.moveaxis(last_c, -1, 1)
    return last_h, outputs, [last_h, last_c]
