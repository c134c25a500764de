"""Sequential: a plain stack of layers, each feeding the next."""

from __future__ import annotations

import warnings

import numpy as np

from lamina.backend import KerasTensor, engine
from lamina.backend.common import is_float_dtype, standardize_dtype, unique_name
from lamina.layers.core.input_layer import InputLayer
from lamina.layers.layer import Layer, _call_context, structure_changed
from lamina.layers.masking_flow import call_with_mask, makes_masks, no_mask
from lamina.layers.string_tensors import is_text
from lamina.models import inference_folding
from lamina.models.host_stage import host_stage_for
from lamina.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Give the first layer `input_shape=` (or `input_dim=`, `batch_input_shape=`,
    `batch_size=`), or add an `Input()` first, and the model is built at once;
    otherwise it is built from the first data it sees.

    Example:
        >>> model = Sequential()
        >>> model.add(Dense(32, activation="relu", input_dim=784))
        >>> model.add(Dense(10, activation="softmax"))
        >>> len(model.layers)
        2
        >>> model.pop()
        >>> len(model.layers)
        1
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        object.__setattr__(self, "_input_layer", None)
        object.__setattr__(self, "_chain", [])  # the output tensor of each layer, once built
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ structure
    def add(self, layer) -> None:
        """Adds a layer on top of the stack (or an `Input()` at the bottom)."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError(f'Sequential model "{self.name}" can take an Input only before any other layer.')
            object.__setattr__(self, "_input_layer", layer)
            self._rebuild()
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() expects a Layer, got {type(layer).__name__}: {layer!r}.")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                f'All layers added to a Sequential model need unique names; "{layer.name}" is already in '
                f'model "{self.name}".'
            )
        if not self._layers and self._input_layer is None and _declared_input(layer) is not None:
            shape, dtype = _declared_input(layer)
            object.__setattr__(
                self, "_input_layer", InputLayer(batch_shape=shape, dtype=dtype, name=f"{layer.name}_input")
            )
        self._layers.append(layer)
        structure_changed()
        if self._input_layer is not None:
            if self._chain:
                self._chain.append(layer(self._chain[-1]))
                self.built = True
            else:
                self._rebuild()

    def pop(self) -> None:
        """Removes the last layer."""
        if not self._layers:
            raise IndexError(f'Sequential model "{self.name}" has no layers to pop.')
        layer = self._layers.pop()
        structure_changed()
        if self._chain:
            self._chain.pop()
            if layer._inbound_nodes:
                layer._inbound_nodes.pop()
        self.built = bool(self._chain) or (self._input_layer is not None and not self._layers)

    def _rebuild(self) -> None:
        tensor = self._input_layer.output
        chain = []
        for layer in self._layers:
            tensor = layer(tensor)
            chain.append(tensor)
        object.__setattr__(self, "_chain", chain)
        self.built = True

    def build(self, input_shape=None) -> None:
        """Builds the model for inputs of `input_shape` (batch dimension included)."""
        if self._input_layer is None:
            if input_shape is None:
                raise ValueError(f'Sequential model "{self.name}" needs an input shape to be built.')
            object.__setattr__(self, "_input_layer", InputLayer(batch_shape=(None, *tuple(input_shape)[1:])))
        self._rebuild()

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input(self):
        if self._input_layer is None:
            raise AttributeError(f'Sequential model "{self.name}" has no input yet: it is not built.')
        return self._input_layer.output

    @property
    def output(self):
        if not self._chain:
            if self._input_layer is not None and not self._layers:
                return self._input_layer.output
            raise AttributeError(f'Sequential model "{self.name}" has no output yet: it is not built.')
        return self._chain[-1]

    @property
    def inputs(self) -> list:
        return [self.input]

    @property
    def outputs(self) -> list:
        return [self.output]

    @property
    def input_names(self) -> list:
        return [self._input_layer.name] if self._input_layer is not None else []

    @property
    def output_names(self) -> list:
        return [self._layers[-1].name] if self._layers else []

    @property
    def input_shape(self):
        return self.input.shape

    @property
    def output_shape(self):
        return self.output.shape

    @property
    def _host_stage(self):
        """The leading layers on strings when the input is `Input(..., dtype="string")`, else None."""
        if self._input_layer is None or self._input_layer.dtype != "string" or not self._chain:
            return None
        cached = self.__dict__.get("_host_stage_cache")
        if cached is None or cached[0] is not self._chain[-1]:
            nodes = [t._keras_history[0]._inbound_nodes[t._keras_history[1]] for t in self._chain]
            stage = host_stage_for(self.name, [self._input_layer.output], self.input_names, nodes)
            cached = (self._chain[-1], stage)
            object.__setattr__(self, "_host_stage_cache", cached)
        return cached[1]

    def _build_for_strings(self, x) -> None:
        """Builds an unbuilt stack whose first layer takes strings, from string data (as Keras builds from data).

        Example:
            >>> model = Sequential([Hashing(num_bins=8), Embedding(8, 2)])
            >>> model.predict(np.array([["a cat"], ["dog"]]))  # the input becomes Input((1,), dtype="string")
        """
        if self.built or self._input_layer is not None or not self._layers or not self._layers[0].accepts_strings:
            return
        if is_text(x):
            shape = (None, *np.shape(x)[1:])
            object.__setattr__(self, "_input_layer", InputLayer(batch_shape=shape, dtype="string"))
            self._rebuild()

    # -------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if args and not isinstance(args[0], KerasTensor):
            if not self.built:
                self._build_for_strings(args[0])
            if self._host_stage is not None:
                return self._call_host_staged(args, kwargs)
        return super().__call__(*args, **kwargs)

    def _flat_inputs(self, inputs) -> list:
        return [inputs]

    def _maybe_build(self, inputs) -> None:
        if not self.built and self._input_layer is None:
            self.build(tuple(inputs.shape))

    def _check_inputs(self, inputs) -> None:
        stage = self._host_stage
        if stage is not None and stage.is_feed(inputs):
            return stage.check(inputs)
        if self._input_layer is None or not self._layers:
            return
        want = self._input_layer.batch_shape
        got = tuple(inputs.shape)
        if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
            raise ValueError(f'Input 0 of layer "{self._layers[0].name}" expects shape {want}, got {got}.')

    def _convert_input(self, value):
        tensor = super()._convert_input(value)
        if self._input_layer is None:
            return tensor
        want, got = self._input_layer.dtype, standardize_dtype(tensor.dtype)
        if got != want and (is_float_dtype(want) or is_float_dtype(got)):
            return engine.core.cast(tensor, want)  # e.g. integer pixels into a float model
        return tensor

    def call(self, inputs, training=None, mask=None):
        if not self._layers:
            raise ValueError(f'Sequential model "{self.name}" has no layers to call.')
        outputs, layers, stage = inputs, self._layers, self._host_stage
        if stage is not None and stage.is_feed(inputs):  # the layers on strings have run, on the host
            outputs, layers = inputs[stage.keys[0]], layers[len(stage.nodes) :]
        fold = inference_folding.may_fold(_call_context().training)
        index = 0
        while index < len(layers):
            layer = layers[index]
            index += 1
            if mask is None and not makes_masks(layer):
                if fold and index < len(layers) and inference_folding.foldable(layer, layers[index]):
                    outputs = inference_folding.call_folded(layer, layers[index], outputs)  # conv + BatchNorm
                    index += 1
                else:
                    outputs = layer(outputs)  # the usual case: no mask anywhere
            else:
                outputs, mask = call_with_mask(layer, (outputs,), {}, mask)
        nested = _call_context().depth > 1
        if mask is not None and nested:
            # A layer of another model: compute_mask reads this back at once (masking_flow.call_with_mask).
            object.__setattr__(self, "_pending_output_mask", mask)
        elif not nested:  # the model itself: the loss of this step reads the mask back
            object.__setattr__(self, "_output_masks_for_loss", None if mask is None else [mask])
        return outputs

    def compute_mask(self, inputs, mask=None):
        """The mask of the model's output (None when it has none)."""
        pending = self.__dict__.pop("_pending_output_mask", None)
        if pending is not None or (no_mask(mask) and not any(makes_masks(layer) for layer in self._layers)):
            return pending
        mask = None if no_mask(mask) else mask
        outputs = inputs
        for layer in self._layers:
            outputs, mask = call_with_mask(layer, (outputs,), {}, mask)
        return mask

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's name for `predict` on a model whose outputs are probabilities.

        Warns when an output lies outside [0, 1].

        Example:
            >>> model.predict_proba(x_test)  # (n, classes) probabilities
        """
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.size and (probabilities.min() < 0.0 or probabilities.max() > 1.0):
            warnings.warn(
                f"Sequential model {self.name!r}: predict_proba got values outside [0, 1] "
                f"(from {probabilities.min():.4g} to {probabilities.max():.4g}); is the last activation "
                "softmax or sigmoid?",
                stacklevel=2,
            )
        return probabilities

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class indices, as Keras 2 gave them: the argmax of each row, or `int32(p > 0.5)` for one unit.

        Example:
            >>> model.predict_classes(x_test)  # (n,) for softmax outputs, (n, 1) for a sigmoid unit
        """
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.ndim < 2:
            raise ValueError(
                f"Sequential model {self.name!r}: predict_classes needs outputs shaped (batch, ..., classes), "
                f"got shape {probabilities.shape}."
            )
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def get_config(self) -> dict:
        """Keras 2's Sequential config: a name and a list of layer configs, the InputLayer first when built.

        tf.keras 2 writes the InputLayer entry too, and real Keras 3 needs it to rebuild the input shape.
        """
        from lamina.saving.serialization import serialize_layer

        layers = []
        if self._input_layer is not None and self._layers:
            input_config = {**self._input_layer.get_config(), "sparse": False, "ragged": False}
            layers.append({"class_name": "InputLayer", "config": input_config})
        for i, layer in enumerate(self._layers):
            config = layer.get_config()
            if i == 0 and self._input_layer is not None:
                config["batch_input_shape"] = list(self._input_layer.batch_shape)
            layers.append({"class_name": serialize_layer(layer)["class_name"], "config": config})
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Sequential model from Keras 2's or Keras 3's config (new weights).

        Example:
            >>> clone = Sequential.from_config(model.get_config())
        """
        from lamina.saving.model_config import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)


def _declared_input(layer):
    """(batch shape, dtype) a first layer declares: its `input_shape`, or the one input of a built model.

    Keras 2 built `Sequential([base_model, Dense(1)])` at once from the base model's input (transfer learning).
    """
    if layer._batch_input_shape is not None:
        return layer._batch_input_shape, ("int32" if type(layer).__name__ == "Embedding" else None)
    if not hasattr(layer, "_layers") or not hasattr(type(layer), "inputs"):
        return None
    try:
        inputs = layer.inputs
    except (AttributeError, ValueError):  # a model not built yet declares nothing
        return None
    if len(inputs) != 1:
        return None
    return tuple(inputs[0].shape), inputs[0].dtype
