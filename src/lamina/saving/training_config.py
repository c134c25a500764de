"""The `training_config` of an HDF5 file (how the model was compiled) and the optimizer's saved state.

Keras 2 writes optimizers as `"Custom>Adam"` and metrics as
`[[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "fn": ...}}]]`;
Keras 3 writes `"Adam"` and `["accuracy"]`. Both compile the same lamina model.

Example:
    >>> config = training_config(model)
    >>> compile_from_training_config(new_model, config)
"""

from __future__ import annotations

import warnings

import numpy as np

from lamina.saving import object_registration
from lamina.saving.serialization import _drop_unused, serialize_object


# ------------------------------------------------------------------------ write
def _serialize_entry(entry):
    if entry is None or isinstance(entry, (str, int, float, bool)):
        return entry
    if isinstance(entry, (list, tuple)):
        return [_serialize_entry(e) for e in entry]
    if isinstance(entry, dict):
        return {key: _serialize_entry(value) for key, value in entry.items()}
    return serialize_object(entry)


def training_config(model) -> dict | None:
    """The compile arguments of `model` as JSON-ready data, or None if it was never compiled."""
    compiled = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or compiled is None:
        return None
    optimizer = model.optimizer
    return {
        "loss": _serialize_entry(compiled.get("loss")),
        "metrics": _serialize_entry(compiled.get("metrics")),
        "weighted_metrics": _serialize_entry(compiled.get("weighted_metrics")),
        "loss_weights": _serialize_entry(compiled.get("loss_weights")),
        "optimizer_config": _optimizer_config(optimizer),
    }


def _optimizer_config(optimizer) -> dict:
    config = optimizer.get_config()
    if type(optimizer).__name__ == "LossScaleOptimizer" and config.get("name") == "LossScaleOptimizer":
        # tf-keras's form for the one `compile` makes under mixed_float16: tf-keras's LossScaleOptimizer takes no
        # `name` (a name of the user's own stays: the optimizer's weights in the file are named after it).
        config = {key: value for key, value in config.items() if key != "name"}
        config["dynamic"] = True
    return {"class_name": type(optimizer).__name__, "config": config}


# ------------------------------------------------------------------------- read
def _lookup(name, custom_objects):
    return object_registration.get_registered_object(name, custom_objects)


def _not_known(kind: str, name) -> ValueError:
    return ValueError(
        f"Unknown {kind} {name!r} in the saved training config. If it is a custom {kind}, pass "
        f"custom_objects={{{name!r}: ...}} to load_model, or load with compile=False and compile the model yourself."
    )


def _loss(entry, custom_objects):
    """A training config's loss entry as compile() takes it: names checked, tf-keras/Keras 3 loss objects rebuilt.

    tf-keras writes a built-in loss object as `{"class_name": "Huber", "config": {"reduction": "auto",
    "name": ..., "delta": ..., "fn": "huber"}}`; `fn` only repeats which function the class wraps.
    """
    from lamina import losses

    if isinstance(entry, list):
        return [_loss(e, custom_objects) for e in entry]
    if isinstance(entry, dict) and "class_name" not in entry:
        return {key: _loss(value, custom_objects) for key, value in entry.items()}
    if isinstance(entry, str):
        found = _lookup(entry, custom_objects)
        if found is None and entry not in losses.losses._FUNCTIONS and entry not in losses.losses._CLASSES:
            raise _not_known("loss", entry)
        return found or entry
    if not isinstance(entry, dict):
        return entry
    if entry["class_name"] == "function" and isinstance(entry.get("config"), str):
        return _loss(entry["config"], custom_objects)
    name = entry.get("registered_name") or entry["class_name"]
    custom = _lookup(name, custom_objects)
    inner = dict(entry.get("config") or {})
    if custom is not None:
        return custom.from_config(_drop_unused(custom, inner)) if isinstance(custom, type) else custom
    cls = losses.losses._CLASSES.get(entry["class_name"])
    if cls is None:
        raise _not_known("loss", entry["class_name"])
    inner.pop("fn", None)
    return cls.from_config(_drop_unused(cls, inner))


_ACCURACY_NAMES = ("accuracy", "acc")


def _metric_name(entry: str, custom_objects):
    """A metric name as compile() takes it, or the error Keras 2 gave at load for a name it did not know."""
    from lamina import metrics

    found = _lookup(entry, custom_objects)
    if found is not None or entry in _ACCURACY_NAMES:  # resolved against the loss by compile()
        return found or entry
    try:
        metrics.get(entry)
    except ValueError:
        raise _not_known("metric", entry) from None
    return entry


def _wrapped_metric(config: dict, custom_objects):
    """Keras 2's `MeanMetricWrapper` (a function averaged over batches) as a lamina metric of the same name."""
    from lamina import metrics

    name = config.get("name")
    fn = config.get("fn")
    fn = fn.get("config") if isinstance(fn, dict) else fn
    if name in _ACCURACY_NAMES:
        return name
    function = _lookup(fn, custom_objects) if isinstance(fn, str) else None
    if function is None and isinstance(fn, str) and fn not in metrics.metrics._BY_NAME:
        raise _not_known("metric", fn)
    try:
        return metrics.get(function or fn or name, name=name)
    except ValueError:
        raise _not_known("metric", fn or name) from None


def _metric(entry, custom_objects):
    """A training config's metrics as compile() takes them: names checked, metric objects rebuilt from their config."""
    from lamina import metrics

    if entry is None:
        return None
    if isinstance(entry, list):
        return [_metric(e, custom_objects) for e in entry]
    if isinstance(entry, str):
        return _metric_name(entry, custom_objects)
    if not isinstance(entry, dict):
        return entry
    if "class_name" not in entry:
        return {key: _metric(value, custom_objects) for key, value in entry.items()}
    config = entry.get("config")
    if entry["class_name"] == "function" and isinstance(config, str):  # Keras 3's form of a function
        return _metric_name(config, custom_objects)
    config = dict(config or {})
    if entry["class_name"] == "MeanMetricWrapper":
        return _wrapped_metric(config, custom_objects)
    custom = _lookup(entry.get("registered_name") or entry["class_name"], custom_objects)
    if custom is not None:
        return custom.from_config(_drop_unused(custom, config)) if isinstance(custom, type) else custom
    cls = metrics.metrics._CLASSES.get(entry["class_name"])
    if cls is None or cls is metrics.MeanMetricWrapper:
        raise _not_known("metric", entry["class_name"])
    return cls.from_config(_drop_unused(cls, config))


def _single_output_metrics(metrics):
    """Keras 2 wraps the metrics of each output in its own list; one output needs no wrapping."""
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        return metrics[0]
    return metrics


def optimizer_from_config(config: dict, custom_objects=None):
    """An optimizer from `{"class_name", "config"}`, accepting Keras 2's `Custom>Adam` and Keras 3's extra keys.

    Example:
        >>> optimizer_from_config({"class_name": "Custom>Adam", "config": {"learning_rate": 0.01}})
    """
    from lamina import optimizers

    name = config.get("class_name", "")
    cls = _lookup(config.get("registered_name") or name, custom_objects)
    if cls is None:
        try:
            cls = optimizers.optimizer._class_for(name)
        except ValueError as error:
            raise ValueError(f"{error} If it is a custom optimizer, pass it in custom_objects.") from None
    inner = _drop_unused(cls, dict(config.get("config") or {}))
    if isinstance(cls, type) and issubclass(cls, optimizers.Optimizer):
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def compile_from_training_config(model, config: dict, custom_objects=None) -> None:
    """Compiles `model` as the saved `training_config` says.

    Loss and metric objects (tf-keras's `{"class_name": "Huber", "config": {..., "fn": "huber"}}`,
    `RootMeanSquaredError(name="rmse")`, Keras 3's forms) are rebuilt from their class and config, so
    they keep their arguments and display names. A loss or metric lamina does not know, and that
    `custom_objects` does not give, raises a ValueError naming it and the `custom_objects` fix, as
    Keras 2's `load_model(compile=True)` did; `load_model(..., compile=False)` loads the model uncompiled.

    Example:
        >>> compile_from_training_config(model, {"optimizer_config": {"class_name": "Adam", "config": {}},
        ...                                      "loss": "mse", "metrics": ["mae"]})
    """
    optimizer = optimizer_from_config(config["optimizer_config"], custom_objects)
    metrics = _single_output_metrics(_metric(config.get("metrics"), custom_objects))
    weighted = _single_output_metrics(_metric(config.get("weighted_metrics"), custom_objects))
    model.compile(
        optimizer=optimizer,
        loss=_loss(config.get("loss"), custom_objects),
        metrics=metrics,
        loss_weights=config.get("loss_weights"),
        weighted_metrics=weighted,
    )


# -------------------------------------------------------------- optimizer state
_SLOT_ALIASES = {
    "m": ("m", "momentum"),
    "v": ("v", "velocity"),
    "vhat": ("vhat", "velocity_hat"),
    "velocity": ("velocity", "rms"),
    "average_gradient": ("average_gradient", "mg"),
    "momentum": ("momentum", "m"),
}


def optimizer_weight_names(optimizer) -> list:
    """The names lamina writes for `optimizer.variables` (the step counter, learning rate, slots)."""
    names = [f"{optimizer.name}/iteration:0", f"{optimizer.name}/learning_rate:0"]
    names += [f"{slot.path}:0" for slot in optimizer._slots]
    for inner in getattr(optimizer, "_sub_optimizers", list)():  # wrappers: the inner optimizers' variables follow
        names += optimizer_weight_names(inner)
    return _unique(names)


def _unique(names: list) -> list:
    seen, out = {}, []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name[:-2]}_{count}:0" if name.endswith(":0") else f"{name}_{count}")
    return out


def build_optimizer(model) -> None:
    """Creates the optimizer's slots now (they are otherwise made at the first `fit`)."""
    if model._compiled_trainable is None:
        model._freeze_trainable_set()
    model.optimizer.build(model._compiled_trainable)


def _slot_owners(optimizer) -> list:
    """(slot, variable path, slot kind) for every slot."""
    owners = []
    for slot in optimizer._slots:
        for variable in optimizer._built_for or []:
            if slot.path == f"{optimizer.name}/{variable.path.replace('/', '_')}_{slot.name}":
                owners.append((slot, variable.path, slot.name))
                break
        else:
            owners.append((slot, None, slot.name))
    return owners


def _match_foreign(optimizer, names: list) -> dict | None:
    """Keras 2/3 names of the file, matched to lamina's variables; None where any slot is unmatched."""
    plain = [n[:-2] if n.endswith(":0") else n for n in names]
    matches = {}
    counters = [i for i, n in enumerate(plain) if n.rsplit("/", 1)[-1] in ("iteration", "iterations", "iter")]
    if len(counters) == 1:
        matches[id(optimizer.iterations)] = counters[0]
    for slot, var_path, kind in _slot_owners(optimizer):
        if var_path is None:
            return None
        flat = var_path.replace("/", "_")
        found = []
        for i, name in enumerate(plain):
            parts = name.split("/")
            for alias in _SLOT_ALIASES.get(kind, (kind,)):
                keras2 = len(parts) >= 3 and parts[1] == alias and "/".join(parts[2:]).endswith(var_path)
                last = parts[-1]
                keras3 = last == f"{flat}_{alias}" or last.endswith(f"_{flat}_{alias}")
                if keras2 or keras3:
                    found.append(i)
                    break
        if len(found) != 1:
            return None
        matches[id(slot)] = found[0]
    return matches


def restore_optimizer_state(model, names: list, values: list, filename: str, writer: str | None = None) -> bool:
    """Sets the optimizer's variables from a file's `optimizer_weights`; warns and returns False if they do not fit.

    `writer` (from `optimizer_layouts.file_writer`) picks the layout of the Keras that wrote the file.
    """
    from lamina.saving import optimizer_layouts

    optimizer = model.optimizer
    build_optimizer(model)
    variables = optimizer.variables
    if list(names) == optimizer_weight_names(optimizer):
        pairs = list(zip(variables, values))
    else:
        pairs, problem = optimizer_layouts.match_state(optimizer, list(names), list(values), writer)
        by_name = writer in (None, optimizer_layouts.LAMINA, optimizer_layouts.KERAS3, optimizer_layouts.UNKNOWN)
        matches = _match_foreign(optimizer, list(names)) if pairs is None and by_name else None
        if pairs is None and matches is None:
            warnings.warn(
                f"{filename}: its optimizer state ({len(names)} arrays) does not fit this model's {optimizer.name} "
                f"optimizer ({problem}); the model is compiled with a fresh optimizer state.",
                stacklevel=3,
            )
            return False
        if pairs is None:
            by_id = {id(v): v for v in variables}
            pairs = [(by_id[key], values[index]) for key, index in matches.items()]
    for variable, value in pairs:
        if tuple(np.shape(value)) != tuple(variable.shape):
            warnings.warn(
                f"{filename}: optimizer variable {variable.path!r} has shape {variable.shape}, the file's "
                f"{tuple(np.shape(value))}; the model is compiled with a fresh optimizer state.",
                stacklevel=3,
            )
            return False
    for variable, value in pairs:
        variable.assign(np.asarray(value).astype(variable.dtype))
    return True
