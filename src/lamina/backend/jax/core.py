"""Arrays, variable storage and symbolic shape inference on JAX."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend.common import KerasTensor, StatelessScope, standardize_dtype
from lamina.backend.common import Variable as _CommonVariable
from lamina.backend.common import device as device_stack

__all__ = [
    "Variable",
    "match_layout",
    "store_as_conv_kernel",
    "cast",
    "compute_output_spec",
    "convert_to_numpy",
    "convert_to_numpy_tree",
    "convert_to_tensor",
    "current_device",
    "device_put_batch",
    "device_scope",
    "dtype_of",
    "host_map",
    "is_tensor",
    "list_devices",
    "resolve_device",
    "shape",
    "stop_gradient",
    "to_device",
    "value_and_gradients",
]


class Variable(_CommonVariable):
    """A Variable whose value is a `jax.Array`."""

    def __init__(self, *args, **kwargs):
        # A sub-layer built during a symbolic call is built inside `jax.eval_shape`: its initial
        # value must still be a concrete array, not a tracer of that trace.
        with jax.ensure_compile_time_eval():
            super().__init__(*args, **kwargs)

    def _convert(self, value):
        if isinstance(value, _CommonVariable):
            value = value.value
        if isinstance(value, jax.core.Tracer):
            return value.astype(self._dtype) if value.dtype != self._dtype else value
        return jnp.asarray(value, dtype=self._dtype)

    def _direct_assign(self, value) -> None:
        self._value = value

    def __jax_array__(self):
        return self.value


def current_device():
    """The device of the innermost `lamina.backend.device` scope, else JAX's default device."""
    return device_stack.current() or jax.local_devices()[0]  # jax.devices()[0] is process 0's in a multi-process job


def list_devices() -> list:
    """The names of the devices JAX sees, in lamina's form ("cpu:0", "gpu:0", ...).

    Example:
        >>> list_devices()
        ['cpu:0']
    """
    names = []
    for kind in ("cpu", "gpu"):
        try:
            names += [f"{kind}:{index}" for index in range(len(jax.devices(kind)))]
        except RuntimeError:  # JAX has no backend of this kind (a CPU-only jaxlib has no "gpu").
            pass
    return names


def resolve_device(kind: str, index: int):
    """The jax device for ("cpu" | "gpu", index), or a ValueError naming what this machine has."""
    try:
        devices = jax.devices(kind)
    except RuntimeError:
        devices = []
    if index >= len(devices):
        raise ValueError(
            f"Device '{kind}:{index}' is not visible: JAX sees {len(devices)} {kind.upper()} device(s) "
            f"({[str(d) for d in jax.devices()]})."
        )
    return devices[index]


@contextlib.contextmanager
def device_scope(handle):
    """Variables created and eager computations run inside go to `handle`.

    A jitted train step runs on one device (XLA places a whole program); the
    scope decides where variables live and where eager calls and predictions run.
    """
    device_stack.push(handle)
    try:
        with jax.default_device(handle):
            yield handle
    finally:
        device_stack.pop()


def to_device(x, handle):
    """`x` moved to the device `handle`; traced values are left to XLA."""
    if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer) and handle not in x.devices():
        return jax.device_put(x, handle)
    return x


def convert_to_tensor(x, dtype=None):
    """`x` as a jax array (Variables give their value)."""
    if isinstance(x, _CommonVariable):
        x = x.value
    if dtype is not None:
        dtype = standardize_dtype(dtype)
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    return jnp.asarray(x, dtype=dtype)


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy array with `x`'s values."""
    if isinstance(x, _CommonVariable):
        x = x.value
    return np.asarray(x)


def convert_to_numpy_tree(tree):
    """A nested structure of arrays fetched to the host in one transfer.

    Where a step's collective failed because another process of the job stopped, the error names that process.
    """
    try:
        return jax.device_get(tree)
    except jax.errors.JaxRuntimeError as error:
        from lamina.backend.jax.distribute import peer_failure

        failure = peer_failure(error)
        if failure is None:
            raise
        raise failure from error


def is_tensor(x) -> bool:
    """True for a jax array (traced or concrete)."""
    return isinstance(x, jax.Array)


def cast(x, dtype):
    """`x` converted to `dtype`."""
    return convert_to_tensor(x).astype(standardize_dtype(dtype))


def shape(x) -> tuple:
    """The static shape of `x`."""
    return tuple(x.shape)


def dtype_of(x) -> str:
    """The dtype name of an array, Variable or KerasTensor."""
    return standardize_dtype(x.dtype)


def stop_gradient(x):
    """`x`, with gradients stopped."""
    return jax.lax.stop_gradient(convert_to_tensor(x))


def value_and_gradients(fn, values: list):
    """`(fn(values), [d sum(fn) / d value for each value])`: the gradients of a function of a list of arrays.

    A non-scalar result is summed first, as `K.gradients` does. Used by `K.gradients` (through K.function).

    Example:
        >>> value, (grad,) = value_and_gradients(lambda v: (v[0] ** 2).sum(), [jnp.ones(3)])  # grad: [2, 2, 2]
    """
    values = [convert_to_tensor(v) for v in values]

    def total(vs):
        out = fn(vs)
        return jnp.sum(out), out

    (_, out), grads = jax.value_and_grad(total, has_aux=True)(values)
    return out, list(grads)


def device_put_batch(tree):
    """Moves a nested structure of NumPy arrays to the default device in one transfer."""
    return jax.device_put(tree)


# Unknown (None) dimensions are tried at two sizes; an output dimension that differs between the two runs is
# unknown too. The sizes are multiples of 32, so a U-Net's pooled and upsampled branches still line up, big enough
# for the deepest stock networks (InceptionV3 needs 75), and far apart, so five halvings still tell them apart.
PROBE_SIZES = (96, 160)


def _spec_for(tensor: KerasTensor, unknown: int):
    dims = tuple(unknown if d is None else d for d in tensor.shape)
    return jax.ShapeDtypeStruct(dims, tensor.dtype)


def compute_output_spec(fn, *args, **kwargs):
    """Runs `fn` on KerasTensors with `jax.eval_shape` and returns KerasTensors.

    Unknown (None) dimensions are tried at two sizes; an output dimension
    that changes with them is unknown too. This is the one generic shape path
    (DESIGN rule 7): no layer writes a shape rule by hand for this.
    """
    is_leaf = lambda v: isinstance(v, KerasTensor)  # noqa: E731
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_leaf)
    symbolic = [i for i, leaf in enumerate(leaves) if isinstance(leaf, KerasTensor)]
    has_unknown = any(None in leaves[i].shape for i in symbolic)

    def run(unknown: int):
        specs = list(leaves)
        for i in symbolic:
            specs[i] = _spec_for(leaves[i], unknown)
        tensor_idx = [i for i in symbolic]

        def wrapped(*tensors):
            filled = list(specs)
            for i, t in zip(tensor_idx, tensors):
                filled[i] = t
            call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
            with StatelessScope():
                return fn(*call_args, **call_kwargs)

        return jax.eval_shape(wrapped, *[specs[i] for i in tensor_idx])

    first = run(PROBE_SIZES[0])
    second = run(PROBE_SIZES[1]) if has_unknown else first

    def merge(a, b):
        dims = tuple(None if x != y else x for x, y in zip(a.shape, b.shape))
        return KerasTensor(dims, dtype=standardize_dtype(a.dtype))

    return jax.tree_util.tree_map(merge, first, second)


def host_map(fn, x, dtype):
    """`fn(numpy_array)` run on the host, inside `jit` too; its result has `x`'s shape and `dtype`.

    For work that has no array form (hashing strings of digits, vocabulary look-ups).

    Example:
        >>> host_map(lambda a: a % 7, jnp.arange(10), "int32")
    """
    dtype = standardize_dtype(dtype)
    x = convert_to_tensor(x)

    def on_host(array):
        return np.asarray(fn(np.asarray(array)), dtype=dtype).reshape(array.shape)

    return jax.pure_callback(on_host, jax.ShapeDtypeStruct(x.shape, dtype), x)


def store_as_conv_kernel(variable) -> None:
    """Nothing on JAX: XLA lays out every array itself (torch keeps such a kernel out-channels first).

    Example:
        >>> store_as_conv_kernel(conv_layer.kernel)
    """


def match_layout(variable, reference) -> None:
    """Nothing on JAX: XLA lays out every array itself (torch stores an optimizer slot as its weight is).

    Example:
        >>> match_layout(momentum_slot, conv_layer.kernel)
    """
