"""tf.keras's `TFOpLambda`, `SlicingOpLambda` and `AddLoss` layers, so that tf.keras 2.x files using TF ops load.

tf.keras 2.x wraps a TensorFlow function applied to symbolic tensors (`x + 1`, `tf.reduce_sum(x, axis=-1)`,
`x[:, 0]`, and every `K.*` call, which tf.keras implements with TF functions) in a `TFOpLambda` layer that names the
function (`math.reduce_sum`); a model's `add_loss(symbolic tensor)` adds an `AddLoss` layer. lamina re-creates them
from a table of TF functions written over `lamina.ops`, with TF's argument names. A function not in the table is
a clear error naming it. Once called, such a layer is an `OpLambda` (`tf.<function>`) and saves as one.

Example:
    >>> model = lamina.models.load_model("tf_keras_vae.h5")  # TFOpLambda and AddLoss layers inside
"""

from __future__ import annotations

from lamina import ops
from lamina.backend.common.symbolic import has_keras_tensor
from lamina.layers.core.op_lambda import OpLambda, _encode, _getitem
from lamina.layers.layer import Layer


def _binary(op):
    return lambda x, y, name=None: op(x, y)


def _unary(op):
    return lambda x=None, name=None, features=None: op(features if x is None else x)


def _reduction(op):
    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        axis = tuple(axis) if isinstance(axis, list) else axis
        return op(input_tensor, axis=axis, keepdims=bool(keepdims))

    return reduce


def _l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    axis = dim if axis is None else axis
    axis = tuple(axis) if isinstance(axis, list) else axis
    return ops.multiply(x, ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), epsilon)))


def _matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unused):
    if transpose_a:
        a = ops.transpose(a, tuple(range(len(a.shape) - 2)) + (len(a.shape) - 1, len(a.shape) - 2))
    if transpose_b:
        b = ops.transpose(b, tuple(range(len(b.shape) - 2)) + (len(b.shape) - 1, len(b.shape) - 2))
    return ops.matmul(a, b)


def _cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    if exclusive or reverse:
        raise ValueError("TFOpLambda math.cumsum: exclusive=True and reverse=True are not supported by lamina.")
    return ops.cumsum(x, axis=axis)


def _squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002 - TF's argument name
    axis = squeeze_dims if axis is None else axis
    return ops.squeeze(input, tuple(axis) if isinstance(axis, list) else axis)


def _transpose(a, perm=None, name=None, conjugate=False):
    return ops.transpose(a, None if perm is None else tuple(perm))


def _like(op):
    return lambda input, dtype=None, name=None: op(input if dtype is None else ops.cast(input, dtype))  # noqa: A006


def _slice(input, slice_spec):  # noqa: A002 - tf.keras's argument names
    """`x[...]` from tf.keras's saved slice_spec: `{"start", "stop", "step"}` dicts, ints, None and ellipses."""
    key = []
    for part in slice_spec if isinstance(slice_spec, list) else [slice_spec]:
        if isinstance(part, dict) and part.get("class_name") == "__ellipsis__":
            key.append(Ellipsis)
        elif isinstance(part, dict):
            key.append(slice(part.get("start"), part.get("stop"), part.get("step")))
        else:
            key.append(part)
    return _getitem(input, tuple(key))


_BINARY = {
    "__operators__.add": ops.add, "math.add": ops.add, "math.subtract": ops.subtract, "math.multiply": ops.multiply,
    "math.truediv": ops.divide, "math.divide": ops.divide, "math.floordiv": lambda x, y: x // y,
    "math.floormod": lambda x, y: x % y, "math.pow": ops.power, "math.maximum": ops.maximum,
    "math.minimum": ops.minimum, "math.squared_difference": lambda x, y: ops.square(ops.subtract(x, y)),
    "math.greater": ops.greater, "math.greater_equal": ops.greater_equal, "math.less": ops.less,
    "math.less_equal": ops.less_equal, "math.equal": ops.equal, "math.not_equal": ops.not_equal,
    "math.logical_and": ops.logical_and, "math.logical_or": ops.logical_or,
}  # fmt: skip
_UNARY = {
    "math.negative": ops.negative, "math.square": ops.square, "math.sqrt": ops.sqrt, "math.rsqrt": ops.rsqrt,
    "math.exp": ops.exp, "math.log": ops.log, "math.log1p": ops.log1p, "math.abs": ops.abs, "math.sign": ops.sign,
    "math.sigmoid": ops.sigmoid, "nn.sigmoid": ops.sigmoid, "math.tanh": ops.tanh, "nn.tanh": ops.tanh,
    "nn.relu": ops.relu, "nn.relu6": ops.relu6, "nn.elu": ops.elu, "nn.selu": ops.selu,
    "math.softplus": ops.softplus, "nn.softplus": ops.softplus, "nn.softsign": ops.softsign,
    "math.softsign": ops.softsign, "math.round": ops.round, "math.floor": ops.floor,
    "math.logical_not": ops.logical_not, "math.reciprocal": lambda x: ops.divide(1.0, x),
}  # fmt: skip
_REDUCTIONS = {
    "math.reduce_sum": ops.sum, "math.reduce_mean": ops.mean, "math.reduce_max": ops.max, "math.reduce_min": ops.min,
    "math.reduce_prod": ops.prod, "math.reduce_std": ops.std, "math.reduce_variance": ops.var,
    "math.reduce_any": ops.any, "math.reduce_all": ops.all, "math.reduce_logsumexp": ops.logsumexp,
}  # fmt: skip
TF_FUNCTIONS = {
    **{name: _binary(op) for name, op in _BINARY.items()},
    **{name: _unary(op) for name, op in _UNARY.items()},
    **{name: _reduction(op) for name, op in _REDUCTIONS.items()},
    "__operators__.getitem": _slice,
    "nn.leaky_relu": lambda features, alpha=0.2, name=None: ops.leaky_relu(features, alpha),
    "nn.softmax": lambda logits, axis=None, name=None: ops.softmax(logits, axis=-1 if axis is None else axis),
    "math.softmax": lambda logits, axis=None, name=None: ops.softmax(logits, axis=-1 if axis is None else axis),
    "nn.log_softmax": lambda logits, axis=None, name=None: ops.log_softmax(logits, axis=-1 if axis is None else axis),
    "math.argmax": lambda input, axis=None, output_type="int64", name=None: ops.argmax(input, axis=axis or 0),
    "math.argmin": lambda input, axis=None, output_type="int64", name=None: ops.argmin(input, axis=axis or 0),
    "cast": lambda x, dtype, name=None: ops.cast(x, dtype),
    "convert_to_tensor": lambda value, dtype=None, dtype_hint=None, name=None: (
        value if dtype is None else ops.cast(value, dtype)
    ),
    "reshape": lambda tensor, shape, name=None: ops.reshape(tensor, tuple(shape)),
    "expand_dims": lambda input, axis, name=None: ops.expand_dims(input, axis),
    "squeeze": _squeeze,
    "compat.v1.squeeze": _squeeze,
    "concat": lambda values, axis, name=None: ops.concatenate(list(values), axis=axis),
    "stack": lambda values, axis=0, name=None: ops.stack(list(values), axis=axis),
    "transpose": _transpose,
    "compat.v1.transpose": _transpose,
    "linalg.matmul": _matmul,
    "matmul": _matmul,
    "clip_by_value": lambda t, clip_value_min, clip_value_max, name=None: ops.clip(t, clip_value_min, clip_value_max),
    "math.l2_normalize": _l2_normalize,
    "linalg.l2_normalize": _l2_normalize,
    "nn.l2_normalize": _l2_normalize,
    "tile": lambda input, multiples, name=None: ops.tile(input, tuple(multiples)),
    "ones_like": _like(ops.ones_like),
    "zeros_like": _like(ops.zeros_like),
    "math.cumsum": _cumsum,
    "where": lambda condition, x=None, y=None, name=None: ops.where(condition, x, y),
}


class TFOpLambda(OpLambda):
    """tf.keras's wrapper of a TF function on symbolic tensors, re-created over `lamina.ops`.

    Args:
        function: the TF function's name as tf.keras saves it, e.g. `math.reduce_sum`.

    Example:
        >>> TFOpLambda(function="math.reduce_sum")(x, axis=-1)  # called by the loader as the file's node says
    """

    _saved_class_name = "OpLambda"  # once called it is an OpLambda naming `tf.<function>`, and saves as one

    def __init__(self, function, **kwargs):
        if function not in TF_FUNCTIONS:
            raise ValueError(
                f"tf.keras layer {kwargs.get('name', function)!r} calls TensorFlow's `tf.{function}`, which lamina "
                f"cannot run. The TF functions lamina re-creates: {sorted(TF_FUNCTIONS)}."
            )
        kwargs.pop("arguments", None)
        super().__init__(f"tf.{function}", **kwargs)

    def __call__(self, *args, **kwargs):
        if self._inbound_nodes or not has_keras_tensor((args, kwargs)):
            return super().__call__(*args, **kwargs)  # the model runs the node: the tensors, as OpLambda takes them
        # The loader's call, as the file's node says (`x, axis=-1`): the arguments become the OpLambda's template.
        tensors: list = []
        self.arguments = {"args": _encode(list(args), tensors), "kwargs": _encode(dict(kwargs), tensors)}
        return super().__call__(tensors[0] if len(tensors) == 1 else tensors)


class SlicingOpLambda(TFOpLambda):
    """tf.keras's wrapper of `x[...]` on a symbolic tensor (`function: __operators__.getitem`)."""

    _saved_class_name = "OpLambda"


class AddLoss(Layer):
    """tf.keras's layer for `model.add_loss(symbolic tensor)`: the loader hands its input to the model's add_loss.

    Example:
        >>> AddLoss(unconditional=False)(loss_tensor)  # the loader then calls model.add_loss(loss_tensor)
    """

    def __init__(self, unconditional=False, **kwargs):
        super().__init__(**kwargs)
        self.unconditional = unconditional

    def call(self, inputs):
        return inputs
