"""SGD with optional (Nesterov) momentum, Keras's update rule."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent: `m = momentum * m - lr * g; w += m` (Nesterov: `w += momentum * m - lr * g`).

    Example:
        >>> SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1], got {momentum}.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self._momenta = []

    def build_slots(self, variables) -> None:
        if self.momentum:
            self._momenta = [self.add_slot(v, "momentum") for v in variables]

    def update_all(self, grads, variables, lr) -> None:
        params, momenta = ops.sgd_step(
            [v.value for v in variables], grads, [m.value for m in self._momenta], lr, self.momentum, self.nesterov
        )
        self._store(variables, params)
        self._store(self._momenta, momenta)

    def update_step(self, index, grad, variable, lr) -> None:
        if not self.momentum:
            variable.assign(variable.value - lr * grad)
            return
        m = self._momenta[index]
        new_m = self.momentum * m.value - lr * grad
        m.assign(new_m)
        if self.nesterov:
            variable.assign(variable.value + self.momentum * new_m - lr * grad)
        else:
            variable.assign(variable.value + new_m)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
