"""Nadam, Keras 3's update rule (Adam with Nesterov momentum and a momentum schedule)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class Nadam(Optimizer):
    """Adam whose momentum looks one step ahead, with Dozat's momentum schedule.

    `u_t = b1 (1 - 0.5 * 0.96**t)`; the running product of the `u_t` is kept in a
    state variable (`u_product`). Each step:
    `m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t)`,
    `v_hat = v / (1 - b2**t)`, `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.

    Args:
        schedule_decay: Keras 2's argument: `u_t = b1 (1 - 0.5 * 0.96**(t * schedule_decay))` (Keras 2's
            default was 0.004). None (the default) is Keras 3's schedule, `0.96**t`.

    Example:
        >>> Nadam(learning_rate=0.002)
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Nadam", schedule_decay=None, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), fuzz_factor(epsilon)
        self.schedule_decay = None if schedule_decay is None else float(schedule_decay)

    def build_slots(self, variables) -> None:
        self._m = [self.add_slot(v, "momentum") for v in variables]
        self._v = [self.add_slot(v, "velocity") for v in variables]
        self._u_product = self.add_state("u_product", 1.0)

    def _momentum_factor(self, step):
        exponent = step if self.schedule_decay is None else step * self.schedule_decay
        return self.beta_1 * (1.0 - 0.5 * ops.power(0.96, exponent))

    def update_all(self, grads, variables, lr) -> None:
        # The product is advanced once per step, before the per-variable updates read it.
        step = ops.cast(self.iterations.value + 1, "float32")
        self._u_product.assign(self._u_product.value * self._momentum_factor(step))
        super().update_all(grads, variables, lr)

    def update_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        u_t = self._momentum_factor(step)
        u_next = self._momentum_factor(step + 1.0)
        product = self._u_product.value
        product_next = product * u_next
        m, v = self._m[index], self._v[index]
        new_m = m.value + (grad - m.value) * (1.0 - self.beta_1)
        new_v = v.value + (ops.square(grad) - v.value) * (1.0 - self.beta_2)
        m.assign(new_m)
        v.assign(new_v)
        m_hat = u_next * new_m / (1.0 - product_next) + (1.0 - u_t) * grad / (1.0 - product)
        v_hat = new_v / (1.0 - ops.power(self.beta_2, step))
        variable.assign(variable.value - m_hat * lr / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self) -> dict:
        extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        if self.schedule_decay is not None:
            extra["schedule_decay"] = self.schedule_decay
        return {**super().get_config(), **extra}
