"""Configs in the Keras 2 form `{"class_name": ..., "config": ...}`, and reading Keras 2 and Keras 3 configs back.

Keras 3 writes the same shape with extra keys (`module`, `registered_name`,
`build_config`), dtypes as policy dicts, and constructor arguments lamina has no
use for while they are off (`quantization_config: null`, `synchronized: false`).
`clean_layer_config` turns either form into the arguments of lamina's constructors.

Example:
    >>> layer = deserialize_layer({"class_name": "Dense", "config": {"units": 3, "name": "out"}})
    >>> serialize_layer(layer)["class_name"]
    'Dense'
"""

from __future__ import annotations

import contextlib
import inspect
import threading

from lamina.saving import legacy_configs, object_registration, writer_detection

_state = threading.local()
# Keys Keras writes that change nothing here at their usual value; dropped when not accepted.
_HARMLESS = {"renorm_momentum": 0.99, "ema_momentum": 0.99, "ema_overwrite_frequency": 100}
_OBJECT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


# --------------------------------------------------------------------- safe mode
def in_safe_mode() -> bool:
    """Whether loading code from configs (Lambda bytecode) is refused; True unless inside `safe_mode_scope(False)`."""
    return getattr(_state, "safe_mode", True)


@contextlib.contextmanager
def safe_mode_scope(safe_mode: bool = True):
    """Sets `in_safe_mode()` for the loads inside the block.

    Example:
        >>> with safe_mode_scope(False):
        ...     model = lamina.models.model_from_json(text)
    """
    previous = in_safe_mode()
    _state.safe_mode = bool(safe_mode)
    try:
        yield
    finally:
        _state.safe_mode = previous


# ------------------------------------------------------------ which Keras wrote it
def reading_keras3() -> bool | None:
    """Whether the config being read was written by Keras 3 (True), Keras 1/2 (False), or is unknown (None).

    Example:
        >>> with writer_scope(keras_version="3.1.0"):
        ...     reading_keras3()
        True
    """
    return getattr(_state, "keras3", None)


@contextlib.contextmanager
def writer_scope(keras_version=None, config=None):
    """Reads the configs inside the block as the Keras that wrote them meant them.

    The writer's `keras_version` ("2.15.0", "3.1.0"; a model file's root attribute, or the
    `keras_version` key at the root of a Keras 1/2 JSON config) decides. Without one, a config
    without Keras 3's `module` key is Keras 1/2's; one with it is Keras 3's or tf-keras 2.13+'s
    (which writes `module` keys too, and no `keras_version` outside a model's JSON), told apart
    by `writer_detection.written_by_keras3`. An enclosing scope wins, so a file's version covers
    every nested config.

    Names whose meaning changed between Keras 2 and 3 (`hard_sigmoid`) are read as their writer meant them.

    Example:
        >>> with writer_scope(keras_version="2.4.0"):
        ...     model = deserialize_layer(config)  # "hard_sigmoid" is Keras 2's clip(0.2 x + 0.5, 0, 1)
    """
    previous = reading_keras3()
    if previous is None:
        if keras_version is None and isinstance(config, dict):
            keras_version = config.get("keras_version")
        major = str(keras_version or "").split(".")[0]
        if major.isdigit():
            _state.keras3 = int(major) >= 3
        else:
            _state.keras3 = writer_detection.written_by_keras3(config)
    try:
        yield
    finally:
        _state.keras3 = previous


def reading_lamina_file() -> bool:
    """Whether the config being read is from a `.keras` file lamina wrote (see `lamina_file_scope`)."""
    return bool(getattr(_state, "lamina_file", False))


@contextlib.contextmanager
def lamina_file_scope(is_lamina: bool):
    """Marks the configs read inside the block as lamina's own (`metadata.json` names a `lamina_version`).

    Keras 3 records in each call node the `training` value it resolved while building, and lets the
    model's own `training` override it; lamina records only a `training` the user passed, which wins,
    as in Keras 2 (`base(x, training=False)`). The node reader needs to know which it reads.

    Example:
        >>> with lamina_file_scope(True):
        ...     model = model_from_config(config)
    """
    previous = reading_lamina_file()
    _state.lamina_file = bool(is_lamina)
    try:
        yield
    finally:
        _state.lamina_file = previous


# --------------------------------------------------------------------- serialize
def serialize_object(obj):
    """None stays None; objects with `get_config` become `{"class_name", "config"}`; names stay names."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "get_config"):
        name = object_registration.get_registered_name(type(obj))
        return {"class_name": name, "config": obj.get_config()}
    name = getattr(obj, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {obj!r}: it has no get_config() and no name.")
    return object_registration.get_registered_name(obj)


def serialize_layer(layer) -> dict:
    """`{"class_name": ..., "config": layer.get_config()}` in the Keras 2 form.

    Example:
        >>> serialize_layer(Dense(2))["config"]["units"]
        2
    """
    return {"class_name": _class_name(layer), "config": layer.get_config()}


def _class_name(layer) -> str:
    from lamina.models.functional import Functional

    if isinstance(layer, Functional) and type(layer) is Functional:
        return "Functional"
    saved_as = type(layer).__dict__.get("_saved_class_name")  # CuDNNLSTM saves as the LSTM it equals
    return saved_as or object_registration.get_registered_name(type(layer))


# ------------------------------------------------------------------- deserialize
def _policy_name(dtype):
    """Keras 3's `{"class_name": "DTypePolicy", "config": {"name": "float32"}}` as "float32"."""
    if isinstance(dtype, dict):
        inner = dtype.get("config", {})
        return inner.get("name") if isinstance(inner, dict) else None
    return dtype


def _accepted_arguments(cls) -> tuple[set, bool]:
    """The keyword names `cls(...)` takes, following `**kwargs` up the class hierarchy."""
    names, open_ended = set(), False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names, False
        open_ended = True
    return names, open_ended


def _drop_unused(cls, config: dict, accepted_extra=()) -> dict:
    """`config` without keys `cls` does not take whose values are off (None, False, or a usual default)."""
    from lamina.layers.layer import _LAYER_KWARGS, Layer

    names, _ = _accepted_arguments(cls)
    if isinstance(cls, type) and issubclass(cls, Layer):
        names.update(_LAYER_KWARGS)
    names.update(accepted_extra)
    out = {}
    for key, value in config.items():
        known = key in names
        off = value is None or value is False or _HARMLESS.get(key, object()) == value
        if not known and off:
            continue
        out[key] = value
    return out


def deserialize_keras_object(config, kind: str, module_objects: dict, custom_objects=None):
    """An object (initializer, regularizer, constraint, ...) from a name or a Keras 2/3 config dict.

    Args:
        config: None, a name, an object, or `{"class_name", "config"}` (Keras 3's extra keys allowed).
        kind: what it is, for error messages ("initializer").
        module_objects: lamina's built-ins of that kind, by name.
        custom_objects: a dict of user classes/functions by name.

    Example:
        >>> deserialize_keras_object({"class_name": "Zeros", "config": {}}, "initializer", {"Zeros": Zeros})
    """
    if config is None or not isinstance(config, (str, dict)):
        return config
    if isinstance(config, str):
        found = object_registration.get_registered_object(config, custom_objects, module_objects)
        if found is None:
            raise ValueError(_unknown(kind, config, module_objects))
        return found() if isinstance(found, type) else found
    if "class_name" not in config and "name" in config:  # Keras 1's `{"name": "MaxNorm", "m": 2, ...}`
        config = legacy_configs.keras1_object(kind, config)
    if "class_name" not in config:
        raise ValueError(f"A serialized {kind} needs a 'class_name' key, got keys {sorted(config)}.")
    name = config.get("registered_name") or config["class_name"]
    cls = object_registration.get_registered_object(name, custom_objects, module_objects)
    if cls is None and name != config["class_name"]:
        cls = object_registration.get_registered_object(config["class_name"], custom_objects, module_objects)
    if cls is None:
        raise ValueError(_unknown(kind, config["class_name"], module_objects))
    inner = config.get("config") or {}
    if kind == "initializer" and "dtype" in inner:
        # tf.keras 2.1.6–2.2 wrote the variable's dtype into initializer configs; the layer decides it here.
        inner = {key: value for key, value in inner.items() if key != "dtype"}
    if not isinstance(cls, type):
        return cls  # a function registered under that name
    if hasattr(cls, "from_config"):
        return cls.from_config(_drop_unused(cls, inner))
    return cls(**_drop_unused(cls, inner))


def _unknown(kind: str, name: str, module_objects: dict) -> str:
    known = sorted(k for k in module_objects if k[:1].isupper())
    return (
        f"Unknown {kind} {name!r}. lamina knows {known}. If it is a custom {kind}, pass "
        f"custom_objects={{{name.split('>')[-1]!r}: ...}} to the loader or use a CustomObjectScope."
    )


def _module_objects(key: str) -> tuple[str, dict]:
    from lamina import constraints, regularizers
    from lamina.initializers import initializers as init_module

    if key.endswith("_initializer"):
        return "initializer", dict(init_module._BY_NAME)
    if key.endswith("_regularizer"):
        return "regularizer", dict(regularizers._BY_NAME)
    return "constraint", dict(constraints._BY_NAME)


def _activation(value, custom_objects):
    from lamina import activations

    if isinstance(value, dict):  # Keras 3 writes custom functions as {"class_name": "function", "config": name}
        name = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
        value = value.get("registered_name") if value.get("registered_name") not in (None, "function") else name
    if isinstance(value, str):
        value = activations.name_from_config(value, keras3=bool(reading_keras3()))
        if value in ("hard_sigmoid", "keras3_hard_sigmoid"):
            return activations._BY_NAME[value]  # the function, so that reading the config again cannot re-map it
    if isinstance(value, str) and value not in activations._BY_NAME:
        found = object_registration.get_registered_object(value, custom_objects)
        if found is None:
            raise ValueError(
                f"Unknown activation {value!r}. lamina knows {sorted(activations._BY_NAME)}; pass a custom "
                f"activation with custom_objects={{{value!r}: fn}}."
            )
        return found
    return value


def clean_layer_config(cls, config: dict, custom_objects=None) -> dict:
    """A Keras 2 or Keras 3 layer config as arguments of `cls`'s constructor.

    Policy dtypes become names; nested initializers, regularizers and constraints
    become objects; keys `cls` does not take are dropped while they are off.

    Example:
        >>> clean_layer_config(Dense, {"units": 2, "dtype": {"class_name": "DTypePolicy",
        ...                    "config": {"name": "float32"}}, "quantization_config": None})
        {'units': 2, 'dtype': 'float32'}
    """
    if not isinstance(config, dict):
        raise TypeError(f"The config of a {cls.__name__} layer must be a dict, got {type(config).__name__}.")
    if getattr(cls, "__module__", "").startswith("lamina."):  # a user's layer keeps its own argument names
        config = legacy_configs.upgrade_layer_config(cls.__name__, config)
    out = {}
    for key, value in config.items():
        if key == "dtype":
            value = _policy_name(value)
        elif key in ("activation", "recurrent_activation"):
            value = _activation(value, custom_objects)
        elif isinstance(value, str) and value in getattr(cls, "_config_choices", {}).get(key, ()):
            pass  # a name the layer reads itself (RandomFourierFeatures' kernel_initializer="gaussian")
        elif (key.endswith(_OBJECT_SUFFIXES) or key == "activity_regularizer") and isinstance(value, (dict, str)):
            kind, known = _module_objects(key)
            if isinstance(value, dict) or kind != "initializer" or value not in known:
                value = deserialize_keras_object(value, kind, known, custom_objects)
        out[key] = value
    return _drop_unused(cls, out)


def deserialize_layer(config: dict, custom_objects: dict | None = None, safe_mode: bool | None = None):
    """A layer (or model) from `{"class_name", "config"}` as Keras 2 or Keras 3 write it.

    Args:
        config: the serialized layer.
        custom_objects: user classes and functions by the names used in the config.
        safe_mode: False allows Lambda layers' stored code to be loaded, True refuses it; None (the
            default) keeps the mode of an enclosing `safe_mode_scope` (safe outside any).

    Example:
        >>> deserialize_layer({"class_name": "Dropout", "config": {"rate": 0.5}}).rate
        0.5
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A serialized layer must be a dict with 'class_name' and 'config', got {config!r:.200}.")
    config = legacy_configs.upgrade_layer_class(config, custom_objects)
    cls = _layer_class(config, custom_objects)
    inner = config.get("config", {})
    mode = contextlib.nullcontext() if safe_mode is None else safe_mode_scope(safe_mode)
    with object_registration.CustomObjectScope(custom_objects or {}), mode, writer_scope(config=config):
        if _is_model_class(cls):
            return cls.from_config(inner, custom_objects=custom_objects)
        return cls.from_config(clean_layer_config(cls, inner, custom_objects))


def _layer_class(config: dict, custom_objects):
    """The class of a serialized layer: registered or built in, else one of Keras 3's op nodes (`NotEqual`, ...)."""
    from lamina.layers.core.operation_layer import operation_layer_class

    name = config.get("registered_name") or config["class_name"]
    if str(config.get("module", "")).startswith("keras.src.ops."):
        # Keras 3's op nodes (`x + y` is an `Add` op) share names with merge layers (`Add`): the module decides.
        op_class = operation_layer_class(config["class_name"], config["module"])
        if op_class is not None and not (custom_objects and name in custom_objects):
            return op_class
    try:
        return object_registration.get_layer_class(name, custom_objects)
    except ValueError:
        if name != config["class_name"]:
            with contextlib.suppress(ValueError):
                return object_registration.get_layer_class(config["class_name"], custom_objects)
        op_class = operation_layer_class(config["class_name"], config.get("module"))
        if op_class is None:
            raise
        return op_class


def _is_model_class(cls) -> bool:
    from lamina.models.model import Model

    return (
        isinstance(cls, type)
        and issubclass(cls, Model)
        and "custom_objects" in inspect.signature(cls.from_config).parameters
    )
