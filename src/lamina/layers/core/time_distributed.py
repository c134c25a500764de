"""TimeDistributed: applies one layer, with one set of weights, to every time step."""

from __future__ import annotations

from lamina import ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class TimeDistributed(Layer):
    """Applies `layer` to each slice `inputs[:, t]` of a `(batch, time, ...)` input.

    The steps are folded into the batch, so the inner layer runs once on `(batch * time, ...)`
    and its output is unfolded to `(batch, time, ...)`. The weights are the inner layer's;
    as in Keras 2's files they are named under the wrapper (`time_distributed/kernel`).

    Args:
        layer: the layer to apply (unbuilt, or built for the shape of one step).

    Example:
        >>> layer = TimeDistributed(Dense(8))
        >>> layer(np.ones((32, 10, 16))).shape
        (32, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(
                f'Layer "{self.name}": TimeDistributed wraps a layer instance, '
                f"got {type(layer).__name__}: {layer!r:.80}."
            )
        self.layer = layer
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError(
                f'Layer "{self.name}" expects inputs of shape (batch, time, ...) with at least 3 axes, '
                f"got {input_shape}."
            )
        if not self.layer.built:
            self.layer.build((input_shape[0], *input_shape[2:]))
            self.layer.built = True
            # Keras 2 builds the inner layer inside the wrapper's name scope: `time_distributed/kernel:0`.
            for variable in self.layer.weights:
                variable.path = f"{self.name}/{variable.name}"
        self.built = True

    def call(self, inputs, training=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = ops.reshape(inputs, (batch * steps, *inputs.shape[2:]))
        outputs = self.layer(folded, training=training)  # passed on only if the inner call takes it
        return ops.reshape(outputs, (batch, steps, *outputs.shape[1:]))

    def get_config(self) -> dict:
        from lamina.saving.object_registration import _builtin_layers
        from lamina.saving.serialization import serialize_layer

        inner = serialize_layer(self.layer)
        if _builtin_layers().get(type(self.layer).__name__) is type(self.layer):
            # Keras 3 re-creates the wrapped layer with its own deserializer, which needs to be told the
            # module of a built-in layer; Keras 2 ignores these keys.
            inner = {"module": "keras.layers", **inner, "registered_name": None}
        return {**super().get_config(), "layer": inner}

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """A TimeDistributed from its config, re-creating the inner layer from its nested config.

        Example:
            >>> TimeDistributed.from_config({"layer": {"class_name": "Dense", "config": {"units": 2}}})
        """
        from lamina.saving.serialization import clean_layer_config, deserialize_layer

        config_dict = dict(config_dict)
        inner = config_dict.pop("layer", None)
        if not isinstance(inner, dict):
            raise ValueError(
                f"The config of a TimeDistributed layer needs a 'layer' entry ({{'class_name', 'config'}}), "
                f"got {inner!r:.100}."
            )
        layer = deserialize_layer(inner, custom_objects)
        return cls(layer, **clean_layer_config(cls, config_dict, custom_objects))
