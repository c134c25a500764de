"""Keras 3's `.keras` zip format: `metadata.json`, `config.json` and `model.weights.h5` (DESIGN rules 8-11).

`config.json` holds the model as Keras 3 serializes it: every object is
`{"module", "class_name", "config", "registered_name"}`, a functional layer's
inbound nodes are `{"args", "kwargs"}` with `__keras_tensor__` references, and
the model entry carries a `compile_config` (optimizer, loss, metrics, ...) when
it was compiled. `model.weights.h5` holds one group per layer,
`layers/<class name in snake case, numbered by class>/vars/<i>` (nested models
under their own `layers/`), the model's `vars` and the optimizer's
`optimizer/vars/<i>` in Keras 3's variable order. Layers with assets (an adapted lookup vocabulary) keep them
under `assets/layers/<key>/` (`save_assets` / `load_assets`, as Keras 3 names the hooks).

Nothing in the archive is executed or unpickled; Lambda code still needs `safe_mode=False`.

Example:
    >>> model.save("my_model.keras")
    >>> same = lamina.models.load_model("my_model.keras")
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import tempfile
import types
import warnings
import zipfile
import zlib

from lamina.saving import file_limits, hdf5, model_config, optimizer_layouts, serialization, training_config
from lamina.saving.keras3_config import keras3_config

FORMAT_VERSION = "3.15.1"  # the Keras 3 release whose `.keras` layout lamina writes
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# Sub-layers Keras 3 keeps in private attributes, so its files name their groups with the underscore.
_KERAS3_PRIVATE_GROUPS = {("MultiHeadAttention", "gate_dense"): "_gate_dense"}
_KERAS3_PRIVATE_GROUPS.update(
    {("GroupedQueryAttention", f"{part}_dense"): f"_{part}_dense" for part in ("query", "key", "gate", "value")}
)
_KERAS3_PRIVATE_GROUPS[("GroupedQueryAttention", "output_dense")] = "_output_dense"
# Keras 3 builds an optimizer's slots kind by kind; kinds in one tuple are interleaved per variable.
_KERAS3_SLOT_GROUPS = {
    "Adam": (("m", "v"), ("vhat",)),
    "AdamW": (("m", "v"), ("vhat",)),
    "SGD": (("momentum",),),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
    "Adadelta": (("accumulated_grad", "accumulated_delta_var"),),
    "Adamax": (("momentum", "norm"),),
    "Nadam": (("momentum", "velocity"), ("u_product",)),
    "Ftrl": (("accumulator", "linear"),),
}


def _keras3_keys(layers: list) -> list:
    """(group name, layer): Keras 3 names each layer's group by its class in snake case, numbered per class."""
    from lamina.backend.common import to_snake_case

    counts: dict = {}
    out = []
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        out.append((base if base not in counts else f"{base}_{counts[base]}", layer))
        counts[base] = counts.get(base, 0) + 1
    return out


def _is_model(layer) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model)


def _children(layer) -> list:
    """(attribute, sub-layer or list of sub-layers) in Keras 3's saving order: public attributes, sorted by name.

    Keras 3 saves a layer's own variables under `vars`, then walks its attributes and saves each sub-layer
    under the attribute's name (an LSTM's cell under `cell`, a Bidirectional's under `forward_layer` and
    `backward_layer`), and a list of them under numbered class names (`cells/lstm_cell_1`).
    """
    from lamina.layers.layer import Layer

    out = []
    private = getattr(layer, "_keras3_private_children", ())  # e.g. TextVectorization's `_lookup_layer`
    for attribute in sorted(vars(layer)):
        if attribute.startswith("_") and attribute not in private:
            continue
        value = getattr(layer, attribute)
        if isinstance(value, Layer) or _weight_holder(value):
            out.append((attribute, value))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            out.append((attribute, list(value)))
    return out


def _weight_holder(value) -> bool:
    """A plain namespace holding some of a layer's weights where Keras 3 has a sub-layer.

    MultiHeadAttention keeps its projections as `query_dense = SimpleNamespace(name="query", weights=[...])`;
    Keras 3 saves each as the sub-layer `query_dense/vars`, so lamina writes and reads them there too.
    """
    weights = getattr(value, "weights", None) if isinstance(value, types.SimpleNamespace) else None
    return isinstance(weights, list) and bool(weights) and isinstance(getattr(value, "name", None), str)


def _own_variables(layer) -> list:
    """The variables a layer made itself, in Keras 3's `save_own_variables` order (less those of weight holders)."""
    held = {id(v) for _, child in _children(layer) if _weight_holder(child) for v in child.weights}
    return [v for v in list(layer._trainable_variables) + list(layer._non_trainable_variables) if id(v) not in held]


def _layer_tree(layer, path: str, visited: set) -> list:
    """[(group path, [variables], owning layer)] for a layer and its sub-layers, recursively, each once."""
    if id(layer) in visited:
        return []
    visited.add(id(layer))
    if _is_model(layer):
        out = [(f"{path}/vars", [], layer)]
        for key, inner in _keras3_keys(layer.layers):
            out += _layer_tree(inner, f"{path}/layers/{key}", visited)
        return out
    out = [(f"{path}/vars", _own_variables(layer), layer)]
    for attribute, child in _children(layer):
        if isinstance(child, list):
            for key, inner in _keras3_keys(child):
                out += _layer_tree(inner, f"{path}/{attribute}/{key}", visited)
        elif _weight_holder(child):
            group = _KERAS3_PRIVATE_GROUPS.get((type(layer).__name__, attribute), attribute)
            out.append((f"{path}/{group}/vars", list(child.weights), child))
        else:
            out += _layer_tree(child, f"{path}/{attribute}", visited)
    return out


def _write_layers(group, layers: list) -> None:
    visited: set = set()
    for key, layer in _keras3_keys(layers):
        for path, variables, owner in _layer_tree(layer, key, visited):
            variables_group = group.require_group(path)
            variables_group.attrs["name"] = owner.name
            if hasattr(owner, "save_own_variables"):  # lookup layers: `idf_weights` by name, as Keras 3
                owner.save_own_variables(variables_group)
                continue
            for index, variable in enumerate(variables):
                variables_group.create_dataset(str(index), data=variable.numpy())


def _numbered(group) -> list:
    """The group's datasets `0`, `1`, ... (not read: their shapes are checked first)."""
    return [group[str(i)] for i in range(len(group))]


def _find_group(group, key: str, layer, by_name: bool = False):
    """`group[key]`, or the group whose `vars` carry the layer's name (always so with `by_name`)."""
    if not by_name and key in group and "vars" in group[key]:
        return group[key]
    for candidate in group.values():
        if "vars" in candidate and candidate["vars"].attrs.get("name") == layer.name:
            return candidate
    return None


def read_layers(group, layers: list, filename: str, where: str = "layers", by_name=False, skip_mismatch=False) -> None:
    """Sets each layer's weights from Keras 3's `layers/<key>/vars/<i>` groups (nested models recursively).

    By default layers match the file's groups by position (class name, numbered); with `by_name` by the layer
    name each group records, skipping layers the file does not have, as Keras 2's `by_name=True` does.
    """
    for key, layer in _keras3_keys(layers):
        if hasattr(layer, "load_own_variables"):  # lookup layers keep non-weight state (`idf_weights`)
            found = _find_group(group, key, layer, by_name)
            if found is not None:
                layer.load_own_variables(found["vars"])
            continue
        if not layer.weights:
            continue
        found = _find_group(group, key, layer, by_name)
        if found is None:
            if by_name:
                continue
            raise ValueError(
                f"Cannot load weights from {filename!r} (Keras 3 layout): it has no group '{where}/{key}' for layer "
                f"{layer.name!r}; its groups there are {sorted(group.keys())}."
            )
        if _is_model(layer) and "layers" in found:
            read_layers(found["layers"], layer.layers, filename, f"{where}/{key}/layers", by_name, skip_mismatch)
            continue
        try:
            tree = _layer_tree(layer, found.name.rsplit("/", 1)[-1], set())
            # All weights in `vars` is also how lamina wrote MultiHeadAttention before it used Keras 3's groups.
            flat = "vars" in found and len(found["vars"]) == len(layer.weights)
            if len(tree) == 1 or not any(variables for _, variables, _ in tree[1:]) or flat:
                hdf5._set_layer(layer, _numbered(found["vars"]), f"{where}/{key}", filename, False)
            else:
                _set_tree(found, tree, layer, f"{where}/{key}", filename)
        except ValueError as error:
            if not skip_mismatch:
                raise
            warnings.warn(f"{filename}: skipping layer {layer.name!r}: {error}", stacklevel=3)


def _set_tree(found, tree: list, layer, where: str, filename: str) -> None:
    """Assigns a layer with sub-layers group by group (`vars`, `cell/vars`, ...), checking every shape first."""
    root = found.name.rsplit("/", 1)[-1]
    pairs = []
    for path, variables, _ in tree:
        relative = path[len(root) + 1 :]
        if relative not in found and f"_{relative}" in found:  # tf-keras keeps the underscore: `_key_dense/vars`
            relative = f"_{relative}"
        stored = _numbered(found[relative]) if relative in found else []
        if len(stored) != len(variables):
            raise ValueError(
                f"Cannot load weights from {filename!r}: '{where}/{relative}' holds {len(stored)} arrays, "
                f"layer {layer.name!r} has {len(variables)} variables there."
            )
        for variable, array in zip(variables, stored):
            if tuple(array.shape) != tuple(variable.shape):
                raise ValueError(
                    f"Cannot load weights from {filename!r}: '{where}/{relative}' holds shape {array.shape} "
                    f"for {variable.path!r} of shape {tuple(variable.shape)}."
                )
            pairs.append((variable, array))
    for variable, array in pairs:
        variable.assign(file_limits.read(array).astype(variable.dtype))


def keras3_optimizer_variables(optimizer) -> list:
    """The optimizer's variables in Keras 3's order: iteration, learning rate, EMA averages, then the slots.

    Example:
        >>> [v.path for v in keras3_optimizer_variables(model.optimizer)]  # Adam, one Dense layer
        ['iteration', 'learning_rate', 'Adam/dense_kernel_m', 'Adam/dense_kernel_v', 'Adam/dense_bias_m', ...]
    """
    if hasattr(optimizer, "_sub_optimizers"):  # LossScaleOptimizer, MultiOptimizer: own variables, then the inner's
        inner = [v for sub in optimizer._sub_optimizers() for v in keras3_optimizer_variables(sub)]
        return optimizer._own_variables() + inner
    # With a schedule, Keras 3 keeps no learning-rate variable. Its EMA averages (`use_ema`) come next,
    # all of them, before the rule's own slots.
    ordered = [optimizer.iterations] + ([optimizer._learning_rate] if optimizer._schedule is None else [])
    averages = list(getattr(optimizer, "_ema_averages", []))
    ordered += averages
    slots = [slot for slot in optimizer._slots if not any(slot is average for average in averages)]
    groups = _KERAS3_SLOT_GROUPS.get(type(optimizer).__name__)
    if groups is None:  # optimizers written after Keras 3 create their slots in its order already
        return ordered + slots
    by_kind: dict = {}
    for slot in slots:
        by_kind.setdefault(slot.name, []).append(slot)
    for group in groups:
        lists = [by_kind.pop(kind, []) for kind in group]
        if any(lists):
            ordered += [slot for per_variable in zip(*lists) for slot in per_variable]
    for rest in by_kind.values():
        ordered += rest
    return ordered


def _restore_optimizer(model, group, filename: str, tf_keras: bool = False) -> bool:
    training_config.build_optimizer(model)
    variables = keras3_optimizer_variables(model.optimizer)
    if tf_keras:  # tf-keras 2.11+ keeps the learning rate (and a few states) outside its saved variables
        variables = optimizer_layouts.tf_keras_zip_order(model.optimizer, variables)
    values = _numbered(group)
    file_limits.check_datasets(values, model.weights, filename, "optimizer/vars", exact=False, positional=False)
    problem = None
    if len(values) != len(variables):
        kind = type(model.optimizer).__name__
        problem = f"it holds {len(values)} optimizer variables, this {kind} has {len(variables)}"
    else:
        for variable, value in zip(variables, values):
            if variable is not None and tuple(value.shape) != tuple(variable.shape):
                problem = f"optimizer variable {variable.path!r} has shape {variable.shape}, the file's {value.shape}"
                break
    if problem is not None:
        warnings.warn(f"{filename}: {problem}; the model is compiled with a fresh optimizer state.", stacklevel=4)
        return False
    values = [file_limits.read(value) for value in values]  # every shape fits: read them
    for variable, value in zip(variables, values):
        if variable is not None:  # None: a slot tf-keras saves and lamina's optimizer does not use
            variable.assign(value.astype(variable.dtype))
    if tf_keras:
        for variable, value in optimizer_layouts.resumed_schedule(model.optimizer, variables, values):
            variable.assign(value)
    return True


def write_weights(f, model, include_optimizer: bool = True) -> None:
    """Keras 3's weights layout into an open HDF5 file: `vars`, `layers/<key>/vars/<i>`, `optimizer/vars/<i>`."""
    f.create_group("vars").attrs["name"] = model.name
    _write_layers(f.create_group("layers"), model.layers)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and getattr(model, "compiled", False) and optimizer is not None:
        if optimizer._built_for is None and model.built:
            training_config.build_optimizer(model)
        _write_optimizer(f.create_group("optimizer"), optimizer)


def _write_optimizer(folder, optimizer) -> None:
    group = folder.create_group("vars")
    group.attrs["name"] = optimizer.name
    for index, variable in enumerate(keras3_optimizer_variables(optimizer)):
        group.create_dataset(str(index), data=variable.numpy())
    if type(optimizer).__name__ == "LossScaleOptimizer":
        # Keras 3 stores the wrapper's variables (its own, then the inner's) and, again, the inner optimizer's
        # under `inner_optimizer/`, which is where it reads them back from.
        _write_optimizer(folder.create_group("inner_optimizer"), optimizer.inner_optimizer)


def _asset_owners(model) -> list:
    """(path under `assets/`, layer) for each layer with assets (an adapted vocabulary), as Keras 3 places them."""
    visited: set = set()
    owners = []
    for key, layer in _keras3_keys(model.layers):
        for path, _, owner in _layer_tree(layer, key, visited):
            if hasattr(owner, "save_assets") and path.endswith("/vars"):
                owners.append((f"layers/{path[: -len('/vars')]}", owner))
    return owners


def _asset_files(model) -> dict:
    """{name in the zip: bytes} of every layer's assets, written by its `save_assets(folder)`."""
    files = {}
    with tempfile.TemporaryDirectory() as folder:
        for path, owner in _asset_owners(model):
            target = os.path.join(folder, *path.split("/"))
            os.makedirs(target, exist_ok=True)
            owner.save_assets(target)
            for name in sorted(os.listdir(target)):
                if os.path.isfile(os.path.join(target, name)):
                    with open(os.path.join(target, name), "rb") as f:
                        files[f"assets/{path}/{name}"] = f.read()
    return files


def _load_assets(model, filename: str) -> None:
    """Gives each layer with `load_assets` its folder of the zip's `assets/` (skipping names leaving it)."""
    owners = _asset_owners(model)
    if not owners:
        return
    with _archive(filename) as archive, tempfile.TemporaryDirectory() as folder:
        for name in archive.namelist():
            parts = name.split("/")
            if parts[0] != "assets" or name.endswith("/") or ".." in parts or "" in parts or "\\" in name:
                continue
            file_limits.check_member(filename, archive.getinfo(name), file_limits.MAX_ASSET_BYTES, "an asset may hold")
            target = os.path.join(folder, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(archive.read(name))
        for path, owner in owners:
            where = os.path.join(folder, "assets", *path.split("/"))
            if os.path.isdir(where):
                owner.load_assets(where)


def _weights_bytes(model, include_optimizer: bool) -> bytes:
    h5py = hdf5._h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write_weights(f, model, include_optimizer)
    return buffer.getvalue()


# ------------------------------------------------------------------ save / load
def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Writes `model` as a Keras 3 `.keras` zip, atomically (a temporary file beside it, then `os.replace`).

    Example:
        >>> save_model(model, "my_model.keras")
    """
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    config = keras3_config(model, include_optimizer)
    weights = _weights_bytes(model, include_optimizer)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")
    from lamina import __version__

    # `lamina_version` tells lamina's reader the file is its own (Keras 3 ignores the key).
    metadata = {"keras_version": FORMAT_VERSION, "date_saved": stamp, "lamina_version": __version__}
    with hdf5.atomic_path(path) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, json.dumps(metadata))
            archive.writestr(_CONFIG, json.dumps(config, default=model_config._plain))
            archive.writestr(_WEIGHTS, weights)
            for name, data in _asset_files(model).items():
                archive.writestr(name, data)


def _read_archive(filename: str) -> tuple[dict, dict]:
    """(config.json as a dict, metadata.json as a dict), each checked for size and nesting; else a ValueError."""
    if not os.path.exists(filename):
        raise FileNotFoundError(f"No file or folder found at {filename!r}.")
    if os.path.isdir(filename):
        raise ValueError(f"{filename!r} is a folder, not a '.keras' zip file.")
    if not zipfile.is_zipfile(filename):
        raise ValueError(f"{filename!r} is not a zip archive, so not a Keras '.keras' file (corrupt or other format).")
    texts = {}
    with _archive(filename) as archive:
        names = set(archive.namelist())
        if _CONFIG not in names:
            raise ValueError(
                f"{filename!r} is a zip archive without {_CONFIG!r} (it holds {sorted(names)[:10]}), "
                "so it is not a Keras '.keras' model file."
            )
        for member in (_CONFIG, _METADATA):
            if member in names:
                file_limits.check_config_size(f"{filename!r} member {member!r}", archive.getinfo(member).file_size)
                texts[member] = archive.read(member)
    metadata = file_limits.load_json(texts.get(_METADATA, b"{}"), f"{filename!r} member {_METADATA!r}")
    config = file_limits.load_json(texts[_CONFIG], f"{filename!r} member {_CONFIG!r}")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{filename!r}: its {_CONFIG} is not a serialized Keras model (no 'class_name').")
    return config, metadata if isinstance(metadata, dict) else {}


@contextlib.contextmanager
def _archive(filename: str):
    """The open zip archive; a damaged one (bad header, CRC, inflate error) raises a ValueError naming the file."""
    try:
        with zipfile.ZipFile(filename) as archive:
            yield archive
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError) as error:
        raise ValueError(f"{filename!r} is a damaged zip archive: {error}") from error


def _read_weights(filename: str, model) -> bytes | None:
    """model.weights.h5's bytes (None when absent), inflated only if its declared size fits `model`."""
    with _archive(filename) as archive:
        if _WEIGHTS not in archive.namelist():
            return None
        info = archive.getinfo(_WEIGHTS)
        file_limits.check_weights_member(filename, info, model)
        return archive.read(info)


def _open_weights(weights: bytes, filename: str):
    h5py = hdf5._h5py()
    try:
        return h5py.File(io.BytesIO(weights), "r")
    except OSError as error:
        raise ValueError(f"{filename!r}: its {_WEIGHTS} is not a readable HDF5 file ({error}).") from error


def load_weights(model, filepath) -> None:
    """Sets `model`'s weights from a `.keras` file's `model.weights.h5` (by layer order, as Keras 3 does).

    Example:
        >>> model.load_weights("my_model.keras")
    """
    filename = os.fspath(filepath)
    _read_archive(filename)
    weights = _read_weights(filename, model)
    if weights is None:
        raise ValueError(f"{filename!r} has no {_WEIGHTS!r}: the archive is incomplete.")
    with _open_weights(weights, filename) as store:
        read_layers(store["layers"] if "layers" in store else store, model.layers, filename)


def _compile(model, compile_config: dict, custom_objects, filename: str) -> bool:
    """Compiles as Keras 3's `compile_config` says; True when it names the optimizer (whose state then fits)."""
    optimizer = compile_config.get("optimizer")
    if isinstance(optimizer, str):
        optimizer = {"class_name": optimizer, "config": {}}
    saved = {
        # Keras 3 compiles with its default, RMSprop, when the config names no optimizer.
        "optimizer_config": optimizer or {"class_name": "RMSprop", "config": {}},
        "loss": compile_config.get("loss"),
        "metrics": compile_config.get("metrics"),
        "weighted_metrics": compile_config.get("weighted_metrics"),
        "loss_weights": compile_config.get("loss_weights"),
    }
    try:
        training_config.compile_from_training_config(model, saved, custom_objects)
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"{filename!r}: cannot compile the model from its compile_config: {error}") from error
    return optimizer is not None


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool | None = None):  # noqa: A002
    """A model from a Keras 3 `.keras` zip written by Keras 3 or lamina.

    Args:
        filepath: the `.keras` file.
        custom_objects: user classes and functions by the names the file uses.
        compile: compile as the file's `compile_config` says (and restore the optimizer state it holds).
        safe_mode: refuse Lambda bytecode; pass False only for files you trust. None (the default)
            follows an enclosing `safe_mode_scope`, safe outside one.

    Example:
        >>> model = load_model("my_model.keras", custom_objects={"AttentionLayer": AttentionLayer})
    """
    filename = os.fspath(filepath)
    config, metadata = _read_archive(filename)
    compile_config = config.get("compile_config")
    try:
        # tf-keras 2.13+ writes `.keras` archives too: metadata.json's keras_version names the writer.
        writer = metadata.get("keras_version") if isinstance(metadata, dict) else None
        with serialization.lamina_file_scope("lamina_version" in metadata), serialization.writer_scope(writer, config):
            model = model_config.model_from_config(config, custom_objects, safe_mode)
    except (TypeError, ValueError) as error:
        raise type(error)(f"Cannot re-create the model saved in {filename!r}: {error}") from error
    _load_assets(model, filename)
    weights = _read_weights(filename, model)
    if weights is None:
        if any(layer.weights for layer in model.layers):
            raise ValueError(f"{filename!r} has no {_WEIGHTS!r}: the archive is incomplete.")
        return model
    with _open_weights(weights, filename) as store:
        read_layers(store["layers"] if "layers" in store else store, model.layers, filename)
        if compile and isinstance(compile_config, dict):
            names_optimizer = _compile(model, compile_config, custom_objects, filename)
            tf_keras = str(metadata.get("keras_version", "")).startswith("2.")
            optimizer_config = compile_config.get("optimizer")
            if tf_keras and isinstance(optimizer_config, dict) and "legacy" in str(optimizer_config.get("module")):
                # tf-keras's OptimizerV2 (its file holds no state): its update rules, as from its .h5 files
                optimizer_layouts.adapt_optimizer(model.optimizer, optimizer_layouts.TF_LEGACY, optimizer_config)
            state = store.get("optimizer/vars")
            if state is not None and len(state) and model.built:
                # Without an optimizer in compile_config the state fits only if it was Keras's default one.
                if names_optimizer or re.fullmatch(r"rm_sprop(_\d+)?", str(state.attrs.get("name", ""))):
                    _restore_optimizer(model, state, filename, tf_keras)
                else:
                    warnings.warn(
                        f"{filename}: its compile_config names no optimizer, so the model is compiled with "
                        f"{type(model.optimizer).__name__} (Keras 3's default) and a fresh state; the stored state of "
                        f"optimizer {state.attrs.get('name')!r} is not used. Call compile() to choose the optimizer.",
                        stacklevel=3,
                    )
    return model
