"""Bidirectional: one recurrent layer reads the sequence forwards, a copy reads it backwards, outputs merged."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.recurrent.rnn import serialize_sublayer
from lamina.saving.serialization import serialize_layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed_copy(layer, name: str, **changes):
    """A new, unbuilt layer with `layer`'s config, another name and the given config changes."""
    from lamina.saving.serialization import deserialize_layer

    serialized = serialize_layer(layer)
    serialized["config"] = {**serialized["config"], **changes, "name": name}
    return deserialize_layer(serialized)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, then merges the two outputs.

    Args:
        layer: an RNN layer (LSTM, GRU, SimpleRNN, RNN). It is copied (named `forward_<name>`);
            the backward copy is named `backward_<name>`, so the weights are
            `forward_lstm/lstm_cell/kernel`, ..., then `backward_lstm/lstm_cell/kernel`, ... as in Keras.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both outputs).
        backward_layer: a layer to use for the backward direction (with `go_backwards=True`).

    With `return_sequences`, the backward outputs are flipped back to the input's time order
    before merging. With `return_state`, the states follow: forward ones, then backward ones.

    Example:
        >>> Bidirectional(LSTM(4, return_sequences=True))(np.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    _mask_needs_input_mask = True  # it passes its input's mask on (see masking_flow.makes_masks)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional needs a recurrent layer (LSTM, GRU, SimpleRNN, RNN), got {layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(_MERGE_MODES)}, got {merge_mode!r}.")
        super().__init__(**kwargs)
        forced = {"zero_output_for_mask": layer.return_sequences}  # Keras: padding outputs zeros both ways
        self.forward_layer = _renamed_copy(layer, f"forward_{_strip(layer.name, 'forward_')}", **forced)
        if backward_layer is None:
            name = f"backward_{_strip(layer.name, 'backward_')}"
            backward_layer = _renamed_copy(layer, name, go_backwards=not layer.go_backwards, **forced)
        elif not isinstance(backward_layer, Layer):
            raise ValueError(f'Layer "{self.name}": backward_layer must be a layer, got {backward_layer!r}.')
        self.backward_layer = backward_layer
        self._check_directions()
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self._initial_weights = None if weights is None else list(weights)

    def _check_directions(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                f'Layer "{self.name}": the forward and backward layers need different go_backwards, '
                f"got {forward.go_backwards} for both."
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(
                    f'Layer "{self.name}": the forward and backward layers need the same {attribute}, got '
                    f"{getattr(forward, attribute)} and {getattr(backward, attribute)}."
                )

    def build(self, sequences_shape, initial_state_shape=None):
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(sequences_shape)
                layer.built = True
            for variable in layer.weights:
                variable.path = f"{self.name}/{variable.path}"
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=0 if getattr(self.forward_layer, "time_major", False) else 1)
        output = self._merge(y, y_rev)
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        """The input's mask for sequence outputs (one per output with merge_mode=None); None for states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(self.forward_layer.states) + len(self.backward_layer.states)
            return masks + [None] * count
        return masks if self.merge_mode is None else output_mask

    # ------------------------------------------------------------------ states
    @property
    def states(self) -> list:
        return list(self.forward_layer.states) + list(self.backward_layer.states)

    def reset_states(self, states=None) -> None:
        """Resets both directions' states (to zeros, or to `states`: the forward ones, then the backward ones)."""
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" is not stateful: reset_states() needs stateful=True.')
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(list(states[:half]))
        self.backward_layer.reset_states(list(states[half:]))

    reset_state = reset_states  # Keras 3's name

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialize_sublayer(self.forward_layer),
            "backward_layer": serialize_sublayer(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """A Bidirectional layer from its config (`layer`, and `backward_layer` when Keras wrote one)."""
        from lamina.saving.serialization import clean_layer_config, deserialize_layer

        config_dict = dict(config_dict)
        layer = deserialize_layer(config_dict.pop("layer"), custom_objects)
        backward = config_dict.pop("backward_layer", None)
        if isinstance(backward, dict):
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **clean_layer_config(cls, config_dict, custom_objects))
