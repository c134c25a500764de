"""Keras 3's operation nodes: an op such as `x != 0` applied to a symbolic tensor, saved as a layer.

Keras 3 records an op called on a KerasTensor in a functional model as a node of its own, with the op's class name
(`NotEqual`, `Cast`, `Sum`, ...) as the layer's class. The commonest case is the mask of an
`Embedding(mask_zero=True)` feeding a later layer: Keras 3 saves it as a `NotEqual` node. lamina loads such a node as
an `OperationLayer` that calls the `lamina.ops` function of the same name, and writes it back the same way.
"""

from __future__ import annotations

import re

from lamina import ops
from lamina.layers.layer import Layer

_CLASSES: dict = {}


def _snake(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


class OperationLayer(Layer):
    """Calls one `lamina.ops` function with the node's arguments and the config's keyword arguments.

    Make one with `operation_layer_class(class_name)`; the class carries the Keras op's name.

    Example:
        >>> NotEqual = operation_layer_class("NotEqual")
        >>> NotEqual(name="not_equal")(np.array([[1, 0]]), 0)  # [[True, False]]
    """

    op_name = ""
    keras_module = "keras.src.ops.numpy"

    def __init__(self, name=None, **op_arguments):
        dtype = op_arguments.pop("dtype", None) if type(self).op_name != "cast" else None
        trainable = op_arguments.pop("trainable", True)
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.op_arguments = op_arguments

    def call(self, *args, **kwargs):
        return getattr(ops, type(self).op_name)(*args, **self.op_arguments, **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name, **self.op_arguments}


def operation_layer_class(class_name: str, module: str | None = None):
    """The OperationLayer class for Keras op `class_name`, or None when `lamina.ops` has no such function.

    Example:
        >>> operation_layer_class("NotEqual").op_name
        'not_equal'
    """
    if class_name in _CLASSES:
        return _CLASSES[class_name]
    op_name = _snake(class_name)
    if not class_name[:1].isupper() or not callable(getattr(ops, op_name, None)):
        return None
    attributes = {"op_name": op_name, "__doc__": f"Keras 3's `{class_name}` op node: `lamina.ops.{op_name}`."}
    if module and module.startswith("keras.src.ops"):
        attributes["keras_module"] = module
    cls = type(class_name, (OperationLayer,), attributes)
    _CLASSES[class_name] = cls
    return cls
