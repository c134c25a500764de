"""The activations Keras 3 added: shrinkage, hard and sparse variants, GLU and sparsemax.

Each follows Keras 3's definition, its signature and its defaults, and is written with `where`
where Keras 3 is, so the gradient at a kink (`hard_shrink` at its threshold, `hard_tanh` at +-1)
is the same on both engines. The package `lamina.activations` re-exports them by name.

Example:
    >>> lamina.activations.get("hard_shrink")(np.array([-1.0, 0.5, 0.7]))  # [-1.0, 0.0, 0.7]
"""

from __future__ import annotations

from lamina import ops


def _tensor(x):
    return ops.convert_to_tensor(x)


def celu(x, alpha=1.0):
    """`x` for x > 0, `alpha * (exp(x / alpha) - 1)` below (Barron 2017).

    Example:
        >>> celu(np.array([-1.0, 1.0]), alpha=2.0)  # [-0.787, 1.0]
    """
    if not alpha:
        raise ValueError(f"celu: alpha must be non-zero, got alpha={alpha!r}.")
    # alpha * elu(x / alpha) is the same function, with elu's exp(x) - 1 taken accurately near 0.
    return alpha * ops.elu(_tensor(x) / alpha)


def glu(x, axis=-1):
    """`a * sigmoid(b)`, where `a` and `b` are the two halves of `x` along `axis` (Dauphin et al. 2017).

    Example:
        >>> glu(np.array([[1.0, 2.0, 0.0, 0.0]]))  # [[0.5, 1.0]]
    """
    x = _tensor(x)
    size = ops.shape(x)[axis]
    if size % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got {size} (input shape {ops.shape(x)}).")
    moved = ops.moveaxis(x, axis, -1)
    half = size // 2
    return ops.moveaxis(moved[..., :half] * ops.sigmoid(moved[..., half:]), -1, axis)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0.

    Example:
        >>> hard_shrink(np.array([-1.0, 0.5, 0.7]))  # [-1.0, 0.0, 0.7]
    """
    x = _tensor(x)
    return ops.where(ops.greater(ops.abs(x), threshold), x, ops.zeros_like(x))


def hard_tanh(x):
    """`x` clipped to [-1, 1] (the gradient is 1 at +-1, as in Keras 3).

    Example:
        >>> hard_tanh(np.array([-2.0, 0.3, 2.0]))  # [-1.0, 0.3, 1.0]
    """
    x = _tensor(x)
    ones = ops.ones_like(x)
    return ops.where(ops.greater(x, 1.0), ones, ops.where(ops.less(x, -1.0), -ones, x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed stably.

    Example:
        >>> log_sigmoid(np.array([0.0]))  # [-0.693]
    """
    return ops.log_sigmoid(_tensor(x))


def soft_shrink(x, threshold=0.5):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, 0 between.

    Example:
        >>> soft_shrink(np.array([-1.0, 0.2, 0.7]))  # [-0.5, 0.0, 0.2]
    """
    x = _tensor(x)
    zeros = ops.zeros_like(x)
    return ops.where(ops.greater(x, threshold), x - threshold, ops.where(ops.less(x, -threshold), x + threshold, zeros))


def sparse_plus(x):
    """0 for x <= -1, `(x + 1)**2 / 4` between, `x` for x >= 1 (a piecewise softplus).

    Example:
        >>> sparse_plus(np.array([-2.0, 0.0, 2.0]))  # [0.0, 0.25, 2.0]
    """
    x = _tensor(x)
    middle = ops.square(x + 1.0) / 4.0
    return ops.where(ops.less_equal(x, -1.0), ops.zeros_like(x), ops.where(ops.greater_equal(x, 1.0), x, middle))


def sparse_sigmoid(x):
    """0 for x <= -1, `(x + 1) / 2` between, 1 for x >= 1 (a piecewise sigmoid).

    Example:
        >>> sparse_sigmoid(np.array([-2.0, 0.0, 2.0]))  # [0.0, 0.5, 1.0]
    """
    return 0.5 * ops.clip(_tensor(x) + 1.0, 0.0, 2.0)


def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2` (So 2021), a smooth relu with smoothness `b`.

    Example:
        >>> squareplus(np.array([0.0]))  # [1.0]
    """
    x = _tensor(x)
    return (x + ops.sqrt(ops.square(x) + b)) / 2.0


def tanh_shrink(x):
    """`x - tanh(x)`.

    Example:
        >>> tanh_shrink(np.array([1.0]))  # [0.238]
    """
    x = _tensor(x)
    return x - ops.tanh(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`.

    Example:
        >>> threshold(np.array([0.5, 2.0]), threshold=1.0, default_value=-1.0)  # [-1.0, 2.0]
    """
    x = _tensor(x)
    return ops.where(ops.greater(x, threshold), x, ops.full_like(x, default_value))


def sparsemax(x, axis=-1):
    """The Euclidean projection of `x` onto the probability simplex along `axis` (Martins & Astudillo 2016).

    `max(x - tau, 0)`, with `tau` chosen so the outputs sum to 1: with the values sorted in
    descending order, the support is the first `k` values with `1 + j * z_j > z_1 + ... + z_j`, and
    `tau = (z_1 + ... + z_k - 1) / k`. Keras 3.15 sums the running sums instead, which gives outputs
    that do not sum to 1 whenever more than one value is in the support (keras-team/keras#23425,
    fixed upstream); lamina computes the projection itself, which agrees with Keras 3 when the
    support is a single value.

    Example:
        >>> sparsemax(np.array([[0.0, 0.5, 1.0]]))  # [[0.0, 0.25, 0.75]]
    """
    x = _tensor(x)
    moved = ops.moveaxis(x, axis, -1)
    size = ops.shape(moved)[-1]
    ordered = ops.flip(ops.sort(moved, axis=-1), axis=-1)
    running = ops.cumsum(ordered, axis=-1)
    counts = ops.cast(ops.arange(1, size + 1), ops.dtype_of(x))
    support = ops.greater(1.0 + counts * ordered, running)
    k = ops.sum(ops.cast(support, ops.dtype_of(x)), axis=-1, keepdims=True)
    total = ops.sum(ops.where(support, ordered, ops.zeros_like(ordered)), axis=-1, keepdims=True)
    shifted = moved - (total - 1.0) / k
    # where, not maximum: no half gradient for a value exactly at tau.
    out = ops.where(ops.greater(shifted, 0.0), shifted, ops.zeros_like(shifted))
    return ops.moveaxis(out, -1, axis)


FUNCTIONS = (
    celu,
    glu,
    hard_shrink,
    hard_tanh,
    log_sigmoid,
    soft_shrink,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    tanh_shrink,
    threshold,
)
