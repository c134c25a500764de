"""Whole-model optimizer updates on JAX: plain per-variable arithmetic, which XLA fuses inside the jitted step."""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["adam_step", "apply_if", "sgd_step"]


def adam_step(params, grads, ms, vs, lr, beta_1, beta_2, epsilon, iterations):
    """Keras's Adam for every variable: returns (params, ms, vs), new arrays.

    `iterations` counts the updates done before this one.
    """
    step = jnp.asarray(iterations, "float32") + 1.0
    step_scale = jnp.sqrt(1.0 - jnp.power(beta_2, step)) / (1.0 - jnp.power(beta_1, step))
    new_params, new_ms, new_vs = [], [], []
    for p, g, m, v in zip(params, grads, ms, vs):
        m = m + (g - m) * (1.0 - beta_1)
        v = v + (jnp.square(g) - v) * (1.0 - beta_2)
        new_params.append(p - lr * step_scale * m / (jnp.sqrt(v) + epsilon))
        new_ms.append(m)
        new_vs.append(v)
    return new_params, new_ms, new_vs


def apply_if(condition, update, variables) -> None:
    """Runs `update()`, which assigns to `variables`; where `condition` (a scalar bool) is false they keep their values.

    Under `jit` the condition is not known while tracing, so both outcomes are computed and each variable
    takes `where(condition, new, old)`: no host read, and the skipped branch's NaNs never reach a variable.

    Example:
        >>> apply_if(all_finite, lambda: inner.apply(grads, weights), weights + inner.variables)
    """
    before = [variable.value for variable in variables]
    update()
    for variable, old in zip(variables, before):
        variable.assign(jnp.where(condition, variable.value, old))


def sgd_step(params, grads, momenta, lr, momentum, nesterov):
    """Keras's SGD for every variable: returns (params, momenta); momenta is [] without momentum."""
    if not momentum:
        return [p - lr * g for p, g in zip(params, grads)], []
    new_params, new_momenta = [], []
    for p, g, m in zip(params, grads, momenta):
        m = momentum * m - lr * g
        new_params.append(p + momentum * m - lr * g if nesterov else p + m)
        new_momenta.append(m)
    return new_params, new_momenta
