"""The base of the merge layers: a list of tensors in, one tensor out.

Element-wise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) follow
Keras's broadcasting: the batch sizes must agree; an input of lower rank gets
axes of size 1 inserted after its batch axis; then the other axes must be equal
or 1 (NumPy's rule, counted from the last axis).
"""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer


def _describe(inputs) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)} input(s)"
    return f"a single tensor of shape {tuple(getattr(inputs, 'shape', ()))}"


def _compatible(a, b) -> bool:
    return a is None or b is None or a == b


def _broadcast_dim(a, b):
    """The size of one broadcast axis, or False when `a` and `b` do not broadcast."""
    if a == 1:
        return b
    if b == 1:
        return a
    if a is None or b is None:
        return a if b is None else b
    return a if a == b else False


class Merge(Layer):
    """Base of the merge layers: checks the number of inputs and their shapes.

    Subclasses set `max_inputs` (None: any number from 2 up) and implement
    `_merge(list_of_tensors)`; element-wise merges get Keras's broadcasting
    checks and rank alignment from here.

    Example:
        >>> class Product(Merge):
        ...     def _merge(self, inputs):
        ...         return inputs[0] * inputs[1]
    """

    max_inputs = None
    # Its mask only ever comes from its inputs' (see masking_flow.makes_masks): a graph of merges and no mask
    # maker runs mask-free. A subclass whose compute_mask makes masks from nothing sets it to False.
    _mask_needs_input_mask = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def _shapes(self, inputs) -> list:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f'Layer "{self.name}" expects a list of at least 2 inputs, got {_describe(inputs)}.')
        if self.max_inputs is not None and len(inputs) > self.max_inputs:
            raise ValueError(f'Layer "{self.name}" expects exactly {self.max_inputs} inputs, got {len(inputs)}.')
        return [tuple(t.shape) for t in inputs]

    def _check_inputs(self, inputs) -> None:
        self._check_shapes(self._shapes(inputs))

    def _check_shapes(self, shapes) -> None:
        """Keras's element-wise broadcasting rule; raises a ValueError naming the layer and the shapes."""
        batch = [s[0] for s in shapes if s and s[0] is not None]
        rank = max(len(s) for s in shapes)
        out = [None] * max(rank - 1, 0)
        ok = len(set(batch)) <= 1 and all(len(s) >= 1 for s in shapes)
        for shape in shapes:
            if not ok:
                break
            rest = shape[1:]
            # Counted from the last axis: a lower-rank input gets its size-1 axes after the batch axis.
            for i, size in enumerate(rest, start=len(out) - len(rest)):
                merged = _broadcast_dim(out[i], size)
                if merged is False:
                    ok = False
                    break
                out[i] = merged
        if not ok:
            raise ValueError(
                f'Layer "{self.name}" expects inputs of the same batch size whose other axes are equal or 1 '
                f"(broadcastable), got {' and '.join(map(str, shapes))}."
            )

    def call(self, inputs):
        self._shapes(inputs)  # the fast path of Layer.__call__ skips _check_inputs for a single tensor
        return self._merge(self._aligned(list(inputs)))

    @staticmethod
    def _aligned(inputs: list) -> list:
        """Inputs of lower rank with axes of size 1 inserted after the batch axis (as Keras does)."""
        rank = max(len(t.shape) for t in inputs)
        out = []
        for tensor in inputs:
            for _ in range(rank - len(tensor.shape)):
                tensor = ops.expand_dims(tensor, 1)
            out.append(tensor)
        return out

    def _merge(self, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """Keras 3's rule: the positions any input keeps; None unless every input has a mask."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f'Layer "{self.name}" expects one mask (or None) per input, got {mask!r:.100}.')
        if any(m is None for m in mask):
            return None
        return _fold_masks(ops.logical_or, [ops.cast(m, "bool") for m in mask])


def _fold_masks(op, masks):
    out = masks[0]
    for mask in masks[1:]:
        out = op(out, mask)
    return out
