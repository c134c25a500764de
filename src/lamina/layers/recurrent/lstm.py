"""LSTMCell and LSTM: Hochreiter & Schmidhuber's long short-term memory, Keras's gate layout (i, f, c, o)."""

from __future__ import annotations

import numpy as np

from lamina import activations, ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent.dropout_rnn_cell import DropoutRNNCell, check_cell_arguments
from lamina.layers.recurrent.rnn import RNN, delegate_to_cell, try_fused

_CELL_ARGUMENTS = (
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
)  # fmt: skip


class _ForgetGateOnes:
    """The LSTM bias initializer with `unit_forget_bias`: the forget gate's block is ones (Jozefowicz et al.)."""

    def __init__(self, initializer, units: int):
        self.initializer, self.units = initializer, units

    def __call__(self, shape, dtype="float32"):
        units = self.units
        parts = [
            np.asarray(ops.convert_to_numpy(self.initializer((units,), dtype))),
            np.ones((units,)),
            np.asarray(ops.convert_to_numpy(self.initializer((2 * units,), dtype))),
        ]
        return np.concatenate(parts).astype(dtype)


class LSTMCell(DropoutRNNCell):
    """The cell behind LSTM. States: `[h, c]`; output: `h`.

    Args:
        units: size of the output and of each state.
        activation: default tanh. recurrent_activation: the gates' activation, default sigmoid.
        use_bias: default True. unit_forget_bias: start the forget gate's bias at 1 (default True).
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        *_regularizer, *_constraint: for kernel, recurrent_kernel and bias.
        dropout, recurrent_dropout: fractions of the inputs / of the state dropped in training
            (one mask per sequence). seed: the dropout seed.

    Example:
        >>> cell = LSTMCell(4)
        >>> output, [h, c] = cell(np.ones((2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        self._add_kernels(self._input_dim(input_shape))
        initializer = _ForgetGateOnes(self.bias_initializer, self.units) if self.unit_forget_bias else None
        self._add_bias((4 * self.units,), initializer)
        self.built = True

    def _step(self, projected, states, masks):
        h, c = states[0], states[1]
        if masks[1] is not None:
            h = h * masks[1]
        z = projected + ops.matmul(h, self.recurrent_kernel.value)
        gate = self.recurrent_activation
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)  # one backward node, not four slices
        i, f, o = gate(z_i), gate(z_f), gate(z_o)
        c = f * c + i * self.activation(z_c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@delegate_to_cell(_CELL_ARGUMENTS)
class LSTM(RNN):
    """Long short-term memory: Keras's LSTM layer.

    Takes LSTMCell's arguments and RNN's (`return_sequences`, `return_state`,
    `go_backwards`, `stateful`, `unroll`). Its weights are `kernel` (input, 4 units),
    `recurrent_kernel` (units, 4 units) and `bias` (4 units), gates in the order
    i, f, c, o (paths `lstm/lstm_cell/kernel`, ...), so Keras's files load as they are.
    On torch, the default activations without recurrent dropout run `torch.lstm`.

    Example:
        >>> outputs, h, c = LSTM(4, return_sequences=True, return_state=True)(np.ones((2, 5, 3)))
        >>> outputs.shape, h.shape
        ((2, 5, 4), (2, 4))
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_cudnn="auto",
        **kwargs,
    ):
        owner = f"{type(self).__name__} layer {kwargs.get('name') or ''}".strip()  # before it has its name
        check_cell_arguments(owner, units, dropout, recurrent_dropout)
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
        )  # fmt: skip
        kwargs.pop("implementation", None)
        super().__init__(
            cell, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer, **kwargs,
        )  # fmt: skip
        self.input_spec = InputSpec(ndim=3)

    def _fused_loop(self, sequences, states, mask, masks):
        cell = self.cell
        default = cell.activation is activations.tanh and cell.recurrent_activation is activations.sigmoid
        if masks[1] is not None or not default:
            return None
        if masks[0] is not None:
            sequences = sequences * ops.expand_dims(masks[0], 1)
        return try_fused(
            ops.lstm, sequences, states[0], states[1], mask, cell.kernel.value, cell.recurrent_kernel.value,
            None if cell.bias is None else cell.bias.value, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask,
        )  # fmt: skip

    def get_config(self) -> dict:
        return self._cell_layer_config(_CELL_ARGUMENTS)
