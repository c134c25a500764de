"""Adadelta, Keras's update rule (the step is scaled by the learning rate)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class Adadelta(Optimizer):
    """Running averages of g**2 and of the squared steps set each step's size.

    `E[g2] = rho E[g2] + (1 - rho) g**2; d = -sqrt(E[d2] + eps) / sqrt(E[g2] + eps) * g;
    E[d2] = rho E[d2] + (1 - rho) d**2; w += lr * d`.

    Example:
        >>> Adadelta(learning_rate=1.0, rho=0.95)
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho, self.epsilon = float(rho), fuzz_factor(epsilon)

    def build_slots(self, variables) -> None:
        self._grad_averages = [self.add_slot(v, "accumulated_grad") for v in variables]
        self._delta_averages = [self.add_slot(v, "accumulated_delta_var") for v in variables]

    def update_step(self, index, grad, variable, lr) -> None:
        grad_average, delta_average = self._grad_averages[index], self._delta_averages[index]
        new_grad_average = self.rho * grad_average.value + (1.0 - self.rho) * ops.square(grad)
        grad_average.assign(new_grad_average)
        delta = -ops.sqrt(delta_average.value + self.epsilon) * grad / ops.sqrt(new_grad_average + self.epsilon)
        delta_average.assign(self.rho * delta_average.value + (1.0 - self.rho) * ops.square(delta))
        variable.assign(variable.value + lr * delta)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
