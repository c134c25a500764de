"""SimpleRNNCell and SimpleRNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`."""

from __future__ import annotations

from lamina import activations, ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent.dropout_rnn_cell import DropoutRNNCell, check_cell_arguments
from lamina.layers.recurrent.rnn import RNN, delegate_to_cell, try_fused

_CELL_ARGUMENTS = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
)  # fmt: skip


class SimpleRNNCell(DropoutRNNCell):
    """The fully connected recurrent cell behind SimpleRNN.

    Args:
        units: size of the output and the state.
        activation: default tanh. use_bias: default True.
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        *_regularizer, *_constraint: for kernel, recurrent_kernel and bias.
        dropout, recurrent_dropout: fractions of the inputs / of the state dropped in training
            (one mask per sequence). seed: the dropout seed.

    Example:
        >>> cell = SimpleRNNCell(4)
        >>> output, [h] = cell(np.ones((2, 3)), [np.zeros((2, 4))])
    """

    def build(self, input_shape):
        self._add_kernels(self._input_dim(input_shape))
        self._add_bias((self.units,))
        self.built = True

    def _step(self, projected, states, masks):
        previous = states[0]
        if masks[1] is not None:
            previous = previous * masks[1]
        output = self.activation(projected + ops.matmul(previous, self.recurrent_kernel.value))
        return output, [output]


@delegate_to_cell(_CELL_ARGUMENTS)
class SimpleRNN(RNN):
    """A fully connected RNN whose output is fed back as its input: Keras's SimpleRNN.

    Takes SimpleRNNCell's arguments and RNN's (`return_sequences`, `return_state`,
    `go_backwards`, `stateful`, `unroll`). Its weights are `kernel`,
    `recurrent_kernel`, `bias` (paths `simple_rnn/simple_rnn_cell/kernel`, ...).

    Example:
        >>> SimpleRNN(4, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
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
        **kwargs,
    ):
        owner = f"{type(self).__name__} layer {kwargs.get('name') or ''}".strip()  # before it has its name
        check_cell_arguments(owner, units, dropout, recurrent_dropout)
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="simple_rnn_cell",
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
        )  # fmt: skip
        kwargs.pop("implementation", None)
        super().__init__(
            cell, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer, **kwargs,
        )  # fmt: skip
        self.input_spec = InputSpec(ndim=3)

    def _fused_loop(self, sequences, states, mask, masks):
        cell = self.cell
        if masks[1] is not None or cell.activation not in (activations.tanh, activations.relu):
            return None
        if masks[0] is not None:
            sequences = sequences * ops.expand_dims(masks[0], 1)
        return try_fused(
            ops.simple_rnn, sequences, states[0], mask, cell.kernel.value, cell.recurrent_kernel.value,
            None if cell.bias is None else cell.bias.value, activation=activations.serialize(cell.activation),
            go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
        )  # fmt: skip

    def get_config(self) -> dict:
        return self._cell_layer_config(_CELL_ARGUMENTS)
