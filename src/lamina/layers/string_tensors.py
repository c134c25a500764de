"""String tensors: what a layer does when it is called on strings.

lamina's tensors (JAX, torch) hold numbers only, so strings never reach an engine. A layer that consumes
strings says so with the class attribute `accepts_strings = True` and implements, beside `call`:

- `call_on_host(inputs)`: NumPy in (one array of `str`/`bytes`/object, or a list of arrays for a layer
  taking several inputs), NumPy numbers out;
- `compute_output_shape(input_shape)` and `compute_output_dtype(input_dtype)` (the output's dtype; by
  default the layer's `dtype`), which give its symbolic output without tracing anything.

Called on a symbolic string tensor (`Input(..., dtype="string")`) such a layer records its node from those
two; any other layer raises. Models run these layers on the host, batch by batch, before the compiled
numeric part (`lamina.models.host_stage`).
"""

from __future__ import annotations

import numpy as np

from lamina.backend import KerasTensor
from lamina.layers.node import Node
from lamina.utils import nest

STRING_LAYERS = "Hashing, HashedCrossing, StringLookup or TextVectorization"


def is_text(value) -> bool:
    """Whether `value` holds strings: a NumPy array of str/bytes (or objects that are), a str, or a list of them.

    Example:
        >>> is_text(np.array([["a cat"], ["dog"]]))
        True
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return True
        return value.dtype.kind == "O" and value.size > 0 and isinstance(value.reshape(-1)[0], (str, bytes))
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, (list, tuple)) and value:
        return any(is_text(item) for item in value) if len(value) <= 16 else is_text(value[0])
    return False


def is_string_tensor(value) -> bool:
    """Whether `value` is a symbolic tensor of dtype "string"."""
    return isinstance(value, KerasTensor) and value.dtype == "string"


def text_array(value, what: str) -> np.ndarray:
    """`value` as a NumPy array of strings, or a TypeError saying what `what` expects.

    Example:
        >>> text_array(["a cat", "dog"], 'Input "text"').shape
        (2,)
    """
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()  # e.g. a tf.string tensor
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind in "US" or (array.dtype.kind == "O" and (array.size == 0 or is_text(array))):
        return array
    raise TypeError(
        f"{what} takes strings (dtype string): a NumPy array or list of str or bytes; got an array of dtype "
        f"{array.dtype}{' (numbers)' if array.dtype.kind in 'biuf' else ''}."
    )


def symbolic_string_call(layer, args, kwargs):
    """The symbolic output of `layer` called on string tensors: from its shape and dtype hooks, untraced."""
    inputs = args[0]
    if not getattr(layer, "accepts_strings", False):
        names = [t.name for t in nest.flatten((args, kwargs)) if is_string_tensor(t)]
        raise TypeError(
            f'Layer "{layer.name}" ({type(layer).__name__}) needs numbers, but was called on the string '
            f"tensor {names[0]!r}. Strings must first go through a layer that takes strings ({STRING_LAYERS}), "
            "which turns them into numbers."
        )
    layer._check_inputs(inputs)
    shapes = nest.map_structure(lambda t: tuple(t.shape), inputs)
    if not layer.built:
        layer.build(shapes)
        layer.built = True
    dtypes = nest.map_structure(lambda t: t.dtype, inputs)
    outputs = KerasTensor(layer.compute_output_shape(shapes), dtype=layer.compute_output_dtype(dtypes))
    outputs.name = layer.name
    Node(layer, args, kwargs, outputs)
    return outputs


def eager_string_call(layer, inputs):
    """`layer` called eagerly on NumPy strings: its `call_on_host`, the result as an engine tensor."""
    from lamina import ops

    if isinstance(inputs, (list, tuple)):
        host_inputs = [np.asarray(item) for item in inputs]
        dtypes = ["string" if is_text(item) else str(item.dtype) for item in host_inputs]
    else:
        host_inputs, dtypes = np.asarray(inputs), "string"
    return ops.convert_to_tensor(layer.call_on_host(host_inputs), dtype=layer.compute_output_dtype(dtypes))
