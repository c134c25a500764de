"""Schedule-Free AdamW (Defazio et al. 2024), Keras 3's update rule."""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """AdamW without a learning-rate schedule: steps go to a sequence `z` (the `momentum` slot),
    an average `x` of the `z`s is kept implicitly, and the variable holds `y = (1 - b1) z + b1 x`.

    Each step (t counts from 1; `lr` ramps up linearly over `warmup_steps`):
    `v += (g**2 - v)(1 - b2)`; `z -= lr * g / (sqrt(v / (1 - b2**t)) + epsilon)`;
    `x = (y - (1 - b1) z_old) / b1`; `x' = (1 - 1/t) x + z / t`; `y = (1 - b1) z + b1 x'`.

    Slots, in Keras 3's order: `momentum` (starting at the variable's value) and `velocity`,
    interleaved per variable (`w0_momentum, w0_velocity, w1_momentum, ...`).

    Args:
        learning_rate: a float or a `LearningRateSchedule` (Keras's default 0.0025).
        beta_1: interpolation between `z` and `x`.
        beta_2: decay of the second moment.
        epsilon: added to the root of the corrected second moment.
        warmup_steps: steps over which the learning rate rises linearly from 0.

    Example:
        >>> ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    """

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
        name="ScheduleFreeAdamW",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW: warmup_steps must be an integer >= 0, got {warmup_steps!r}.")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.warmup_steps = warmup_steps

    def build_slots(self, variables) -> None:
        self._z, self._v = [], []
        for variable in variables:
            z = self.add_slot(variable, "momentum")
            # A copy, not the variable's own buffer: the JAX trainer donates both, which must differ.
            z.assign(ops.convert_to_numpy(variable.value))
            self._z.append(z)
            self._v.append(self.add_slot(variable, "velocity"))

    def update_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(step / float(self.warmup_steps), 1.0)
        z, v = self._z[index], self._v[index]
        # Keras 3 takes 1 - beta in float32 here (after casting beta), so the same rounding is used.
        keep_1 = float(np.float32(1.0) - np.float32(self.beta_1))
        keep_2 = float(np.float32(1.0) - np.float32(self.beta_2))
        # x is read off y and the old z before z is assigned (torch assigns in place).
        x_old = (variable.value - keep_1 * z.value) / self.beta_1
        new_v = v.value + (ops.square(grad) - v.value) * keep_2
        v.assign(new_v)
        denominator = ops.sqrt(new_v / (1.0 - ops.power(self.beta_2, step))) + self.epsilon
        new_z = z.value - lr * grad / denominator
        z.assign(new_z)
        weight = 1.0 / step
        x_new = (1.0 - weight) * x_old + weight * new_z
        variable.assign(keep_1 * new_z + self.beta_1 * x_new)

    def get_config(self) -> dict:
        extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        return {**super().get_config(), **extra, "warmup_steps": self.warmup_steps}
