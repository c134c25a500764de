"""Lamb (You et al. 2019), Keras 3's update rule: Adam's step rescaled per variable by a trust ratio."""

from __future__ import annotations

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class Lamb(Optimizer):
    """Layer-wise adaptive moments: Adam's bias-corrected step, scaled by `||w|| / ||step||`.

    Each step: `m += (g - m)(1 - b1)`; `v += (g**2 - v)(1 - b2)`;
    `step = (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)`;
    `w -= ratio * lr * step`, where `ratio = ||w|| / ||step||` (1 when either norm is 0).

    Slots, in Keras 3's order: `momentum` and `velocity`, interleaved per variable
    (`w0_momentum, w0_velocity, w1_momentum, ...`).

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        beta_1: decay of the first moment.
        beta_2: decay of the second moment.
        epsilon: added to the root of the corrected second moment.

    Example:
        >>> Lamb(learning_rate=1e-3, beta_1=0.9, beta_2=0.999)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Lamb", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build_slots(self, variables) -> None:
        self._m, self._v = [], []
        for variable in variables:
            self._m.append(self.add_slot(variable, "momentum"))
            self._v.append(self.add_slot(variable, "velocity"))

    def update_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        m, v = self._m[index], self._v[index]
        new_m = m.value + (grad - m.value) * (1.0 - self.beta_1)
        new_v = v.value + (ops.square(grad) - v.value) * (1.0 - self.beta_2)
        m.assign(new_m)
        v.assign(new_v)
        m_hat = new_m / (1.0 - ops.power(self.beta_1, step))
        v_root = ops.sqrt(new_v / (1.0 - ops.power(self.beta_2, step))) + self.epsilon
        update = m_hat / v_root
        w_norm = ops.sqrt(ops.sum(ops.square(variable.value)))
        u_norm = ops.sqrt(ops.sum(ops.square(update)))
        # The division is guarded, so a zero norm gives ratio 1 without a NaN on either branch.
        ratio = ops.where(
            ops.logical_and(ops.greater(w_norm, 0.0), ops.greater(u_norm, 0.0)),
            w_norm / ops.where(ops.greater(u_norm, 0.0), u_norm, 1.0),
            1.0,
        )
        variable.assign(variable.value - ratio * lr * update)

    def get_config(self) -> dict:
        extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        return {**super().get_config(), **extra}
