"""Model: a Layer with training (fit/evaluate/predict), summary and layer lookup.

`Model(inputs, outputs)` builds a functional model; subclassing `Model` and
writing `call` gives a subclassed model, as in Keras.
"""

from __future__ import annotations

from lamina.layers.layer import Layer
from lamina.models.summary import print_summary
from lamina.trainers.trainer import Trainer


class Model(Trainer, Layer):
    """A trainable stack or graph of layers.

    Example:
        >>> inputs = lamina.Input(shape=(3,))
        >>> outputs = lamina.layers.Dense(2)(inputs)
        >>> model = lamina.Model(inputs, outputs)
        >>> model.compile("adam", "mse")
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            from lamina.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self) -> list:
        """The model's layers, in order."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by `name` or by `index` in `layers`.

        Example:
            >>> model.get_layer("dense_1")
        """
        if (name is None) == (index is None):
            raise ValueError("get_layer() needs exactly one of `name` or `index`.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f'Model "{self.name}" has {len(layers)} layers; index {index} is out of range.')
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f'No layer named "{name}" in model "{self.name}". Layers: {[lay.name for lay in layers]}.')

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def reset_states(self) -> None:
        """Resets the state of every stateful layer in the model."""
        for layer in self._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()
