"""Where class names in saved configs are looked up: built-ins, registered and custom objects.

A name is resolved, in order, from the `custom_objects=` dict of the call, the
open `CustomObjectScope`s (innermost first), the objects registered with
`register_keras_serializable`, and lamina's built-in layers and models.

Example:
    >>> @register_keras_serializable(package="MyLayers")
    ... class Scale(lamina.layers.Layer):
    ...     pass
    >>> get_registered_name(Scale)
    'MyLayers>Scale'
"""

from __future__ import annotations

import threading

_state = threading.local()
_GLOBAL_CUSTOM_OBJECTS: dict = {}  # "Package>Name" and plain "Name" -> object
_GLOBAL_CUSTOM_NAMES: dict = {}  # id(object) -> "Package>Name"


def _scopes() -> list:
    scopes = getattr(_state, "scopes", None)
    if scopes is None:
        scopes = _state.scopes = []
    return scopes


class CustomObjectScope:
    """A context manager that makes custom classes and functions visible to every loader.

    Args:
        *custom_objects: dicts mapping the names used in saved configs to objects.

    Example:
        >>> with CustomObjectScope({"AttentionLayer": AttentionLayer}):
        ...     model = lamina.models.load_model("my_model.h5")
    """

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for objects in custom_objects:
            if not isinstance(objects, dict):
                raise TypeError(f"CustomObjectScope expects dicts of name -> object, got {type(objects).__name__}.")
            self.custom_objects.update(objects)

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _scopes().pop()
        return False


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict:
    """The global dict of registered objects; adding to it registers a name.

    Example:
        >>> get_custom_objects()["Scale"] = Scale
    """
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """A decorator that registers a class or function under `"package>name"` (and `name`).

    Args:
        package: the prefix of the registered name.
        name: the name; the object's `__name__` by default.

    Example:
        >>> @register_keras_serializable(package="Custom")
        ... def scaled_relu(x):
        ...     return lamina.ops.relu(x) * 2
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>', got {package!r}.")

    def decorator(obj):
        key_name = name or getattr(obj, "__name__", None)
        if not key_name:
            raise ValueError(f"register_keras_serializable: {obj!r} has no __name__; pass name=.")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register class {key_name!r}: it needs a get_config() method.")
        registered = f"{package}>{key_name}"
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_OBJECTS.setdefault(key_name, obj)
        _GLOBAL_CUSTOM_NAMES[id(obj)] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` was registered under, or its `__name__`."""
    return _GLOBAL_CUSTOM_NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


def _builtin_layers() -> dict:
    from lamina import layers
    from lamina.models import Functional, Sequential

    found = {}
    for attr in dir(layers):
        value = getattr(layers, attr)
        if isinstance(value, type) and issubclass(value, layers.Layer):
            found[attr] = value
    found.update({"Sequential": Sequential, "Functional": Functional, "Model": Functional})
    from lamina.layers.core.tf_op_lambda import AddLoss, SlicingOpLambda, TFOpLambda  # tf.keras's, for its files

    found.update({"TFOpLambda": TFOpLambda, "SlicingOpLambda": SlicingOpLambda, "AddLoss": AddLoss})
    from lamina.compat.legacy_layers import Highway, MaxoutDense  # Keras 1's, in Keras 2.2 files

    found.update({"Highway": Highway, "MaxoutDense": MaxoutDense})
    from lamina.applications.convnext import LayerScale, StochasticDepth  # Keras 3's ConvNeXt layers

    found.update({"LayerScale": LayerScale, "StochasticDepth": StochasticDepth})
    from lamina.applications.inception_resnet_v2 import CustomScaleLayer  # Keras 3's InceptionResNetV2 layer

    found["CustomScaleLayer"] = CustomScaleLayer
    return found


def builtin_layer_names() -> list:
    """The Keras class names lamina re-creates without custom_objects."""
    return sorted(_builtin_layers())


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """The object saved under `name`, or None.

    `name` may be a registered `"Package>Name"`; the part after `>` is tried too.

    Example:
        >>> get_registered_object("Dense")
        <class 'lamina.layers.core.dense.Dense'>
    """
    candidates = [name]
    if isinstance(name, str) and ">" in name:
        candidates.append(name.split(">", 1)[1])
    sources = [custom_objects or {}, *reversed(_scopes()), _GLOBAL_CUSTOM_OBJECTS, module_objects or {}]
    for candidate in candidates:
        for source in sources:
            if candidate in source:
                return source[candidate]
    return None


def get_layer_class(name: str, custom_objects: dict | None = None):
    """The layer class for Keras class name `name`, or a ValueError saying how to provide it.

    Example:
        >>> get_layer_class("Conv2D")
        <class 'lamina.layers.convolutional.base_conv.Conv2D'>
    """
    found = get_registered_object(name, custom_objects, _builtin_layers())
    if found is None:
        raise ValueError(
            f"Unknown layer class {name!r}. If it is a custom layer, pass it to the loader with "
            f"custom_objects={{{name.split('>')[-1]!r}: {name.split('>')[-1]}}}, open a CustomObjectScope, or "
            "decorate it with @lamina.saving.register_keras_serializable()."
        )
    return found
