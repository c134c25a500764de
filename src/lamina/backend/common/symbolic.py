"""Functions and operators that build graph nodes when given symbolic tensors (Keras 2's symbolic freedom).

`symbolic_aware(fn, "backend.sum")` is `fn` itself for values; given a KerasTensor anywhere in its arguments it
returns the KerasTensor of an `OpLambda` node instead (`lamina.layers.core.op_lambda`). The K.* functions, the loss
functions and KerasTensor's arithmetic operators go through it.

Example:
    >>> x = Input(shape=(3,))
    >>> K.square(x)  # <KerasTensor shape=(None, 3), ...>, made by layer "k.square"
"""

from __future__ import annotations

import functools

from lamina.backend.common.keras_tensor import KerasTensor


def has_keras_tensor(value) -> bool:
    """Whether a KerasTensor sits anywhere in `value` (nested lists, tuples and dict values)."""
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_keras_tensor(item) for item in value)
    if isinstance(value, dict):
        return any(has_keras_tensor(item) for item in value.values())
    return False


def apply_symbolically(qualified_name: str, args: tuple, kwargs: dict):
    """The KerasTensor of an OpLambda node calling `qualified_name` (`backend.sum`, `operator.add`, ...)."""
    from lamina.layers.core.op_lambda import apply_symbolically as apply

    return apply(qualified_name, args, kwargs)


def symbolic_aware(function, qualified_name: str):
    """`function`, made to build an OpLambda node when any argument is a KerasTensor (and to run as is otherwise).

    Example:
        >>> mean = symbolic_aware(k_api.mean, "backend.mean")
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if has_keras_tensor(args) or has_keras_tensor(kwargs):
            return apply_symbolically(qualified_name, args, kwargs)
        return function(*args, **kwargs)

    return wrapper
