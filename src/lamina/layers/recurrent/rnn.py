"""RNN: runs a recurrent cell over the time axis, with masks, initial states and stateful batches.

The loop is `ops.rnn` (one `lax.scan` on JAX, inside the jitted step). Subclasses
(LSTM, GRU, SimpleRNN) may first try the engine's fused kernel (`_fused_loop`;
torch's own RNN kernels), which gives the same numbers.

Stateful layers keep their states in non-trainable Variables that are not
weights (`Layer._state_variables`): the JAX trainer threads them through its
jitted step like Dropout's seed state, and they are never saved (as in Keras 2).
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.backend import Variable
from lamina.layers.layer import Layer
from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells
from lamina.saving.serialization import serialize_layer, serialize_object
from lamina.utils import nest


def _as_list(size) -> list:
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _check_cell(cell) -> None:
    for attribute in ("call", "state_size"):
        if not hasattr(cell, attribute):
            raise ValueError(
                f"An RNN cell needs a `{attribute}` "
                f"({'method' if attribute == 'call' else 'attribute'}); got {type(cell).__name__}: {cell!r}."
            )


def delegate_to_cell(names):
    """A class decorator: `layer.units` (and each of `names`) reads the cell's, as on Keras's LSTM, GRU, SimpleRNN."""

    def decorate(cls):
        for name in names:
            setattr(cls, name, property(lambda self, name=name: getattr(self.cell, name), doc=f"The cell's {name}."))
        return cls

    return decorate


def serialize_sublayer(layer) -> dict:
    """A nested layer's `{"class_name", "config"}`, with Keras 3's `module` key for lamina's own layers.

    Keras 3 finds the class of a nested config (an RNN's `cell`, Bidirectional's `layer`) by its module;
    tf.keras 2.13+ writes the key too, so both read it.
    """
    entry = serialize_layer(layer)
    if ">" not in entry["class_name"] and type(layer).__module__.startswith("lamina.layers."):
        entry = {"module": "keras.layers", **entry, "registered_name": None}
    return entry


def try_fused(kernel, *args, **kwargs):
    """`kernel(*args, **kwargs)`, or None when the engine's fused kernel does not apply (NotImplementedError)."""
    try:
        return kernel(*args, **kwargs)
    except NotImplementedError:
        return None


class RNN(Layer):
    """A recurrent layer built from a cell (or a list of cells, stacked).

    Args:
        cell: an RNN cell (a layer with `call(inputs, states)` and `state_size`), or a list of them.
        return_sequences: return the output of every time step (batch, time, units), not just the last.
        return_state: also return the final states: `[output, *states]`.
        go_backwards: process the sequence last step first (outputs come in processing order).
        stateful: each sample's final states are the next batch's initial states (needs a fixed
            batch size: `batch_size=` or `batch_input_shape=` on the first layer, or `Input(batch_shape=)`).
        unroll: unroll the loop instead of `lax.scan` (faster for very short sequences, more memory).
        zero_output_for_mask: masked time steps output zeros instead of the previous output.
        time_major: (Keras 2) the inputs, the sequence outputs and their masks are (time, batch, ...).

    Call arguments:
        inputs: (batch, time, features). `initial_state`: a list of (batch, units) tensors.
        `mask`: (batch, time) booleans (models pass the one from `Embedding(mask_zero=True)` or
        `Masking`): a masked step keeps the states and repeats the previous output.

    Example:
        >>> layer = RNN([LSTMCell(8), GRUCell(4)], return_sequences=True)
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    _mask_needs_input_mask = True  # it passes a mask on, never starts one (see masking_flow.makes_masks)

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        # Keras 2's `time_major`: inputs, sequence outputs and their masks are (time, batch, ...).
        time_major = bool(kwargs.pop("time_major", False))
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.time_major = time_major
        self.supports_masking = True

    # ---------------------------------------------------------------- structure
    @property
    def state_size(self) -> list:
        """The cell's state sizes, as a list (nested for stacked cells)."""
        return _as_list(self.cell.state_size)

    @property
    def _output_size(self) -> int:
        size = getattr(self.cell, "output_size", None)
        return size if size is not None else nest.flatten(self.state_size)[0]

    def _state_template(self) -> list:
        """The nesting of the states the loop carries: one list per cell when stacked."""
        if isinstance(self.cell, StackedRNNCells):
            return [[None] * len(_as_list(cell.state_size)) for cell in self.cell.cells]
        return [None] * len(self.state_size)

    def _zero_states(self, batch_size: int) -> list:
        initial = getattr(self.cell, "get_initial_state", None)
        if initial is not None:
            flat = nest.flatten(initial(batch_size=batch_size))
        else:
            flat = [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in nest.flatten(self.state_size)]
        return nest.pack_like(self._state_template(), flat)

    # -------------------------------------------------------------------- build
    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, list) and sequences_shape and isinstance(sequences_shape[0], tuple):
            sequences_shape = sequences_shape[0]  # Keras 2's [inputs, *initial_states]
        if self.time_major and len(sequences_shape) >= 3:
            sequences_shape = (sequences_shape[1], sequences_shape[0], *sequences_shape[2:])
        if len(sequences_shape) < 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" expects sequences (batch, time, features), '
                f"got shape {sequences_shape}."
            )
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], *sequences_shape[2:]))
            self.cell.built = True
            for variable in self.cell.weights:
                variable.path = f"{self.name}/{variable.path}"  # Keras's lstm/lstm_cell/kernel
        if self.stateful and not self._state_variables:
            self._create_state_variables(sequences_shape[0])
        self.built = True

    def _create_state_variables(self, batch_size) -> None:
        if batch_size is None:
            raise ValueError(
                f'Layer "{self.name}" is stateful, so it needs a fixed batch size: pass batch_size= (or '
                "batch_input_shape=) to the first layer of the model, or use Input(batch_shape=...)."
            )
        for size in nest.flatten(self.state_size):
            variable = Variable(np.zeros((batch_size, size)), dtype=self.dtype, trainable=False, name="rnn_state")
            variable.path = f"{self.name}/rnn_state"
            self._state_variables.append(variable)

    # ----------------------------------------------------------------- states
    @property
    def states(self) -> list:
        """The state Variables of a stateful layer (as Keras 2's `layer.states`); Nones otherwise."""
        if self._state_variables:
            return list(self._state_variables)
        return [None] * len(nest.flatten(self.state_size))

    def reset_states(self, states=None) -> None:
        """Sets a stateful layer's states to zeros, or to `states` (a list of arrays, one per state).

        Example:
            >>> model.layers[0].reset_states()
            >>> lstm.reset_states(states=[np.ones((32, 8)), np.zeros((32, 8))])
        """
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" is not stateful: reset_states() needs stateful=True.')
        variables = self._state_variables
        if not variables:
            return  # not built yet: the states start at zero when it is
        if states is None:
            for variable in variables:
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
            return
        values = nest.flatten(states)
        if len(values) != len(variables):
            raise ValueError(
                f'Layer "{self.name}" has {len(variables)} state(s) of shapes {[v.shape for v in variables]}; '
                f"reset_states() got {len(values)} array(s)."
            )
        for i, (variable, value) in enumerate(zip(variables, values)):
            value = np.asarray(ops.convert_to_numpy(value))
            if value.shape != variable.shape:
                raise ValueError(
                    f'Layer "{self.name}": state {i} has shape {variable.shape}, reset_states() got an array '
                    f"of shape {value.shape}."
                )
            variable.assign(value)

    reset_state = reset_states  # Keras 3's name

    def _stateful_initial(self, batch_size):
        variables = self._state_variables
        expected = variables[0].shape[0]
        if batch_size is not None and batch_size != expected:
            raise ValueError(
                f'Layer "{self.name}" is stateful with batch size {expected}, but got a batch of {batch_size} '
                f"samples. A stateful RNN carries each sample's states to the same row of the next batch, so "
                f"every batch must have exactly {expected} samples (or rebuild the model with another batch_size)."
            )
        # `* 1` copies: torch writes the new states in place, and autograd still needs these values.
        return nest.pack_like(self._state_template(), [v.value * 1 for v in variables])

    def _initial_states(self, initial_state, batch_size):
        if initial_state is None:
            return self._stateful_initial(batch_size) if self.stateful else self._zero_states(batch_size)
        flat = [ops.convert_to_tensor(s, dtype=self.compute_dtype) for s in nest.flatten(initial_state)]
        expected = len(nest.flatten(self.state_size))
        if len(flat) != expected:
            raise ValueError(
                f'Layer "{self.name}" has {expected} state(s) (state_size={self.state_size}), but initial_state '
                f"has {len(flat)} tensor(s)."
            )
        return nest.pack_like(self._state_template(), flat)

    # ------------------------------------------------------------------ calling
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(sequences, (list, tuple)):  # Keras 2's [inputs, *initial_states]
            if initial_state is None and len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.time_major:
            sequences = ops.moveaxis(sequences, 0, 1)
            mask = None if mask is None else ops.moveaxis(mask, 0, 1)
        if self.unroll and sequences.shape[1] is None:
            raise ValueError(f'Layer "{self.name}": unroll=True needs a known number of time steps.')
        states = self._initial_states(initial_state, sequences.shape[0])
        last_output, outputs, states = self._loop(sequences, states, mask, training)
        if self.stateful:
            for variable, value in zip(self._state_variables, nest.flatten(states)):
                variable.assign(value)
        output = outputs if self.return_sequences else last_output
        if self.return_sequences and self.time_major:
            output = ops.moveaxis(output, 0, 1)
        if self.return_state:
            return [output, *states]
        return output

    def _loop(self, sequences, states, mask, training):
        """`(last_output, outputs or None, final states)` of the cell over the sequence."""
        cell = self.cell
        if not hasattr(cell, "_step"):
            return self._generic_loop(sequences, states, mask, training)
        masks = cell._dropout_masks(sequences.shape[0], training)
        if not self.unroll:
            fused = self._fused_loop(sequences, states, mask, masks)
            if fused is not None:
                return fused
        projected = cell._project(sequences, masks)
        return ops.rnn(
            lambda step_input, step_states: cell._step(step_input, step_states, masks),
            projected,
            states,
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
            initial_output=self._initial_output(states),
        )

    def _fused_loop(self, sequences, states, mask, masks):
        """The engine's fused kernel's `(last_output, outputs, states)`, or None where it does not apply."""
        return None

    def _generic_loop(self, sequences, states, mask, training):
        cell = self.cell
        kwargs = {"training": training} if getattr(cell, "_call_has_training", False) else {}

        def step(step_input, step_states):
            output, new_states = cell(step_input, step_states, **kwargs)
            return output, (list(new_states) if isinstance(new_states, (list, tuple)) else [new_states])

        return ops.rnn(
            step,
            sequences,
            states,
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
            initial_output=self._initial_output(states),
        )

    def _initial_output(self, states):
        """The output a masked first step repeats: the first state (the last cell's when stacked), as Keras."""
        first = states[-1][0] if isinstance(states[0], (list, tuple)) else states[0]
        if tuple(first.shape[1:]) == (self._output_size,):
            return first
        return ops.zeros((first.shape[0], self._output_size), dtype=self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        """The input's mask when returning sequences (None for the last output and for states)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask, *nest.map_structure(lambda _: None, self._state_template())]
        return output_mask

    # ------------------------------------------------------------------ config
    def _rnn_config(self) -> dict:
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            **({"time_major": True} if self.time_major else {}),  # Keras 3 has no time_major: it refuses the key
        }

    def _cell_layer_config(self, keys) -> dict:
        """The config of LSTM, GRU and SimpleRNN: RNN's flags plus the cell's arguments, flat."""
        cell_config = self.cell.get_config()
        return {
            **self._rnn_config(),
            **{key: cell_config[key] for key in keys},
            "activity_regularizer": serialize_object(self.activity_regularizer),
        }

    def get_config(self) -> dict:
        return {**self._rnn_config(), "cell": serialize_sublayer(self.cell)}

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """An RNN from its config; the `cell` entry is a serialized cell (or a list of them)."""
        from lamina.saving.serialization import clean_layer_config, deserialize_layer

        if "cell" not in config_dict:  # LSTM, GRU, SimpleRNN: the cell's arguments are in the config
            return super().from_config(config_dict)
        config_dict = dict(config_dict)
        cell = config_dict.pop("cell")
        if isinstance(cell, list):
            cell = [deserialize_layer(c, custom_objects) for c in cell]
        elif isinstance(cell, dict):
            cell = deserialize_layer(cell, custom_objects)
        return cls(cell, **clean_layer_config(cls, config_dict, custom_objects))
