"""The base of the built-in recurrent cells: shared arguments, per-sequence dropout masks, a step split in two.

A built-in cell's step is split into an input projection (`inputs @ kernel +
bias`, which does not depend on the state) and a recurrent part. The RNN layer
projects the whole sequence with one matmul before the loop, and the loop over
time (`ops.rnn`: one `lax.scan` on JAX) only does the recurrent matmul.
Dropout masks are drawn once per sequence, before the loop, as Keras draws them:
every time step of a sequence drops the same units.
"""

from __future__ import annotations

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.backend.common import SeedGenerator
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def check_cell_arguments(owner: str, units, dropout, recurrent_dropout) -> None:
    """ValueError naming `owner` (a layer) and the argument, for a bad `units` or dropout rate."""
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"{owner}: units must be a positive integer, got {units!r}.")
    for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{owner}: {name} must be a number in [0, 1], got {value!r}.")


class DropoutRNNCell(Layer):
    """A recurrent cell with Keras's arguments and per-sequence dropout (SimpleRNNCell, GRUCell, LSTMCell).

    Subclasses set `gates` (how many blocks of `units` columns the kernels have),
    build their weights, and write `_step(projected_t, states, masks)`.

    Example:
        >>> cell = LSTMCell(4)
        >>> output, (h, c) = cell(np.ones((2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
    """

    gates = 1

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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        kwargs.pop("implementation", None)  # Keras 2's choice of kernel layout: one computation here
        super().__init__(**kwargs)
        check_cell_arguments(f'Layer "{self.name}"', units, dropout, recurrent_dropout)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        if self.dropout or self.recurrent_dropout:
            self.seed_generator = SeedGenerator(seed)
        self.state_size = units
        self.output_size = units

    # ------------------------------------------------------------------ weights
    def _add_kernels(self, input_dim: int) -> None:
        width = self.gates * self.units
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )

    def _add_bias(self, shape, initializer=None) -> None:
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=shape,
                initializer=initializer or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _input_dim(self, input_shape) -> int:
        last = input_shape[-1]
        if last is None:
            raise ValueError(f'Layer "{self.name}" needs a known last input dimension, got shape {input_shape}.')
        return int(last)

    # ------------------------------------------------------------------ dropout
    def _draw_mask(self, shape, rate):
        return ops.random.dropout(ops.ones(shape, dtype=self.compute_dtype), rate, seed=self.seed_generator)

    def get_dropout_mask(self, step_input):
        """A new dropout mask shaped like `step_input` (values 0 or 1/(1 - dropout)), or None without dropout."""
        if not 0.0 < self.dropout < 1.0:
            return None
        return self._draw_mask(tuple(step_input.shape), self.dropout)

    def get_recurrent_dropout_mask(self, step_state):
        """A new mask for the recurrent state shaped like `step_state`, or None without recurrent dropout."""
        if not 0.0 < self.recurrent_dropout < 1.0:
            return None
        return self._draw_mask(tuple(step_state.shape), self.recurrent_dropout)

    def reset_dropout_mask(self) -> None:
        """Keras API: masks are not cached here (each sequence draws its own), so there is nothing to reset."""

    def reset_recurrent_dropout_mask(self) -> None:
        """Keras API: see `reset_dropout_mask`."""

    def _dropout_masks(self, batch_size: int, training) -> tuple:
        """(input mask, recurrent mask) for one batch of sequences; None where there is no dropout."""
        if not training:
            return (None, None)
        input_mask = recurrent_mask = None
        if 0.0 < self.dropout < 1.0:
            input_mask = self._draw_mask((batch_size, self.kernel.shape[0]), self.dropout)
        if 0.0 < self.recurrent_dropout < 1.0:
            recurrent_mask = self._draw_mask((batch_size, self.units), self.recurrent_dropout)
        return (input_mask, recurrent_mask)

    # ------------------------------------------------------------------ compute
    def _input_bias(self):
        return None if self.bias is None else self.bias.value

    def _project(self, inputs, masks):
        """`inputs @ kernel + bias` for (batch, features) or (batch, time, features) inputs, after input dropout."""
        input_mask = masks[0]
        if input_mask is not None:
            inputs = inputs * (input_mask if inputs.ndim == 2 else ops.expand_dims(input_mask, 1))
        projected = ops.matmul(inputs, self.kernel.value)
        bias = self._input_bias()
        return projected if bias is None else projected + bias

    def _step(self, projected, states, masks):
        raise NotImplementedError

    def call(self, inputs, states, training=None):
        """One time step: `(output, new_states)`; `states` is a list (or one tensor for one-state cells)."""
        nested = isinstance(states, (list, tuple))
        state_list = [ops.convert_to_tensor(s) for s in (states if nested else [states])]
        masks = self._dropout_masks(inputs.shape[0], training)
        output, new_states = self._step(self._project(inputs, masks), state_list, masks)
        return output, (new_states if nested else new_states[0])

    def get_initial_state(self, batch_size=None):
        """Zeros for every state: a list of (batch_size, units) tensors."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "recurrent_initializer": serialize_object(self.recurrent_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
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
