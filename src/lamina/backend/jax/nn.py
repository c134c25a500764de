"""Neural-network functions on JAX: activations, convolution, pooling, crossentropies."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.backend.common import Variable

__all__ = [
    "average_pool", "binary_crossentropy", "categorical_crossentropy", "conv", "dense", "elu", "gelu",
    "hard_sigmoid", "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "max_pool", "moments",
    "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign",
    "sparse_categorical_crossentropy",
]  # fmt: skip


def _v(x):
    return x.value if isinstance(x, Variable) else x


def dense(x, kernel, bias=None):
    """`x @ kernel + bias` (XLA fuses the two)."""
    out = jnp.matmul(_v(x), _v(kernel))
    return out if bias is None else out + _v(bias)


def relu(x):
    return jax.nn.relu(_v(x))


def relu6(x):
    return jax.nn.relu6(_v(x))


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(_v(x), negative_slope=negative_slope)


def sigmoid(x):
    return jax.nn.sigmoid(_v(x))


def log_sigmoid(x):
    return jax.nn.log_sigmoid(_v(x))


def hard_sigmoid(x):
    # Keras 3's definition: relu6(x + 3) / 6.
    return jnp.clip(_v(x) / 6.0 + 0.5, 0.0, 1.0)


def softmax(x, axis=-1):
    return jax.nn.softmax(_v(x), axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(_v(x), axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return jax.nn.logsumexp(_v(x), axis=axis, keepdims=keepdims)


def elu(x, alpha=1.0):
    return jax.nn.elu(_v(x), alpha=alpha)


def selu(x):
    return jax.nn.selu(_v(x))


def gelu(x, approximate=True):
    return jax.nn.gelu(_v(x), approximate=approximate)


def silu(x):
    return jax.nn.silu(_v(x))


def softplus(x):
    return jax.nn.softplus(_v(x))


def softsign(x):
    return jax.nn.soft_sign(_v(x))


def one_hot(indices, num_classes, dtype="float32"):
    return jax.nn.one_hot(_v(indices), num_classes, dtype=dtype)


def moments(x, axes, keepdims=False):
    x = _v(x)
    mean = jnp.mean(x, axis=axes, keepdims=True)
    variance = jnp.mean(jnp.square(x - jax.lax.stop_gradient(mean)), axis=axes, keepdims=True)
    if not keepdims:
        mean = jnp.squeeze(mean, axes)
        variance = jnp.squeeze(variance, axes)
    return mean, variance


def _layout(rank: int, data_format: str):
    spatial = "DHW"[-rank:] if rank <= 3 else None
    if data_format == "channels_last":
        return (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return (f"NC{spatial}", f"{spatial}IO", f"NC{spatial}")


def conv(x, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, groups=1):
    """N-D convolution with a Keras kernel (spatial..., in/groups, out)."""
    x, kernel = _v(x), _v(kernel)
    rank = x.ndim - 2
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dilation = (dilation_rate,) * rank if isinstance(dilation_rate, int) else tuple(dilation_rate)
    return jax.lax.conv_general_dilated(
        x,
        kernel,
        window_strides=strides,
        padding=padding.upper(),
        rhs_dilation=dilation,
        dimension_numbers=_layout(rank, data_format),
        feature_group_count=groups,
    )


def _pool_window(x, pool_size, strides, data_format):
    rank = x.ndim - 2
    pool = (pool_size,) * rank if isinstance(pool_size, int) else tuple(pool_size)
    strides = pool if strides is None else ((strides,) * rank if isinstance(strides, int) else tuple(strides))
    if data_format == "channels_last":
        return (1, *pool, 1), (1, *strides, 1)
    return (1, 1, *pool), (1, 1, *strides)


def max_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x = _v(x)
    window, steps = _pool_window(x, pool_size, strides, data_format)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, steps, padding.upper())


def average_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x = _v(x)
    window, steps = _pool_window(x, pool_size, strides, data_format)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, steps, padding.upper())
    if padding.lower() == "valid":
        size = 1
        for w in window:
            size *= w
        return total / size
    counts = jax.lax.reduce_window(jnp.ones_like(x), 0.0, jax.lax.add, window, steps, padding.upper())
    return total / counts


def categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, epsilon, 1.0 - epsilon))
    return -jnp.sum(target * log_prob, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    target = target.astype("int32")
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, epsilon, 1.0 - epsilon))
    picked = jnp.take_along_axis(log_prob, jnp.expand_dims(target, axis), axis=axis)
    return -jnp.squeeze(picked, axis=axis)


def binary_crossentropy(target, output, from_logits=False, epsilon=1e-7):
    target, output = _v(target), _v(output)
    if from_logits:
        return -(target * jax.nn.log_sigmoid(output) + (1.0 - target) * jax.nn.log_sigmoid(-output))
    output = jnp.clip(output, epsilon, 1.0 - epsilon)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))
