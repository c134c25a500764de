"""The model as Keras 3's `config.json` writes it: `{"module", "class_name", "config", "registered_name"}` objects,
`{"args", "kwargs"}` call nodes with `__keras_tensor__` references, and the `compile_config` (used by `keras_zip`).

Example:
    >>> keras3_config(model)["class_name"]
"""

from __future__ import annotations

import json

from lamina import activations
from lamina.saving import model_config, object_registration, training_config

_NESTED_MODULES = {
    "_initializer": "keras.initializers",
    "_regularizer": "keras.regularizers",
    "_constraint": "keras.constraints",
}


# ------------------------------------------------------------------- config.json
def _keras3_object(value, module: str):
    """A Keras 2 `{"class_name", "config"}` dict with Keras 3's `module` and `registered_name` added."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    name = value["class_name"]
    registered = name if ">" in name else None
    return {
        "module": module,
        "class_name": name.split(">")[-1],
        "config": value.get("config", {}),
        "registered_name": registered,
    }


def _keras3_layer_config(class_name: str, config: dict) -> dict:
    out = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, (str, dict)) and class_name != "InputLayer":
            name = value if isinstance(value, str) else value["config"]["name"]  # a mixed policy: tf-keras's dict
            value = _keras3_object({"class_name": "DTypePolicy", "config": {"name": name}}, "keras")
        elif key in ("activation", "recurrent_activation") and isinstance(value, str):
            value = activations.keras3_config_name(value)  # hard_sigmoid: Keras 3's name means Keras 3's formula
        elif key == "batch_input_shape":
            if class_name != "InputLayer":
                continue  # Keras 3 layers take no input shape; the InputLayer entry carries it
            key = "batch_shape"
        else:
            for suffix, module in _NESTED_MODULES.items():
                if key.endswith(suffix):  # initializers, regularizers (activity_regularizer too), constraints
                    value = _keras3_object(value, module)
        out[key] = value
    return out


def _module_and_name(layer) -> tuple[str, str | None]:
    from lamina.models import Functional, Sequential

    cls = type(layer)
    if cls is Sequential:
        return "keras", None
    if cls is Functional:
        return "keras.src.models.functional", "Functional"
    if getattr(cls, "op_name", None) and hasattr(cls, "keras_module"):  # a Keras 3 op node (NotEqual, ...)
        return cls.keras_module, cls.__name__
    if "keras3_module" in cls.__dict__:  # a layer Keras 3 keeps outside keras.layers (ConvNeXt's LayerScale)
        return cls.keras3_module, cls.__name__
    registered = object_registration.get_registered_name(cls)
    if object_registration._builtin_layers().get(cls.__name__) is cls and ">" not in registered:
        return "keras.layers", None
    return cls.__module__, registered


def _keras3_entry(layer, entry: dict) -> dict:
    """One serialized layer (a Keras 2 `{"class_name", "config", ...}` entry) in Keras 3's form."""
    module, registered = _module_and_name(layer)
    config = entry["config"]
    if hasattr(layer, "layers") and isinstance(config, dict) and "layers" in config:
        config = _keras3_model_config(layer, config)
    else:
        config = _keras3_layer_config(entry["class_name"], config)
        if hasattr(layer, "keras3_layer_config"):  # a layer whose Keras 3 form differs (RandomCrop)
            config = layer.keras3_layer_config(config)
    class_name = getattr(type(layer), "keras3_export_name", type(layer).__name__)  # GroupQueryAttention
    out = {"module": module, "class_name": class_name, "config": config, "registered_name": registered}
    for key in ("name", "inbound_nodes"):
        if key in entry:
            out[key] = entry[key]
    return out


def _keras3_model_config(model, config: dict) -> dict:
    """A Sequential or functional config with its layers (and a functional's nodes) in Keras 3's form."""
    config = dict(config)
    entries = config["layers"]
    if "input_layers" not in config:  # Sequential: an InputLayer entry may come before the model's layers
        offset = len(entries) - len(model.layers)
        inputs = [
            _keras3_object({"class_name": "InputLayer", "config": _keras3_layer_config("InputLayer", e["config"])},
                           "keras.layers")
            for e in entries[:offset]
        ]  # fmt: skip
        config["layers"] = inputs + [_keras3_entry(lay, e) for lay, e in zip(model.layers, entries[offset:])]
        return config
    from lamina.models.functional import keras3_node_config

    # Every call as Keras 3 writes it: all positional tensors and the keyword arguments (tensors included).
    ref = model._tensor_references()
    out = []
    for layer, entry in zip(model.layers, entries):
        converted = [keras3_node_config(node, ref) for node in model._own_nodes(layer)]
        out.append(_keras3_entry(layer, {**entry, "inbound_nodes": converted}))
    config["layers"] = out
    return config


def _keras3_optimizer(value):
    """An optimizer's config as Keras 3 writes it, wrapped optimizers too (LossScaleOptimizer, MultiOptimizer)."""
    out = _keras3_object(value, "keras.optimizers")
    if not isinstance(out, dict) or not isinstance(out.get("config"), dict):
        return out
    config = dict(out["config"])
    for key in ("inner_optimizer", "default_optimizer", "optimizer_map"):
        entry = config.get(key)
        if isinstance(entry, dict) and "class_name" in entry:
            config[key] = _keras3_optimizer(entry)
        elif key == "optimizer_map" and isinstance(entry, dict):  # OptimizerMap's {pattern: optimizer}
            config[key] = {pattern: _keras3_optimizer(inner) for pattern, inner in entry.items()}
    return {**out, "config": config}


def _keras3_compile_config(model) -> dict | None:
    """`compile_config` as Keras 3 writes it: the optimizer as an object, then loss, metrics and options."""
    saved = training_config.training_config(model)
    if saved is None:
        return None
    optimizer = _keras3_optimizer(saved["optimizer_config"])

    def convert(value, module):
        if isinstance(value, list):
            return [convert(v, module) for v in value]
        if isinstance(value, dict) and "class_name" not in value:
            return {k: convert(v, module) for k, v in value.items()}
        return _keras3_object(value, module)

    steps = getattr(model, "_steps_per_execution", 1)
    return {
        "optimizer": optimizer,
        "loss": convert(saved["loss"], "keras.losses"),
        "loss_weights": saved["loss_weights"],
        "metrics": convert(saved["metrics"], "keras.metrics"),
        "weighted_metrics": convert(saved["weighted_metrics"], "keras.metrics"),
        "run_eagerly": bool(getattr(model, "_run_eagerly", False)),
        "steps_per_execution": steps if isinstance(steps, int) else 1,
        "jit_compile": True,
    }


def keras3_config(model, include_optimizer: bool = True) -> dict:
    """The model's `config.json` content in Keras 3's form (with `compile_config` when compiled).

    Example:
        >>> keras3_config(model)["class_name"]
        'Sequential'
    """
    plain = model_config.model_to_dict(model)
    entry = _keras3_entry(model, {"class_name": plain["class_name"], "config": plain["config"]})
    compiled = _keras3_compile_config(model) if include_optimizer else None
    if compiled is not None:
        entry["compile_config"] = json.loads(json.dumps(compiled, default=model_config._plain))
    return entry


# ------------------------------------------------------------- model.weights.h5
