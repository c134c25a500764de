"""The engine, picked once at import from keras.json or LAMINA_BACKEND, and the K.* settings.

Example:
    >>> from lamina import backend as K
    >>> K.backend(), K.floatx(), K.image_data_format()
    ('jax', 'float32', 'channels_last')
"""

import contextlib
import importlib
import threading
import warnings

from lamina.backend.common import KerasTensor as KerasTensor
from lamina.backend.common import StatelessScope as StatelessScope
from lamina.backend.common import allocator as _allocator
from lamina.backend.common import is_keras_tensor as is_keras_tensor
from lamina.backend.common import standardize_dtype as standardize_dtype
from lamina.config import backend as backend
from lamina.config import backend_source as backend_source
from lamina.config import epsilon as epsilon
from lamina.config import floatx as floatx
from lamina.config import image_data_format as image_data_format
from lamina.config import set_epsilon as set_epsilon
from lamina.config import set_floatx as set_floatx
from lamina.config import set_image_data_format as set_image_data_format

# What to install when an engine's package is missing.
_ENGINE_INSTALL = {"jax": "pip install jax", "torch": 'pip install "lamina[torch]"'}


def _import_engine(name: str):
    """The engine package `lamina.backend.<name>`; an ImportError saying how to install it when it is missing.

    The engine package itself imports the library, so that its set-up (torch's thread defaults)
    runs before the library loads.

    Example:
        >>> _import_engine("jax").NAME
        'jax'
    """
    try:
        return importlib.import_module(f"lamina.backend.{name}")
    except ImportError as err:
        if (err.name or "").split(".")[0] == "lamina":
            raise  # lamina's own module is missing: a broken install, not a missing engine
        other = "jax" if name == "torch" else "torch"
        missing = isinstance(err, ModuleNotFoundError) and (err.name or name).split(".")[0] == name
        problem = f"{name} is not installed" if missing else f"importing {name} failed ({err})"
        error_class = ModuleNotFoundError if missing else ImportError
        raise error_class(
            f"lamina's engine is {name} (chosen by {backend_source()}), but {problem}. "
            f"Install it with `{_ENGINE_INSTALL[name]}`, or choose the {other} engine with LAMINA_BACKEND={other}.",
            name=name,
        ) from err


# Both engines' steps reuse freed memory instead of zero-filled fresh pages (glibc only; the user's MALLOC_* win).
_allocator.keep_freed_memory()
engine = _import_engine(backend())
Variable = engine.core.Variable

# The Keras 2 K.* functions; imported after `engine` exists, since they are written over lamina.ops.
from lamina.backend import k_api as _k_api  # noqa: E402
from lamina.backend import k_array as _k_array  # noqa: E402
from lamina.backend import k_control as _k_control  # noqa: E402
from lamina.backend import k_ctc as _k_ctc  # noqa: E402
from lamina.backend import k_function as _k_function  # noqa: E402
from lamina.backend import k_nn as _k_nn  # noqa: E402
from lamina.backend.common.symbolic import symbolic_aware as _symbolic_aware  # noqa: E402

_K_MODULES = [_k_api, _k_function, _k_array, _k_control, _k_ctc, _k_nn]

# K functions that take symbolic tensors as they are (shapes, variables, K.function, K.gradients, updates) or
# take no tensors; every other K function applied to a symbolic tensor becomes a graph node (an OpLambda).
_STRUCTURAL = {
    "Function", "function", "gradients", "placeholder", "is_placeholder", "int_shape", "shape", "ndim", "dtype",
    "eval", "get_value", "batch_get_value", "set_value", "batch_set_value", "variable", "is_variable",
    "is_keras_tensor", "learning_phase", "set_learning_phase", "learning_phase_scope", "count_params", "update",
    "update_add", "update_sub", "name_scope", "get_uid", "reset_uids", "manual_variable_initialization",
    "is_sparse", "constant", "zeros", "ones", "eye", "random_uniform", "random_normal", "truncated_normal",
    "random_binomial", "random_bernoulli", "arange", "random_uniform_variable", "random_normal_variable",
    "zeros_variable", "ones_variable", "moving_average_update", "clear_session",
    "ctc_decode", "ctc_label_dense_to_sparse", "cast_to_floatx", "normalize_data_format", "is_tensor",
    "get_variable_shape", "symbolic", "eager", "control_dependencies", "get_session", "set_session",
}  # fmt: skip
SYMBOLIC_FUNCTIONS: set = set()  # the names an OpLambda may call as `backend.<name>`
for _module in _K_MODULES:
    for _name in _module.__all__:
        _function = getattr(_module, _name)
        if _name not in _STRUCTURAL and callable(_function) and not isinstance(_function, type):
            _function = _symbolic_aware(_function, f"backend.{_name}")
            SYMBOLIC_FUNCTIONS.add(_name)
        globals()[_name] = _function


_placement = {"soft": True}
_warned_devices: set = set()
_warned_lock = threading.Lock()


def set_soft_device_placement(enabled: bool) -> None:
    """Sets whether `device` scopes naming a device this machine lacks fall back (True, the default) or raise.

    As `tf.config.set_soft_device_placement`: with soft placement on,
    `with lamina.backend.device("/gpu:0"):` on a machine without that GPU runs
    on another device (GPU 0 if the machine has GPUs, else the CPU) and warns
    once; with it off, the scope raises ValueError.

    Args:
        enabled: True to fall back with a warning, False to raise.

    Example:
        >>> lamina.backend.set_soft_device_placement(False)
        >>> with lamina.backend.device("/gpu:3"):  # on a CPU-only machine
        ...     pass
        ValueError: lamina.backend.device('/gpu:3'): no such device (this machine has: cpu:0) ...
    """
    if not isinstance(enabled, int) or enabled not in (0, 1):  # bool is an int
        raise TypeError(f"set_soft_device_placement: `enabled` must be True or False, got {enabled!r}.")
    _placement["soft"] = bool(enabled)


def get_soft_device_placement() -> bool:
    """Whether `device` scopes naming a missing device fall back with a warning (True) or raise (False).

    Example:
        >>> lamina.backend.get_soft_device_placement()
        True
    """
    return _placement["soft"]


def _placed_device(name: str, kind: str, index: int, strict):
    """The engine device for (kind, index), or, under soft placement, a fallback (with one warning per device)."""
    available = engine.core.list_devices()
    wanted = f"{kind}:{index}"
    if wanted in available:
        return engine.core.resolve_device(kind, index)
    listed = ", ".join(available)
    if strict or (strict is None and not _placement["soft"]):
        why = "strict=True" if strict else "soft device placement is off (set_soft_device_placement(False))"
        raise ValueError(
            f"lamina.backend.device({name!r}): no such device (this machine has: {listed}), and {why} "
            "forbids falling back. Name one of those devices, or pass strict=False to fall back with a warning."
        )
    fallback = next(n for n in (f"{kind}:0", "cpu:0", *available) if n in available)
    with _warned_lock:
        first_time = wanted not in _warned_devices
        _warned_devices.add(wanted)
    if first_time:
        # stacklevel 4: this function, device(), contextlib's __enter__, then the user's `with` line.
        warnings.warn(
            f"lamina.backend.device({name!r}): no such device (this machine has: {listed}); "
            f"running on {fallback} instead.",
            stacklevel=4,
        )
    fallback_kind, fallback_index = fallback.split(":")
    return engine.core.resolve_device(fallback_kind, int(fallback_index))


@contextlib.contextmanager
def device(name: str, strict: bool | None = None):
    """Places the variables and computation of layers called inside on a device (the FAQ's device scopes).

    Names: "cpu", "cpu:0", "gpu:1", "/gpu:0", "/device:GPU:0", "cuda:1",
    "/job:localhost/replica:0/task:0/device:GPU:0" (TensorFlow's forms, any case).
    Like `tf.device` with soft placement, a device this machine lacks falls
    back (to GPU 0 when there are GPUs, else the CPU) with one warning per
    process and device; `strict=True`, or `set_soft_device_placement(False)`,
    makes it a ValueError listing the devices there are. A malformed name is
    always a ValueError.

    Args:
        name: The device, e.g. "/gpu:0".
        strict: True to raise when the device is missing, False to fall back;
            None (the default) follows `get_soft_device_placement()`.

    Yields:
        The engine's device handle the scope uses.

    Example:
        >>> with lamina.backend.device("/gpu:0"):  # the CPU, with a warning, on a machine without GPUs
        ...     encoded_a = shared_lstm(tweet_a)
        >>> with lamina.backend.device("/cpu:0"):
        ...     merged = layers.concatenate([encoded_a, encoded_b])
    """
    from lamina.backend.common.device import parse_device_name

    kind, index = parse_device_name(name)
    handle = _placed_device(name, kind, index, strict)
    with engine.core.device_scope(handle):
        yield handle


def clear_session() -> None:
    """Resets automatic layer names (`dense`, `dense_1`, ... start again).

    Example:
        >>> clear_session()
    """
    from lamina.backend.common import reset_names

    reset_names()
    _k_control.reset_uids()  # K.get_uid counts from 1 again, as after Keras 2's clear_session
