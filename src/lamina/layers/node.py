"""A Node records one call of a layer on symbolic tensors: the edge functional models walk."""

from __future__ import annotations

from lamina.backend.common import KerasTensor
from lamina.backend.common import device as device_stack
from lamina.utils import nest


class Node:
    """`outputs = layer(*args, **kwargs)` where some args are KerasTensors.

    Attributes:
        layer: the layer that was called.
        args, kwargs: the call's arguments, KerasTensors included, as passed.
        outputs: the KerasTensors it returned (nested as returned).
    """

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.device = device_stack.current()  # the device scope the call was made in, replayed by models
        self.input_tensors = [t for t in nest.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = nest.flatten(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (layer, self.index, i)

    @property
    def parent_nodes(self) -> list:
        """The nodes that produced this node's inputs."""
        parents = []
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                layer, node_index, _ = tensor._keras_history
                parents.append(layer._inbound_nodes[node_index])
        return parents
