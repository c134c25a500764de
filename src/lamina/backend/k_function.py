"""`K.function`, `K.gradients` and the `updates` Keras 2 code hands to K.function.

`K.function(inputs, outputs, updates)` evaluates symbolic outputs from fed values; the outputs may include
`K.gradients(loss, variables)`, and `updates` may hold `(variable, new_value)` pairs, `K.update*` results with
symbolic values, or `optimizer.get_updates(loss, params)`: all are computed from the values before any update,
then applied, as a TensorFlow session run did.

Example:
    >>> grads = K.gradients(loss, model.input)[0]
    >>> iterate = K.function([model.input, K.learning_phase()], [loss, grads])
    >>> loss_value, grads_value = iterate([x, 0])
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.backend.common import KerasTensor, Variable
from lamina.backend.k_api import _LEARNING_PHASE, _default_phase

__all__ = ["Function", "function", "gradients"]


class VariableUpdate:
    """An update K.function applies after computing its outputs: `variable` = / += / -= `value`.

    Made by `K.update`, `K.update_add` and `K.update_sub` when the value is symbolic, or from a
    `(variable, value)` pair in `updates`.
    """

    def __init__(self, variable, kind: str, value):
        if not isinstance(variable, Variable):
            raise TypeError(f"A K.function update must change a Variable, got {type(variable).__name__}.")
        self.variable, self.kind, self.value = variable, kind, value

    def apply(self, value) -> None:
        getattr(self.variable, {"set": "assign", "add": "assign_add", "sub": "assign_sub"}[self.kind])(value)


class OptimizerUpdate:
    """`optimizer.get_updates(loss, params)`: one optimizer step on the gradients of `loss`, run by K.function."""

    def __init__(self, optimizer, loss, params):
        self.optimizer, self.loss, self.params = optimizer, loss, list(params)
        self.gradients = gradients(loss, self.params)

    def apply(self, grads) -> None:
        self.optimizer.apply_gradients(list(zip(grads, self.params)))


def _parse_updates(updates) -> list:
    parsed = []
    for position, item in enumerate(updates or []):
        if isinstance(item, (VariableUpdate, OptimizerUpdate)):
            parsed.append(item)
        elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], Variable):
            parsed.append(VariableUpdate(item[0], "set", item[1]))
        elif isinstance(item, (list, tuple)):
            parsed.extend(_parse_updates(item))  # optimizer.get_updates() returns a list
        else:
            raise TypeError(
                f"K.function: updates[{position}] must be a (variable, new_value) pair, a K.update(...) result or "
                f"optimizer.get_updates(...); got {type(item).__name__}."
            )
    return parsed


class Function:
    """A callable from a list of input values to the list of output values (NumPy arrays).

    Built by `K.function(inputs, outputs, updates)`; inputs are symbolic tensors of a model (and optionally
    `K.learning_phase()`), outputs symbolic tensors computed from them (gradients from `K.gradients` too).
    """

    def __init__(self, inputs, outputs, updates=None, name=None):
        from lamina.models.functional import Functional

        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._single_output = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self._single_output else list(outputs)
        phases = [i for i, tensor in enumerate(self.inputs) if tensor is _LEARNING_PHASE]
        self._phase_index = phases[0] if phases else None
        tensors = [t for t in self.inputs if t is not _LEARNING_PHASE]
        for position, tensor in enumerate(self.inputs):
            if tensor is not _LEARNING_PHASE and not isinstance(tensor, KerasTensor):
                raise TypeError(
                    f"K.function inputs must be symbolic tensors (model.input, layer.input) or K.learning_phase(); "
                    f"input {position} is {type(tensor).__name__}."
                )
        for position, tensor in enumerate(self.outputs):
            if not isinstance(tensor, KerasTensor):
                raise TypeError(
                    f"K.function outputs must be symbolic tensors (layer.output); output {position} is "
                    f"{type(tensor).__name__}."
                )
        self.updates = _parse_updates(updates)
        hidden = []  # the symbolic values the updates need, computed with the outputs
        for update in self.updates:
            if isinstance(update, OptimizerUpdate):
                hidden.extend(update.gradients)
            elif isinstance(update.value, KerasTensor):
                hidden.append(update.value)
        self._model = Functional(tensors, self.outputs + hidden, name=name)

    def __call__(self, values):
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if len(values) != len(self.inputs):
            raise ValueError(f"This K.function takes {len(self.inputs)} input value(s), got {len(values)}.")
        training = _default_phase["value"]
        arrays = []
        for position, value in enumerate(values):
            if position == self._phase_index:
                training = int(np.asarray(value))
            else:
                arrays.append(value)
        results = self._model(arrays, training=bool(training))
        results = list(results) if isinstance(results, (list, tuple)) else [results]
        hidden = iter(results[len(self.outputs) :])
        for update in self.updates:  # every value was computed before any variable changes
            if isinstance(update, OptimizerUpdate):
                update.apply([next(hidden) for _ in update.params])
            else:
                update.apply(next(hidden) if isinstance(update.value, KerasTensor) else update.value)
        return [np.asarray(ops.convert_to_numpy(o)) for o in results[: len(self.outputs)]]


def function(inputs, outputs, updates=None, name=None, **kwargs) -> Function:
    """`K.function(inputs, outputs, updates=None)`: evaluate symbolic `outputs` from values fed for `inputs`.

    Example:
        >>> get_3rd_layer_output = K.function([model.layers[0].input], [model.layers[3].output])
        >>> layer_output = get_3rd_layer_output([x])[0]
    """
    return Function(inputs, outputs, updates=updates, name=name)


def gradients(loss, variables) -> list:
    """`K.gradients(loss, variables)`: symbolic gradients for `K.function` (see `layers/core/gradients_layer.py`).

    Example:
        >>> grads = K.gradients(K.sum(model.output), model.input)[0]
    """
    from lamina.layers.core.gradients_layer import gradients as symbolic_gradients

    return symbolic_gradients(loss, variables)
