"""Adagrad, Keras's update rule (epsilon inside the square root)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer, fuzz_factor


class Adagrad(Optimizer):
    """`a += g**2; w -= lr * g / sqrt(a + epsilon)`, with `a` starting at `initial_accumulator_value`.

    Models loaded from Keras 2 and tf.keras's OptimizerV2 step with `w -= lr * g / (sqrt(a) + epsilon)`,
    as those did (`_epsilon_outside_root`).

    Example:
        >>> Adagrad(learning_rate=0.01, initial_accumulator_value=0.1)
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="Adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: initial_accumulator_value must be >= 0, got {initial_accumulator_value!r}.")
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = fuzz_factor(epsilon)

    _epsilon_outside_root = False  # set by the loader for files whose Keras added epsilon after the root

    def build_slots(self, variables) -> None:
        from lamina import initializers

        start = initializers.Constant(self.initial_accumulator_value)
        self._accumulators = [self.add_slot(v, "accumulator", start) for v in variables]

    def update_step(self, index, grad, variable, lr) -> None:
        accumulator = self._accumulators[index]
        new_accumulator = accumulator.value + ops.square(grad)
        accumulator.assign(new_accumulator)
        if self._epsilon_outside_root:
            variable.assign(variable.value - lr * grad / (ops.sqrt(new_accumulator) + self.epsilon))
        else:
            variable.assign(variable.value - lr * grad / ops.sqrt(new_accumulator + self.epsilon))

    def get_config(self) -> dict:
        extra = {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
        return {**super().get_config(), **extra}
