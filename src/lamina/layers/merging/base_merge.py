"""Merge layers: combine a list of tensors into one (Add, Concatenate)."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer
from lamina.utils import nest


class Merge(Layer):
    """Base of the merge layers: checks that it gets a list of at least two tensors."""

    def _shapes(self, inputs) -> list:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f'Layer "{self.name}" expects a list of at least 2 inputs, got {_describe(inputs)}.')
        return [tuple(t.shape) for t in inputs]

    def _check_inputs(self, inputs) -> None:
        self._check_shapes(self._shapes(inputs))

    def _check_shapes(self, shapes) -> None:
        pass


def _describe(inputs) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)} input(s)"
    return f"a single tensor of shape {tuple(getattr(inputs, 'shape', ()))}"


def _compatible(a, b) -> bool:
    return a is None or b is None or a == b


class Add(Merge):
    """The element-wise sum of its inputs, which must have the same shape.

    Example:
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))])
    """

    def _check_shapes(self, shapes) -> None:
        first = shapes[0]
        for shape in shapes[1:]:
            if len(shape) != len(first) or not all(_compatible(a, b) for a, b in zip(first, shape)):
                raise ValueError(
                    f'Layer "{self.name}" expects inputs of the same shape, got {" and ".join(map(str, shapes))}.'
                )

    def call(self, inputs):
        total = inputs[0]
        for tensor in inputs[1:]:
            total = ops.add(total, tensor)
        return total


class Concatenate(Merge):
    """Joins its inputs along `axis` (the last by default); the other axes must match.

    Example:
        >>> Concatenate()([np.ones((2, 3)), np.ones((2, 4))]).shape
        (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes) -> None:
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        for shape in shapes[1:]:
            if len(shape) != rank or not all(
                _compatible(a, b) for i, (a, b) in enumerate(zip(shapes[0], shape)) if i != axis
            ):
                raise ValueError(
                    f'Layer "{self.name}" expects inputs whose shapes match except on axis {self.axis}, '
                    f"got {' and '.join(map(str, shapes))}."
                )

    def call(self, inputs):
        return ops.concatenate(nest.flatten(inputs), axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    """Functional form of Add."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of Concatenate."""
    return Concatenate(axis=axis, **kwargs)(inputs)
