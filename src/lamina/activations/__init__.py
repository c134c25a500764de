"""Activation functions by Keras name.

Example:
    >>> lamina.activations.get("relu")(np.array([-1.0, 2.0]))
"""

from __future__ import annotations

from lamina import ops


def linear(x):
    """The identity."""
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """max(x, 0), with Keras 2's optional leak `alpha`, cap `max_value` and `threshold`."""
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    # Keras keeps x only where x > threshold, so x == threshold gives 0 (not threshold).
    below = ops.less_equal(x, threshold)
    out = ops.where(below, alpha * (x - threshold), x)
    if max_value is not None:
        out = ops.minimum(out, max_value)
    return out


def sigmoid(x):
    return ops.sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    """Softmax over `axis` (the last by default)."""
    return ops.softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha=alpha)


def selu(x):
    return ops.selu(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: clip(x / 6 + 0.5, 0, 1)."""
    return ops.hard_sigmoid(x)


def exponential(x):
    return ops.exp(x)


_BY_NAME = {
    fn.__name__: fn
    for fn in (linear, relu, sigmoid, tanh, softmax, elu, selu, softplus, softsign, hard_sigmoid, exponential)
}


def get(identifier):
    """An activation function from a name or a callable; None means linear."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown activation {identifier!r}. Known: {sorted(_BY_NAME)}.")
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):
        return get(identifier.get("config", {}).get("name", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}.")


def serialize(activation) -> str:
    """The activation's name (what Keras writes in layer configs)."""
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME and _BY_NAME[name] is activation:
        return name
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name.")
    return name
