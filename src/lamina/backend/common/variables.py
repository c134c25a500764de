"""The engine-neutral Variable; each engine subclasses it to say how values are stored."""

from __future__ import annotations

import numpy as np

from lamina.backend.common import autocast, scopes
from lamina.backend.common.dtypes import standardize_dtype
from lamina.backend.common.keras_tensor import KerasTensor
from lamina.backend.common.scopes import current_stateless_scope


class Variable:
    """A named, mutable array that belongs to a layer, optimizer or metric.

    Args:
        initializer: an array-like value, or a callable `(shape, dtype) -> array`.
        shape: the shape; required when `initializer` is a callable.
        dtype: dtype name; defaults to the value's dtype (or floatx for callables).
        trainable: whether optimizers update it.
        name: the weight's name inside its layer, e.g. "kernel".

    Example:
        >>> v = lamina.backend.Variable(np.zeros((2, 3)), name="kernel")
        >>> v.assign(np.ones((2, 3)))
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None, path=None):
        from lamina import config

        self.name = name or "variable"
        self.path = path or self.name
        self.trainable = bool(trainable)
        self.regularizer = None
        self.constraint = None
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable {self.name!r}: a callable initializer needs a `shape`.")
            self._dtype = standardize_dtype(dtype or config.floatx())
            value = initializer(tuple(shape), self._dtype)
        else:
            value = initializer
            if dtype is None:
                dtype = getattr(value, "dtype", None)
                if dtype is None or standardize_dtype(dtype) == "float64" and not hasattr(value, "shape"):
                    dtype = config.floatx()
            self._dtype = standardize_dtype(dtype)
        self._value = self._convert(value)
        if shape is not None and tuple(self._value.shape) != tuple(shape):
            raise ValueError(
                f"Variable {self.name!r}: the initial value has shape {tuple(self._value.shape)}, "
                f"expected {tuple(shape)}."
            )

    # Engines override these two.
    def _convert(self, value):
        raise NotImplementedError

    def _direct_assign(self, value) -> None:
        raise NotImplementedError

    @property
    def value(self):
        """The current value: the stateless scope's if one is open and holds this variable."""
        if not scopes.OPEN[0] and not autocast.ACTIVE[0]:  # the eager hot path: no scope open in any thread
            return self._value
        scope = current_stateless_scope()
        value = self._value
        if scope is not None:
            found = scope.get_current_value(self)
            if found is not None:
                value = found
        if autocast.ACTIVE[0]:  # inside some mixed-precision layer's call: float weights read as its compute dtype
            return autocast.maybe_autocast(self, value)
        return value

    def assign(self, value):
        """Sets a new value of the same shape (recorded in the stateless scope, if one is open)."""
        value = self._convert(value)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(value.shape)} to variable {self.path!r} of shape {self.shape}."
            )
        scope = current_stateless_scope()
        if scope is not None:
            scope.add_update(self, value)
        else:
            self._direct_assign(value)
        return value

    def assign_add(self, delta):
        return self.assign(self.value + delta)

    def assign_sub(self, delta):
        return self.assign(self.value - delta)

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> str:
        return self._dtype

    def numpy(self) -> np.ndarray:
        """A NumPy copy of the current value."""
        return np.array(self.value)

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.value)
        return out.astype(dtype) if dtype is not None else out

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    # Arithmetic reads the value, so `x * variable` works inside layers. With a symbolic tensor on the other side
    # the KerasTensor's operator builds a graph node that reads the variable when it runs (Keras 2's freedom).
    def __add__(self, other):
        return NotImplemented if _symbolic(other) else self.value + _unwrap(other)

    def __radd__(self, other):
        return NotImplemented if _symbolic(other) else _unwrap(other) + self.value

    def __sub__(self, other):
        return NotImplemented if _symbolic(other) else self.value - _unwrap(other)

    def __rsub__(self, other):
        return NotImplemented if _symbolic(other) else _unwrap(other) - self.value

    def __mul__(self, other):
        return NotImplemented if _symbolic(other) else self.value * _unwrap(other)

    def __rmul__(self, other):
        return NotImplemented if _symbolic(other) else _unwrap(other) * self.value

    def __truediv__(self, other):
        return NotImplemented if _symbolic(other) else self.value / _unwrap(other)

    def __rtruediv__(self, other):
        return NotImplemented if _symbolic(other) else _unwrap(other) / self.value

    def __matmul__(self, other):
        return NotImplemented if _symbolic(other) else self.value @ _unwrap(other)

    def __rmatmul__(self, other):
        return NotImplemented if _symbolic(other) else _unwrap(other) @ self.value

    def __pow__(self, other):
        return NotImplemented if _symbolic(other) else self.value ** _unwrap(other)

    def __neg__(self):
        return -self.value

    def __getitem__(self, index):
        return self.value[index]

    def __len__(self) -> int:
        return self.shape[0]


def _symbolic(value) -> bool:
    return isinstance(value, KerasTensor)


def _unwrap(value):
    return value.value if isinstance(value, Variable) else value
