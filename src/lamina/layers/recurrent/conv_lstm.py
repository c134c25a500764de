"""ConvLSTMCell and ConvLSTM1D/2D/3D: an LSTM whose input and recurrent transforms are convolutions.

The cell follows Keras 3's ConvLSTMCell: a kernel `(*kernel_size, channels, 4 * filters)` and a recurrent
kernel `(*kernel_size, filters, 4 * filters)`, gates in the LSTM's order (i, f, c, o); the input convolution
uses the layer's strides, padding and dilation, the recurrent one stride 1 and "same" padding, so the states
keep the shape of the first step's output.

As the other built-in cells do (`DropoutRNNCell`), the step is split in two: the input convolution does not
depend on the state, so the layer convolves every time step at once (time folded into the batch) before the
loop, and the loop (`ops.rnn`) only runs the recurrent convolution. With dropout, each gate gets its own
input mask and its own recurrent mask, drawn once per sequence, as in Keras 3. Without dropout, masks and
with the default activations, the layer first tries `ops.conv_lstm`: on JAX a scan with a hand-written
backward pass (autodiff of the scan is about 25x slower on XLA:CPU); torch declines it and runs the loop.
"""

from __future__ import annotations

import numpy as np

from lamina import activations, config, constraints, initializers, ops, regularizers
from lamina.backend import Variable
from lamina.backend.common import SeedGenerator
from lamina.layers.convolutional.base_conv import (
    check_strides_and_dilation,
    normalize_padding,
    normalize_tuple,
    positive_int,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent.lstm import _ForgetGateOnes
from lamina.layers.recurrent.rnn import RNN, delegate_to_cell, try_fused
from lamina.saving.serialization import serialize_object

_CELL_ARGUMENTS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
    "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
)  # fmt: skip

_SPATIAL_NAMES = {1: ("steps",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}


def _check_rate(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}: {name} must be a number in [0, 1], got {value!r}.")
    return float(value)


def conv_output_length(length: int, kernel: int, stride: int, padding: str, dilation: int) -> int:
    """The length of one spatial axis after a convolution ("valid" or "same").

    Example:
        >>> conv_output_length(10, 3, 2, "valid", 1)
        4
    """
    if padding == "same":
        return -(-length // stride)
    return max(0, (length - dilation * (kernel - 1) - 1) // stride + 1)


class ConvLSTMCell(Layer):
    """The cell behind ConvLSTM1D/2D/3D. States: `[h, c]`, each shaped like one step's output; output: `h`.

    Args:
        rank: 1, 2 or 3, the number of spatial axes.
        filters: the number of output channels (of `h` and `c`).
        kernel_size, strides, dilation_rate: an int or `rank` ints (strides > 1 and dilation > 1 exclude
            each other). They apply to the input convolution; the recurrent one has stride 1.
        padding: "valid" or "same" (the input convolution; the recurrent one is always "same").
        data_format: "channels_last" (batch, ..., channels) or "channels_first" (batch, channels, ...).
        activation: default tanh. recurrent_activation: the gates' activation, default sigmoid.
        use_bias, unit_forget_bias: as LSTMCell's (the forget gate's bias starts at 1).
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        *_regularizer, *_constraint: for kernel, recurrent_kernel and bias.
        dropout, recurrent_dropout: fractions of the inputs / of `h` dropped in training, with one mask per
            gate and per sequence. seed: the dropout seed.

    Example:
        >>> cell = ConvLSTMCell(2, filters=4, kernel_size=3, padding="same")
        >>> h, [h, c] = cell(np.ones((2, 8, 8, 3)), [np.zeros((2, 8, 8, 4)), np.zeros((2, 8, 8, 4))])
    """

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f'Layer "{self.name}"'
        if rank not in (1, 2, 3):
            raise ValueError(f"{owner}: rank must be 1, 2 or 3, got {rank!r}.")
        self.rank = rank
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        check_strides_and_dilation(self.strides, self.dilation_rate, self.name)
        self.padding = normalize_padding(padding, self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _check_rate(owner, "dropout", dropout)
        self.recurrent_dropout = _check_rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        if self.dropout or self.recurrent_dropout:
            self.seed_generator = SeedGenerator(seed)
        self.state_size = [self.filters, self.filters]  # channels of h and c (Keras 2's convention)
        self.output_size = self.filters
        self.input_spec = InputSpec(ndim=rank + 2)

    # ------------------------------------------------------------------ shapes
    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def _with_channels(self, spatial, channels) -> tuple:
        return (*spatial, channels) if self.data_format == "channels_last" else (channels, *spatial)

    def state_shape(self) -> tuple:
        """The shape of `h` and `c` without the batch axis (the input convolution's output shape)."""
        spatial = [
            conv_output_length(n, k, s, self.padding, d)
            for n, k, s, d in zip(self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate)
        ]
        return self._with_channels(spatial, self.filters)

    # -------------------------------------------------------------------- build
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f'Layer "{self.name}" expects {self.rank + 2}-D step inputs (batch, '
                f"{', '.join(self._with_channels(_SPATIAL_NAMES[self.rank], 'channels'))}), got shape {input_shape}."
            )
        self.spatial_dims = self._spatial(input_shape)
        channels = input_shape[self._channel_axis]
        if None in self.spatial_dims or channels is None:
            raise ValueError(
                f'Layer "{self.name}" needs known spatial sizes and channels, got input shape {input_shape}.'
            )
        self.input_dim = int(channels)
        width = 4 * self.filters
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.input_dim, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(*self.kernel_size, self.filters, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            forget_ones = _ForgetGateOnes(self.bias_initializer, self.filters) if self.unit_forget_bias else None
            self.bias = self.add_weight(
                name="bias",
                shape=(width,),
                initializer=forget_ones or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.built = True

    # ------------------------------------------------------------------ dropout
    def _gate_masks(self, shape, rate):
        if not 0.0 < rate < 1.0:
            return None
        ones = ops.ones(shape, dtype=self.compute_dtype)
        return [ops.random.dropout(ones, rate, seed=self.seed_generator) for _ in range(4)]

    def _dropout_masks(self, batch_size: int, training) -> tuple:
        """(4 input masks, 4 recurrent masks) for one batch of sequences; None where there is no dropout."""
        if not training:
            return (None, None)
        input_shape = (batch_size, *self._with_channels(self.spatial_dims, self.input_dim))
        return (
            self._gate_masks(input_shape, self.dropout),
            self._gate_masks((batch_size, *self.state_shape()), self.recurrent_dropout),
        )

    # ------------------------------------------------------------------ compute
    def _add_bias(self, z, bias):
        if self.data_format == "channels_last":
            return z + bias
        return z + ops.reshape(bias, (1, -1) + (1,) * self.rank)

    def _input_conv(self, x, kernel):
        return ops.conv(
            x,
            kernel,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )

    def _recurrent_conv(self, h, kernel):
        return ops.conv(h, kernel, strides=1, padding="same", data_format=self.data_format)

    def _per_gate(self, conv, inputs, kernel, masks):
        """The four gates' convolutions concatenated on the channel axis: one convolution without masks."""
        if masks is None:
            return conv(inputs, kernel)
        f = self.filters
        parts = [conv(inputs * mask, kernel[..., g * f : (g + 1) * f]) for g, mask in enumerate(masks)]
        return ops.concatenate(parts, axis=self._channel_axis)

    def _project(self, inputs, masks):
        """The input convolution of one step (batch, ...) or of a whole sequence (batch, time, ...)."""
        input_masks = masks[0]
        kernel = self.kernel.value
        if inputs.ndim == self.rank + 2:
            z = self._per_gate(self._input_conv, inputs, kernel, input_masks)
        else:  # fold time into the batch: one convolution over every step
            steps = inputs.shape[1]
            if input_masks is not None:
                input_masks = [ops.expand_dims(mask, 1) for mask in input_masks]
                folded = [ops.reshape(inputs * mask, (-1, *inputs.shape[2:])) for mask in input_masks]
                f = self.filters
                parts = [self._input_conv(x, kernel[..., g * f : (g + 1) * f]) for g, x in enumerate(folded)]
                z = ops.concatenate(parts, axis=self._channel_axis)
            else:
                z = self._input_conv(ops.reshape(inputs, (-1, *inputs.shape[2:])), kernel)
            z = ops.reshape(z, (-1, steps, *z.shape[1:]))
        return z if self.bias is None else self._add_bias(z, self.bias.value)

    def _step(self, projected, states, masks):
        h, c = states[0], states[1]
        z = projected + self._per_gate(self._recurrent_conv, h, self.recurrent_kernel.value, masks[1])
        gate = self.recurrent_activation
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=self._channel_axis)  # one backward node, not four slices
        i, f, o = gate(z_i), gate(z_f), gate(z_o)
        c = f * c + i * self.activation(z_c)
        h = o * self.activation(c)
        return h, [h, c]

    def call(self, inputs, states, training=None):
        """One time step: `(h, [h, c])`."""
        states = [ops.convert_to_tensor(s) for s in states]
        masks = self._dropout_masks(inputs.shape[0], training)
        return self._step(self._project(inputs, masks), states, masks)

    def get_initial_state(self, batch_size=None):
        """Zeros for `h` and `c`: (batch_size, *state_shape()) each."""
        shape = (batch_size, *self.state_shape())
        return [ops.zeros(shape, dtype=self.compute_dtype), ops.zeros(shape, dtype=self.compute_dtype)]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "recurrent_initializer": serialize_object(self.recurrent_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": serialize_object(self.kernel_regularizer),
            "recurrent_regularizer": serialize_object(self.recurrent_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "kernel_constraint": serialize_object(self.kernel_constraint),
            "recurrent_constraint": serialize_object(self.recurrent_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


@delegate_to_cell(_CELL_ARGUMENTS)
class ConvLSTM(RNN):
    """The base of ConvLSTM1D/2D/3D (subclasses set `rank`): Keras's convolutional LSTM layer.

    Takes ConvLSTMCell's arguments and RNN's (`return_sequences`, `return_state`, `go_backwards`,
    `stateful`, `unroll`). Inputs are (batch, time, *spatial, channels) (channels_last) or
    (batch, time, channels, *spatial) (channels_first). Weights: `kernel`, `recurrent_kernel`, `bias`
    (paths `conv_lstm2d/conv_lstm_cell/kernel`, ...), as Keras 3 names and orders them.
    """

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
        **kwargs,
    ):
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
        )  # fmt: skip
        super().__init__(
            cell, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, activity_regularizer=activity_regularizer, **kwargs,
        )  # fmt: skip
        self.input_spec = None  # build() checks the rank, naming the axes it expects

    def build(self, sequences_shape, initial_state_shape=None):
        shape = sequences_shape
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            shape = shape[0]  # Keras 2's [inputs, *initial_states]
        if len(shape) != self.rank + 3:
            axes = ", ".join(self.cell._with_channels(_SPATIAL_NAMES[self.rank], "channels"))
            raise ValueError(
                f'Input 0 of layer "{self.name}" expects {self.rank + 3}-D sequences (batch, time, {axes}) '
                f"({self.cell.data_format}), got shape {tuple(shape)} ({len(shape)} dimensions)."
            )
        super().build(sequences_shape, initial_state_shape)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def _create_state_variables(self, batch_size) -> None:
        if batch_size is None:
            super()._create_state_variables(batch_size)  # its error: a stateful layer needs a batch size
        for _ in range(2):
            variable = Variable(
                np.zeros((batch_size, *self.cell.state_shape())), dtype=self.dtype, trainable=False, name="rnn_state"
            )
            variable.path = f"{self.name}/rnn_state"
            self._state_variables.append(variable)

    @staticmethod
    def _time_mask(mask):
        """A (batch, time) mask: `Masking` gives (batch, time, *spatial) for these inputs; a step is kept
        where any of its positions is, as `Masking` skips a step only when all of its values are masked."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask = ops.convert_to_tensor(mask)
        return mask if mask.ndim <= 2 else ops.any(mask, axis=tuple(range(2, mask.ndim)))

    def call(self, sequences, initial_state=None, mask=None, training=None):
        return super().call(sequences, initial_state=initial_state, mask=self._time_mask(mask), training=training)

    def compute_mask(self, inputs, mask=None):
        return super().compute_mask(inputs, self._time_mask(mask))

    def _fused_loop(self, sequences, states, mask, masks):
        """The engine's ConvLSTM scan (JAX: a hand-written backward pass) for the default activations
        without dropout masks; None where it does not apply."""
        cell = self.cell
        default = cell.activation is activations.tanh and cell.recurrent_activation is activations.sigmoid
        if masks[0] is not None or masks[1] is not None or not default:
            return None
        return try_fused(
            ops.conv_lstm, sequences, states[0], states[1], mask, cell.kernel.value, cell.recurrent_kernel.value,
            None if cell.bias is None else cell.bias.value, strides=cell.strides, padding=cell.padding,
            dilation_rate=cell.dilation_rate, data_format=cell.data_format, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask,
        )  # fmt: skip

    def _initial_output(self, states):
        return states[0]  # h: what a masked first step repeats, as in Keras

    def get_config(self) -> dict:
        return self._cell_layer_config(_CELL_ARGUMENTS)


class ConvLSTM1D(ConvLSTM):
    """A 1-D convolutional LSTM: inputs (batch, time, steps, channels).

    Example:
        >>> ConvLSTM1D(4, 3, padding="same")(np.ones((2, 5, 10, 3))).shape
        (2, 10, 4)
    """

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """A 2-D convolutional LSTM (Shi et al., 2015): inputs (batch, time, rows, cols, channels).

    Example:
        >>> ConvLSTM2D(4, 3, padding="same", return_sequences=True)(np.ones((2, 5, 8, 8, 3))).shape
        (2, 5, 8, 8, 4)
    """

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """A 3-D convolutional LSTM: inputs (batch, time, depth, rows, cols, channels).

    Example:
        >>> ConvLSTM3D(2, 3, padding="same")(np.ones((1, 3, 4, 4, 4, 1))).shape
        (1, 4, 4, 4, 2)
    """

    rank = 3


class ConvLSTM2DCell(ConvLSTMCell):
    """Keras 2's `ConvLSTM2DCell`: the cell of ConvLSTM2D, taking Keras 2's arguments (no `rank`).

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, ...: as ConvLSTMCell's,
            with `rank` 2. The gates default to a true sigmoid, as lamina's other cells do.

    Example:
        >>> cell = ConvLSTM2DCell(4, 3, padding="same")
        >>> h, [h, c] = cell(np.ones((2, 8, 8, 3)), [np.zeros((2, 8, 8, 4)), np.zeros((2, 8, 8, 4))])
    """

    def __init__(self, filters, kernel_size, **kwargs):
        rank = kwargs.pop("rank", 2)  # a config written by ConvLSTMCell
        if rank != 2:
            raise ValueError(f"ConvLSTM2DCell: rank must be 2, got {rank!r}; use ConvLSTMCell for other ranks.")
        super().__init__(2, filters, kernel_size, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("rank")
        return config
