"""Wrapper: the base of layers that wrap one other layer (Keras's `layers.Wrapper`)."""

from __future__ import annotations

from lamina.layers.layer import Layer


class Wrapper(Layer):
    """A layer that holds another layer, `self.layer`, and saves it inside its own config.

    Subclasses write `build` and `call` around `self.layer`; `get_config` and `from_config`
    carry the wrapped layer's config as Keras does (`{"layer": {"class_name": ..., "config": ...}}`).

    Args:
        layer: the layer to wrap (an instance).

    Example:
        >>> class Twice(Wrapper):
        ...     def call(self, inputs):
        ...         return self.layer(self.layer(inputs))
        >>> Twice(Dense(3))(np.ones((2, 3))).shape
        (2, 3)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(
                f'Layer "{self.name}": {type(self).__name__} wraps a layer instance, '
                f"got {type(layer).__name__}: {layer!r:.80}."
            )
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
            for variable in self.layer.weights:  # Keras builds the wrapped layer inside the wrapper's scope
                variable.path = f"{self.name}/{self.layer.name}/{variable.name}"
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return self.layer(inputs, *args, **kwargs)

    def get_config(self) -> dict:
        from lamina.saving.object_registration import _builtin_layers
        from lamina.saving.serialization import serialize_layer

        inner = serialize_layer(self.layer)
        if _builtin_layers().get(type(self.layer).__name__) is type(self.layer):
            inner = {"module": "keras.layers", **inner, "registered_name": None}  # Keras 3 reads these keys
        return {**super().get_config(), "layer": inner}

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """The wrapper from its config, re-creating the wrapped layer from the nested config.

        Example:
            >>> SpectralNormalization.from_config({"layer": {"class_name": "Dense", "config": {"units": 2}}})
        """
        from lamina.saving.serialization import clean_layer_config, deserialize_layer

        config_dict = dict(config_dict)
        inner = config_dict.pop("layer", None)
        if not isinstance(inner, dict):
            raise ValueError(
                f"The config of a {cls.__name__} layer needs 'layer', a serialized layer dict; got {inner!r:.100}."
            )
        layer = deserialize_layer(inner, custom_objects=custom_objects)
        return cls(layer, **clean_layer_config(cls, config_dict, custom_objects))
