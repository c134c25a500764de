"""StackedRNNCells: several recurrent cells run one after the other at each time step, as one cell."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer


class StackedRNNCells(Layer):
    """Cells stacked at each time step: cell k's output is cell k+1's input.

    `RNN([cell_a, cell_b])` makes one. The states are one list per cell
    (`[[h_a, c_a], [h_b]]` for an LSTMCell under a GRUCell).

    Args:
        cells: a list of RNN cells.

    Example:
        >>> layer = RNN(StackedRNNCells([LSTMCell(8), LSTMCell(4)]))
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError(f'Layer "{self.name}": StackedRNNCells needs at least one cell, got an empty list.')
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(
                    f'Layer "{self.name}": every cell needs a `call` method and a `state_size`; got {cell!r}.'
                )
        self.cells = cells

    @property
    def state_size(self) -> list:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        size = getattr(last, "output_size", None)
        if size is not None:
            return size
        return last.state_size[0] if isinstance(last.state_size, (list, tuple)) else last.state_size

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
                for variable in cell.weights:
                    variable.path = f"{self.name}/{variable.path}"
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
            input_shape = (input_shape[0], size)
        self.built = True

    def get_initial_state(self, batch_size=None):
        """One list of zero states per cell."""
        states = []
        for cell in self.cells:
            initial = getattr(cell, "get_initial_state", None)
            if initial is not None:
                state = initial(batch_size=batch_size)
                states.append(list(state) if isinstance(state, (list, tuple)) else [state])
            else:
                sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
                states.append([ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes])
        return states

    # ------------------------------------------------------------------ compute
    def _dropout_masks(self, batch_size: int, training) -> list:
        return [cell._dropout_masks(batch_size, training) if hasattr(cell, "_step") else None for cell in self.cells]

    def _project(self, inputs, masks):
        first = self.cells[0]
        return first._project(inputs, masks[0]) if hasattr(first, "_step") else inputs

    def _step(self, projected, states, masks, training=None):
        """One time step through every cell; `projected` is the first cell's projected input."""
        new_states = []
        output = projected
        for i, (cell, cell_states) in enumerate(zip(self.cells, states)):
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            if hasattr(cell, "_step"):
                step_input = output if i == 0 else cell._project(output, masks[i])
                output, cell_states = cell._step(step_input, cell_states, masks[i])
            else:
                kwargs = {"training": training} if getattr(cell, "_call_has_training", False) else {}
                output, cell_states = cell(output, cell_states, **kwargs)
                cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            new_states.append(list(cell_states))
        return output, new_states

    def call(self, inputs, states, training=None):
        """One time step: `(output, new_states)`, states as one list per cell."""
        masks = self._dropout_masks(inputs.shape[0], training)
        return self._step(self._project(inputs, masks), states, masks, training)

    def get_config(self) -> dict:
        from lamina.layers.recurrent.rnn import serialize_sublayer

        return {**super().get_config(), "cells": [serialize_sublayer(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """StackedRNNCells from its config: `cells` is a list of serialized cells."""
        from lamina.saving.serialization import clean_layer_config, deserialize_layer

        config_dict = dict(config_dict)
        cells = [deserialize_layer(cell, custom_objects) for cell in config_dict.pop("cells")]
        return cls(cells, **clean_layer_config(cls, config_dict, custom_objects))
