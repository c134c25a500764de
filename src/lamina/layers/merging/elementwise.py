"""Element-wise merges: Add, Subtract, Multiply, Average, Maximum, Minimum, and their functional forms.

Inputs broadcast as in Keras (see `base_merge`): `Add()([x, b])` with `x` of shape
`(batch, 3, 4)` and `b` of shape `(batch, 4)` adds `b` at every one of the 3 steps.
"""

from __future__ import annotations

from lamina import ops
from lamina.layers.merging.base_merge import Merge


def _fold(op, inputs):
    out = inputs[0]
    for tensor in inputs[1:]:
        out = op(out, tensor)
    return out


def _expanded_masks(inputs, mask) -> list:
    """Each input's (batch, time) mask broadcast to the input's shape, or None where it has none."""
    if mask is None:
        return [None] * len(inputs)
    out = []
    for tensor, tensor_mask in zip(inputs, mask):
        if tensor_mask is not None:
            tensor_mask = ops.cast(ops.convert_to_tensor(tensor_mask), "bool")
            tensor_mask = ops.broadcast_to(ops.expand_dims(tensor_mask, -1), tuple(tensor.shape))
        out.append(tensor_mask)
    return out


def _masked_extremum(op, inputs, masks):
    """max/min over the inputs, where a masked-out entry does not take part (Keras 3's rule).

    A masked entry of the next input is replaced by the running result, and a masked entry of the running
    result by the next input, so `op` only ever compares values that are kept (or two copies of one value).
    """
    out, out_mask = inputs[0], masks[0]
    for tensor, tensor_mask in zip(inputs[1:], masks[1:]):
        if tensor_mask is not None:
            tensor = ops.where(tensor_mask, tensor, out)
        if out_mask is not None:
            out = ops.where(out_mask, out, tensor)
        both = tensor_mask is not None and out_mask is not None
        out_mask = ops.logical_or(out_mask, tensor_mask) if both else None
        out = op(out, tensor)
    return out


class Add(Merge):
    """The element-wise sum of its inputs.

    Example:
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))])  # all 2.0
    """

    def _merge(self, inputs):
        return _fold(ops.add, inputs)


class Subtract(Merge):
    """The first of exactly two inputs minus the second.

    Example:
        >>> Subtract()([np.full((2, 3), 5.0), np.ones((2, 3))])  # all 4.0
    """

    max_inputs = 2

    def _shapes(self, inputs) -> list:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f'Layer "{self.name}" expects exactly 2 inputs, got {_count(inputs)}.')
        return super()._shapes(inputs)

    def _merge(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


def _count(inputs) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)}"
    return f"a single tensor of shape {tuple(getattr(inputs, 'shape', ()))}"


class Multiply(Merge):
    """The element-wise product of its inputs.

    Example:
        >>> Multiply()([np.full((2, 3), 2.0), np.full((2, 3), 3.0)])  # all 6.0
    """

    def call(self, inputs, mask=None):
        self._shapes(inputs)
        inputs = self._aligned(list(inputs))
        masks = _expanded_masks(inputs, mask)
        # A masked-out entry counts as 1 (it leaves the product alone); where every input is masked out, 0.
        factors = [x if m is None else ops.where(m, x, ops.ones_like(x)) for x, m in zip(inputs, masks)]
        out = _fold(ops.multiply, factors)
        if all(m is not None for m in masks):
            out = ops.where(_fold(ops.logical_or, masks), out, ops.zeros_like(out))
        return out

    def _merge(self, inputs):
        return _fold(ops.multiply, inputs)


class Average(Merge):
    """The element-wise mean of its inputs.

    Example:
        >>> Average()([np.zeros((2, 3)), np.full((2, 3), 4.0)])  # all 2.0
    """

    def _merge(self, inputs):
        return _fold(ops.add, inputs) / len(inputs)


class Maximum(Merge):
    """The element-wise maximum of its inputs.

    Example:
        >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])  # [[3., 5.]]
    """

    def call(self, inputs, mask=None):
        self._shapes(inputs)
        inputs = self._aligned(list(inputs))
        return _masked_extremum(ops.maximum, inputs, _expanded_masks(inputs, mask))

    def _merge(self, inputs):
        return _fold(ops.maximum, inputs)


class Minimum(Merge):
    """The element-wise minimum of its inputs.

    Example:
        >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])  # [[1., 2.]]
    """

    def call(self, inputs, mask=None):
        self._shapes(inputs)
        inputs = self._aligned(list(inputs))
        return _masked_extremum(ops.minimum, inputs, _expanded_masks(inputs, mask))

    def _merge(self, inputs):
        return _fold(ops.minimum, inputs)


def add(inputs, **kwargs):
    """Functional form of `Add`: `add([a, b])`.

    Example:
        >>> total = add([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: `subtract([a, b])` is `a - b`.

    Example:
        >>> difference = subtract([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`.

    Example:
        >>> product = multiply([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`.

    Example:
        >>> mean = average([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`.

    Example:
        >>> largest = maximum([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`.

    Example:
        >>> smallest = minimum([lamina.Input((4,)), lamina.Input((4,))])
    """
    return Minimum(**kwargs)(inputs)
