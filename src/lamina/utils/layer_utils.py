"""Keras 2's weight converters for models moved between Theano and TensorFlow, or between data formats.

`load_model` and `load_weights` already flip the kernels of files written on Theano. These are the
by-hand tools Keras 2 offered for the rest: weights set from elsewhere, and a Dense layer after a
Flatten whose feature map changed data format (its kernel rows follow the flattened order).

Example:
    >>> convert_all_kernels_in_model(model)  # kernels set from a Theano model's arrays
    >>> convert_dense_weights_data_format(model.get_layer("dense"), (8, 4, 4), "channels_first")
"""

from __future__ import annotations

import numpy as np

from lamina.saving.legacy_weights import convert_kernel

_CONVOLUTIONS = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


def convert_all_kernels_in_model(model) -> None:
    """Flips the spatial axes of every Conv1D/2D/3D and Conv2DTranspose kernel in `model`, in place.

    Turns a model holding Theano's (true convolution) kernels into one computing the same with
    correlations, and back, as Keras 2's function of this name did.

    Example:
        >>> model.set_weights(theano_arrays)
        >>> convert_all_kernels_in_model(model)
    """
    for layer in model._flatten_layers(include_self=False):
        kernel = getattr(layer, "kernel", None)
        if type(layer).__name__ in _CONVOLUTIONS and kernel is not None:
            kernel.assign(convert_kernel(np.asarray(kernel.numpy())))


def convert_dense_weights_data_format(dense, previous_feature_map_shape, target_data_format="channels_first") -> None:
    """Reorders the kernel rows of a Dense layer that follows a Flatten, for a feature map in another data format.

    Args:
        dense: the Dense layer right after the Flatten.
        previous_feature_map_shape: the shape of the feature map before the Flatten, without the batch
            axis, in the target data format (`(channels, rows, cols)` for "channels_first").
        target_data_format: the data format the model now uses, "channels_first" or "channels_last".

    Example:
        >>> convert_dense_weights_data_format(model.get_layer("dense"), (8, 4, 4), "channels_first")
    """
    if target_data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            f'convert_dense_weights_data_format: target_data_format must be "channels_first" or '
            f'"channels_last", got {target_data_format!r}.'
        )
    shape = tuple(int(d) for d in previous_feature_map_shape)
    kernel, *rest = dense.get_weights()
    if kernel.shape[0] != int(np.prod(shape)):
        raise ValueError(
            f'Layer "{dense.name}": its kernel has {kernel.shape[0]} rows, but a feature map of shape {shape} '
            f"flattens to {int(np.prod(shape))}."
        )
    units = kernel.shape[1]
    if target_data_format == "channels_first":  # rows were flattened channels last: (..., channels)
        source = (*shape[1:], shape[0])
        axes = (len(shape) - 1, *range(len(shape) - 1), len(shape))
    else:  # rows were flattened channels first: (channels, ...)
        source = (shape[-1], *shape[:-1])
        axes = (*range(1, len(shape)), 0, len(shape))
    reordered = np.transpose(kernel.reshape(*source, units), axes).reshape(kernel.shape)
    dense.set_weights([reordered, *rest])


def count_params(weights) -> int:
    """The number of scalars in `weights` (variables or arrays), each distinct variable counted once, as Keras 2.

    Example:
        >>> count_params(model.trainable_weights)
        3
    """
    distinct = {id(weight): weight for weight in weights}
    return int(sum(int(np.prod(tuple(weight.shape), dtype=np.int64)) for weight in distinct.values()))
