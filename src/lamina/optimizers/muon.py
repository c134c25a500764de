"""Muon (Jordan et al. 2024; Liu et al. 2025), Keras 3's update rule, with AdamW for the other variables."""

from __future__ import annotations

import re

from lamina import ops
from lamina.optimizers.optimizer import Optimizer


class Muon(Optimizer):
    """Momentum SGD whose step for a 2-D variable is orthogonalized by a Newton-Schulz iteration.

    A matrix variable takes the Muon step: `m = momentum * m + g`; with Nesterov `u = g + momentum * m`
    (else `u = m`); `w -= lr * NS(u) * sqrt(max(rows, cols)) * rms_rate` (no rescaling when
    `rms_rate` is None), where `NS` runs `ns_steps` quintic Newton-Schulz iterations with
    coefficients `muon_a, muon_b, muon_c` on `u / (||u||_F + 1e-7)`. Every other variable (not 2-D,
    a path containing "embedding" with `exclude_embeddings`, or matching a regex of `exclude_layers`)
    takes Keras's Adam step at `lr * adam_lr_ratio`. Weight decay is `weight_decay` for Muon
    variables and `adam_weight_decay` for the others.

    Slots, in Keras 3's order, per variable: `momentum`, then `velocity` for the Adam variables only
    (`kernel_momentum, bias_momentum, bias_velocity` for one Dense layer).

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        adam_beta_1: Adam's first-moment decay.
        adam_beta_2: Adam's second-moment decay.
        adam_weight_decay: decoupled weight decay of the Adam variables (None: none).
        epsilon: Adam's epsilon.
        weight_decay: decoupled weight decay of the Muon variables (None: none).
        exclude_layers: regular expressions; variables whose path matches one take the Adam step.
        exclude_embeddings: whether variables whose path contains "embedding" take the Adam step.
        muon_a: Newton-Schulz coefficient a.
        muon_b: Newton-Schulz coefficient b.
        muon_c: Newton-Schulz coefficient c.
        adam_lr_ratio: the Adam step's learning rate relative to `learning_rate`.
        momentum: the Muon step's momentum.
        ns_steps: the number of Newton-Schulz iterations.
        nesterov: whether the Muon step uses Nesterov momentum.
        rms_rate: the update scale of Liu et al. (None turns it off).

    Example:
        >>> Muon(learning_rate=0.02, exclude_layers=["output"])
    """

    def __init__(
        self,
        learning_rate=0.001,
        adam_beta_1=0.9,
        adam_beta_2=0.999,
        adam_weight_decay=0.004,
        epsilon=1e-7,
        weight_decay=0.004,
        name="Muon",
        exclude_layers=None,
        exclude_embeddings=True,
        muon_a=3.4445,
        muon_b=-4.7750,
        muon_c=2.0315,
        adam_lr_ratio=1,
        momentum=0.95,
        ns_steps=5,
        nesterov=True,
        rms_rate=0.2,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, **kwargs)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"Muon: ns_steps must be an integer >= 0, got {ns_steps!r}.")
        if isinstance(exclude_layers, str):
            raise TypeError(f"Muon: exclude_layers must be a list of strings, got the string {exclude_layers!r}.")
        self.adam_beta_1, self.adam_beta_2, self.epsilon = float(adam_beta_1), float(adam_beta_2), float(epsilon)
        self.adam_weight_decay = None if adam_weight_decay is None else float(adam_weight_decay)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, float(momentum), ns_steps
        self.nesterov = bool(nesterov)
        self.rms_rate = None if rms_rate is None else float(rms_rate)

    def _uses_adam(self, variable) -> bool:
        if len(variable.shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(pattern, variable.path) for pattern in self.exclude_layers)

    def build_slots(self, variables) -> None:
        self._m, self._v = [], []
        for variable in variables:
            self._m.append(self.add_slot(variable, "momentum"))
            self._v.append(self.add_slot(variable, "velocity") if self._uses_adam(variable) else None)

    def _apply_weight_decay(self, variables, lr) -> None:
        for variable in variables:
            rate = self.adam_weight_decay if self._uses_adam(variable) else self.weight_decay
            if rate is not None and self._decays(variable):
                variable.assign(variable.value - variable.value * rate * lr)

    def update_step(self, index, grad, variable, lr) -> None:
        if self._v[index] is not None:
            self._adam_step(index, grad, variable, lr * self.adam_lr_ratio)
            return
        m = self._m[index]
        new_m = m.value + (grad + m.value * (self.momentum - 1.0))
        m.assign(new_m)
        direction = grad + self.momentum * new_m if self.nesterov else new_m
        update = lr * self._newton_schulz(direction)
        if self.rms_rate is not None:
            rows, cols = variable.shape
            update = update * float(max(rows, cols)) ** 0.5 * self.rms_rate
        variable.assign(variable.value - update)

    def _adam_step(self, index, grad, variable, lr) -> None:
        step = ops.cast(self.iterations.value + 1, "float32")
        alpha = lr * ops.sqrt(1.0 - ops.power(self.adam_beta_2, step)) / (1.0 - ops.power(self.adam_beta_1, step))
        m, v = self._m[index], self._v[index]
        new_m = m.value + (grad - m.value) * (1.0 - self.adam_beta_1)
        new_v = v.value + (ops.square(grad) - v.value) * (1.0 - self.adam_beta_2)
        m.assign(new_m)
        v.assign(new_v)
        variable.assign(variable.value - new_m * alpha / (ops.sqrt(new_v) + self.epsilon))

    def _newton_schulz(self, x):
        """The quintic Newton-Schulz iteration towards the orthogonal factor of `x` (a matrix)."""
        tall = x.shape[0] > x.shape[1]
        if tall:
            x = ops.transpose(x)
        x = x / (ops.sqrt(ops.sum(ops.square(x))) + 1e-7)
        for _ in range(self.ns_steps):
            gram = ops.matmul(x, ops.transpose(x))
            poly = self.muon_b * gram + ops.matmul(self.muon_c * gram, gram)
            x = self.muon_a * x + ops.matmul(poly, x)
        return ops.transpose(x) if tall else x

    def get_config(self) -> dict:
        extra = {
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": list(self.exclude_layers),
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
        }
        # weight_decay is written even when None: Muon's default is 0.004, not None.
        return {**super().get_config(), "weight_decay": self.weight_decay, **extra}
