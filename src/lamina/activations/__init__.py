"""Activation functions by Keras name.

Every function takes an engine tensor (or a NumPy array) and returns an engine
tensor; `get` finds one by name, `serialize` gives the name Keras writes in
layer configs. `swish` and `silu` (and `hard_swish` and `hard_silu`) compute the
same values but keep their own names, so a config says what the user wrote and
both Keras 2 and Keras 3 can read it.

`"hard_sigmoid"` names two formulas: Keras 2 (and lamina code) computes
clip(0.2 * x + 0.5, 0, 1), Keras 3 relu6(x + 3) / 6. A saved name means what the Keras
that wrote the file meant: in a Keras 2 file (HDF5 with a 1.x/2.x `keras_version`, a
JSON config without Keras 3's `module` keys) it is `hard_sigmoid`, in a Keras 3 file
`keras3_hard_sigmoid`. Saving keeps what the model computes, in names that each reader
either reads right or refuses (an error beats silently different numbers):
- Keras 2-form files (HDF5, JSON, YAML), read by Keras 2: Keras 2's formula is written
  `"hard_sigmoid"`, Keras 3's `"keras3_hard_sigmoid"` (unknown to Keras 2, so refused).
- Keras 3 `.keras` files, read by Keras 3: Keras 3's formula is written `"hard_sigmoid"`,
  Keras 2's `"keras2_hard_sigmoid"` (unknown to Keras 3, so refused).
lamina reads every one of these names in any file. (Keras 3 loading an HDF5 file reads
`"hard_sigmoid"` as its own formula, for real Keras 2 files as for lamina's.)

Example:
    >>> lamina.activations.get("relu")(np.array([-1.0, 2.0]))
"""

from __future__ import annotations

from lamina import ops
from lamina.activations import keras3_functions
from lamina.activations.keras3_functions import celu as celu
from lamina.activations.keras3_functions import glu as glu
from lamina.activations.keras3_functions import hard_shrink as hard_shrink
from lamina.activations.keras3_functions import hard_tanh as hard_tanh
from lamina.activations.keras3_functions import log_sigmoid as log_sigmoid
from lamina.activations.keras3_functions import soft_shrink as soft_shrink
from lamina.activations.keras3_functions import sparse_plus as sparse_plus
from lamina.activations.keras3_functions import sparse_sigmoid as sparse_sigmoid
from lamina.activations.keras3_functions import sparsemax as sparsemax
from lamina.activations.keras3_functions import squareplus as squareplus
from lamina.activations.keras3_functions import tanh_shrink as tanh_shrink
from lamina.activations.keras3_functions import threshold as threshold


def _tensor(x):
    return ops.convert_to_tensor(x)


def linear(x):
    """The identity.

    Example:
        >>> linear(np.array([-1.0, 2.0]))
    """
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0, negative_slope=None):
    """max(x, 0), with Keras 2's optional leak `alpha`, cap `max_value` and `threshold`.

    Below `threshold` the output is `alpha * (x - threshold)`; at or above it, `x` (capped at
    `max_value`). `negative_slope` is Keras 3's name for `alpha`.

    Example:
        >>> relu(np.array([-2.0, 1.0, 8.0]), alpha=0.1, max_value=6.0)  # [-0.2, 1.0, 6.0]
    """
    if negative_slope is not None:
        alpha = negative_slope
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    x = _tensor(x)
    # Keras keeps x only where x > threshold, so x == threshold gives 0 (not threshold).
    below = ops.less_equal(x, threshold)
    out = ops.where(below, alpha * (x - threshold), x)
    if max_value is not None:
        out = ops.minimum(out, max_value)
    return out


def leaky_relu(x, negative_slope=0.2):
    """`x` for x >= 0, `negative_slope * x` below (Keras 3's default slope 0.2).

    Example:
        >>> leaky_relu(np.array([-1.0, 1.0]))  # [-0.2, 1.0]
    """
    return ops.leaky_relu(_tensor(x), negative_slope=negative_slope)


def relu6(x):
    """min(max(x, 0), 6).

    Example:
        >>> relu6(np.array([-1.0, 7.0]))  # [0.0, 6.0]
    """
    return ops.relu6(_tensor(x))


def sigmoid(x):
    """1 / (1 + exp(-x)).

    Example:
        >>> sigmoid(np.array([0.0]))  # [0.5]
    """
    return ops.sigmoid(_tensor(x))


def tanh(x):
    """The hyperbolic tangent.

    Example:
        >>> tanh(np.array([0.0]))  # [0.0]
    """
    return ops.tanh(_tensor(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis` (the last by default).

    Example:
        >>> softmax(np.array([[0.0, 0.0]]))  # [[0.5, 0.5]]
    """
    return ops.softmax(_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) over `axis`, computed stably.

    Example:
        >>> log_softmax(np.array([[0.0, 0.0]]))  # [[-0.693, -0.693]]
    """
    return ops.log_softmax(_tensor(x), axis=axis)


def elu(x, alpha=1.0):
    """`x` for x > 0, `alpha * (exp(x) - 1)` below.

    Example:
        >>> elu(np.array([-1.0, 1.0]), alpha=0.5)  # [-0.316, 1.0]
    """
    return ops.elu(_tensor(x), alpha=alpha)


def selu(x):
    """The scaled ELU of Klambauer et al. (scale 1.0507, alpha 1.6733).

    Example:
        >>> selu(np.array([1.0]))  # [1.0507]
    """
    return ops.selu(_tensor(x))


def softplus(x):
    """log(1 + exp(x)).

    Example:
        >>> softplus(np.array([0.0]))  # [0.693]
    """
    return ops.softplus(_tensor(x))


def softsign(x):
    """x / (1 + |x|).

    Example:
        >>> softsign(np.array([1.0]))  # [0.5]
    """
    return ops.softsign(_tensor(x))


def silu(x):
    """x * sigmoid(x) (also called swish).

    Example:
        >>> silu(np.array([1.0]))  # [0.731]
    """
    return ops.silu(_tensor(x))


def swish(x):
    """x * sigmoid(x): the same values as `silu`, under Keras 2's name.

    Example:
        >>> swish(np.array([1.0]))  # [0.731]
    """
    return ops.silu(_tensor(x))


def gelu(x, approximate=False):
    """The Gaussian error linear unit: x * Phi(x), or its tanh approximation when `approximate`.

    Example:
        >>> gelu(np.array([1.0]))  # [0.8413]
    """
    return ops.gelu(_tensor(x), approximate=bool(approximate))


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1).

    This is what `"hard_sigmoid"` means in lamina code and in Keras 2 files (the default
    `recurrent_activation` of every GRU and LSTM before Keras 2.3). Keras 3 changed the name's
    meaning to clip(x / 6 + 0.5, 0, 1); files written by Keras 3 get `keras3_hard_sigmoid`
    (see the module docstring for how each is saved).

    Example:
        >>> hard_sigmoid(np.array([0.0, 2.5]))  # [0.5, 1.0]
    """
    return ops.clip(0.2 * _tensor(x) + 0.5, 0.0, 1.0)


def keras3_hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).

    What `"hard_sigmoid"` means in a file written by Keras 3. lamina saves it under this name in
    Keras 2-form configs (HDF5, JSON) and as `"hard_sigmoid"` in Keras 3's `.keras` files.

    Example:
        >>> keras3_hard_sigmoid(np.array([0.0, 3.0]))  # [0.5, 1.0]
    """
    return ops.hard_sigmoid(_tensor(x))


def hard_silu(x):
    """x * hard_sigmoid(x), i.e. x * relu6(x + 3) / 6.

    Example:
        >>> hard_silu(np.array([1.0]))  # [0.667]
    """
    x = _tensor(x)
    return x * ops.hard_sigmoid(x)


def hard_swish(x):
    """The same values as `hard_silu`, under its other name.

    Example:
        >>> hard_swish(np.array([1.0]))  # [0.667]
    """
    x = _tensor(x)
    return x * ops.hard_sigmoid(x)


def mish(x):
    """x * tanh(softplus(x)) (Misra, 2019).

    Example:
        >>> mish(np.array([1.0]))  # [0.865]
    """
    x = _tensor(x)
    return x * ops.tanh(ops.softplus(x))


def exponential(x):
    """exp(x).

    Example:
        >>> exponential(np.array([0.0]))  # [1.0]
    """
    return ops.exp(_tensor(x))


_FUNCTIONS = (
    elu,
    exponential,
    gelu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    keras3_hard_sigmoid,
    leaky_relu,
    linear,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
    tanh,
) + keras3_functions.FUNCTIONS
_BY_NAME = {fn.__name__: fn for fn in _FUNCTIONS}


# The name `keras3_config_name` writes for Keras 2's hard_sigmoid in a Keras 3-form config.
_KERAS2_HARD_SIGMOID_FOR_KERAS3 = "keras2_hard_sigmoid"


def keras3_config_name(name):
    """The activation name to write in a Keras 3-form (`.keras`) config for lamina's `name`.

    Example:
        >>> keras3_config_name("hard_sigmoid"), keras3_config_name("keras3_hard_sigmoid")
        ('keras2_hard_sigmoid', 'hard_sigmoid')
    """
    if name == "hard_sigmoid":
        return _KERAS2_HARD_SIGMOID_FOR_KERAS3
    return "hard_sigmoid" if name == "keras3_hard_sigmoid" else name


def name_from_config(name, keras3: bool):
    """lamina's activation name for `name` read from a config that Keras 3 (`keras3`) or Keras 2 wrote.

    Example:
        >>> name_from_config("hard_sigmoid", keras3=True)
        'keras3_hard_sigmoid'
    """
    if name == _KERAS2_HARD_SIGMOID_FOR_KERAS3:
        return "hard_sigmoid"
    return "keras3_hard_sigmoid" if keras3 and name == "hard_sigmoid" else name


def _name_in(identifier: dict):
    """The function name in Keras 2's `{"class_name": "function", "config": {"name": ...}}` or Keras 3's
    `{"class_name": "function", "config": "relu", ...}` form (or a plain `{"class_name": "relu"}`)."""
    inner = identifier.get("config")
    if isinstance(inner, str):
        return inner
    if isinstance(inner, dict) and "name" in inner:
        return inner["name"]
    return identifier.get("class_name")


def get(identifier):
    """An activation function from a name, a serialized dict or a callable; None means linear.

    Example:
        >>> get("gelu") is gelu
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        identifier = name_from_config(identifier, keras3=False)  # "keras2_hard_sigmoid" from a .keras file
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown activation {identifier!r}. Known: {sorted(_BY_NAME)}.")
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):
        return get(_name_in(identifier))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}: expected a name or a callable.")


def serialize(activation) -> str:
    """The activation's name (what Keras writes in layer configs).

    Example:
        >>> serialize(relu)
        'relu'
    """
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name.")
    return name


def deserialize(name, custom_objects=None):
    """The activation function saved as `name` (custom ones from `custom_objects`).

    Example:
        >>> deserialize("mish") is mish
        True
    """
    if isinstance(name, dict):
        name = _name_in(name)
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)


__all__ = [fn.__name__ for fn in _FUNCTIONS] + [
    "deserialize",
    "get",
    "keras3_config_name",
    "name_from_config",
    "serialize",
]
