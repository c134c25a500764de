"""Whole models and weights in the Keras 2 HDF5 layout (DESIGN rules 8, 10, 11).

A model file has root attributes `keras_version`, `backend`, `model_config` and
`training_config` (JSON), a group `model_weights` (attribute `layer_names`; one
group per layer with attribute `weight_names` and one dataset per weight, named
like `dense/kernel:0`) and a group `optimizer_weights`. A weights file has the
`model_weights` part at its root. Every write goes to a temporary file in the
same folder that replaces the target only once complete.

Weights are matched to layers by layer name (or order), and within a layer by
their names where those match (else by order), so files from Keras 2 (`hidden/kernel:0`) and
Keras 3 (`mlp/hidden/kernel`) load alike. A layer's weights are stored in Keras 2's order,
trainable ones first (a nested model is one layer), and old layouts (Theano kernels, Keras 1,
CuDNN RNNs) are converted on load by `lamina.saving.legacy_weights`.

Example:
    >>> model.save("my_model.h5")
    >>> model = load_model("my_model.h5")
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
import zipfile

import numpy as np

from lamina.saving import (
    atomic_files,
    file_limits,
    legacy_weights,
    model_config,
    optimizer_layouts,
    serialization,
    training_config,
)

_ATTR_LIMIT = 64000  # HDF5 object headers hold at most 64 KiB of attributes: longer lists are split


def _h5py():
    try:
        import h5py
    except ImportError as error:  # pragma: no cover - h5py is a dependency
        raise ImportError("Saving to HDF5 needs h5py: pip install h5py.") from error
    return h5py


# ----------------------------------------------------------------- file access
@contextlib.contextmanager
def atomic_path(filepath):
    """A temporary path beside `filepath` to write to; it replaces `filepath` when the block ends without error.

    If the block raises (or the process dies), `filepath` keeps its previous contents; a full disk (or file size
    limit) is reported as such, naming the path; stale temporary files of saves killed earlier are removed first
    (see `lamina.saving.atomic_files`).

    Example:
        >>> with atomic_path("notes.txt") as temporary:
        ...     pathlib.Path(temporary).write_text("hello")
    """
    path = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise NotADirectoryError(f"Cannot save to {path!r}: {folder!r} is a file, not a folder.")
        raise FileNotFoundError(f"Cannot save to {path!r}: the folder {folder!r} does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a folder; give a file name.")
    _refuse_open_target(path)
    atomic_files.remove_stale_temporaries(path)  # what a save killed midway left
    existed = os.path.exists(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=atomic_files.temporary_prefix(path), suffix=".tmp")
    except PermissionError:
        raise PermissionError(f"Cannot save to {path!r}: no permission to write in the folder {folder!r}.") from None
    os.close(handle)
    try:
        yield temporary
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        full = atomic_files.disk_full_error(error, path, existed)
        if full is not None:
            raise full from error
        raise


def _open_h5_files() -> list:
    """(path, mode) of every HDF5 file this process has open through h5py."""
    h5py = sys.modules.get("h5py")
    if h5py is None:
        return []
    found = []
    for file_id in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
        with contextlib.suppress(Exception):
            writable = file_id.get_intent() & h5py.h5f.ACC_RDWR
            found.append((os.fsdecode(file_id.name), "r+" if writable else "r"))
    return found


def _refuse_open_target(path: str) -> None:
    """An error when `path` is an HDF5 file this process holds open: saving over it would pull it from under you."""
    if not os.path.exists(path):
        return
    for open_path, mode in _open_h5_files():
        try:
            same = os.path.samefile(open_path, path)
        except OSError:  # the open file was deleted or moved
            same = False
        if same:
            how = "for writing" if mode == "r+" else "for reading"
            raise OSError(
                f"Cannot save to {path!r}: the file is open {how} in this process (an h5py.File, or an "
                "HDF5Matrix reading it). Close it first, or save under another name."
            )


@contextlib.contextmanager
def atomic_h5_file(filepath):
    """An h5py.File open for writing at a temporary path beside `filepath`, moved onto it when the block ends.

    If the block raises (or the process dies), `filepath` keeps its previous contents.

    Example:
        >>> with atomic_h5_file("weights.h5") as f:
        ...     f.attrs["note"] = "hello"
    """
    h5py = _h5py()
    with atomic_path(filepath) as temporary, open(temporary, "r+b", buffering=0) as raw:
        sink = atomic_files.GuardedFile(raw)  # a failed write (disk full) must not reach HDF5: it can crash
        try:
            with h5py.File(sink, "w") as f:
                yield f
        except Exception as error:
            if sink.failure is not None:  # what went wrong after a dropped write follows from it: report the cause
                raise sink.failure from error
            raise
        sink.raise_failure()


@contextlib.contextmanager
def open_h5_for_reading(filepath):
    """The h5py.File at `filepath`, or an error naming the file and what is wrong with it."""
    h5py = _h5py()
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file or folder found at {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder (a TensorFlow SavedModel?); lamina reads HDF5 (.h5) files.")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path!r} is not an HDF5 file (it is corrupt, truncated, or another format such as .keras).")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path!r} cannot be opened as an HDF5 file: {error}") from error
    try:
        yield f
    finally:
        f.close()


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def save_attributes(group, name: str, values: list) -> None:
    """Strings as a bytes-array attribute, split into `name0`, `name1`, ... when long (as Keras does)."""
    data = np.asarray([v.encode("utf-8") for v in values], dtype=bytes) if values else np.zeros((0,), dtype="S1")
    chunks = max(1, int(np.ceil(data.nbytes / _ATTR_LIMIT)))
    if chunks == 1:
        group.attrs[name] = data
        return
    for index, part in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{index}"] = part


def load_attributes(group, name: str) -> list:
    """The list of strings `save_attributes` wrote (whole or split), or [] when absent."""
    if name in group.attrs:
        return [_text(v) for v in np.atleast_1d(group.attrs[name])]
    out, index = [], 0
    while f"{name}{index}" in group.attrs:
        out.extend(_text(v) for v in np.atleast_1d(group.attrs[f"{name}{index}"]))
        index += 1
    return out


# --------------------------------------------------------------------- weights
def _weight_names(layer) -> list:
    """The saved names of a layer's weights, in Keras 2's order (trainable, then non-trainable)."""
    order = legacy_weights.keras2_weight_order(layer)
    return training_config._unique([f"{getattr(v, 'path', v.name)}:0" for v in order])


def save_weights_to_group(group, layers: list) -> None:
    """Writes `layer_names` and one group per layer with its `weight_names` and arrays."""
    from lamina import backend

    save_attributes(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = backend.backend()
    group.attrs["keras_version"] = model_config.KERAS_VERSION
    for layer in layers:
        layer_group = group.create_group(layer.name)
        names = _weight_names(layer)
        save_attributes(layer_group, "weight_names", names)
        for name, variable in zip(names, legacy_weights.keras2_weight_order(layer)):
            layer_group.create_dataset(name, data=variable.numpy())


def _file_layers(group, filename: str) -> list:
    """(layer name, [h5py datasets, not yet read]) for every layer the file lists, in its order."""
    if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
        raise ValueError(
            f"{filename!r} has no 'layer_names' attribute, so it is not a Keras HDF5 weights file "
            f"(top-level keys: {sorted(group.keys())})."
        )
    out = []
    for name in load_attributes(group, "layer_names"):
        if name not in group:
            raise ValueError(f"{filename!r} lists layer {name!r} but has no group for it: the file is damaged.")
        layer_group = group[name]
        arrays = []
        for weight_name in load_attributes(layer_group, "weight_names"):
            if weight_name not in layer_group:
                raise ValueError(f"{filename!r}: layer {name!r} lists weight {weight_name!r} but does not hold it.")
            arrays.append(layer_group[weight_name])  # read once its shape is checked (`_set_layer`)
        out.append((name, arrays))
    return out


def _set_layer(
    layer, arrays: list, file_layer: str, filename: str, skip_mismatch: bool, names=None, origin=None
) -> bool:
    """Sets `layer`'s weights from a file's arrays, or reports the first mismatching weight.

    With `origin` ((keras_version, backend) of the writer: a Keras 2 layout file), the arrays are in
    Keras 2's order (trainable weights first), `names` (the file's weight names) settle that order where
    they can, and old layouts are converted as Keras 2 did. Without, they follow `layer.weights`.
    """
    if names is not None:
        arrays = legacy_weights.order_by_names(layer, names, arrays)
    params = layer.weights if origin is None else legacy_weights.keras2_weight_order(layer)
    try:  # shapes (HDF5 metadata) before values: a damaged file's 40 GB array is refused, not read
        file_limits.check_datasets(arrays, params, filename, f"layer {layer.name!r}", exact=False)
    except ValueError as error:
        if not skip_mismatch:
            raise
        warnings.warn(f"{filename}: skipping layer {layer.name!r}: {error}", stacklevel=4)
        return False
    if origin is not None:
        arrays = legacy_weights.preprocess_weights(layer, [file_limits.read(a) for a in arrays], *origin)
    problem = None
    if len(arrays) != len(params):
        problem = f"the file's layer {file_layer!r} holds {len(arrays)} weights, layer {layer.name!r} has {len(params)}"
    else:
        for variable, array in zip(params, arrays):
            if tuple(array.shape) != tuple(variable.shape):
                problem = (
                    f"layer {layer.name!r} weight {variable.name!r} has shape {tuple(variable.shape)}, the file's "
                    f"layer {file_layer!r} holds shape {tuple(array.shape)}"
                )
                break
    if problem is None:
        for variable, array in zip(params, arrays):
            variable.assign(file_limits.read(array))
        return True
    if skip_mismatch:
        warnings.warn(f"{filename}: skipping layer {layer.name!r}: {problem}.", stacklevel=4)
        return False
    raise ValueError(f"Cannot load weights from {filename!r}: {problem}.")


def _same_layer_names(file_layers: list, model) -> bool:
    """Whether the file's layers with weights and the model's are the same set of names."""
    stored = [name for name, arrays in file_layers if arrays]
    layers = [layer.name for layer in model.layers if layer.weights]
    return len(set(stored)) == len(stored) and set(stored) == set(layers)


def _distinct_weight_layers(layers: list) -> list:
    """`layers` less those whose weights all belong to layers before them (shared, as in a VAE's loss graph)."""
    kept, seen = [], set()
    for layer in layers:
        ids = {id(variable) for variable in layer.weights}
        if not ids <= seen:
            kept.append(layer)
        seen |= ids
    return kept


def load_weights_from_group(
    group, model, filename: str, by_name=False, skip_mismatch=False, prefer_names=False
) -> None:
    """Sets the model's weights from a `model_weights`-style group, by layer order or by layer name.

    With `prefer_names` (what `load_model` uses), layers are matched by name whenever the file and the
    model name the same layers, and by order otherwise. By name, a file layer no model layer is named after
    may match through the model's table of Keras 2 names (`legacy_weights.keras2_aliases`); when no layer
    with weights matches at all, a warning names the file and some of its layers (Keras 2 loaded nothing silently).
    """
    file_layers = _file_layers(group, filename)
    origin = legacy_weights.file_origin(group)

    def names_of(file_layer: str) -> list:
        return load_attributes(group[file_layer], "weight_names")

    if by_name or (prefer_names and _same_layer_names(file_layers, model)):
        by_layer = dict(file_layers)
        aliases = legacy_weights.keras2_aliases(model, by_layer)  # Keras 2's names for the model's layers
        matched = 0
        for layer in model.layers:
            name = layer.name if layer.name in by_layer else aliases.get(layer.name)
            if name is not None and (layer.weights or by_layer[name]):
                matched += 1
                _set_layer(layer, by_layer[name], name, filename, skip_mismatch, names_of(name), origin)
        if not matched:
            legacy_weights.warn_nothing_matched(filename, model, file_layers)
        return
    if skip_mismatch:
        raise ValueError("load_weights(skip_mismatch=True) needs by_name=True, as in Keras.")
    stored = [(name, arrays) for name, arrays in file_layers if arrays]
    layers = [layer for layer in model.layers if layer.weights]
    if len(stored) != len(layers) and len(stored) == len(_distinct_weight_layers(layers)):
        layers = _distinct_weight_layers(layers)  # Keras 2.3 did not list layers again for add_loss's graph
    if len(stored) != len(layers):
        raise ValueError(
            f"Cannot load weights from {filename!r}: it holds weights for {len(stored)} layers "
            f"{[n for n, _ in stored]}, but model {model.name!r} has {len(layers)} layers with weights "
            f"{[layer.name for layer in layers]}. Use by_name=True to load the layers that share names."
        )
    for layer, (name, arrays) in zip(layers, stored):
        _set_layer(layer, arrays, name, filename, False, names_of(name), origin)


# ---------------------------------------------------------------- whole models
def save_model(model, filepath, overwrite=True, include_optimizer=True) -> None:
    """Saves architecture, weights, compile arguments and optimizer state in one HDF5 file.

    Example:
        >>> save_model(model, "my_model.h5")
    """
    if _is_h5_group(filepath):  # an open h5py.File, as Keras 2 accepted: written in place
        _write_model(filepath, model, include_optimizer)
        return
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        from lamina.saving import keras_zip

        keras_zip.save_model(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
        return
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    with atomic_h5_file(path) as f:
        _write_model(f, model, include_optimizer)


def _is_h5_group(value) -> bool:
    h5py = sys.modules.get("h5py")
    return h5py is not None and isinstance(value, h5py.Group)


@contextlib.contextmanager
def _reading(filepath):
    """(h5py group, file name) of a path or of an h5py.File the caller opened (and closes)."""
    if _is_h5_group(filepath):
        yield filepath, filepath.file.filename
    else:
        with open_h5_for_reading(filepath) as f:
            yield f, os.fspath(filepath)


def _write_model(f, model, include_optimizer: bool) -> None:
    config = model_config.model_to_dict(model)
    compiled = training_config.training_config(model) if include_optimizer else None
    f.attrs["keras_version"] = model_config.KERAS_VERSION
    f.attrs["backend"] = config["backend"]
    f.attrs["model_config"] = json.dumps({"class_name": config["class_name"], "config": config["config"]})
    if compiled is not None:
        f.attrs["training_config"] = json.dumps(compiled, default=model_config._plain)
    save_weights_to_group(f.create_group("model_weights"), model.layers)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and optimizer._built_for is not None:
        group = f.create_group("optimizer_weights")
        names = training_config.optimizer_weight_names(optimizer)
        save_attributes(group, "weight_names", names)
        for name, variable in zip(names, optimizer.variables):
            group.create_dataset(name, data=variable.numpy())


def _json_attr(f, name: str, filename: str):
    if name not in f.attrs:
        return None
    try:
        size = f.attrs.get_id(name).get_storage_size()  # checked before the text is read
    except (KeyError, OSError, AttributeError):
        size = 0
    where = f"{filename!r} attribute {name!r}"
    file_limits.check_config_size(where, size)
    return file_limits.load_json(_text(f.attrs[name]), where)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=None):  # noqa: A002 - Keras's name
    """A model from an HDF5 file (lamina, Keras 2 or Keras 3) or a Keras 3 `.keras` zip.

    Args:
        filepath: the .h5 file, or a .keras file (read by `lamina.saving.keras_zip`).
        custom_objects: user classes and functions by the names the file uses.
        compile: compile the model as it was saved (and restore the optimizer state).
        safe_mode: refuse Lambda bytecode; pass False only for files you trust. None (the default)
            follows an enclosing `safe_mode_scope`, safe outside one.

    Example:
        >>> model = load_model("my_model.h5", custom_objects={"AttentionLayer": AttentionLayer})
    """
    filename = filepath.file.filename if _is_h5_group(filepath) else os.fspath(filepath)
    if not _is_h5_group(filepath) and (
        filename.endswith(".keras") or (os.path.isfile(filename) and zipfile.is_zipfile(filename))
    ):
        from lamina.saving import keras_zip

        return keras_zip.load_model(filename, custom_objects, compile, safe_mode)
    with _reading(filepath) as (f, filename):
        config = _json_attr(f, "model_config", filename)
        if config is None:
            raise ValueError(
                f"{filename!r} has no model_config: it holds weights only. Build the model in code and call "
                "model.load_weights() instead."
            )
        writer = _text(f.attrs["keras_version"]) if "keras_version" in f.attrs else None
        try:
            with serialization.writer_scope(keras_version=writer, config=config):  # what names like hard_sigmoid mean
                model = model_config.model_from_config(config, custom_objects, safe_mode)
        except (TypeError, ValueError) as error:
            raise type(error)(f"Cannot re-create the model saved in {filename!r}: {error}") from error
        group = f["model_weights"] if "model_weights" in f else f
        load_weights_from_group(group, model, filename, prefer_names=True)
        train = _json_attr(f, "training_config", filename)
        if compile and train is not None:
            try:
                training_config.compile_from_training_config(model, train, custom_objects)
            except (TypeError, ValueError, KeyError) as error:
                raise ValueError(f"{filename!r}: cannot compile the model from its training_config: {error}") from error
            saved_by = optimizer_layouts.writer_rules(model.optimizer, f.attrs, train)  # Keras 2's rules differ
            if "optimizer_weights" in f:
                group = f["optimizer_weights"]
                names = load_attributes(group, "weight_names")
                missing = [name for name in names if name not in group]
                if missing:
                    warnings.warn(
                        f"{filename}: optimizer_weights lists {len(names)} arrays but lacks {missing[0]!r}"
                        f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}; the model is compiled "
                        "with a fresh optimizer state.",
                        stacklevel=2,
                    )
                else:
                    values = _optimizer_arrays(group, names, model, filename)
                    training_config.restore_optimizer_state(model, names, values, filename, saved_by)
    return model


def _optimizer_arrays(group, names: list, model, filename: str) -> list:
    """The file's optimizer arrays, each read only once its shape shows it is no bigger than the model's weights."""
    datasets = [group[name] for name in names]
    file_limits.check_datasets(datasets, model.weights, filename, "optimizer_weights", exact=False, positional=False)
    return [file_limits.read(dataset) for dataset in datasets]


def save_weights(model, filepath, overwrite=True) -> None:
    """Saves the weights alone: Keras 3's layout for a `.weights.h5` name (what Keras 3 reads there), else Keras 2's.

    Example:
        >>> save_weights(model, "my_model_weights.h5")  # Keras 2 layout: tf.keras and Keras 3 read it
        >>> save_weights(model, "model.weights.h5")  # Keras 3 layout, optimizer state included, as Keras 3 writes
    """
    if _is_h5_group(filepath):  # an open h5py.File: Keras 2's layout, written in place
        save_weights_to_group(filepath, model.layers)
        return
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    with atomic_h5_file(path) as f:
        if path.endswith(".weights.h5"):
            from lamina.saving import keras_zip

            keras_zip.write_weights(f, model)
        else:
            save_weights_to_group(f, model.layers)


def load_weights(model, filepath, by_name=False, skip_mismatch=False) -> None:
    """Loads weights saved by `save_weights` or `save` (lamina, Keras 2 or Keras 3 HDF5).

    Args:
        by_name: match layers by name (for a different architecture); otherwise by order.
        skip_mismatch: with by_name, skip layers whose weights differ in count or shape (with a warning).

    Example:
        >>> model.load_weights("my_model_weights.h5", by_name=True)
    """
    filename = filepath.file.filename if _is_h5_group(filepath) else os.fspath(filepath)
    if filename.endswith(".keras") and not _is_h5_group(filepath):
        from lamina.saving import keras_zip

        if by_name or skip_mismatch:
            raise ValueError(f"{filename!r} is a Keras 3 '.keras' file; its weights load by layer order only.")
        keras_zip.load_weights(model, filename)
        return
    with _reading(filepath) as (f, filename):
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs and "layer_names0" not in group.attrs and "layers" in f:
            if skip_mismatch and not by_name:
                raise ValueError("load_weights(skip_mismatch=True) needs by_name=True, as in Keras.")
            from lamina.saving import keras_zip

            keras_zip.read_layers(f["layers"], model.layers, filename, by_name=by_name, skip_mismatch=skip_mismatch)
            return
        load_weights_from_group(group, model, filename, by_name, skip_mismatch)
