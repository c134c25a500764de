"""The host stage of a model with string inputs: the layers that turn strings into numbers, run in NumPy.

A model whose inputs include `Input(..., dtype="string")` splits in two. The host stage is every layer call
fed by a string tensor (Hashing, StringLookup, TextVectorization, ...: layers with `accepts_strings`, see
`lamina.layers.string_tensors`); it runs eagerly on the host through each layer's `call_on_host`, batch by
batch, in the data pipeline. The numeric rest starts from a *feed*: a dict holding the model's numeric inputs
(by input name) and the host stage's outputs (by `"layer:node:tensor"`), and runs as any model does (jitted,
fused steps and all). Models without string inputs have no host stage and never reach this module.
"""

from __future__ import annotations

import numpy as np

from lamina.backend import KerasTensor, engine
from lamina.layers.string_tensors import STRING_LAYERS, is_string_tensor, text_array
from lamina.utils import nest


def _key(tensor: KerasTensor) -> str:
    layer, node_index, tensor_index = tensor._keras_history
    return f"{layer.name}:{node_index}:{tensor_index}"


class HostStage:
    """The string part of one model and the feed its numeric part starts from.

    Args:
        model_name: the model's name, for error messages.
        input_tensors: the model's input tensors, in input order.
        input_names: their names.
        nodes: the model's layer calls, in an order where each comes after those it depends on.

    Example:
        >>> stage = model._host_stage  # a model with Input(shape=(1,), dtype="string")
        >>> feed = stage.run([np.array([["a cat"], ["dog"]])])  # {"hashing:0:0": int32 array}
        >>> model(feed)  # the same as model(np.array([["a cat"], ["dog"]]))
    """

    def __init__(self, model_name: str, input_tensors: list, input_names: list, nodes: list):
        self.model_name = model_name
        self.input_tensors = list(input_tensors)
        self.input_names = list(input_names)
        self.string_positions = [i for i, t in enumerate(self.input_tensors) if is_string_tensor(t)]
        self.nodes = self._host_nodes(nodes)
        numeric_inputs = [(n, t) for n, t in zip(self.input_names, self.input_tensors) if not is_string_tensor(t)]
        host_outputs = [t for node in self.nodes for t in node.output_tensors if not is_string_tensor(t)]
        self.feed_tensors = [t for _, t in numeric_inputs] + host_outputs
        self.keys = [n for n, _ in numeric_inputs] + [_key(t) for t in host_outputs]
        self._key_set = frozenset(self.keys)
        self.numeric_nodes = [node for node in nodes if all(node is not host for host in self.nodes)]

    def _host_nodes(self, nodes: list) -> list:
        """The calls fed by a string tensor; each may also read model inputs and other host outputs."""
        known = {id(t) for t in self.input_tensors}
        host = []
        for node in nodes:
            if not any(is_string_tensor(t) for t in node.input_tensors):
                continue
            for tensor in node.input_tensors:
                if id(tensor) not in known:
                    raise ValueError(
                        f'Model "{self.model_name}": layer "{node.layer.name}" takes strings, so it runs on the '
                        f"host before the rest of the model, but it also reads {tensor.name!r}, which the rest "
                        "of the model computes. Feed it model inputs and outputs of layers on strings only."
                    )
            host.append(node)
            known.update(id(t) for t in node.output_tensors)
        return host

    def is_feed(self, inputs) -> bool:
        """Whether `inputs` is already a feed (the host stage's outputs), not the model's raw inputs."""
        return isinstance(inputs, dict) and inputs.keys() == self._key_set

    def run(self, flat_inputs: list) -> dict:
        """The feed for the model's inputs (in input order; strings as NumPy arrays or lists of str)."""
        values = {}
        for position, (tensor, value) in enumerate(zip(self.input_tensors, flat_inputs)):
            if is_string_tensor(tensor):
                value = self.string_input(position, value)
            values[id(tensor)] = value
        for node in self.nodes:
            inputs = nest.map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.args[0])
            outputs = node.layer.call_on_host(inputs)
            for tensor, value in zip(node.output_tensors, nest.flatten(outputs)):
                values[id(tensor)] = _as_dtype(value, tensor.dtype)
        return {key: values[id(tensor)] for key, tensor in zip(self.keys, self.feed_tensors)}

    def string_input(self, position: int, value) -> np.ndarray:
        """A string input as a NumPy array of its tensor's rank, or an error saying what is expected."""
        name, tensor = self.input_names[position], self.input_tensors[position]
        what = f'Input {position} ("{name}") of model "{self.model_name}"'
        array = text_array(value, what)
        if array.ndim == len(tensor.shape) - 1 and tensor.shape[-1] == 1:
            array = array[..., None]  # a list of sentences for a (None, 1) input, as Keras allows
        if array.ndim != len(tensor.shape) or any(w is not None and w != g for w, g in zip(tensor.shape, array.shape)):
            raise ValueError(f"{what} expects shape {tensor.shape}, got {array.shape}.")
        return array

    def to_tensors(self, feed: dict) -> dict:
        """The feed as engine tensors of the dtypes the numeric part was built for, shapes checked."""
        self.check(feed)
        return {
            key: engine.core.convert_to_tensor(feed[key], dtype=tensor.dtype)
            for key, tensor in zip(self.keys, self.feed_tensors)
        }

    def check(self, feed: dict) -> None:
        """Checks the feed's shapes against the numeric part's inputs."""
        for key, tensor in zip(self.keys, self.feed_tensors):
            shape = tuple(feed[key].shape)
            if len(shape) != len(tensor.shape) or any(w is not None and w != g for w, g in zip(tensor.shape, shape)):
                raise ValueError(
                    f'Input "{key}" of model "{self.model_name}" expects shape {tensor.shape}, got {shape}.'
                )


def _as_dtype(value, dtype: str):
    """A host layer's output as NumPy numbers of its tensor's dtype (bfloat16 is left to the engine).

    A string output (StringLookup(invert=True) on strings, ...) stays strings: only layers on the host read it.
    """
    array = np.asarray(value)
    if dtype == "string":
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"call_on_host must return NumPy numbers, got an array of dtype {array.dtype}; "
            f"layers that take strings ({STRING_LAYERS}) turn them into numbers."
        )
    try:
        return array.astype(np.dtype(dtype), copy=False)
    except TypeError:
        return array


def host_stage_for(model_name: str, input_tensors: list, input_names: list, nodes: list):
    """The model's HostStage, or None for a model without string inputs (the usual case).

    Example:
        >>> host_stage_for("model", [Input(shape=(3,))], ["input_1"], []) is None
        True
    """
    if not any(is_string_tensor(t) for t in input_tensors):
        return None
    return HostStage(model_name, input_tensors, input_names, nodes)
