"""Weights from old Keras files, converted to the layouts lamina's layers hold (Keras 2's, channels last).

Keras 2 converted some weights as it loaded an HDF5 file, and lamina does the same:

- Files written on Theano (root or `model_weights` attribute `backend` = "theano"): Theano computes a true
  convolution, TensorFlow (and lamina) a correlation, so the spatial axes of Conv1D, Conv2D, Conv3D,
  Conv2DTranspose and ConvLSTM2D kernels are flipped (`convert_kernel`). DepthwiseConv2D and
  SeparableConv2D kernels are not, as in Keras 2.
- A convolution kernel stored as (filters, channels, rows, cols) is transposed to (rows, cols, channels, filters).
- Keras 1 files (no `keras_version` attribute): LSTM's and ConvLSTM2D's 12 per-gate arrays and GRU's 9
  are stacked into kernel / recurrent_kernel / bias; Keras 1's channels_first Conv2D/Conv3D and all
  Conv2DTranspose kernels take Keras 2's axis order.
- CuDNNLSTM weights into LSTM, CuDNNGRU weights into GRU(reset_after=True) (told apart by the bias shape).
- Layers inside Bidirectional, TimeDistributed and nested models are converted one by one.

Example:
    >>> arrays = preprocess_weights(conv_layer, arrays, keras_version="2.2.4", backend="theano")
"""

from __future__ import annotations

import re
import warnings

import numpy as np

_CONV = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "ConvLSTM2D")
_CORRELATING_BACKENDS = {"tensorflow": True, "cntk": True, "theano": False}


def keras2_weight_order(layer) -> list:
    """A layer's weights in the order Keras 2 HDF5 files hold them: trainable ones, then non-trainable ones.

    For a model holding BatchNormalization that lists every kernel, bias, gamma and beta before any
    moving mean (a frozen model: layer by layer). `layer.weights` keeps Keras 3's layer-by-layer order;
    Keras 3 too writes and reads HDF5 files in this order.

    Example:
        >>> [v.path for v in keras2_weight_order(nested_model)]
        ['conv/kernel', 'conv/bias', 'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']
    """
    out, seen = [], set()
    for variable in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append(variable)
    return out


def convert_kernel(kernel) -> np.ndarray:
    """A convolution kernel with its spatial axes (all but the last two) reversed.

    Turns a kernel for a true convolution (Theano) into the kernel of the same filter as a correlation
    (TensorFlow, lamina), and back.

    Example:
        >>> convert_kernel(np.arange(3.0).reshape(3, 1, 1))[:, 0, 0]
        array([2., 1., 0.])
    """
    kernel = np.asarray(kernel)
    flips = tuple(slice(None, None, -1) for _ in range(kernel.ndim - 2))
    return np.copy(kernel[flips])


def needs_kernel_flip(original_backend) -> bool:
    """Whether kernels saved on `original_backend` must be flipped for lamina (which correlates)."""
    return _CORRELATING_BACKENDS.get(original_backend, True) is False


def preprocess_weights(layer, arrays: list, keras_version="2", backend=None) -> list:
    """`arrays` as an old file holds them for `layer`, converted to the layouts lamina's weights take.

    Args:
        layer: the lamina layer the arrays are for.
        arrays: NumPy arrays in `keras2_weight_order(layer)` (trainable weights, then non-trainable).
        keras_version: the file's `keras_version` ("1" when the file has none, as Keras 2 read it).
        backend: the file's `backend` attribute ("theano", "tensorflow", ...), or None.

    Example:
        >>> kernel, bias = preprocess_weights(Conv2D(2, 3), [kernel, bias], "2.2.4", "theano")
    """
    arrays = list(arrays)
    kind = type(layer).__name__
    if kind == "Bidirectional":
        half = len(arrays) // 2
        arrays = preprocess_weights(layer.forward_layer, arrays[:half], keras_version, backend) + (
            preprocess_weights(layer.backward_layer, arrays[half:], keras_version, backend)
        )
    elif kind == "TimeDistributed":
        arrays = preprocess_weights(layer.layer, arrays, keras_version, backend)
    elif _is_model(layer):
        arrays = _preprocess_nested_model(layer, arrays, keras_version, backend)
    if not arrays:
        return arrays
    if str(keras_version) == "1":
        arrays = _from_keras1(layer, kind, arrays)
    if kind in _CONV and layer.weights:
        arrays = _conv_kernels(layer, kind, arrays, backend)
    return _from_cudnn(layer, kind, arrays)


def _is_model(layer) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model)


def _preprocess_nested_model(model, arrays: list, keras_version, backend) -> list:
    """A nested model's arrays converted sub-layer by sub-layer.

    The arrays follow Keras 2's order (all trainable weights, then all non-trainable); a sub-layer's
    weights sit in its own Keras 2 order inside that, so each sub-layer's share is picked out by position.
    """
    variables = keras2_weight_order(model)
    if len(arrays) != len(variables):  # the caller reports the mismatch
        return list(arrays)
    position = {id(variable): index for index, variable in enumerate(variables)}
    out, done = list(arrays), set()
    for sublayer in model._layers:
        own = keras2_weight_order(sublayer)
        indices = [position[id(v)] for v in own if id(v) in position]
        if not indices or done.intersection(indices) or len(indices) != len(own):
            continue  # no weights, or shared with a sub-layer already converted
        done.update(indices)
        converted = preprocess_weights(sublayer, [arrays[i] for i in indices], keras_version, backend)
        for index, array in zip(indices, converted):
            out[index] = array
    return out


def _conv_kernels(layer, kind: str, arrays: list, backend) -> list:
    """Theano's flipped kernels flipped back; a (filters, channels, rows, cols) kernel transposed."""
    arrays = list(arrays)
    kernels = (0, 1) if kind == "ConvLSTM2D" else (0,)
    for index in kernels:
        if index >= len(arrays) or index >= len(layer.weights):
            continue
        if needs_kernel_flip(backend):
            arrays[index] = convert_kernel(arrays[index])
        expected = tuple(layer.weights[index].shape)
        array = np.asarray(arrays[index])
        if array.ndim == 4 and tuple(array.shape) != expected:
            transposed = np.transpose(array, (3, 2, 0, 1))
            if tuple(transposed.shape) == expected:
                arrays[index] = transposed
    return arrays


def _stack_gates(arrays: list, order: list) -> list:
    """Keras 1's per-gate [W, U, b] triples stacked, gates in `order`, into [kernel, recurrent_kernel, bias]."""
    return [np.concatenate([arrays[3 * gate + part] for gate in order], axis=-1) for part in range(3)]


def _fit(array, axes: tuple, expected: tuple) -> np.ndarray:
    """`array` transposed by `axes` when that gives the shape the layer expects (and its own shape does not)."""
    array = np.asarray(array)
    if tuple(array.shape) == tuple(expected) or array.ndim != len(axes):
        return array
    transposed = np.transpose(array, axes)
    return transposed if tuple(transposed.shape) == tuple(expected) else array


def _from_keras1(layer, kind: str, arrays: list) -> list:
    """Keras 1 layouts turned into Keras 2's (what Keras 2's `preprocess_weights_for_loading` did).

    Kernels are only transposed where their shape shows the old layout: a kernel that already fits is kept.
    """
    arrays = list(arrays)
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    expected = tuple(layer.weights[0].shape) if layer.weights else ()
    if kind == "Conv1D" and np.ndim(arrays[0]) == 4:
        # Keras 1 kept a Conv1D kernel as a Conv2D one: (length, 1, channels, filters) or (filters, channels, length, 1)
        kernel = np.asarray(arrays[0])
        if kernel.shape[1] != 1:
            kernel = np.transpose(kernel, (2, 3, 1, 0))
        arrays[0] = kernel[:, 0, :, :]
    elif kind == "Conv2D" and channels_first:
        arrays[0] = _fit(arrays[0], (2, 3, 1, 0), expected)
    elif kind == "Conv2DTranspose":
        arrays[0] = _fit(arrays[0], (2, 3, 0, 1) if channels_first else (0, 1, 3, 2), expected)
    elif kind == "Conv3D" and channels_first:
        arrays[0] = _fit(arrays[0], (2, 3, 4, 1, 0), expected)
    elif kind == "GRU" and len(arrays) == 9:  # gates z, r, h
        arrays = _stack_gates(arrays, [0, 1, 2])
    elif kind in ("LSTM", "ConvLSTM2D") and len(arrays) == 12:  # Keras 1 stored gates i, c, f, o; Keras 2: i, f, c, o
        arrays = _stack_gates(arrays, [0, 2, 1, 3])
        if kind == "ConvLSTM2D" and channels_first:
            arrays[0] = np.transpose(arrays[0], (2, 3, 1, 0))
            arrays[1] = np.transpose(arrays[1], (2, 3, 1, 0))
    return arrays


def _per_gate(kernel, function, gates: int) -> np.ndarray:
    return np.hstack([function(part) for part in np.hsplit(kernel, gates)])


def _cudnn_input_kernel(part) -> np.ndarray:
    """One gate's input kernel from CuDNN's (Fortran-ordered, transposed) layout."""
    return part.T.reshape(part.shape, order="F")


def _from_cudnn(layer, kind: str, arrays: list) -> list:
    """CuDNNLSTM / CuDNNGRU arrays, recognised by their bias shape, in LSTM / GRU(reset_after=True) layout."""
    if kind not in ("LSTM", "GRU") or len(arrays) != 3 or np.ndim(arrays[1]) != 2:
        return arrays
    units = arrays[1].shape[0]
    gates = 4 if kind == "LSTM" else 3
    if tuple(np.shape(arrays[2])) != (2 * units * gates,):
        return arrays
    if kind == "GRU" and not getattr(layer, "reset_after", True):
        raise ValueError(
            f'Layer "{layer.name}": the file holds CuDNNGRU weights (bias of shape {np.shape(arrays[2])}), which '
            "only GRU(reset_after=True) can use; this GRU has reset_after=False."
        )
    kernel = _per_gate(arrays[0], _cudnn_input_kernel, gates)
    recurrent = _per_gate(arrays[1], np.transpose, gates)
    halves = np.split(np.asarray(arrays[2]), 2)
    bias = halves[0] + halves[1] if kind == "LSTM" else np.stack(halves)
    return [kernel, recurrent, bias]


def file_origin(group) -> tuple:
    """(keras_version, backend) of the Keras that wrote a weights group, read as Keras 2 read them.

    The group's own attributes come first, then the file's root ones; a file with no `keras_version`
    anywhere is a Keras 1 file ("1").

    Example:
        >>> file_origin(h5py.File("old_theano_model.h5")["model_weights"])
        ('2.2.4', 'theano')
    """
    places = [group.attrs]
    root = getattr(group, "file", None)
    if root is not None and root.name != group.name:
        places.append(root.attrs)

    def read(name):
        for attrs in places:
            if name in attrs:
                value = attrs[name]
                return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return None

    return read("keras_version") or "1", read("backend")


def _name_key(name: str) -> str:
    """`layer/weight` of a saved or live weight name: `model/conv/kernel:0` and `conv/kernel` give `conv/kernel`."""
    name = re.sub(r":\d+$", "", str(name))
    return "/".join(name.split("/")[-2:])


def order_by_names(layer, weight_names: list, arrays: list) -> list:
    """The file's arrays in `keras2_weight_order(layer)` when their names say which weight each is; else unchanged.

    Keras 2 stored a nested model's weights trainable first (or, for a frozen one on tf.keras, layer by
    layer); the names settle it whichever order the writer used. Names that do not all match one to one
    (a layer renamed since, duplicate names) leave the file's order, matched by position.

    Example:
        >>> order_by_names(bn, ["bn/moving_mean:0", "bn/gamma:0"], [mean, gamma])  # a 2-weight layer
        [gamma, mean]
    """
    variables = keras2_weight_order(layer)
    if len(variables) < 2 or len(weight_names) != len(arrays) or len(arrays) != len(variables):
        return list(arrays)
    keys = [_name_key(getattr(variable, "path", None) or variable.name) for variable in variables]
    file_keys = [_name_key(name) for name in weight_names]
    if len(set(keys)) != len(keys) or sorted(keys) != sorted(file_keys):
        return list(arrays)
    by_key = dict(zip(file_keys, arrays))
    return [by_key[key] for key in keys]


def keras2_aliases(model, file_layer_names) -> dict:
    """{model layer name: file layer name} for the file's layers named as Keras 2 named the model's layers.

    An application whose layer names differ from Keras 2's (MobileNetV3: Keras 2's `Conv/BatchNorm` is lamina's
    `conv_bn`) sets `model._keras2_layer_names`, {Keras 2 name: lamina layer name}, for its layers with weights.
    Loading by name consults it only for file layers that no model layer is named after, so a file written by
    lamina or Keras 3 loads as before. The table is not part of the model's config: a model re-created from a
    saved file has lamina's names in that file and no table, and loads Keras 2 files by order (or rebuild it
    with the application function to load them by name).

    Example:
        >>> keras2_aliases(MobileNetV3Small(weights=None), ["Conv/BatchNorm", "conv"])
        {'conv_bn': 'Conv/BatchNorm'}
    """
    table = getattr(model, "_keras2_layer_names", None) or {}
    own = {layer.name for layer in model.layers}
    present = set(file_layer_names)
    return {lamina: keras2 for keras2, lamina in table.items() if keras2 in present and keras2 not in own}


def warn_nothing_matched(filename: str, model, file_layers: list) -> None:
    """Warns that `load_weights(by_name=True)` matched none of the file's layers with weights to the model's.

    Keras 2 skipped unmatched names silently, which leaves a model with its initial weights and no sign of it;
    a file none of whose names match is almost always a file written with other layer names.
    """
    stored = [name for name, arrays in file_layers if len(arrays)]
    layers = [layer.name for layer in model.layers if layer.weights]
    if not stored or not layers:
        return

    def some(names: list) -> str:
        return ", ".join(repr(name) for name in names[:3]) + (", ..." if len(names) > 3 else "")

    warnings.warn(
        f"{filename}: load_weights(by_name=True) loaded no weights: none of the file's {len(stored)} layers with "
        f"weights ({some(stored)}) is named as a layer of model {model.name!r} (its layers with weights: "
        f"{some(layers)}).",
        stacklevel=5,
    )
