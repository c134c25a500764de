"""The recurrent loop on torch: torch's fused RNN kernels where they apply, else a Python loop over time.

`lstm`, `gru` and `simple_rnn` run torch's own kernels (`torch.lstm`,
`torch.gru`, `torch.rnn_tanh`/`torch.rnn_relu`) on the layer's own weight
tensors, so gradients reach the lamina Variables. They take Keras's weight
layout (kernel (input, gates * units), gates in Keras's order) and raise
NotImplementedError for what they cannot do exactly as Keras does (a mask that
is not right-padded, for instance); the layer then runs `rnn`, the generic loop.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["conv_lstm", "gru", "lstm", "rnn", "simple_rnn"]


def _expand(mask_t, like):
    """A (batch,) boolean mask shaped to broadcast against `like` (batch, ...)."""
    return mask_t.reshape(mask_t.shape + (1,) * (like.dim() - 1))


def _where_tree(mask_t, new, old):
    if isinstance(new, (list, tuple)):
        return type(new)(_where_tree(mask_t, n, o) for n, o in zip(new, old))
    return torch.where(_expand(mask_t, new), new, old)


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
    """Runs `step_function` over the time axis of `inputs` (batch, time, ...) in a Python loop.

    Args:
        step_function: `(input_t, states) -> (output_t, new_states)`; `states` is the
            (possibly nested) list `initial_states` is.
        inputs: (batch, time, ...) tensor.
        initial_states: a list (possibly nested) of (batch, ...) tensors.
        go_backwards: process the time steps last to first; outputs come in processing order.
        mask: (batch, time) booleans; a masked step keeps the states and repeats the previous output.
        unroll: accepted for the JAX engine's sake (a Python loop is unrolled already).
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        return_all_outputs: whether to return the outputs of every step (else `outputs` is None).
        initial_output: the "previous output" before the first step (zeros of the output's shape by default).

    Returns:
        `(last_output, outputs, final_states)`; `outputs` is (batch, time, ...) in processing order.

    Example:
        >>> last, outputs, states = rnn(lambda x, s: (x + s[0], [x + s[0]]), x, [h0])
    """
    steps = list(inputs.unbind(1))
    masks = None if mask is None else list(mask.to(torch.bool).unbind(1))
    if go_backwards:
        steps.reverse()
        masks = None if masks is None else masks[::-1]
    time_steps = len(steps)
    if inputs.device.type == "meta" and time_steps > 1:
        # Shape inference: every step has the first one's shapes, so one step tells them all.
        steps, masks = steps[:1], None if masks is None else masks[:1]
    states, previous, emitted, last = initial_states, initial_output, [], None
    for t, x_t in enumerate(steps):
        output, new_states = step_function(x_t, states)
        if masks is None:
            states, last = new_states, output
        else:
            keep = _expand(masks[t], output)
            if previous is None:
                previous = torch.zeros_like(output)
            states = _where_tree(masks[t], new_states, states)
            previous = torch.where(keep, output, previous)
            last = torch.where(keep, output, torch.zeros_like(output)) if zero_output_for_mask else previous
        if return_all_outputs:
            emitted.append(last)
    outputs = torch.stack(emitted, dim=1) if return_all_outputs else None
    if outputs is not None and outputs.shape[1] != time_steps:
        outputs = outputs.expand(outputs.shape[0], time_steps, *outputs.shape[2:])
    return last, outputs, states


# ------------------------------------------------------------------ fused kernels
def _right_padded_lengths(mask, go_backwards):
    """None when there is no padding, the lengths for a right-padded mask; NotImplementedError otherwise."""
    if mask is None:
        return None
    mask = mask.to(torch.bool)
    if go_backwards:
        raise NotImplementedError("go_backwards with a mask runs the generic loop")
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise NotImplementedError("the mask is not right-padded")
    lengths = mask.sum(dim=1)
    if bool((lengths == 0).any()):
        raise NotImplementedError("a fully masked sequence runs the generic loop")
    return None if bool((lengths == mask.shape[1]).all()) else lengths


def _run(kernel_fn, inputs, hidden, params, has_biases, mask, go_backwards, return_sequences, zero_output_for_mask):
    """One layer of a torch kernel, batch first; `hidden` is a list of (batch, units) states."""
    if inputs.device.type == "meta":
        # Shape inference: torch's meta forms of these kernels step through time in Python, slowly.
        output = torch.empty((*inputs.shape[:2], hidden[0].shape[-1]), dtype=inputs.dtype, device=inputs.device)
        return output[:, -1], (output if return_sequences else None), [torch.empty_like(h) for h in hidden]
    lengths = _right_padded_lengths(mask, go_backwards)
    x = torch.flip(inputs, (1,)) if go_backwards else inputs
    hx = [h.unsqueeze(0) for h in hidden]
    hx = hx if len(hx) > 1 else hx[0]
    if lengths is None:
        output, *finals = kernel_fn(x, hx, params, has_biases, 1, 0.0, False, False, True)
    else:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        order = packed.sorted_indices
        hx = [h.index_select(1, order) for h in hx] if isinstance(hx, list) else hx.index_select(1, order)
        data, *finals = kernel_fn(packed.data, packed.batch_sizes, hx, params, has_biases, 1, 0.0, False, False)
        finals = [f.index_select(1, packed.unsorted_indices) for f in finals]
        result = PackedSequence(data, packed.batch_sizes, order, packed.unsorted_indices)
        output, _ = pad_packed_sequence(result, batch_first=True, total_length=x.shape[1])
        # Keras: a masked (padding) step repeats the last valid output, or outputs zeros.
        fill = torch.zeros_like(output) if zero_output_for_mask else finals[0][0].unsqueeze(1)
        output = torch.where(mask.to(torch.bool).unsqueeze(-1), output, fill)
    states = [f[0] for f in finals]
    return output[:, -1], (output if return_sequences else None), states


def _weights(kernel, recurrent_kernel, bias_ih, bias_hh):
    """torch's (w_ih, w_hh[, b_ih, b_hh]) from Keras's (input, gates) layout."""
    params = [kernel.t(), recurrent_kernel.t()]
    if bias_ih is not None:
        params += [bias_ih, torch.zeros_like(bias_ih) if bias_hh is None else bias_hh]
    return params


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
    """Keras's LSTM (tanh, sigmoid gates) on `torch.lstm`: gates i, f, c, o in both layouts.

    Returns `(last_output, outputs or None, [h, c])`.

    Example:
        >>> last, outputs, (h, c) = lstm(x, h0, c0, None, kernel, recurrent_kernel, bias)
    """
    params = _weights(kernel, recurrent_kernel, bias, None)
    return _run(
        torch.lstm, inputs, [initial_h, initial_c], params, bias is not None, mask, go_backwards, return_sequences,
        zero_output_for_mask,
    )  # fmt: skip


def _gru_order(matrix, units):
    """Keras's GRU gate blocks (z, r, h) along the last axis as torch's (r, z, n)."""
    return torch.cat([matrix[..., units : 2 * units], matrix[..., :units], matrix[..., 2 * units :]], dim=-1)


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
    """Keras's GRU with `reset_after=True` (bias shaped (2, 3 * units)) on `torch.gru`.

    Returns `(last_output, outputs or None, [h])`.

    Example:
        >>> last, outputs, (h,) = gru(x, h0, None, kernel, recurrent_kernel, bias)
    """
    units = recurrent_kernel.shape[0]
    bias_ih = bias_hh = None
    if bias is not None:
        if bias.dim() != 2:
            raise NotImplementedError("torch's GRU kernel is Keras's reset_after=True form")
        bias_ih, bias_hh = _gru_order(bias[0], units), _gru_order(bias[1], units)
    params = _weights(_gru_order(kernel, units), _gru_order(recurrent_kernel, units), bias_ih, bias_hh)
    return _run(
        torch.gru, inputs, [initial_h], params, bias is not None, mask, go_backwards, return_sequences,
        zero_output_for_mask,
    )  # fmt: skip


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
    """Keras's SimpleRNN with a tanh or relu activation on `torch.rnn_tanh` / `torch.rnn_relu`.

    Returns `(last_output, outputs or None, [h])`.

    Example:
        >>> last, outputs, (h,) = simple_rnn(x, h0, None, kernel, recurrent_kernel, bias)
    """
    kernels = {"tanh": torch.rnn_tanh, "relu": torch.rnn_relu}
    if activation not in kernels:
        raise NotImplementedError(f"torch has no fused RNN kernel for activation {activation!r}")
    params = _weights(kernel, recurrent_kernel, bias, None)
    return _run(
        kernels[activation], inputs, [initial_h], params, bias is not None, mask, go_backwards, return_sequences,
        zero_output_for_mask,
    )  # fmt: skip


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
    """The JAX engine's ConvLSTM scan; torch has no fused ConvLSTM kernel, so this raises NotImplementedError.

    The layer then runs `rnn`, whose eager loop already convolves every step at full speed.

    Example:
        >>> conv_lstm(x, h0, c0, None, kernel, recurrent_kernel, bias)  # raises NotImplementedError
    """
    raise NotImplementedError("torch has no fused ConvLSTM kernel; the layer runs its step loop.")
