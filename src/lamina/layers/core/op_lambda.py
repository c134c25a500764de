"""Keras 2's symbolic freedom: `K.*` functions, losses and arithmetic applied to symbolic tensors outside layers.

Keras 2 code writes `kl = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)` on the
tensors of a functional model. Each such call becomes one `OpLambda` node of the graph (as tf.keras wraps them in
`TFOpLambda` layers): the layer holds the function's name and its arguments with the tensors taken out, and calls
the function again when the model runs. The function is named, not pickled, so a model with such nodes saves and
loads (in `.h5`, `.keras`, JSON and YAML) without bytecode; only lamina's backend functions, its loss functions and
Python's arithmetic operators can be named.

Example:
    >>> x = Input(shape=(3,))
    >>> y = K.sum(K.square(x), axis=-1) * 0.5  # two OpLambda nodes: `k.sum`, `op.mul`
    >>> Model(x, y).predict(np.ones((2, 3)))  # [1.5, 1.5]
"""

from __future__ import annotations

import operator

import numpy as np

from lamina import ops
from lamina.backend import KerasTensor, Variable, engine
from lamina.layers.layer import Layer
from lamina.utils import nest

# The namespaces an OpLambda may name, with the short prefix of its layer names.
_PREFIX = {"backend": "k", "losses": "loss", "operator": "op", "tf": "tf"}
_OPERATORS = (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos", "abs", "invert",
    "and_", "or_", "xor", "lt", "le", "gt", "ge", "getitem",
)  # fmt: skip


def _resolve(function: str):
    """The callable an OpLambda names: `backend.sum`, `losses.mse` or `operator.add`; a ValueError for others."""
    namespace, _, name = function.partition(".")
    if namespace == "operator" and name in _OPERATORS:
        return _getitem if name == "getitem" else getattr(operator, name)
    if namespace == "backend":
        from lamina import backend

        found = getattr(backend, name, None) if name in backend.SYMBOLIC_FUNCTIONS else None
    elif namespace == "tf":  # a TF function of a tf.keras file (layers/core/tf_op_lambda.py)
        from lamina.layers.core.tf_op_lambda import TF_FUNCTIONS

        found = TF_FUNCTIONS.get(name)
    elif namespace == "losses":
        from lamina import losses

        found = getattr(losses, name, None) if name in losses.SYMBOLIC_FUNCTIONS else None
    else:
        found = None
    if found is None:
        raise ValueError(
            f"OpLambda: unknown function {function!r}; expected `backend.<K function>`, `losses.<loss function>`, "
            f"`tf.<TF function of a tf.keras file>` or `operator.<{'|'.join(_OPERATORS)}>`."
        )
    return found


def _getitem(x, key):
    """`x[key]` on either engine: slices with a negative step (`x[..., ::-1]`, which torch refuses) become flips."""
    key = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(part, slice) and part.step is not None and part.step < 0 for part in key):
        return x[key]
    if sum(part is Ellipsis for part in key) == 1:
        at = key.index(Ellipsis)
        named = sum(part is not None for part in key) - 1
        key = key[:at] + (slice(None),) * (len(x.shape) - named) + key[at + 1 :]
    axis, plain = 0, []
    for part in key:
        if isinstance(part, slice) and part.step is not None and part.step < 0:
            start, stop, step = part.indices(x.shape[axis])
            x = ops.flip(x, axis=axis)  # position i of x is position n - 1 - i of the flipped tensor
            last = x.shape[axis] - 1
            part = slice(last - start, None if stop < 0 else last - stop, -step)
        plain.append(part)
        axis += part is not None  # an index or a slice uses up an axis of x; None adds one
    return x[tuple(plain)]


# ------------------------------------------------------------ argument templates
def _encode(value, tensors: list):
    """`value` with each KerasTensor replaced by `{"__tensor__": i}` (appended to `tensors`), as config data."""
    if isinstance(value, KerasTensor):
        tensors.append(value)
        return {"__tensor__": len(tensors) - 1}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item, tensors) for item in value]}
    if isinstance(value, list):
        return [_encode(item, tensors) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item, tensors) for key, item in value.items()}
    if isinstance(value, slice):
        return {"__slice__": [_encode(part, tensors) for part in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, (np.ndarray, np.generic)) or engine.core.is_tensor(value):
        array = np.asarray(engine.core.convert_to_numpy(value) if engine.core.is_tensor(value) else value)
        return {"__array__": array.tolist(), "dtype": str(array.dtype)}
    return value  # numbers, strings, None, booleans, Variables (kept as they are; see get_config)


def _decode(value, tensors: list):
    """The call argument a template stands for, with `tensors` put back in their places."""
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__tuple__" in value:
        return tuple(_decode(item, tensors) for item in value["__tuple__"])
    if "__slice__" in value:
        return slice(*(_decode(part, tensors) for part in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__array__" in value:  # a constant: a Python number when 0-d, else a tensor of the engine
        array = np.asarray(value["__array__"], dtype=value["dtype"])
        return array.item() if array.ndim == 0 else engine.core.convert_to_tensor(array)
    return {key: _decode(item, tensors) for key, item in value.items()}


def _has_variable(value) -> bool:
    return any(isinstance(item, Variable) for item in nest.flatten(value))


class OpLambda(Layer):
    """One call of a named function on symbolic tensors: `K.sum(x, axis=-1)`, `mse(a, b)`, `x + 1`, `x[:, 0]`.

    Made by `apply_symbolically`; the arguments are a template in which `{"__tensor__": i}` marks the i-th
    input tensor. The layer has no weights.

    Args:
        function: `backend.<name>`, `losses.<name>` or `operator.<name>`.
        arguments: `{"args": [...], "kwargs": {...}}`, the call's arguments with the tensors taken out.

    Example:
        >>> OpLambda("backend.sum", {"args": [{"__tensor__": 0}], "kwargs": {"axis": -1}})(x)
    """

    _autocast_layer = False  # the function sees its inputs in their own dtypes, as in Keras 2

    def __init__(self, function, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self._function = _resolve(function)
        self.function = function
        self.arguments = dict(arguments or {"args": [{"__tensor__": 0}], "kwargs": {}})

    def _convert_input(self, value):
        return value if engine.core.is_tensor(value) else engine.core.convert_to_tensor(np.asarray(value))

    def _symbolic_input(self, tensor):
        return tensor  # traced in the tensor's own dtype: no cast to the compute dtype

    def call(self, inputs):
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        args = _decode(self.arguments.get("args", []), tensors)
        kwargs = _decode(self.arguments.get("kwargs", {}), tensors)
        return self._function(*args, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        if _has_variable(self.arguments):
            raise ValueError(
                f'Layer "{self.name}" ({self.function}) takes a Variable as an argument, which a model config '
                "cannot hold. Create the variable in a custom Layer's build() (add_weight) to save such a model."
            )
        return {**super().get_config(), "function": self.function, "arguments": self.arguments}


def apply_symbolically(function: str, args: tuple, kwargs: dict):
    """`function(*args, **kwargs)` as a node of the functional graph; some argument is a KerasTensor.

    Example:
        >>> apply_symbolically("backend.square", (z_mean,), {})  # a KerasTensor
    """
    from lamina.backend.common import unique_name

    tensors: list = []
    template = {"args": _encode(list(args), tensors), "kwargs": _encode(dict(kwargs), tensors)}
    namespace, _, name = function.partition(".")
    layer = OpLambda(function, template, name=unique_name(f"{_PREFIX[namespace]}.{name.rstrip('_')}"))
    return layer(tensors[0] if len(tensors) == 1 else tensors)
