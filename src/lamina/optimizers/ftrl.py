"""FTRL-proximal, Keras's update rule (with L1, L2, L2-shrinkage and beta)."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013).

    Per step, with `p = -learning_rate_power` and `l2' = l2 + beta / (2 lr)`:
    `n' = n + g**2`; `z += g + 2 l2_shrinkage w - (n'**p - n**p) / lr * w`;
    `w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 l2')`.

    Example:
        >>> Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        name="Ftrl",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        checks = {
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
        }
        for key, value in checks.items():
            if value < 0.0:
                raise ValueError(f"Ftrl: {key} must be >= 0, got {key}={value!r}.")
        if learning_rate_power > 0.0:
            raise ValueError(
                f"Ftrl: learning_rate_power must be <= 0, got learning_rate_power={learning_rate_power!r}."
            )
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def build_slots(self, variables) -> None:
        from lamina import initializers

        start = initializers.Constant(self.initial_accumulator_value)
        self._accumulators = [self.add_slot(v, "accumulator", start) for v in variables]
        self._linears = [self.add_slot(v, "linear") for v in variables]

    def update_step(self, index, grad, variable, lr) -> None:
        accumulator, linear = self._accumulators[index], self._linears[index]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        w = variable.value
        shrunk_grad = grad + 2.0 * self.l2_shrinkage_regularization_strength * w
        new_accumulator = accumulator.value + ops.square(grad)
        sigma = (ops.power(new_accumulator, power) - ops.power(accumulator.value, power)) / lr
        new_linear = linear.value + shrunk_grad - sigma * w
        linear.assign(new_linear)
        quadratic = ops.power(new_accumulator, power) / lr + 2.0 * l2
        l1 = self.l1_regularization_strength
        variable.assign((ops.clip(new_linear, -l1, l1) - new_linear) / quadratic)
        accumulator.assign(new_accumulator)

    def get_config(self) -> dict:
        extra = {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
        return {**super().get_config(), **extra}
