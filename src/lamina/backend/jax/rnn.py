"""The recurrent loop on JAX: one `lax.scan` over time (or an unrolled Python loop).

The loop is a pure function of its inputs, so it runs inside the jitted train
step. XLA has no fused LSTM/GRU kernel on every device, so `lstm`, `gru` and
`simple_rnn` raise NotImplementedError here and the layers use `rnn` with a
step that only does the recurrent matmul (their input projection is computed
for all time steps at once, outside the loop).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["gru", "lstm", "rnn", "simple_rnn"]


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
    """A fused LSTM kernel (the torch engine's); raises NotImplementedError on JAX."""
    _no_fused_kernel("LSTM")


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
