"""The Keras 2 backend functions (`from keras import backend as K`) over lamina's ops.

`K.function` and `K.learning_phase()` work as the FAQ shows; the rest are the
K.* helpers Keras 2 code commonly calls (shapes, values, variables and math).
They take and give engine tensors, NumPy arrays or Python numbers; nothing
here imports an engine directly (DESIGN rule 1).

Example:
    >>> from lamina import backend as K
    >>> get_3rd_layer_output = K.function([model.layers[0].input, K.learning_phase()], [model.layers[3].output])
    >>> layer_output = get_3rd_layer_output([x, 0])[0]  # test mode
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.backend import Variable as _EngineVariable  # set before this module is imported
from lamina.backend.common import KerasTensor, Variable, is_keras_tensor, standardize_dtype
from lamina.config import floatx

__all__ = [
    "abs", "argmax", "argmin", "batch_dot", "batch_get_value", "batch_set_value", "cast",
    "clip", "concatenate", "constant", "cos", "count_params", "dot", "dtype", "equal", "eval", "exp",
    "expand_dims", "eye", "flatten", "get_value", "greater", "int_shape", "is_variable",
    "l2_normalize", "learning_phase", "less", "log", "max", "maximum", "mean", "min", "minimum", "ndim",
    "not_equal", "one_hot", "ones", "ones_like", "permute_dimensions", "placeholder", "pow",
    "print_tensor", "relu", "repeat_elements", "reshape", "round", "set_learning_phase", "set_value",
    "shape", "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt", "square", "squeeze", "stack", "std",
    "stop_gradient", "sum", "tanh", "tile", "transpose", "update", "update_add", "update_sub", "var",
    "variable", "zeros", "zeros_like", "elu", "hard_sigmoid", "gather", "switch", "in_train_phase",
    "in_test_phase", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "moving_average_update", "random_uniform", "random_normal",
]  # fmt: skip


# ------------------------------------------------------------ learning phase
class _LearningPhase:
    """The symbolic learning-phase flag: an input of `K.function` that takes 0 (test) or 1 (train)."""

    def __repr__(self) -> str:
        return "<lamina learning_phase>"


_LEARNING_PHASE = _LearningPhase()
_default_phase = {"value": 0}


def learning_phase() -> _LearningPhase:
    """The learning-phase flag, for `K.function` inputs: fed 0 it runs layers in test mode, 1 in training mode.

    Example:
        >>> f = K.function([model.input, K.learning_phase()], [model.output])
        >>> f([x, 1])  # Dropout active
    """
    return _LEARNING_PHASE


def set_learning_phase(value) -> None:
    """The phase `K.function` uses when the flag is not one of its inputs (0 or 1; default 0)."""
    if value not in (0, 1):
        raise ValueError(f"set_learning_phase expects 0 (test) or 1 (train), got {value!r}.")
    _default_phase["value"] = int(value)


# --------------------------------------------------------- shapes and values
def _value(x):
    return x.value if isinstance(x, Variable) else x


def int_shape(x):
    """The static shape as a tuple of ints (None where unknown)."""
    if isinstance(x, (KerasTensor, Variable)):
        return tuple(x.shape)
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def shape(x):
    """The shape (for a concrete tensor every size is known, so this equals `int_shape`)."""
    return int_shape(x)


def ndim(x) -> int:
    return len(int_shape(x))


def dtype(x) -> str:
    """The dtype's name, e.g. 'float32'."""
    if isinstance(x, (KerasTensor, Variable)):
        return x.dtype
    return standardize_dtype(x.dtype) if hasattr(x, "dtype") else standardize_dtype(np.asarray(x).dtype)


def eval(x) -> np.ndarray:
    """The value of a tensor or Variable as a NumPy array."""
    if is_keras_tensor(x):
        raise ValueError("K.eval needs a concrete value; a symbolic tensor has none. Use K.function instead.")
    return np.asarray(ops.convert_to_numpy(_value(x)))


def get_value(x) -> np.ndarray:
    """A Variable's value as a NumPy array."""
    return eval(x)


def batch_get_value(xs) -> list:
    return [get_value(x) for x in xs]


def set_value(x, value) -> None:
    """Sets a Variable's value from a NumPy array (same shape)."""
    if not isinstance(x, Variable):
        raise TypeError(f"K.set_value expects a Variable, got {type(x).__name__}.")
    x.assign(np.asarray(value, dtype=x.dtype))


def batch_set_value(pairs) -> None:
    for variable, value in pairs:
        set_value(variable, value)


def variable(value, dtype=None, name=None, constraint=None) -> Variable:
    """A Variable holding `value` (default dtype floatx)."""
    array = np.asarray(value, dtype=dtype or floatx())
    out = _EngineVariable(array, dtype=str(array.dtype), name=name or "variable")
    out.constraint = constraint
    return out


def is_variable(x) -> bool:
    return isinstance(x, Variable)


def constant(value, dtype=None, shape=None, name=None):
    """A tensor filled from `value` (broadcast to `shape` when given)."""
    array = np.asarray(value, dtype=dtype or floatx())
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape)).copy()
    return ops.convert_to_tensor(array)


def placeholder(shape=None, ndim=None, dtype=None, name=None):
    """A symbolic input (Keras 2's placeholder): `Input(batch_shape=shape)`, usable in `K.function`."""
    from lamina.layers.core.input_layer import Input

    if shape is None:
        if ndim is None:
            raise ValueError("K.placeholder needs `shape` or `ndim`.")
        shape = (None,) * int(ndim)
    return Input(batch_shape=tuple(shape), dtype=dtype or floatx(), name=name)


def count_params(x) -> int:
    return int(np.prod(int_shape(x), dtype="int64"))


def _update(x, kind: str, value):
    """Changes Variable `x` now; with a symbolic `value`, an update for `K.function(..., updates=[...])`."""
    if is_keras_tensor(value):
        from lamina.backend.k_function import VariableUpdate

        return VariableUpdate(x, kind, value)
    if not isinstance(x, Variable):
        raise TypeError(f"K.update expects a Variable to change, got {type(x).__name__}.")
    return getattr(x, {"set": "assign", "add": "assign_add", "sub": "assign_sub"}[kind])(_value(value))


def update(x, new_x):
    """Sets Variable `x` to `new_x` (for a symbolic `new_x`, when the K.function given it as an update runs)."""
    return _update(x, "set", new_x)


def update_add(x, increment):
    """Adds `increment` to Variable `x` (symbolic: when the K.function given it as an update runs)."""
    return _update(x, "add", increment)


def update_sub(x, decrement):
    """Subtracts `decrement` from Variable `x` (symbolic: when the K.function given it as an update runs)."""
    return _update(x, "sub", decrement)


def print_tensor(x, message=""):
    """Prints `message` and the value, and returns `x` unchanged."""
    print(message, eval(x))
    return x


# ---------------------------------------------------------------------- math
def zeros(shape, dtype=None, name=None) -> Variable:
    """A Variable of zeros, as Keras 2's `K.zeros` (so `K.set_value` works on it)."""
    return variable(np.zeros(tuple(shape)), dtype=dtype, name=name)


def ones(shape, dtype=None, name=None) -> Variable:
    """A Variable of ones, as Keras 2's `K.ones`."""
    return variable(np.ones(tuple(shape)), dtype=dtype, name=name)


def eye(size, dtype=None, name=None) -> Variable:
    """An identity-matrix Variable, as Keras 2's `K.eye` (`size` an int or a (rows, columns) pair)."""
    rows, columns = (size, size) if isinstance(size, int) else tuple(size)
    return variable(np.eye(rows, columns), dtype=dtype, name=name)


def zeros_like(x, dtype=None, name=None):
    return ops.zeros_like(_value(x)) if dtype is None else ops.zeros(int_shape(x), dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return ops.ones_like(_value(x)) if dtype is None else ops.ones(int_shape(x), dtype=dtype)


def cast(x, dtype):
    return ops.cast(_value(x), dtype)


# The op is looked up at call time: lamina.ops imports lamina.backend, so it is not complete yet here.
def _reduce(name: str):
    def reduce(x, axis=None, keepdims=False):
        return getattr(ops, name)(_value(x), axis=axis, keepdims=keepdims)

    reduce.__name__ = name
    reduce.__doc__ = f"Keras 2's K.{name}(x, axis=None, keepdims=False)."
    return reduce


sum = _reduce("sum")
mean = _reduce("mean")
max = _reduce("max")
min = _reduce("min")
std = _reduce("std")
var = _reduce("var")


def argmax(x, axis=-1):
    return ops.argmax(_value(x), axis=axis)


def argmin(x, axis=-1):
    return ops.argmin(_value(x), axis=axis)


def _elementwise(name: str):
    def apply(x):
        return getattr(ops, name)(_value(x))

    apply.__name__ = name
    apply.__doc__ = f"Keras 2's K.{name}(x), elementwise."
    return apply


abs = _elementwise("abs")
square = _elementwise("square")
sqrt = _elementwise("sqrt")
exp = _elementwise("exp")
log = _elementwise("log")
round = _elementwise("round")
sign = _elementwise("sign")
cos = _elementwise("cos")
sin = _elementwise("sin")
tanh = _elementwise("tanh")
sigmoid = _elementwise("sigmoid")
softplus = _elementwise("softplus")


def pow(x, a):
    return ops.power(_value(x), a)


def clip(x, min_value, max_value):
    return ops.clip(_value(x), min_value, max_value)


def maximum(x, y):
    return ops.maximum(_value(x), _value(y))


def minimum(x, y):
    return ops.minimum(_value(x), _value(y))


def equal(x, y):
    return ops.equal(_value(x), _value(y))


def not_equal(x, y):
    return ops.not_equal(_value(x), _value(y))


def greater(x, y):
    return ops.greater(_value(x), _value(y))


def less(x, y):
    return ops.less(_value(x), _value(y))


def dot(x, y):
    """Keras 2's K.dot: contracts the last axis of x with the second-to-last of y (the last, if y is 1-D)."""
    return ops.matmul(_value(x), _value(y))


def batch_dot(x, y, axes=None):
    """Per-sample dot products: for 2-D inputs the row-wise dot (shape (batch, 1)); 3-D inputs multiply matrices."""
    x, y = _value(x), _value(y)
    if len(int_shape(x)) == 2 and len(int_shape(y)) == 2:
        return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
    if axes is None:
        return ops.matmul(x, y)
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    return ops.einsum(_batch_dot_spec(int_shape(x), int_shape(y), ax, ay), x, y)


def _batch_dot_spec(x_shape, y_shape, ax, ay) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    ax, ay = ax % len(x_shape), ay % len(y_shape)
    x_idx = ["z"] + [letters[i] for i in range(len(x_shape) - 1)]
    y_idx = ["z"] + [letters[10 + i] for i in range(len(y_shape) - 1)]
    y_idx[ay] = x_idx[ax]
    out = [i for n, i in enumerate(x_idx) if n != ax] + [i for n, i in enumerate(y_idx) if n not in (0, ay)]
    return f"{''.join(x_idx)},{''.join(y_idx)}->{''.join(out)}"


def transpose(x):
    return ops.transpose(_value(x))


def permute_dimensions(x, pattern):
    return ops.transpose(_value(x), tuple(pattern))


def reshape(x, shape):
    return ops.reshape(_value(x), tuple(shape))


def flatten(x):
    return ops.reshape(_value(x), (-1,))


def expand_dims(x, axis=-1):
    return ops.expand_dims(_value(x), axis)


def squeeze(x, axis):
    return ops.squeeze(_value(x), axis)


def concatenate(tensors, axis=-1):
    return ops.concatenate([_value(t) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    return ops.stack([_value(t) for t in tensors], axis=axis)


def tile(x, n):
    return ops.tile(_value(x), n)


def repeat_elements(x, rep, axis):
    return ops.repeat(_value(x), rep, axis=axis)


def one_hot(indices, num_classes):
    return ops.one_hot(_value(indices), num_classes)


def l2_normalize(x, axis=None):
    x = _value(x)
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(squared, 1e-12)))


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Keras 2's K.relu: `alpha` slope below `threshold`, capped at `max_value`."""
    x = _value(x)
    out = ops.where(ops.greater_equal(x, threshold), x, alpha * (x - threshold))
    return out if max_value is None else ops.minimum(out, max_value)


def softmax(x, axis=-1):
    return ops.softmax(_value(x), axis=axis)


def stop_gradient(x):
    return ops.stop_gradient(_value(x))


def elu(x, alpha=1.0):
    x = _value(x)
    return ops.where(ops.greater(x, 0), x, alpha * (ops.exp(ops.minimum(x, 0.0)) - 1.0))


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid, `clip(0.2 * x + 0.5, 0, 1)`."""
    return ops.clip(0.2 * _value(x) + 0.5, 0.0, 1.0)


def gather(reference, indices):
    """Rows `indices` of `reference` (along axis 0)."""
    return ops.take(_value(reference), _value(indices), axis=0)


def switch(condition, then_expression, else_expression):
    """`then_expression` where `condition` holds, else `else_expression` (a scalar condition picks one whole)."""
    then_value = then_expression() if callable(then_expression) else then_expression
    else_value = else_expression() if callable(else_expression) else else_expression
    return ops.where(_value(condition), _value(then_value), _value(else_value))


def in_train_phase(x, alt, training=None):
    """`x` in the training phase, `alt` otherwise; the phase is `training` or `set_learning_phase`'s value.

    Example:
        >>> K.in_train_phase(lambda: noisy, lambda: clean, training=1)
    """
    if training is None:
        from lamina.layers.layer import _call_context

        context = _call_context()  # inside a layer's call (a Lambda): the phase the model runs in
        training = context.training if context.depth > 0 and context.training is not None else _default_phase["value"]
    phase = int(np.asarray(training))
    chosen = x if phase == 1 else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    """`x` in the test phase, `alt` in the training phase."""
    return in_train_phase(alt, x, training=training)


def _loss_function(name: str):
    def loss(target, output, from_logits=False):
        from lamina import losses

        return getattr(losses, name)(_value(target), _value(output), from_logits=from_logits)

    loss.__name__ = name
    loss.__doc__ = f"Keras 2's `K.{name}(target, output, from_logits=False)`: per-sample values."
    return loss


binary_crossentropy = _loss_function("binary_crossentropy")
categorical_crossentropy = _loss_function("categorical_crossentropy")
sparse_categorical_crossentropy = _loss_function("sparse_categorical_crossentropy")


def moving_average_update(x, value, momentum):
    """Sets variable `x` to `momentum * x + (1 - momentum) * value` and returns it."""
    x.assign(ops.add(ops.multiply(x.value, momentum), ops.multiply(_value(value), 1.0 - momentum)))
    return x


def _draw(kind: str, shape, first, second, dtype, seed):
    from lamina.backend.common.seed import seed_for_draw

    seed = seed_for_draw(seed)  # inside a Lambda, its own generator: new values every step, under jit too
    return getattr(ops.random, kind)(tuple(shape), first, second, dtype=standardize_dtype(dtype or floatx()), seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform samples in [minval, maxval); a given `seed` gives the same values every call."""
    return _draw("uniform", shape, minval, maxval, dtype, seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples; a given `seed` gives the same values every call."""
    return _draw("normal", shape, mean, stddev, dtype, seed)
