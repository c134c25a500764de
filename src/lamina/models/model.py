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
        if cls is Model and (args or "inputs" in kwargs or "input" in kwargs):  # Keras 1's Model(input=, output=)
            from lamina.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    _host_stage = None  # a model with string inputs: its layers on strings (lamina.models.host_stage)
    _autocast_layer = False  # under mixed precision each of its layers casts by its own policy, not the model

    def __init__(self, *args, **kwargs):
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self) -> list:
        """The model's layers, in order."""
        return list(self._layers)

    def _call_host_staged(self, args, kwargs):
        """A call of a model with string inputs: its host stage on raw inputs, then the numeric rest on the feed."""
        stage = self._host_stage
        feed = args[0] if stage.is_feed(args[0]) else stage.run(self._flat_inputs(args[0]))
        return self._run_call(stage.to_tensors(feed), *args[1:], **kwargs)

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

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ):
        """Prints a table of the layers, their output shapes and parameter counts, as tf.keras 2.x does.

        See `lamina.models.summary.print_summary` for the arguments.

        Example:
            >>> model.summary(expand_nested=True, show_trainable=True)
        """
        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    # ------------------------------------------------------------------ saving
    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A model from its config: a functional config re-creates the graph, else `cls(**config)`.

        Example:
            >>> clone = Model.from_config(model.get_config())
        """
        if isinstance(config, dict) and "layers" in config and "input_layers" in config:
            from lamina.saving.model_config import functional_from_config

            return functional_from_config(cls, config, custom_objects)
        from lamina.saving.object_registration import CustomObjectScope

        with CustomObjectScope(custom_objects or {}):
            return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture as a JSON string (Keras 2 form); `lamina.models.model_from_json` reads it back.

        Example:
            >>> same = lamina.models.model_from_json(model.to_json())
        """
        from lamina.saving.model_config import to_json

        return to_json(self, **kwargs)

    def to_yaml(self, **kwargs) -> str:
        """The architecture as YAML (safe_dump); `lamina.models.model_from_yaml` reads it back.

        Example:
            >>> same = lamina.models.model_from_yaml(model.to_yaml())
        """
        from lamina.saving.model_config import to_yaml

        return to_yaml(self, **kwargs)

    def save(self, filepath, overwrite=True, include_optimizer=True) -> None:
        """Saves architecture, weights, compile arguments and optimizer state to one file.

        A name ending in `.keras` gives Keras 3's zip format; any other name, the Keras HDF5 layout.

        Example:
            >>> model.save("my_model.keras")
            >>> model.save("my_model.h5")
            >>> model = lamina.models.load_model("my_model.h5")
        """
        from lamina.saving.hdf5 import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True) -> None:
        """Saves the weights to an HDF5 file (Keras 2 layout).

        Example:
            >>> model.save_weights("my_model_weights.h5")
        """
        from lamina.saving.hdf5 import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False) -> None:
        """Loads weights from an HDF5 file, by layer order or (`by_name=True`) by layer name.

        Example:
            >>> model.load_weights("my_model_weights.h5", by_name=True)
        """
        from lamina.saving.hdf5 import load_weights

        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def reset_states(self) -> None:
        """Resets the state of every stateful layer in the model."""
        for layer in self._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()
