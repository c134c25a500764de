"""Whole-model optimizer updates on PyTorch: in place, a few `torch._foreach_*` calls for all variables.

Each function follows Keras's update rule exactly (not torch.optim's: Keras adds
epsilon after the square root of the uncorrected second moment and folds the bias
correction into the step size). The tensors passed in are updated in place and
returned, so callers can skip assigning them back.
"""

from __future__ import annotations

import math

import torch

__all__ = ["adam_step", "sgd_step"]


def adam_step(params, grads, ms, vs, lr, beta_1, beta_2, epsilon, iterations):
    """Keras's Adam for every variable, in place: returns (params, ms, vs).

    `iterations` counts the updates done before this one. The step size is worked
    out on the host, as torch.optim does for its non-capturable optimizers.
    """
    step = int(iterations) + 1
    if _fused_adam_fits(params, grads):
        # torch's fused kernel adds epsilon after bias-correcting the second moment; Keras adds it before.
        # Dividing epsilon by sqrt(1 - beta_2**step) makes the two rules the same formula, so one kernel
        # launch does Keras's update for every variable.
        with torch.no_grad():
            steps = [torch.full((), float(step), device=params[0].device)] * len(params)
            torch._fused_adam_(
                params, grads, ms, vs, [], steps,
                lr=float(lr), beta1=beta_1, beta2=beta_2, weight_decay=0.0,
                eps=epsilon / math.sqrt(1.0 - beta_2**step), amsgrad=False, maximize=False,
            )  # fmt: skip
        return params, ms, vs
    step_size = float(lr) * math.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
    with torch.no_grad():
        torch._foreach_lerp_(ms, grads, 1.0 - beta_1)  # m += (g - m) * (1 - beta_1)
        torch._foreach_mul_(vs, beta_2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - beta_2)  # v = beta_2 v + (1 - beta_2) g^2
        denominators = torch._foreach_sqrt(vs)
        torch._foreach_add_(denominators, epsilon)
        steps = torch._foreach_div(ms, denominators)
        torch._foreach_mul_(steps, step_size)
        torch._foreach_sub_(params, steps)
    return params, ms, vs


def _fused_adam_fits(params, grads) -> bool:
    """True when torch's fused Adam kernel takes these tensors: one device (CPU or CUDA), one float dtype."""
    if not params:
        return False
    first = params[0]
    if first.device.type not in ("cpu", "cuda") or first.dtype not in _FUSED_DTYPES:
        return False
    return all(t.device == first.device and t.dtype == first.dtype for t in (*params, *grads))


_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def sgd_step(params, grads, momenta, lr, momentum, nesterov):
    """Keras's SGD for every variable, in place: returns (params, momenta)."""
    with torch.no_grad():
        if not momentum:
            steps = torch._foreach_mul(grads, lr)
            torch._foreach_sub_(params, steps)
            return params, momenta
        scaled = torch._foreach_mul(grads, lr)
        torch._foreach_mul_(momenta, momentum)
        torch._foreach_sub_(momenta, scaled)  # m = momentum m - lr g
        if nesterov:
            ahead = torch._foreach_mul(momenta, momentum)
            torch._foreach_sub_(ahead, scaled)
            torch._foreach_add_(params, ahead)
        else:
            torch._foreach_add_(params, momenta)
    return params, momenta
