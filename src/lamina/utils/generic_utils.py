"""Keras 2's small `keras.utils` helpers: serialization entry points, `print_summary`, `get_source_inputs`,
the `(x, y, sample_weight)` packers, the list helpers of `keras.utils.generic_utils`, and its
`func_dump`/`func_load` (bytecode, loaded only outside safe mode).

Example:
    >>> config = serialize_keras_object(lamina.initializers.Constant(2.0))
    >>> deserialize_keras_object(config, module_objects=vars(lamina.initializers)).value
    2.0
"""

from __future__ import annotations

import inspect
import types


def serialize_keras_object(instance):
    """`{"class_name": ..., "config": ...}` for an object with `get_config`, its registered name for a function.

    Example:
        >>> serialize_keras_object(lamina.layers.Dense(2))["class_name"]
        'Dense'
    """
    from lamina.saving import serialization

    return serialization.serialize_object(instance)


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):  # fmt: skip
    """The object a name or a `{"class_name", "config"}` dict describes (Keras 2's signature).

    Names are looked up in `custom_objects`, then the objects registered with
    `register_keras_serializable` / `custom_object_scope`, then `module_objects`. A class
    named by a string is instantiated without arguments; a function is returned as is.

    Args:
        identifier: a name, a config dict, or None (returned as is).
        module_objects: the built-ins to look names up in (e.g. `vars(lamina.layers)`).
        custom_objects: user classes and functions by name.
        printable_module_name: what it is, for error messages ("layer", "initializer", ...).

    Example:
        >>> deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}}, vars(lamina.layers))
    """
    from lamina.saving import serialization

    if identifier is not None and not isinstance(identifier, (str, dict)):
        raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier!r}.")
    return serialization.deserialize_keras_object(
        identifier, printable_module_name, dict(module_objects or {}), custom_objects
    )


def print_summary(model, line_length=None, positions=None, print_fn=None, **kwargs):
    """Prints `model`'s layer table, as `model.summary()` does (Keras 2's `keras.utils.print_summary`).

    Example:
        >>> print_summary(model, line_length=80)
    """
    from lamina.models.summary import print_summary as print_table  # lamina.utils loads before lamina.models

    return print_table(model, line_length=line_length, positions=positions, print_fn=print_fn, **kwargs)


def get_source_inputs(tensor, layer=None, node_index=None) -> list:
    """The `Input` tensors a symbolic tensor was computed from, in the order first reached.

    Args:
        tensor: a symbolic tensor from the functional API.
        layer, node_index: start from this layer's inbound node instead of `tensor`'s history.

    Example:
        >>> a, b = lamina.Input((2,)), lamina.Input((2,))
        >>> get_source_inputs(lamina.layers.Add()([a, b])) == [a, b]
        True
    """
    history = getattr(tensor, "_keras_history", None)
    if layer is None:
        if history is None:
            raise ValueError(f"get_source_inputs() needs a symbolic tensor of a functional model, got {tensor!r}.")
        layer, node_index = history[0], history[1]
    node = layer._inbound_nodes[node_index or 0]
    if not node.input_tensors:  # an InputLayer: the tensor is its own source
        return [tensor]
    sources = []
    for parent in node.input_tensors:
        for found in get_source_inputs(parent):
            if not any(found is seen for seen in sources):
                sources.append(found)
    return sources


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)`, leaving out the trailing Nones (as `train_step` unpacks them).

    Example:
        >>> pack_x_y_sample_weight([1, 2], [3])
        ([1, 2], [3])
    """
    if y is None:
        # A lone list/tuple x would read as (x, y), so it is wrapped in a 1-tuple.
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from what a dataset yields: a tuple of 1 to 3 items, or x alone.

    Example:
        >>> unpack_x_y_sample_weight((1, 2))
        (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"Data is expected to be (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(data)} items.")


def to_list(x, allow_tuple=False) -> list:
    """`x` as a list: a list stays, a tuple becomes a list when `allow_tuple`, anything else is wrapped."""
    if isinstance(x, list):
        return x
    if allow_tuple and isinstance(x, tuple):
        return list(x)
    return [x]


def unpack_singleton(x):
    """The only element of a one-element list or tuple, else `x` itself."""
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x


def has_arg(fn, name: str, accept_all: bool = False) -> bool:
    """Whether `fn` takes an argument called `name` (or any keyword, with `accept_all` and `**kwargs`)."""
    parameters = inspect.signature(fn).parameters
    if accept_all and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return True
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def func_dump(func) -> tuple:
    """Keras 2's `(code, defaults, closure)` of a Python function: its bytecode marshalled and base64-encoded.

    Only the same Python version can read the bytecode back (with `func_load`, outside safe mode).

    Example:
        >>> code, defaults, closure = func_dump(lambda x, k=2: x * k)
        >>> defaults
        (2,)
    """
    import base64
    import marshal

    if not isinstance(func, types.FunctionType):
        raise TypeError(f"func_dump: expected a Python function, received {type(func).__name__}: {func!r:.100}.")
    code = base64.encodebytes(marshal.dumps(func.__code__)).decode("ascii")
    closure = None
    if func.__closure__:
        closure = tuple(cell.cell_contents for cell in func.__closure__)
    return code, func.__defaults__, closure


def func_load(code, defaults=None, closure=None, globs=None, *, safe_mode=None):
    """The function `func_dump` wrote (`code` may be its whole tuple). Runs code from the data: refused in safe mode.

    Args:
        code: the base64 text of the bytecode, or the `(code, defaults, closure)` tuple/list.
        defaults: the values of the arguments' defaults.
        closure: the values (or cells) of the function's closure.
        globs: the globals the function sees (default: `lamina`, `keras`, `ops`, `K` and the builtins).
        safe_mode: False loads the code; None (the default) keeps the mode of an enclosing
            `lamina.saving.safe_mode_scope` (safe outside any), True refuses.

    Raises:
        ValueError: in safe mode, or for bytecode this Python cannot read.

    Example:
        >>> with lamina.saving.safe_mode_scope(False):
        ...     double = func_load(func_dump(lambda x: 2 * x))
    """
    from lamina.saving import lambda_code
    from lamina.saving.serialization import in_safe_mode

    if isinstance(code, (tuple, list)):
        code, defaults, closure = (list(code) + [None, None])[:3]
    refused = in_safe_mode() if safe_mode is None else safe_mode
    if refused:
        raise ValueError(
            "func_load: the data holds Python bytecode, and loading it runs that code, so it is refused in safe mode. "
            "If you trust it, call func_load(..., safe_mode=False) or call it inside "
            "lamina.saving.safe_mode_scope(False)."
        )
    if closure is not None:
        closure = [value.cell_contents if isinstance(value, types.CellType) else value for value in closure]
    with _unsafe():
        return lambda_code._load_code(code, defaults, closure, None, "func_load", globs=globs)


def _unsafe():
    from lamina.saving.serialization import safe_mode_scope

    return safe_mode_scope(False)
