"""Lion (Chen et al. 2023), Keras's update rule: the sign of an interpolated momentum."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """`w -= lr * sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g`.

    Example:
        >>> Lion(learning_rate=1e-4, beta_1=0.9, beta_2=0.99)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="Lion", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 < beta_1 <= 1.0:
            raise ValueError(f"Lion: beta_1 must be in (0, 1], got beta_1={beta_1!r}.")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def build_slots(self, variables) -> None:
        self._m = [self.add_slot(v, "momentum") for v in variables]

    def update_step(self, index, grad, variable, lr) -> None:
        m = self._m[index]
        variable.assign(variable.value - lr * ops.sign(m.value * self.beta_1 + grad * (1.0 - self.beta_1)))
        m.assign(m.value * self.beta_2 + grad * (1.0 - self.beta_2))

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
