"""Adam, Keras's update rule (bias correction folded into the step size, epsilon outside the root)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class Adam(Optimizer):
    """`m += (g - m)(1 - b1); v += (g**2 - v)(1 - b2); w -= lr_t * m / (sqrt(v) + epsilon)`,
    with `lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)`.

    Example:
        >>> Adam(learning_rate=1e-3, amsgrad=True)
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="Adam", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = (
            float(beta_1),
            float(beta_2),
            fuzz_factor(epsilon),
            bool(amsgrad),
        )

    def build_slots(self, variables) -> None:
        self._m = [self.add_slot(v, "m") for v in variables]
        self._v = [self.add_slot(v, "v") for v in variables]
        self._v_hat = [self.add_slot(v, "vhat") for v in variables] if self.amsgrad else []

    def update_all(self, grads, variables, lr) -> None:
        if self.amsgrad:
            super().update_all(grads, variables, lr)
            return
        params, ms, vs = ops.adam_step(
            [v.value for v in variables], grads, [m.value for m in self._m], [v.value for v in self._v],
            lr, self.beta_1, self.beta_2, self.epsilon, self.iterations.value,
        )  # fmt: skip
        self._store(variables, params)
        self._store(self._m, ms)
        self._store(self._v, vs)

    def update_step(self, index, grad, variable, lr) -> None:
        # The per-variable rule, used with amsgrad (the whole-model engine op covers the rest).
        step = ops.cast(self.iterations.value + 1, "float32")
        step_scale = ops.sqrt(1.0 - ops.power(self.beta_2, step)) / (1.0 - ops.power(self.beta_1, step))
        m, v = self._m[index], self._v[index]
        new_m = m.value + (grad - m.value) * (1.0 - self.beta_1)
        new_v = v.value + (ops.square(grad) - v.value) * (1.0 - self.beta_2)
        m.assign(new_m)
        v.assign(new_v)
        if self.amsgrad:
            v_hat = self._v_hat[index]
            new_v = ops.maximum(v_hat.value, new_v)
            v_hat.assign(new_v)
        variable.assign(variable.value - lr * step_scale * new_m / (ops.sqrt(new_v) + self.epsilon))

    def get_config(self) -> dict:
        extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}
        return {**super().get_config(), **extra}
