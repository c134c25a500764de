"""Adamax, Keras's update rule (Adam with the infinity norm)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class Adamax(Optimizer):
    """`m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr * m / ((1 - b1**t) (u + epsilon))`.

    Example:
        >>> Adamax(learning_rate=0.002)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), fuzz_factor(epsilon)

    def build_slots(self, variables) -> None:
        self._m = [self.add_slot(v, "momentum") for v in variables]
        self._u = [self.add_slot(v, "norm") for v in variables]

    def update_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        m, u = self._m[index], self._u[index]
        new_m = m.value + (grad - m.value) * (1.0 - self.beta_1)
        new_u = ops.maximum(self.beta_2 * u.value, ops.abs(grad))
        m.assign(new_m)
        u.assign(new_u)
        correction = 1.0 - ops.power(self.beta_1, step)
        variable.assign(variable.value - lr * new_m / (correction * (new_u + self.epsilon)))

    def get_config(self) -> dict:
        extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        return {**super().get_config(), **extra}
