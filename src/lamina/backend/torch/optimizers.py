"""Whole-model optimizer updates on PyTorch: torch.optim's functional Adam and SGD, in place, Keras's rule.

`torch.optim.adam.adam` and `torch.optim.sgd.sgd` are torch's documented functional optimizers: with
`fused=True` one kernel updates every variable at once (tensors the fused kernel does not take go through
torch's per-tensor path instead). Their update rules differ from Keras's, so each call below passes
arguments that make torch's formula equal Keras's exactly (the docstrings work out why). The tensors
passed in are updated in place and returned, so callers can skip assigning them back.
"""

from __future__ import annotations

import math
import threading

import torch
from torch.optim.adam import adam as torch_adam
from torch.optim.sgd import sgd as torch_sgd

__all__ = ["adam_step", "apply_if", "sgd_step"]

_FUSED_DEVICES = frozenset({"cpu", "cuda"})
_FUSED_DTYPES = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})
# torch 2.13's fused CPU SGD kernel leaves the vectorized part of float16/bfloat16 tensors unchanged (of 100
# elements, only the last 4 move), so SGD takes the fused kernel for full-precision floats only.
_FUSED_SGD_DTYPES = frozenset({torch.float32, torch.float64})


def adam_step(params, grads, ms, vs, lr, beta_1, beta_2, epsilon, iterations):
    """Keras's Adam for every variable, in place: returns (params, ms, vs).

    Keras adds epsilon to the square root of the uncorrected second moment and folds both bias
    corrections into the step size: `w -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)`.
    torch adds epsilon after correcting the second moment: `w -= lr / (1 - b1**t) * m /
    (sqrt(v) / sqrt(1 - b2**t) + eps')`. With `eps' = eps / sqrt(1 - b2**t)` the two are the same formula.

    Args:
        params: The variables' tensors, updated in place.
        grads: Their gradients, one per tensor.
        ms: First moments, updated in place.
        vs: Second moments, updated in place.
        lr: Learning rate (a number or a scalar tensor), read on the host.
        beta_1: Decay of the first moment.
        beta_2: Decay of the second moment.
        epsilon: Keras's epsilon.
        iterations: The number of updates done before this one.

    Returns:
        `(params, ms, vs)`, the same tensors.

    Example:
        >>> p, g, m, v = ([torch.zeros(2)] for _ in range(4))
        >>> params, ms, vs = adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-7, iterations=0)
    """
    if not params:
        return params, ms, vs
    step = int(iterations) + 1
    with torch.no_grad():
        for fused, (p, g, m, v) in _groups(_FUSED_DTYPES, params, _contiguous(grads, params), ms, vs):
            torch_adam(
                p, g, m, v, [], _step_counters(p[0].device, len(p), step - 1),
                foreach=False, fused=fused, amsgrad=False, beta1=beta_1, beta2=beta_2, lr=float(lr),
                weight_decay=0.0, eps=epsilon / math.sqrt(1.0 - beta_2**step), maximize=False,
            )  # fmt: skip
    return params, ms, vs


def apply_if(condition, update, variables) -> None:
    """Runs `update()`, which assigns to `variables`, only if `condition` (a scalar bool tensor) is true.

    Steps run eagerly here, and updates write into the tensors in place, so the condition is read on the
    host (one sync per step, as Keras 3's torch backend does) and the update is skipped, not undone.

    Example:
        >>> apply_if(all_finite, lambda: inner.apply(grads, weights), weights + inner.variables)
    """
    if bool(condition):
        update()


def sgd_step(params, grads, momenta, lr, momentum, nesterov):
    """Keras's SGD for every variable, in place: returns (params, momenta).

    Keras keeps `m = momentum * m - lr * g` and adds it (`w += m`; Nesterov: `w += momentum * m - lr * g`).
    torch keeps `b = momentum * b + (1 - dampening) * g` and subtracts it (`w -= lr' * b`). With
    `dampening = 1 + lr` torch's buffer is Keras's `m`, and `lr' = -1` adds it. Nesterov adds
    `-lr * g` (a plain step) and then `momentum * m` (`lr' = -momentum`).

    Args:
        params: The variables' tensors, updated in place.
        grads: Their gradients, one per tensor.
        momenta: The momentum slots, updated in place ([] without momentum).
        lr: Learning rate (a number or a scalar tensor), read on the host.
        momentum: Keras's momentum (0 for plain gradient descent).
        nesterov: Whether to use Nesterov momentum.

    Returns:
        `(params, momenta)`, the same tensors.

    Example:
        >>> params, momenta = sgd_step([torch.zeros(2)], [torch.ones(2)], [torch.zeros(2)], 0.1, 0.9, False)
    """
    if not params:
        return params, momenta
    lr = float(lr)
    options = {"foreach": False, "weight_decay": 0.0, "maximize": False, "nesterov": False}
    slots = [momenta] if momentum else []
    with torch.no_grad():
        for fused, (p, g, *m) in _groups(_FUSED_SGD_DTYPES, params, _contiguous(grads, params), *slots):
            if not momentum or nesterov:
                torch_sgd(p, g, [None] * len(p), momentum=0.0, lr=lr, dampening=0.0, fused=fused, **options)
            if momentum:
                torch_sgd(
                    p, g, m[0], momentum=momentum, lr=-momentum if nesterov else -1.0, dampening=1.0 + lr,
                    fused=fused, **options,
                )  # fmt: skip
    return params, momenta


def _contiguous(grads, params) -> list:
    """The gradients laid out in memory as their weights are: that of a weight used transposed (an LSTM's kernels)
    is a strided view, which would keep the whole model off the fused kernel; a copy of it costs far less. (A
    convolution kernel stored out-channels first, `core.store_as_conv_kernel`, gets its gradient in that order.)"""
    out = []
    for g, p in zip(grads, params):
        if g.stride() != p.stride():
            g = (
                g.contiguous()
                if p.is_contiguous()
                else torch.empty_strided(p.shape, p.stride(), dtype=g.dtype, device=g.device).copy_(g)
            )
        out.append(g)
    return out


def _dense(tensor) -> bool:
    """Whether `tensor` fills its memory exactly, in some order of its axes (contiguous, or a permutation of it)."""
    if tensor.is_contiguous():
        return True
    expected = 1
    for stride, size in sorted(zip(tensor.stride(), tensor.shape)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _groups(fused_dtypes, params, *others) -> list:
    """`[(fused, [params, *others])]`: the variables torch's fused kernel takes, and the rest, as sublists.

    The fused kernel takes one CPU or CUDA device and reads and writes tensors as flat memory: that is right
    for a weight whose gradient and slots have its own strides and fill their memory (contiguous, or a
    convolution kernel stored out-channels first), wrong for a strided view (a weight used transposed) or
    tensors laid out differently. Such a variable, and one of another dtype or device, goes through torch's
    per-tensor path while the others still take the fused kernel.
    """
    lists = (params, *others)
    if params[0].device.type not in _FUSED_DEVICES:
        return [(False, lists)]
    device = params[0].get_device()  # -1 on the CPU, else the device index
    fits = []
    for i, param in enumerate(params):  # a plain loop: this runs every step, for every variable
        dtype = param.dtype
        fit = dtype in fused_dtypes and param.get_device() == device and (param.is_contiguous() or _dense(param))
        strides = param.stride()
        for tensors in others:
            other = tensors[i]
            fit = fit and other.dtype == dtype and other.get_device() == device and other.stride() == strides
        fits.append(fit)
    if all(fits):
        return [(True, lists)]
    if not any(fits):
        return [(False, lists)]
    return [
        (want, [[t for t, fit in zip(tensors, fits) if fit == want] for tensors in lists]) for want in (True, False)
    ]


def _step_counters(device, count: int, done: int) -> list:
    """One float32 step counter per variable, each holding `done` (torch's Adam adds 1 before its update).

    The counters are views of one buffer kept per thread, device and count, refilled on each call:
    one small kernel instead of an allocation per step.
    """
    cache = _THREAD_STATE.__dict__.setdefault("step_counters", {})
    counters = cache.get((device, count))
    if counters is None:
        buffer = torch.empty(count, dtype=torch.float32, device=device)
        counters = cache[(device, count)] = (buffer, list(buffer.unbind()))
    counters[0].fill_(float(done))
    return counters[1]


_THREAD_STATE = threading.local()
