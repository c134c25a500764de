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

    # Arithmetic, comparisons and indexing on a symbolic tensor build graph nodes (Keras 2's symbolic freedom):
    # `-0.5 * K.sum(1 + z_log_var, axis=-1)`, `x[:, 0]`. `==` stays identity, as in Keras.
    __array_ufunc__ = None  # NumPy scalars and arrays on the left defer to the reflected operator below

    def __iter__(self):
        raise TypeError(f"{self!r} is symbolic: it cannot be iterated over. Index it (x[:, 0]) instead.")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has no value to convert to NumPy. "
            "Build a Model from it and call predict(), or call the layer on real arrays."
        )


def _operator(name: str, reflected: bool = False):
    def apply(self, *other):
        from lamina.backend.common.symbolic import apply_symbolically

        args = (other[0], self) if reflected else (self, *other)
        return apply_symbolically(f"operator.{name}", args, {})

    apply.__name__ = f"__r{name.rstrip('_')}__" if reflected else f"__{name.rstrip('_')}__"
    return apply


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor"):
    setattr(KerasTensor, f"__{_name.rstrip('_')}__", _operator(_name))
    setattr(KerasTensor, f"__r{_name.rstrip('_')}__", _operator(_name, reflected=True))
for _name in ("neg", "pos", "abs", "invert", "lt", "le", "gt", "ge", "getitem"):
    setattr(KerasTensor, f"__{_name}__", _operator(_name))


def is_keras_tensor(value) -> bool:
    """True for a symbolic KerasTensor."""
    return isinstance(value, KerasTensor)
