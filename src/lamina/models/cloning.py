"""`clone_model`: a new model with the same structure and new layers (Keras 2's `keras.models.clone_model`).

Each layer is rebuilt from its config, so the clone has fresh weights, not the original's; copy them
with `clone.set_weights(model.get_weights())`. A layer that the original calls more than once is one
shared layer in the clone too.
"""

from __future__ import annotations

from lamina.backend import KerasTensor
from lamina.layers.core.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.utils import nest


def _clone_layer(layer):
    """The default `clone_function`: a new layer of the same class from the layer's config."""
    return layer.__class__.from_config(layer.get_config())


def _cloner(clone_function, recursive: bool, call_function):
    """A function mapping each original layer to its clone, once per layer (shared layers stay shared)."""
    clones = {}

    def clone(layer):
        if id(layer) not in clones:
            if recursive and isinstance(layer, (Sequential, Functional)):
                new = clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
            else:
                new = clone_function(layer)
            if not isinstance(new, Layer):
                raise TypeError(
                    f'clone_model: clone_function must return a Layer; for layer "{layer.name}" it returned '
                    f"{type(new).__name__}: {new!r}."
                )
            clones[id(layer)] = new
        return clones[id(layer)]

    return clone


def _given_inputs(input_tensors, expected: int, model_name: str) -> list:
    """`input_tensors` as a list of `Input()` tensors, `expected` of them."""
    tensors = nest.flatten(input_tensors)
    if len(tensors) != expected:
        raise ValueError(
            f'clone_model: model "{model_name}" has {expected} input(s), but input_tensors holds {len(tensors)}.'
        )
    for tensor in tensors:
        history = getattr(tensor, "_keras_history", None)
        if not isinstance(tensor, KerasTensor) or history is None or not isinstance(history[0], InputLayer):
            raise TypeError(
                f"clone_model: input_tensors must be tensors from lamina.Input(), got {type(tensor).__name__}: "
                f"{tensor!r}."
            )
    return tensors


def _clone_functional(model, input_tensors, clone, call_function):
    """The functional graph called again, node by node, on the new inputs with the cloned layers."""
    if input_tensors is None:
        new_inputs = [InputLayer.from_config(t._keras_history[0].get_config()).output for t in model.inputs]
    else:
        new_inputs = _given_inputs(input_tensors, len(model.inputs), model.name)
    tensors = {id(old): new for old, new in zip(model.inputs, new_inputs)}

    def swap(item):
        return tensors[id(item)] if isinstance(item, KerasTensor) else item

    for node in model._nodes:
        layer = clone(node.layer)
        args = nest.map_structure(swap, node.args)
        kwargs = nest.map_structure(swap, node.kwargs)
        outputs = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        for old, new in zip(node.output_tensors, nest.flatten(outputs)):
            tensors[id(old)] = new
    inputs = nest.map_structure(swap, model._inputs_struct)
    outputs = nest.map_structure(swap, model._outputs_struct)
    return Functional(inputs, outputs, name=model.name)


def _clone_sequential(model, input_tensors, clone):
    """A new Sequential of the cloned layers, on a clone of the input layer or on the given `Input()`."""
    new = Sequential(name=model.name)
    if input_tensors is not None:
        new.add(_given_inputs(input_tensors, 1, model.name)[0])
    elif model._input_layer is not None:
        new.add(InputLayer.from_config(model._input_layer.get_config()))
    for layer in model.layers:
        new.add(clone(layer))
    return new


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False):
    """A new Sequential or functional model like `model`, with new layers and fresh weights.

    Args:
        model: a Sequential or functional model (a subclassed model has no graph to copy: ValueError).
        input_tensors: optional `Input()` tensors (one per model input) to build the clone on, instead of
            new inputs like the original's.
        clone_function: makes each layer's clone from the original layer (default: a new layer of the
            same class from `layer.get_config()`). Return the layer itself to share it with the original.
        call_function: Keras 3's option: `call_function(layer, *args, **kwargs)` makes each call of the
            cloned graph (functional models only); default `layer(*args, **kwargs)`.
        recursive: Keras 3's option: models nested in `model` are cloned layer by layer too, with the
            same `clone_function`, instead of handed to `clone_function` whole.

    Returns:
        The clone, of the same kind and name. Its weights are new; copy them with `set_weights`.

    Example:
        >>> clone = clone_model(model)
        >>> clone.set_weights(model.get_weights())
        >>> renamed = clone_model(model, clone_function=lambda layer: layer.__class__.from_config(
        ...     {**layer.get_config(), "name": "copy_of_" + layer.name}))
    """
    clone = _cloner(clone_function or _clone_layer, recursive, call_function)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError("clone_model: call_function applies to functional models, not to a Sequential.")
        return _clone_sequential(model, input_tensors, clone)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone, call_function)
    raise ValueError(
        "clone_model expects a Sequential or functional model; a subclassed model has no graph to copy, got "
        f"{type(model).__name__}: {model!r}."
    )
