"""How masks travel through models.

A mask is a (batch, time) boolean array saying which time steps are real. JAX
arrays cannot carry attributes, so masks do not ride on tensors as in Keras:
Sequential and functional models carry them beside the tensors, and for each
layer call `call_with_mask` passes the input's mask to a `call` that takes a
`mask` argument and asks `layer.compute_mask` for the output's mask.

Example:
    >>> outputs, mask = call_with_mask(layer, (inputs,), {}, input_mask)
"""

from __future__ import annotations

import warnings

from lamina.layers.layer import Layer
from lamina.utils import nest


def makes_masks(layer) -> bool:
    """Whether `layer` may output a mask without being given one.

    True for layers that override `compute_mask` (Embedding, Masking, models), unless the class says its
    mask only ever comes from its input's (`_mask_needs_input_mask = True`, as RNN layers do).

    Example:
        >>> makes_masks(Embedding(10, 4, mask_zero=True)), makes_masks(LSTM(3))
        (True, False)
    """
    cls = type(layer)
    return cls.compute_mask is not Layer.compute_mask and not getattr(cls, "_mask_needs_input_mask", False)


def no_mask(mask) -> bool:
    """True for None, or a structure of Nones.

    Example:
        >>> no_mask([None, None]), no_mask([None, mask])
        (True, False)
    """
    return mask is None or all(m is None for m in nest.flatten(mask))


def call_with_mask(layer, args, kwargs, mask):
    """`(layer(*args, **kwargs), output mask)`, giving the layer its input's `mask` when its `call` takes one.

    Args:
        layer: the layer to call.
        args, kwargs: the call's arguments; `args[0]` is the input the mask belongs to.
        mask: the input's mask (a structure like `args[0]` for layers with several inputs), or None.
    """
    if no_mask(mask):
        mask = None
    if mask is not None and layer._call_has_mask and "mask" not in kwargs:
        kwargs = {**kwargs, "mask": mask}
    outputs = layer(*args, **kwargs)
    if mask is None and not makes_masks(layer):
        return outputs, None
    if mask is not None and not layer.supports_masking and not makes_masks(layer):
        _warn_dropped(layer)
        return outputs, None
    return outputs, layer.compute_mask(args[0], mask)


def _warn_dropped(layer) -> None:
    if getattr(layer, "_warned_mask_dropped", False):
        return
    object.__setattr__(layer, "_warned_mask_dropped", True)
    warnings.warn(
        f'Layer "{layer.name}" ({type(layer).__name__}) was given an input with a mask, but it does not support '
        "masking, so the layers after it see no mask.",
        UserWarning,
        stacklevel=3,
    )


def masks_for_outputs(mask, count: int) -> list:
    """The output mask(s) a layer returned, one per flattened output tensor.

    Example:
        >>> masks_for_outputs([mask, None, None], 3)  # LSTM(return_sequences=True, return_state=True)
        [mask, None, None]
    """
    if mask is None:
        return [None] * count
    if isinstance(mask, (list, tuple)):
        flat = nest.flatten(mask)
        if len(flat) == count:
            return flat
        return [flat[0]] + [None] * (count - 1)
    return [mask] + [None] * (count - 1)
