"""Symbolic tensors: what `Input()` returns and what layers return when called on one."""

from __future__ import annotations

from lamina.backend.common.dtypes import standardize_dtype


class KerasTensor:
    """A shape and dtype with no value, plus the layer call that produced it.

    `shape` uses None for unknown dimensions (usually the batch). `_keras_history`
    is `(layer, node_index, tensor_index)`, the link functional models walk.

    Example:
        >>> x = lamina.Input(shape=(784,))
        >>> x.shape
        (None, 784)
    """

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.name = name
        self._keras_history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no value, so it cannot be used as a Python bool. "
            "Use lamina.ops inside a layer's call() (or a Lambda layer) for conditional logic."
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has no value to convert to NumPy. "
            "Build a Model from it and call predict(), or call the layer on real arrays."
        )


def is_keras_tensor(value) -> bool:
    """True for a symbolic KerasTensor."""
    return isinstance(value, KerasTensor)
