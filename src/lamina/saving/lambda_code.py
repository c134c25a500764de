"""How a Lambda layer's function is written into, and read back from, a config.

A function with a name is stored by name (and module) and found again through
`custom_objects`, registered objects, `lamina.activations` or `lamina.ops`. An
anonymous `lambda` is stored as marshalled bytecode, as Keras does; loading such
code runs whatever the file contains, so it is refused unless the caller passes
`safe_mode=False` (DESIGN rule 9).

Example:
    >>> config = function_to_config(my_scale)
    >>> config_to_function(config["function"], config["function_type"], config["module"]) is my_scale
"""

from __future__ import annotations

import base64
import builtins
import marshal
import sys
import types

from lamina.saving import object_registration
from lamina.saving.serialization import in_safe_mode


def function_to_config(function) -> dict:
    """`{"function", "function_type", "module"}` in Keras 2's Lambda form.

    Example:
        >>> function_to_config(lamina.ops.relu)["function_type"]
        'function'
    """
    name = getattr(function, "__name__", None)
    if name and name != "<lambda>" and isinstance(function, types.FunctionType | types.BuiltinFunctionType):
        return {
            "function": object_registration.get_registered_name(function),
            "function_type": "function",
            "module": getattr(function, "__module__", None),
        }
    if isinstance(function, types.FunctionType):
        code = base64.b64encode(marshal.dumps(function.__code__)).decode("ascii")
        closure = None
        if function.__closure__:
            closure = [cell.cell_contents for cell in function.__closure__]
        return {
            "function": [code, _plain(function.__defaults__), _plain(closure)],
            "function_type": "lambda",
            "module": function.__module__,
        }
    raise ValueError(f"Cannot save the function {function!r} of a Lambda layer: give it a name (def) or register it.")


def _plain(values):
    return None if values is None else list(values)


def _refuse(layer_name: str) -> ValueError:
    return ValueError(
        f'Lambda layer "{layer_name}" stores Python bytecode. Loading it runs code from the file, so it is refused in '
        "safe mode. If you trust the file, pass safe_mode=False to load_model / model_from_json / model_from_yaml "
        "(or deserialize inside lamina.saving.safe_mode_scope(False)); or pass the function by name in custom_objects."
    )


def config_to_function(value, function_type=None, module=None, custom_objects=None, layer_name="lambda"):
    """The Python function a Lambda config describes (Keras 2 or Keras 3 form).

    Raises:
        ValueError: for stored bytecode in safe mode, or a name that cannot be found.

    Example:
        >>> config_to_function("relu", "function", "lamina.activations")
    """
    if callable(value):
        return value
    if isinstance(value, dict):  # Keras 3
        if value.get("class_name") == "__lambda__":
            inner = value.get("config", {})
            return _load_code(inner.get("code"), inner.get("defaults"), inner.get("closure"), module, layer_name)
        name = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
        registered = value.get("registered_name")
        if registered and registered != "function":
            name = registered
        return _named(name, value.get("module", module), custom_objects, layer_name)
    if function_type == "lambda" or isinstance(value, (list, tuple)):
        if isinstance(value, (list, tuple)):
            code, defaults, closure = (list(value) + [None, None])[:3]
        else:
            code, defaults, closure = value, None, None
        return _load_code(code, defaults, closure, module, layer_name)
    if isinstance(value, str):
        return _named(value, module, custom_objects, layer_name)
    raise ValueError(f'Lambda layer "{layer_name}": cannot read its function from {value!r:.200}.')


def _named(name, module, custom_objects, layer_name):
    from lamina import activations, ops

    found = object_registration.get_registered_object(name, custom_objects)
    if found is None:
        found = activations._BY_NAME.get(name) or getattr(ops, name, None)
    if found is None and not in_safe_mode() and module in sys.modules:
        found = getattr(sys.modules[module], name, None)
    if found is None:
        raise ValueError(
            f'Lambda layer "{layer_name}" calls a function named {name!r} (module {module!r}) that lamina cannot find. '
            f"Pass it with custom_objects={{{name!r}: {name}}}."
        )
    return found


def _load_code(code, defaults, closure, module, layer_name, globs=None):
    if in_safe_mode():
        raise _refuse(layer_name)
    if not isinstance(code, str):
        raise ValueError(f'Lambda layer "{layer_name}": its stored code is not a base64 string.')
    try:
        compiled = marshal.loads(base64.b64decode(code.encode("ascii")))
    except (ValueError, EOFError, TypeError) as error:
        raise ValueError(
            f'Lambda layer "{layer_name}": its bytecode cannot be read by Python '
            f"{sys.version_info.major}.{sys.version_info.minor} (it was probably written by another Python version): "
            f"{error}. Re-create the layer in code, or pass the function in custom_objects."
        ) from error
    import lamina

    scope = {"__builtins__": builtins, "lamina": lamina, "keras": lamina, "ops": lamina.ops, "K": lamina.backend}
    if module in sys.modules:
        scope.update(vars(sys.modules[module]))
    if globs is not None:
        scope = globs
    cells = None
    if closure:
        cells = tuple(types.CellType(value) for value in closure)
    return types.FunctionType(compiled, scope, compiled.co_name, tuple(defaults) if defaults else None, cells)
