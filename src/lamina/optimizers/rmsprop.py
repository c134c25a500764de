"""RMSprop, Keras's update rule (epsilon inside the square root)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class RMSprop(Optimizer):
    """`v = rho * v + (1 - rho) * g**2; w -= lr * g / sqrt(v + epsilon)`.

    With `centered=True` the running mean of g is subtracted from v's square
    root argument; with `momentum` the step goes through a momentum buffer.
    Models loaded from Keras 2 (and tf.keras's OptimizerV2 without momentum) step with
    `w -= lr * g / (sqrt(v) + epsilon)`, as those did (`_epsilon_outside_root`).

    Example:
        >>> RMSprop(learning_rate=0.001, rho=0.9)
    """

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="RMSprop", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = (
            float(rho),
            float(momentum),
            fuzz_factor(epsilon),
            bool(centered),
        )

    _epsilon_outside_root = False  # set by the loader for files whose Keras added epsilon after the root

    def build_slots(self, variables) -> None:
        self._velocities = [self.add_slot(v, "velocity") for v in variables]
        self._averages = [self.add_slot(v, "average_gradient") for v in variables] if self.centered else []
        self._momenta = [self.add_slot(v, "momentum") for v in variables] if self.momentum else []

    def update_step(self, index, grad, variable, lr) -> None:
        velocity = self._velocities[index]
        new_v = self.rho * velocity.value + (1.0 - self.rho) * ops.square(grad)
        velocity.assign(new_v)
        denominator = new_v + self.epsilon
        if self.centered:
            average = self._averages[index]
            new_avg = self.rho * average.value + (1.0 - self.rho) * grad
            average.assign(new_avg)
            denominator = denominator - ops.square(new_avg)
        if self._epsilon_outside_root:
            mean_square = new_v - ops.square(new_avg) if self.centered else new_v
            increment = lr * grad / (ops.sqrt(mean_square) + self.epsilon)
        else:
            increment = lr * grad * ops.rsqrt(denominator)
        if self.momentum:
            momentum = self._momenta[index]
            increment = self.momentum * momentum.value + increment
            momentum.assign(increment)
        variable.assign(variable.value - increment)

    def get_config(self) -> dict:
        extra = {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}
        return {**super().get_config(), **extra}
