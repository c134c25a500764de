"""Weight constraints: projections applied to a weight after each optimizer update.

Names and config keys follow Keras 2 (`MaxNorm(max_value, axis)`, ...); the lowercase
aliases (`max_norm`, `non_neg`, `unit_norm`, `min_max_norm`) are the same classes.

Example:
    >>> layer = lamina.layers.Dense(4, kernel_constraint=lamina.constraints.max_norm(2.0))
    >>> lamina.constraints.serialize(layer.kernel_constraint)
    {'class_name': 'MaxNorm', 'config': {'max_value': 2.0, 'axis': 0}}
"""

from __future__ import annotations

from lamina import config, ops


class Constraint:
    """Base class: `__call__(weight) -> projected weight`, plus `get_config` / `from_config`.

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return lamina.ops.clip(w, -1.0, 1.0)
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config_dict: dict):
        return cls(**config_dict)


def _norms(w, axis):
    w = ops.convert_to_tensor(w)
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


def _axis(axis):
    """An int, or a list of ints (configs store tuples as lists)."""
    if isinstance(axis, (list, tuple)):
        return [int(a) for a in axis]
    return int(axis)


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value` down to that norm.

    Args:
        max_value: the largest norm allowed.
        axis: the axis (or axes) the norms are taken over; 0 for a Dense kernel's
            (input_dim, units) means one norm per unit.

    Example:
        >>> MaxNorm(2.0)(np.full((4, 1), 3.0, "float32"))  # norm 6 -> 2: every entry 1.0
    """

    def __init__(self, max_value=2, axis=0):
        if not isinstance(max_value, (int, float)) or max_value < 0:
            raise ValueError(f"MaxNorm: max_value must be a number >= 0, got {max_value!r}.")
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0.0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0.

    Example:
        >>> NonNeg()(np.array([-1.0, 2.0], "float32"))  # [0., 2.]
    """

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        # `w * 0` rather than a literal 0, so a NaN weight stays NaN as with Keras's `w * (w >= 0)`.
        return ops.where(ops.greater_equal(w, 0.0), w, w * 0.0)


class UnitNorm(Constraint):
    """Scales each slice along `axis` to L2 norm 1.

    Example:
        >>> UnitNorm(axis=0)(np.array([[3.0], [4.0]], "float32"))  # [[0.6], [0.8]]
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm (along `axis`) into [min_value, max_value], a `rate` fraction of the way.

    Args:
        min_value, max_value: the allowed range of norms.
        rate: 1.0 projects fully; smaller values move the norm part of the way each update.
        axis: the axis (or axes) the norms are taken over.

    Example:
        >>> MinMaxNorm(min_value=1.0, max_value=2.0)(np.array([[0.3], [0.4]], "float32"))  # [[0.6], [0.8]]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        for key, value in (("min_value", min_value), ("max_value", max_value), ("rate", rate)):
            if not isinstance(value, (int, float)):
                raise TypeError(f"MinMaxNorm: {key} must be a number, got {value!r}.")
        if min_value > max_value:
            raise ValueError(f"MinMaxNorm: min_value ({min_value}) must not exceed max_value ({max_value}).")
        self.min_value, self.max_value, self.rate = min_value, max_value, rate
        self.axis = _axis(axis)

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = self.rate * ops.clip(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_CLASSES = (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
# Class names (what configs hold), Keras 2's lowercase aliases, and its older spellings.
_BY_NAME = {
    **{cls.__name__: cls for cls in _CLASSES},
    "max_norm": MaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm,
    "maxnorm": MaxNorm,
    "nonneg": NonNeg,
    "unitnorm": UnitNorm,
}


def serialize(constraint):
    """`{"class_name": ..., "config": ...}` (Keras 2's form); None stays None.

    Example:
        >>> serialize(MaxNorm(3.0, axis=1))
        {'class_name': 'MaxNorm', 'config': {'max_value': 3.0, 'axis': 1}}
    """
    from lamina.saving.serialization import serialize_object

    return serialize_object(constraint)


def deserialize(config_dict, custom_objects=None):
    """A constraint from `{"class_name", "config"}` (Keras 2 or 3) or a name.

    Example:
        >>> deserialize({"class_name": "UnitNorm", "config": {"axis": 1}}).axis
        1
    """
    from lamina.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config_dict, "constraint", dict(_BY_NAME), custom_objects)


def get(identifier):
    """A constraint from None, a name ("max_norm", "MaxNorm"), a config dict, an instance or a callable.

    Example:
        >>> get("non_neg")
        <lamina.constraints.NonNeg object at ...>
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint {identifier!r}: expected a name, a config dict or a callable.")


__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]
