"""GRUCell and GRU: the gated recurrent unit, Keras's gate layout (z, r, h) and both reset-gate placements."""

from __future__ import annotations

from lamina import activations, ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent.dropout_rnn_cell import DropoutRNNCell, check_cell_arguments
from lamina.layers.recurrent.rnn import RNN, delegate_to_cell, try_fused

_CELL_ARGUMENTS = (
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed",
)  # fmt: skip


class GRUCell(DropoutRNNCell):
    """The cell behind GRU. State and output: `h`.

    Args:
        units: size of the output and the state.
        activation: default tanh. recurrent_activation: the gates' activation, default sigmoid.
        use_bias: default True.
        reset_after: apply the reset gate after the recurrent matmul (default True, the form
            torch and cuDNN compute; the bias is then (2, 3 units): input bias, recurrent bias).
            False gives the original GRU, with a (3 units,) bias.
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        *_regularizer, *_constraint: for kernel, recurrent_kernel and bias.
        dropout, recurrent_dropout: fractions of the inputs / of the state dropped in training
            (one mask per sequence). seed: the dropout seed.

    Example:
        >>> cell = GRUCell(4)
        >>> output, [h] = cell(np.ones((2, 3)), [np.zeros((2, 4))])
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def build(self, input_shape):
        self._add_kernels(self._input_dim(input_shape))
        self._add_bias((2, 3 * self.units) if self.reset_after else (3 * self.units,))
        self.built = True

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _step(self, projected, states, masks):
        h = states[0]
        h_dropped = h if masks[1] is None else h * masks[1]
        u = self.units
        recurrent_kernel = self.recurrent_kernel.value
        gate = self.recurrent_activation
        if self.reset_after:
            inner = ops.matmul(h_dropped, recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias.value[1]
            z = gate(projected[:, :u] + inner[:, :u])
            r = gate(projected[:, u : 2 * u] + inner[:, u : 2 * u])
            candidate = self.activation(projected[:, 2 * u :] + r * inner[:, 2 * u :])
        else:
            inner = ops.matmul(h_dropped, recurrent_kernel[:, : 2 * u])
            z = gate(projected[:, :u] + inner[:, :u])
            r = gate(projected[:, u : 2 * u] + inner[:, u:])
            candidate = self.activation(projected[:, 2 * u :] + ops.matmul(r * h_dropped, recurrent_kernel[:, 2 * u :]))
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


@delegate_to_cell(_CELL_ARGUMENTS)
class GRU(RNN):
    """Gated recurrent unit: Keras's GRU layer.

    Takes GRUCell's arguments and RNN's (`return_sequences`, `return_state`,
    `go_backwards`, `stateful`, `unroll`). Its weights are `kernel` (input, 3 units),
    `recurrent_kernel` (units, 3 units) and `bias` ((2, 3 units) with `reset_after=True`),
    gates in the order z, r, h (paths `gru/gru_cell/kernel`, ...). On torch, the default
    activations with `reset_after=True` and no recurrent dropout run `torch.gru`.

    Example:
        >>> GRU(4, reset_after=False)(np.ones((2, 5, 3))).shape
        (2, 4)
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
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        owner = f"{type(self).__name__} layer {kwargs.get('name') or ''}".strip()  # before it has its name
        check_cell_arguments(owner, units, dropout, recurrent_dropout)
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            reset_after=reset_after, name="gru_cell", dtype=kwargs.get("dtype"),
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
        if masks[1] is not None or not default or not cell.reset_after:
            return None
        if masks[0] is not None:
            sequences = sequences * ops.expand_dims(masks[0], 1)
        return try_fused(
            ops.gru, sequences, states[0], mask, cell.kernel.value, cell.recurrent_kernel.value,
            None if cell.bias is None else cell.bias.value, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask,
        )  # fmt: skip

    def get_config(self) -> dict:
        return self._cell_layer_config(_CELL_ARGUMENTS)
