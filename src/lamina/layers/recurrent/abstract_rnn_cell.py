"""AbstractRNNCell: tf-keras's base class for user-written RNN cells."""

from __future__ import annotations

from lamina.layers.layer import Layer


class AbstractRNNCell(Layer):
    """The base of an RNN cell: subclasses define `state_size`, `output_size` and `call(inputs, states)`.

    `call` returns `(output, new_states)`; `RNN(cell)` runs the cell over the time steps.
    `get_initial_state` gives zero states of `state_size`.

    Example:
        >>> class MinimalCell(AbstractRNNCell):
        ...     def __init__(self, units, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units = units
        ...     @property
        ...     def state_size(self):
        ...         return self.units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        ...     def call(self, inputs, states):
        ...         output = ops.matmul(inputs, self.kernel) + states[0]
        ...         return output, [output]
        >>> RNN(MinimalCell(4))(np.ones((2, 3, 5))).shape
        (2, 4)
    """

    def call(self, inputs, states):
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs, states).")

    @property
    def state_size(self):
        raise NotImplementedError(f"{type(self).__name__} must define the state_size property.")

    @property
    def output_size(self):
        """The size of the output; by default that of the first state."""
        size = self.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Zero states, one per entry of `state_size`, for a batch of `batch_size` (or `inputs`'s batch)."""
        from lamina import ops

        if batch_size is None and inputs is not None:
            batch_size = inputs.shape[0]
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        dtype = dtype or self.compute_dtype
        states = [ops.zeros((batch_size, *((s,) if isinstance(s, int) else tuple(s))), dtype=dtype) for s in sizes]
        return states if isinstance(self.state_size, (list, tuple)) else states[0]
