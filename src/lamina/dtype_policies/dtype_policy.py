"""Dtype policies: which dtype a layer computes in and which its weights are stored in.

A policy named after a dtype ("float32", "float16", "bfloat16", "float64", or any other dtype name) uses that
dtype for both. The two mixed-precision policies compute in a 16-bit float and keep the weights in float32:
"mixed_float16" (float16 compute; training needs loss scaling, which `compile` adds) and "mixed_bfloat16".

Configs name a policy in several forms, all read here: a name, tf-keras's `{"class_name": "Policy",
"config": {"name": ...}}`, tf.keras 2.1-2.3's `PolicyV1` (with names such as "infer" or
"infer_float32_vars", which read as floatx), and Keras 3's `{"module": "keras", "class_name": "DTypePolicy",
"config": {"name": ...}, ...}`.

Example:
    >>> policy = DTypePolicy("mixed_float16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('float16', 'float32')
"""

from __future__ import annotations

from lamina import config
from lamina.backend.common import standardize_dtype

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_LEGACY_FLOATX = ("infer", "_infer", "infer_float32_vars", "infer_with_float32_vars")
_CONFIG_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy", "PolicyV1")
ALLOWED_NAMES = ("float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")


def _parse(name, owner: str | None = None) -> tuple[str, str]:
    """(compute dtype, variable dtype) of a policy name; a ValueError naming `owner` if it is not one."""
    if not isinstance(name, str):
        raise TypeError(f"{_owner(owner)}a dtype policy name must be a string, got {name!r} ({type(name).__name__}).")
    if name in _MIXED:
        return _MIXED[name], "float32"
    try:
        dtype = standardize_dtype(name)
    except ValueError:
        raise ValueError(
            f"{_owner(owner)}unknown dtype policy {name!r}: expected one of {list(ALLOWED_NAMES)} "
            "or the name of another dtype (such as 'int32')."
        ) from None
    return dtype, dtype


def _owner(owner: str | None) -> str:
    return f'Layer "{owner}": ' if owner else ""


class DTypePolicy:
    """A layer's dtype policy: its compute dtype and its variable (weight) dtype.

    Args:
        name: "float32", "float16", "bfloat16", "float64" (both dtypes that one), "mixed_float16" or
            "mixed_bfloat16" (16-bit compute, float32 weights). None: the global policy's name.

    Example:
        >>> DTypePolicy("mixed_bfloat16").compute_dtype
        'bfloat16'
        >>> layer = lamina.layers.Dense(4, dtype=DTypePolicy("mixed_float16"))
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = _parse(name)
        self._name = name

    @property
    def name(self) -> str:
        """The policy's name, e.g. "mixed_float16"."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in, take their floating inputs in and give their outputs in."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype layers store their weights in (read as the compute dtype inside the layer's call)."""
        return self._variable_dtype

    @property
    def is_mixed(self) -> bool:
        """True when the compute and variable dtypes differ."""
        return self._compute_dtype != self._variable_dtype

    @property
    def quantization_mode(self):
        """None: lamina's policies are not quantized (Keras 3's attribute, for code that reads it)."""
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config_dict: dict) -> DTypePolicy:
        return cls(**config_dict)

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


FloatDTypePolicy = DTypePolicy  # Keras 3.0-3.5's name for the same thing

_GLOBAL: list = [None]


def set_dtype_policy(policy) -> None:
    """Sets the global policy: layers created afterwards without a `dtype` use it.

    Args:
        policy: a policy name ("mixed_float16", ...) or a `DTypePolicy`.

    Example:
        >>> lamina.mixed_precision.set_global_policy("mixed_float16")
        >>> lamina.layers.Dense(2).compute_dtype
        'float16'
        >>> lamina.mixed_precision.set_global_policy("float32")
    """
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError(
            "set_dtype_policy expects a policy name (such as 'mixed_float16') or a DTypePolicy, "
            f"got {policy!r} ({type(policy).__name__})."
        )
    _GLOBAL[0] = policy


def dtype_policy() -> DTypePolicy:
    """The global policy (floatx's, until `set_dtype_policy` is called).

    Example:
        >>> lamina.mixed_precision.global_policy()
        <DTypePolicy "float32">
    """
    policy = _GLOBAL[0]
    if policy is None:
        return DTypePolicy(config.floatx())
    return policy


def policy_name_from_config(value):
    """The policy name a config writes in any of its forms (a name, or a Policy/PolicyV1/DTypePolicy dict).

    Example:
        >>> policy_name_from_config({"class_name": "Policy", "config": {"name": "mixed_float16"}})
        'mixed_float16'
    """
    if isinstance(value, DTypePolicy):
        return value.name
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner.get("name") if isinstance(inner, dict) else None
    if value in _LEGACY_FLOATX:
        return config.floatx()
    if isinstance(value, str) and value.startswith("_infer"):  # tf.keras 2.1's "_infer" variants
        return config.floatx()
    return value


def get(identifier, owner: str | None = None) -> DTypePolicy:
    """A policy from None (the global one), a name, a `DTypePolicy`, or a policy config dict.

    Args:
        identifier: what a layer's `dtype` argument holds.
        owner: the layer's name, for error messages.

    Example:
        >>> get({"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}).compute_dtype
        'float16'
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        if class_name is not None and class_name not in _CONFIG_CLASSES:
            raise ValueError(
                f"{_owner(owner)}dtype policy class {class_name!r} is not supported: lamina reads "
                f"{list(_CONFIG_CLASSES)} (quantized policies are not)."
            )
    name = policy_name_from_config(identifier)
    if name is None:
        return dtype_policy()
    if not isinstance(name, str):
        name = standardize_dtype(name)  # a NumPy or engine dtype
    _parse(name, owner)
    return DTypePolicy(name)


def serialize(policy: DTypePolicy) -> dict:
    """Keras 3's form: `{"module": "keras", "class_name": "DTypePolicy", "config": {...}, ...}`."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config_dict, custom_objects=None) -> DTypePolicy:
    """A policy from any config form `get` reads."""
    return get(config_dict)


def needs_loss_scaling(model, optimizer) -> bool:
    """True when `compile` should wrap `optimizer` in a LossScaleOptimizer, as Keras 3 does.

    Float16 gradients underflow, so a model with "mixed_float16" layers (the model's own policy, as Keras
    checks it, or any of its layers', as a loaded file has them) trains with loss scaling; bfloat16 has
    float32's range and needs none. An optimizer that already scales is left alone.
    """
    from lamina.optimizers import LossScaleOptimizer

    if optimizer is None or isinstance(optimizer, LossScaleOptimizer):
        return False
    return any(layer.dtype_policy.name == "mixed_float16" for layer in model._flatten_layers())
