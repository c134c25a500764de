"""Adafactor (Shazeer & Stern 2018), Keras 3's update rule: a factored second moment for matrices."""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.backend import Variable
from lamina.optimizers.optimizer import Optimizer


class Adafactor(Optimizer):
    """Adam-like steps whose second moment is kept as row and column means for variables of rank >= 2.

    Each step (t counts from 1): `rho = min(lr, 1 / sqrt(t))`, `alpha = max(epsilon_2, rms(w)) * rho`,
    `b = 1 - t**beta_2_decay`, `g2 = g**2 + epsilon_1`. For rank >= 2: `r = b r + (1 - b) mean(g2, -1)`,
    `c = b c + (1 - b) mean(g2, -2)`, `v = (r / mean(r)) outer c`; below rank 2: `v = b v + (1 - b) g2`.
    Then `u = g / sqrt(v)`, `w -= alpha * u / max(1, rms(u) / clip_threshold)`.

    Slots, in Keras 3's order, per variable: `r` (shape `w.shape[:-1]`), `c` (`w.shape[:-2] + w.shape[-1:]`)
    and `velocity` (`w.shape`); below rank 2, `r` and `c` are unused int32 scalars, as Keras 3 keeps them.

    Args:
        learning_rate: a float or a `LearningRateSchedule`; the step size is at most `1 / sqrt(t)`.
        beta_2_decay: the exponent of the second moment's decay schedule.
        epsilon_1: added to the squared gradient.
        epsilon_2: the smallest scale a variable's RMS gives the step.
        clip_threshold: the update's RMS is clipped to this (apart from `clipnorm` and friends).
        relative_step: Keras's argument; with the `1 / sqrt(t)` cap above it changes nothing.

    Example:
        >>> Adafactor(learning_rate=0.01, clip_threshold=1.0)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        name="Adafactor",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = float(beta_2_decay), float(epsilon_1), float(epsilon_2)
        self.clip_threshold, self.relative_step = float(clip_threshold), bool(relative_step)

    def _add_shaped_slot(self, variable, name, shape, dtype) -> Variable:
        slot = Variable(np.zeros(shape, dtype), dtype=dtype, trainable=False, name=name)
        slot.path = f"{self.name}/{variable.path.replace('/', '_')}_{name}"
        self._slots.append(slot)
        return slot

    def build_slots(self, variables) -> None:
        self._r, self._c, self._v = [], [], []
        for variable in variables:
            shape = tuple(variable.shape)
            if len(shape) < 2:
                self._r.append(self._add_shaped_slot(variable, "r", (), "int32"))
                self._c.append(self._add_shaped_slot(variable, "c", (), "int32"))
            else:
                self._r.append(self._add_shaped_slot(variable, "r", shape[:-1], variable.dtype))
                self._c.append(self._add_shaped_slot(variable, "c", shape[:-2] + shape[-1:], variable.dtype))
            self._v.append(self.add_slot(variable, "velocity"))

    @staticmethod
    def _rms(x):
        return ops.sqrt(ops.mean(ops.square(x)))

    def update_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        rho = ops.minimum(lr, 1.0 / ops.sqrt(step))
        alpha = ops.maximum(self.epsilon_2, self._rms(variable.value)) * rho
        grad_square = ops.square(grad) + self.epsilon_1
        decay = 1.0 - ops.power(step, self.beta_2_decay)
        v = self._v[index]
        if len(variable.shape) >= 2:
            r, c = self._r[index], self._c[index]
            new_r = decay * r.value + (1.0 - decay) * ops.mean(grad_square, axis=-1)
            new_c = decay * c.value + (1.0 - decay) * ops.mean(grad_square, axis=-2)
            r.assign(new_r)
            c.assign(new_c)
            row = ops.expand_dims(new_r / ops.mean(new_r, axis=-1, keepdims=True), -1)
            new_v = row * ops.expand_dims(new_c, -2)
        else:
            new_v = decay * v.value + (1.0 - decay) * grad_square
        v.assign(new_v)
        update = grad / ops.sqrt(new_v)
        update = update / ops.maximum(1.0, self._rms(update) / self.clip_threshold)
        variable.assign(variable.value - alpha * update)

    def get_config(self) -> dict:
        extra = {
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }
        return {**super().get_config(), **extra}
