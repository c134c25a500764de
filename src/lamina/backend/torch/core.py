"""Arrays, variable storage, devices and symbolic shape inference on PyTorch."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import torch

from lamina.backend.common import KerasTensor, StatelessScope, current_stateless_scope, standardize_dtype
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

_TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "bool": torch.bool,
}


def torch_dtype(dtype) -> torch.dtype:
    """The torch dtype for a lamina dtype name (or anything standardize_dtype accepts)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return _TORCH_DTYPES[standardize_dtype(dtype)]


def default_device() -> torch.device:
    """The GPU when one is visible (CUDA_VISIBLE_DEVICES="" hides them), else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


_DEFAULT_DEVICE = default_device()


def current_device() -> torch.device:
    """The device of the innermost `lamina.backend.device` scope, else the default device."""
    return device_stack.current() or _DEFAULT_DEVICE


def list_devices() -> list:
    """The names of the devices torch sees, in lamina's form ("cpu:0", "gpu:0", ...).

    torch has one CPU device; `LAMINA_CPU_DEVICES=N` makes it N ("cpu:0" to "cpu:N-1", all the same CPU), so that
    data parallelism (backend/torch/distribute.py) can run N gloo worker processes on CPU. Each visible CUDA device
    is a "gpu:N".

    Example:
        >>> list_devices()
        ['cpu:0']
    """
    cpus = [f"cpu:{index}" for index in range(cpu_device_count())]
    return cpus + [f"gpu:{index}" for index in range(torch.cuda.device_count())]


def cpu_device_count() -> int:
    """How many CPU devices lamina lists on torch: `LAMINA_CPU_DEVICES` (default 1), checked."""
    value = os.environ.get("LAMINA_CPU_DEVICES", "1").strip() or "1"
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LAMINA_CPU_DEVICES must be a whole number >= 1, got {value!r}.")
    return int(value)


def resolve_device(kind: str, index: int) -> torch.device:
    """The torch device for ("cpu" | "gpu", index), or a ValueError naming what this machine has."""
    if kind == "cpu":
        count = cpu_device_count()
        if index >= count:
            raise ValueError(
                f"torch has a single CPU device, 'cpu:0'; got 'cpu:{index}'."
                if count == 1
                else f"torch has {count} CPU devices (LAMINA_CPU_DEVICES), cpu:0 to cpu:{count - 1}; got 'cpu:{index}'."
            )
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(
            f"Device 'gpu:{index}' is not visible: torch sees {count} GPU(s)"
            + (" (CUDA_VISIBLE_DEVICES may hide them)." if count == 0 else f": gpu:0 to gpu:{count - 1}.")
        )
    return torch.device("cuda", index)


@contextlib.contextmanager
def device_scope(handle):
    """Variables and tensors created inside go to `handle`."""
    device_stack.push(handle)
    try:
        yield handle
    finally:
        device_stack.pop()


def to_device(x, handle):
    """`x` moved to the device `handle` (a no-op when it is there already)."""
    if isinstance(x, torch.Tensor) and x.device != handle:
        return x.to(handle)
    return x


class Variable(_CommonVariable):
    """A Variable whose value is a torch tensor on the default device.

    Assignments copy into the same tensor in place, so a trainable variable stays
    one autograd leaf for its whole life.
    """

    def __init__(self, *args, **kwargs):
        if current_device().type == "meta":
            # A sub-layer built during shape inference (on the meta device) still needs real initial values.
            with device_scope(_device_below_meta()):
                super().__init__(*args, **kwargs)
        else:
            super().__init__(*args, **kwargs)
        # Own storage: assignments write in place, so they must never reach the caller's
        # array (torch.as_tensor shares a CPU NumPy array's memory) or tensor.
        self._value = self._value.detach().clone()
        if self.trainable and self._value.is_floating_point():
            self._value.requires_grad_(True)

    def _convert(self, value):
        if isinstance(value, _CommonVariable):
            value = value.value
        dtype = _TORCH_DTYPES[self._dtype]
        if isinstance(value, torch.Tensor):
            if value.dtype != dtype:
                value = value.to(dtype)
            return value if device_stack.current() is None else value.to(current_device())
        return torch.as_tensor(np.asarray(value), dtype=dtype, device=current_device())

    def assign_add(self, delta):
        # In place when nothing records updates and the delta needs no cast or broadcast: the metric and
        # iteration counters take this path every step.
        if current_stateless_scope() is None and not self._value.requires_grad:
            if (type(delta) is int and self._value.dtype != torch.bool) or (
                type(delta) is float and self._value.is_floating_point()
            ):
                return self._value.add_(delta)
            if (
                isinstance(delta, torch.Tensor)
                and delta.dtype == self._value.dtype
                and delta.shape == self._value.shape
                and delta.device == self._value.device
            ):
                return self._value.add_(delta.detach())
        if not isinstance(delta, (torch.Tensor, _CommonVariable, int, float)):
            delta = convert_to_tensor(delta)  # `tensor + ndarray` fails when the tensor requires grad
        return super().assign_add(delta)

    def assign_sub(self, delta):
        if not isinstance(delta, (torch.Tensor, _CommonVariable, int, float)):
            delta = convert_to_tensor(delta)
        return super().assign_sub(delta)

    def _direct_assign(self, value) -> None:
        with torch.no_grad():
            if self._value.shape == value.shape:
                self._value.copy_(value)
            else:
                self._value = value.detach().clone()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        # torch calls this when a Variable is an operand (`tensor + variable`, `torch.matmul(x, variable)`):
        # unwrapping here is much cheaper than torch's failed conversion followed by Python's reflected operator.
        return func(*_unwrap_all(args), **{k: _unwrap_all(v) for k, v in (kwargs or {}).items()})

    def numpy(self) -> np.ndarray:
        return convert_to_numpy(self.value)

    def __array__(self, dtype=None, copy=None):
        out = convert_to_numpy(self.value)
        return out.astype(dtype) if dtype is not None else out


def _unwrap_all(value):
    if isinstance(value, _CommonVariable):
        return value.value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap_all(v) for v in value)
    return value


def convert_to_tensor(x, dtype=None):
    """`x` as a torch tensor on the default device (Variables give their value)."""
    if isinstance(x, _CommonVariable):
        x = x.value
    target = None if dtype is None else torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        if target is not None and x.dtype != target:
            x = x.to(target)
        return x
    array = np.asarray(x)
    if target is None:
        target = _default_target(x, array.dtype)
    if array.dtype == np.uint32 or array.dtype == np.uint64:
        array = array.astype(np.int64)
    if any(stride < 0 for stride in array.strides):  # torch takes no reversed views (`x[::-1]`)
        array = array.copy()
    return torch.as_tensor(array, dtype=target, device=current_device())


def _default_target(x, dtype: np.dtype):
    """The dtype JAX's engine would pick: float64 computes in float32, and Python ints
    (which NumPy reads as int64) are int32. An int64 NumPy array stays int64: the caller asked for it."""
    if dtype == np.float64:
        return torch.float32
    if dtype == np.int64 and not isinstance(x, (np.ndarray, np.generic)):
        return torch.int32
    return None


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy array with `x`'s values: a copy, never a view of a tensor's memory.

    A view of a CPU tensor would change under later in-place assignments to a
    Variable (JAX's arrays are immutable, so there the question never arises).
    """
    if isinstance(x, _CommonVariable):
        x = x.value
    if not isinstance(x, torch.Tensor):
        return np.asarray(x)
    x = x.detach()
    if x.dtype == torch.bfloat16:
        import ml_dtypes  # NumPy has no bfloat16; JAX's engine returns ml_dtypes' too

        return x.float().cpu().numpy().astype(ml_dtypes.bfloat16)
    out = x.cpu().numpy()
    return out.copy() if x.device.type == "cpu" else out


def convert_to_numpy_tree(tree):
    """A nested list/tuple/dict of tensors as NumPy arrays."""
    if isinstance(tree, dict):
        return {key: convert_to_numpy_tree(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(convert_to_numpy_tree(value) for value in tree)
    return convert_to_numpy(tree)


def is_tensor(x) -> bool:
    """True for a torch tensor."""
    return isinstance(x, torch.Tensor)


def cast(x, dtype):
    """`x` converted to `dtype` (straight from NumPy, so float64 input cast to float64 keeps its precision)."""
    return convert_to_tensor(x, dtype=dtype)


def shape(x) -> tuple:
    """The static shape of `x`."""
    return tuple(x.shape)


def dtype_of(x) -> str:
    """The dtype name of a tensor, Variable or KerasTensor."""
    return standardize_dtype(x.dtype)


def stop_gradient(x):
    """`x`, detached from autograd."""
    return convert_to_tensor(x).detach()


def value_and_gradients(fn, values: list):
    """`(fn(values), [d sum(fn) / d value for each value])`: the gradients of a function of a list of tensors.

    A non-scalar result is summed first, as `K.gradients` does; a value the result does not depend on gets
    zeros. Used by `K.gradients` (through K.function).

    Example:
        >>> value, (grad,) = value_and_gradients(lambda v: (v[0] ** 2).sum(), [torch.ones(3)])  # grad: [2, 2, 2]
    """
    leaves = [convert_to_tensor(v).detach().requires_grad_(True) for v in values]
    with torch.enable_grad():
        out = fn(leaves)
        grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True) if out.requires_grad else [None] * len(leaves)
    grads = [torch.zeros_like(leaf) if grad is None else grad for leaf, grad in zip(leaves, grads)]
    return out.detach(), [grad.detach() for grad in grads]


def device_put_batch(tree):
    """Moves a nested structure of NumPy arrays to the default device."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {key: device_put_batch(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(device_put_batch(value) for value in tree)
    return convert_to_tensor(tree)


def _flatten_specs(structure, out):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_flatten_specs(v, out) for v in structure)
    if isinstance(structure, dict):
        return {k: _flatten_specs(v, out) for k, v in structure.items()}
    if isinstance(structure, KerasTensor):
        out.append(structure)
    return structure


# Unknown (None) dimensions are tried at two sizes; an output dimension that differs between the two runs is
# unknown too. The sizes are multiples of 32, so a U-Net's pooled and upsampled branches still line up, big enough
# for the deepest stock networks (InceptionV3 needs 75), and far apart, so five halvings still tell them apart.
PROBE_SIZES = (96, 160)
# The real-tensor fallback puts a small batch on an unknown leading axis: a batch of 96 would cost real compute.
_FALLBACK_BATCH_SIZES = (2, 3)
_META = torch.device("meta")


class _MetaScope(StatelessScope):
    """A stateless scope in which every variable reads as a meta tensor of its shape and dtype."""

    def get_current_value(self, variable):
        found = super().get_current_value(variable)
        if found is None:
            found = torch.empty_like(variable._value, device=_META)
        return found


def _fill(structure, sizes: tuple, device):
    """`structure` with each KerasTensor replaced by a tensor, unknown dims set from `sizes` (leading, other)."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(_fill(v, sizes, device) for v in structure)
    if isinstance(structure, dict):
        return {k: _fill(v, sizes, device) for k, v in structure.items()}
    if isinstance(structure, KerasTensor):
        dims = tuple(d if d is not None else sizes[0] if i == 0 else sizes[1] for i, d in enumerate(structure.shape))
        dtype = torch_dtype(structure.dtype)
        if device == _META:
            return torch.empty(dims, dtype=dtype, device=_META)
        return torch.zeros(dims, dtype=dtype, device=device)
    return structure


def _to_specs(first, second):
    if isinstance(first, (list, tuple)):
        return type(first)(_to_specs(a, b) for a, b in zip(first, second))
    if isinstance(first, dict):
        return {k: _to_specs(first[k], second[k]) for k in first}
    if isinstance(first, torch.Tensor):
        dims = tuple(None if a != b else a for a, b in zip(first.shape, second.shape))
        return KerasTensor(dims, dtype=standardize_dtype(first.dtype))
    return first


def _device_below_meta() -> torch.device:
    """The innermost scoped device that is not the meta device, else the default device."""
    for handle in reversed(device_stack.handles()):
        if handle.type != "meta":
            return handle
    return _DEFAULT_DEVICE


def _probe(fn, args, kwargs, has_unknown: bool, on_meta: bool):
    """Runs `fn` once or twice (with each probe size) and returns the merged KerasTensors."""
    if on_meta:
        device, first_sizes, second_sizes, scope = _META, PROBE_SIZES[:1] * 2, PROBE_SIZES[1:] * 2, _MetaScope
    else:
        device, scope = current_device(), StatelessScope
        first_sizes = (_FALLBACK_BATCH_SIZES[0], PROBE_SIZES[0])
        second_sizes = (_FALLBACK_BATCH_SIZES[1], PROBE_SIZES[1])

    def run(sizes):
        call_args, call_kwargs = _fill((args, kwargs), sizes, device)
        with torch.no_grad(), scope(), device_scope(device) if on_meta else contextlib.nullcontext():
            return fn(*call_args, **call_kwargs)

    first = run(first_sizes)
    second = run(second_sizes) if has_unknown else first
    return _to_specs(first, second)


def compute_output_spec(fn, *args, **kwargs):
    """Runs `fn` on tensors standing in for KerasTensors and returns KerasTensors (DESIGN rule 7).

    Unknown (None) dimensions are tried at two sizes; an output dimension that
    changes with them is unknown too. When only the leading (batch) axis is
    unknown, or no axis, `fn` still runs on torch's meta device first, which computes
    shapes only (variables read as meta tensors of their shape): a real run of a
    224x224 convnet costs seconds. Other unknown axes are tried at sizes big enough
    for any stack of kernels and strides (`PROBE_SIZES`). Code that needs real data
    (a value read back to Python, a tensor made on another device) runs again on
    real zeros, with a small batch. Either way the run is
    without autograd and in a stateless scope, so no variable changes.

    Example:
        >>> compute_output_spec(lambda x: x[..., ::2], KerasTensor((None, None, 10))).shape
        (None, None, 5)
    """
    specs: list = []
    _flatten_specs((args, kwargs), specs)
    has_unknown = any(None in spec.shape for spec in specs)
    if specs:  # shapes only, without computing anything; a layer whose call needs data runs again for real
        try:
            return _probe(fn, args, kwargs, has_unknown, on_meta=True)
        except Exception:  # noqa: BLE001 - whatever meta tensors cannot do, the real run below does (or reports)
            pass
    return _probe(fn, args, kwargs, has_unknown, on_meta=False)


def host_map(fn, x, dtype):
    """`fn(numpy_array)` run on the host; its result has `x`'s shape and `dtype`, on `x`'s device.

    For work that has no array form (hashing the digits of numbers, vocabulary look-ups).

    Example:
        >>> host_map(lambda a: a % 7, torch.arange(10), "int32")
    """
    x = convert_to_tensor(x)
    if x.device.type == "meta":  # shape inference: no data to run `fn` on
        return torch.empty(x.shape, dtype=torch_dtype(dtype), device=x.device)
    array = x.detach().cpu().numpy()
    result = np.asarray(fn(array), dtype=standardize_dtype(dtype)).reshape(array.shape)
    return torch.as_tensor(result, device=x.device)


def store_as_conv_kernel(variable) -> None:
    """Keeps a 2-D or 3-D convolution kernel `(spatial..., in, out)` in memory out-channels first,
    `(out, spatial..., in)`: the order torch's oneDNN convolution reads for channels-last inputs, so that neither
    a call nor its backward copies the kernel into it (ResNet50 on the CPU: 5-8% of a step). Same shape and values;
    assignments copy in place and keep the order.

    Example:
        >>> store_as_conv_kernel(conv_layer.kernel)  # in Conv2D.build, channels_last
    """
    value = variable._value
    if value.ndim not in (4, 5) or not value.is_floating_point():
        return
    rank = value.ndim
    order = (rank - 1, *range(rank - 1))  # out first, then spatial..., in
    back = (*range(1, rank), 0)
    with torch.no_grad():
        stored = value.detach().permute(order).contiguous().permute(back)
    variable._value = stored.requires_grad_(value.requires_grad)


def match_layout(variable, reference) -> None:
    """Stores `variable` in the memory order of `reference` (same shape): an optimizer slot of a convolution kernel
    kept out-channels first, so that the fused update still reads both as flat memory.

    Example:
        >>> match_layout(momentum_slot, conv_layer.kernel)
    """
    value, ref = variable._value, reference._value
    if ref.is_contiguous() or tuple(value.shape) != tuple(ref.shape) or value.stride() == ref.stride():
        return
    with torch.no_grad():
        stored = torch.empty_strided(ref.shape, ref.stride(), dtype=value.dtype, device=value.device).copy_(value)
    variable._value = stored.requires_grad_(value.requires_grad)
