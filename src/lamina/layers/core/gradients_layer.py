"""Keras 2's `K.gradients(loss, variables)` on symbolic tensors, for `K.function`.

Keras 2 code differentiates a symbolic loss with respect to a model's input (saliency maps, deep dream, style
transfer), an intermediate tensor (Grad-CAM) or its weights (custom training updates), then evaluates the
gradients with `K.function`. Here the gradients are the outputs of one `Gradients` node whose inputs are the model
inputs the loss depends on: when it runs, it evaluates the loss's subgraph from those inputs as a function of the
differentiated values and asks the engine for the gradient (`engine.core.value_and_gradients`).

Example:
    >>> loss = K.mean(model.output[:, 0])
    >>> grads = K.gradients(loss, model.input)[0]
    >>> saliency = K.function([model.input], [loss, grads])
"""

from __future__ import annotations

import contextlib

from lamina import ops
from lamina.backend import KerasTensor, Variable, engine
from lamina.backend.common import StatelessScope
from lamina.layers.core.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.node import Node


def _subgraph(loss: KerasTensor):
    """(nodes from the inputs to `loss` in order, the input tensors they start from, the layers that make masks)."""
    from lamina.layers.masking_flow import makes_masks
    from lamina.models.functional import _sorted_nodes

    nodes, _ = _sorted_nodes([loss])
    sources = [node.output_tensors[0] for node in nodes if isinstance(node.layer, InputLayer)]
    inner = [node for node in nodes if not isinstance(node.layer, InputLayer)]
    return inner, sources, {id(node.layer) for node in inner if makes_masks(node.layer)}


class Gradients(Layer):
    """The gradients of a symbolic `loss` (summed) with respect to tensors of its graph or to Variables.

    Made by `gradients()`; called with the values of the model inputs the loss depends on, it returns one
    gradient per item of `wrt`. It holds graph references, so a model containing it cannot be saved.
    """

    def __init__(self, loss, wrt, **kwargs):
        super().__init__(**kwargs)
        self._nodes, self.sources, self._mask_makers = _subgraph(loss)
        self._loss = loss
        self._wrt = list(wrt)
        producers = {id(tensor) for node in self._nodes for tensor in node.output_tensors}
        producers.update(id(tensor) for tensor in self.sources)
        for item in self._wrt:
            if isinstance(item, KerasTensor) and id(item) not in producers:
                raise ValueError(
                    f"K.gradients: the loss does not depend on {item!r}; it is not on the path from the model's "
                    "inputs to the loss (a tensor inside a nested model is not: differentiate with respect to "
                    "the outer model's tensors)."
                )
        self.built = True

    def _run(self, feeds: dict, shifts=None) -> dict:
        from lamina.models.functional import run_nodes

        values = dict(feeds)
        run_nodes(self._nodes, values, {}, self._mask_makers, shifts=shifts)
        return values

    def call(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        feeds = {id(tensor): value for tensor, value in zip(self.sources, inputs)}
        fed = [item for item in self._wrt if isinstance(item, KerasTensor) and id(item) in feeds]
        inner = [item for item in self._wrt if isinstance(item, KerasTensor) and id(item) not in feeds]
        variables = [item for item in self._wrt if isinstance(item, Variable)]
        # An inner tensor is differentiated through a zero added to it where it is made, so every path from the
        # inputs to the loss stays (the gradient for an input counts the paths through the inner tensors too).
        known = self._run(feeds) if inner else feeds
        start = [feeds[id(t)] for t in fed] + [ops.zeros_like(known[id(t)]) for t in inner]
        start += [variable.value for variable in variables]
        n_fed, n_tensors = len(fed), len(fed) + len(inner)

        def loss_of(values):
            fed_values = {**feeds, **{id(t): value for t, value in zip(fed, values[:n_fed])}}
            shifts = {id(t): value for t, value in zip(inner, values[n_fed:n_tensors])}
            pairs = list(zip(variables, values[n_tensors:]))
            with StatelessScope(pairs) if pairs else contextlib.nullcontext():
                return self._run(fed_values, shifts)[id(self._loss)]

        _, grads = engine.core.value_and_gradients(loss_of, start)
        by_item = dict(zip([id(item) for item in fed + inner + variables], grads))
        return [by_item[id(item)] for item in self._wrt]

    def get_config(self) -> dict:
        raise ValueError(
            f'Layer "{self.name}" holds K.gradients, which refers to a graph; a model containing it cannot be '
            "saved. Use K.function to evaluate gradients."
        )


def gradients(loss, variables) -> list:
    """`K.gradients(loss, variables)`: symbolic gradients of `loss` (summed) for `K.function` to evaluate.

    Args:
        loss: a symbolic tensor made from model inputs (`K.mean(model.output[:, 0])`).
        variables: a symbolic tensor on the loss's path (an input, a layer output) or a Variable, or a list.

    Returns:
        A list of symbolic tensors, one per variable, each of its variable's shape.

    Example:
        >>> grads = K.gradients(loss, model.input)[0]
        >>> K.function([model.input], [grads])([x])[0].shape == x.shape
        True
    """
    from lamina.backend.common import unique_name

    if not isinstance(loss, KerasTensor):
        raise TypeError(
            f"K.gradients expects a symbolic loss (a tensor computed from model inputs), got "
            f"{type(loss).__name__}. For gradients of values, write a custom training step."
        )
    wrt = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    for position, item in enumerate(wrt):
        if not isinstance(item, (KerasTensor, Variable)):
            raise TypeError(
                f"K.gradients: variables[{position}] must be a symbolic tensor or a Variable, "
                f"got {type(item).__name__}."
            )
    layer = Gradients(loss, wrt, name=unique_name("gradients"))
    outputs = [KerasTensor(item.shape, dtype=item.dtype, name=f"{layer.name}_{i}") for i, item in enumerate(wrt)]
    sources = layer.sources
    Node(layer, (sources[0] if len(sources) == 1 else list(sources),), {}, outputs)
    return outputs
