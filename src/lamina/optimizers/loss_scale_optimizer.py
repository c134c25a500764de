"""LossScaleOptimizer: dynamic loss scaling around another optimizer, as Keras 3 and tf-keras define it.

Float16 gradients underflow to zero when they are small. The trainer multiplies the loss by the current
scale before differentiating (`scale_loss`), so the gradients come out scaled too; `apply` divides them
by the scale again and hands them to the inner optimizer. The scale adapts:

- a step whose gradients hold an `inf` or `NaN` is skipped (the weights and the inner optimizer's state
  stay as they were), the scale is halved and the count of good steps restarts at 0;
- after `dynamic_growth_steps` good steps in a row the scale doubles and the count restarts.

Keras 3 saves the wrapper's own variables (its unused step counter and learning rate, then
`step_counter` and `dynamic_scale`) before the inner optimizer's; lamina keeps that order. tf-keras
saves only the inner optimizer's state, so a tf-keras file restarts the scale at `initial_scale`, as
tf-keras's own `load_model` does.

Example:
    >>> opt = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.Adam(1e-3), initial_scale=2.0**15)
    >>> model.compile(optimizer=opt, loss="mse")
"""

from __future__ import annotations

import math

from lamina import ops
from lamina.optimizers.optimizer import Optimizer

# Base-optimizer arguments Keras 3 once wrote into this wrapper's config: accepted at their defaults only.
_BASE_DEFAULTS = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _check_arguments(inner_optimizer, initial_scale, dynamic_growth_steps, kwargs: dict) -> None:
    if not kwargs.pop("dynamic", True):
        raise ValueError(
            "LossScaleOptimizer: dynamic=False is not supported (the scale is always dynamic); "
            "to scale by a fixed factor, scale the loss yourself."
        )
    for key, default in _BASE_DEFAULTS.items():
        if key in kwargs and kwargs.pop(key) != default:
            raise ValueError(f"LossScaleOptimizer does not take {key!r}: set it on the inner optimizer instead.")
    if kwargs:
        raise TypeError(f"LossScaleOptimizer got unexpected keyword argument(s): {sorted(kwargs)}.")
    if not isinstance(inner_optimizer, Optimizer):
        raise TypeError(
            f"LossScaleOptimizer: inner_optimizer must be a lamina Optimizer, got {type(inner_optimizer).__name__}."
        )
    if isinstance(initial_scale, bool) or not isinstance(initial_scale, (int, float)) or not initial_scale > 0:
        raise ValueError(f"LossScaleOptimizer: initial_scale must be a positive number, got {initial_scale!r}.")
    if not math.isfinite(initial_scale):
        raise ValueError(f"LossScaleOptimizer: initial_scale must be finite, got {initial_scale!r}.")
    steps = dynamic_growth_steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"LossScaleOptimizer: dynamic_growth_steps must be an integer >= 1, got {steps!r}.")


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer` with dynamic loss scaling (Keras 3's `keras.optimizers.LossScaleOptimizer`).

    Args:
        inner_optimizer: the optimizer that updates the weights, on unscaled gradients.
        initial_scale: the first loss scale (2**15). A scale too high is halved within a few steps,
            one too low only doubles every `dynamic_growth_steps`, so start high.
        dynamic_growth_steps: the scale doubles after this many steps in a row with finite gradients.
        name: the optimizer's name.

    `learning_rate` and `iterations` are the inner optimizer's; `finalize_variable_values` is passed on.

    Example:
        >>> opt = LossScaleOptimizer(SGD(0.1), initial_scale=1024.0, dynamic_growth_steps=100)
        >>> loss = opt.scale_loss(loss)  # in a custom training loop; `fit` does this itself
        >>> opt.apply(scaled_grads, model.trainable_variables)
    """

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000, name=None, **kwargs):
        _check_arguments(inner_optimizer, initial_scale, dynamic_growth_steps, kwargs)
        super().__init__(learning_rate=0.0, name=name or "LossScaleOptimizer")
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.step_counter = self.dynamic_scale = None

    # The base class creates its own step counter (`self.iterations = ...`): kept, saved and never advanced,
    # as Keras 3 keeps it; reading `iterations` gives the inner optimizer's count, which is the real one.
    @property
    def iterations(self):
        """The inner optimizer's step counter."""
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, variable) -> None:
        self._own_iterations = variable

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate (set it here or there)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def variables(self) -> list:
        """Keras 3's order: own counter, own learning rate, step_counter, dynamic_scale, then the inner's."""
        return [*self._own_variables(), *self.inner_optimizer.variables]

    def _own_variables(self) -> list:
        return [self._own_iterations, self._learning_rate, *self._slots]

    def _sub_optimizers(self) -> list:
        return [self.inner_optimizer]

    def build(self, variables) -> None:
        variables = list(variables)
        super().build(variables)
        self.inner_optimizer.build(variables)

    def build_slots(self, variables) -> None:
        self.step_counter = self.add_state("step_counter", 0, dtype="int32")
        self.dynamic_scale = self.add_state("dynamic_scale", self.initial_scale, dtype="float32")

    def check_finite(self, grads):
        """A scalar bool: True when every gradient is finite."""
        flags = [ops.all(ops.isfinite(g)) for g in grads if g is not None]
        return ops.all(ops.stack(flags)) if flags else ops.convert_to_tensor(True)

    def scale_loss(self, loss):
        """`loss` times the current scale (the trainer calls this before differentiating)."""
        scale = self.dynamic_scale.value if self.dynamic_scale is not None else self.initial_scale
        return loss * scale

    def get_scaled_loss(self, loss):
        """tf-keras's name for `scale_loss`."""
        return self.scale_loss(loss)

    def get_unscaled_gradients(self, grads) -> list:
        """The gradients divided by the current scale (tf-keras's custom-loop API)."""
        scale = self.dynamic_scale.value if self.dynamic_scale is not None else self.initial_scale
        return [None if g is None else ops.convert_to_tensor(g) / scale for g in grads]

    @property
    def loss_scale(self):
        """The current loss scale (tf-keras's name)."""
        return self.dynamic_scale if self.dynamic_scale is not None else self.initial_scale

    @property
    def dynamic(self) -> bool:
        """Always True: the scale adapts (tf-keras's attribute)."""
        return True

    def apply(self, grads, variables) -> None:
        """Unscales `grads` for the inner optimizer (a step with a non-finite one is skipped); then adapts the scale."""
        variables = list(variables)
        self.build(variables)
        grads = [ops.convert_to_tensor(g) for g in grads]
        finite = self.check_finite(grads)
        unscaled = self.get_unscaled_gradients(grads)
        ops.apply_if(
            finite, lambda: self.inner_optimizer.apply(unscaled, variables), variables + self.inner_optimizer.variables
        )
        self._adapt_scale(finite)

    def _adapt_scale(self, finite) -> None:
        counter, scale = self.step_counter.value, self.dynamic_scale.value
        grow = ops.logical_and(finite, ops.equal(counter, self.dynamic_growth_steps - 1))
        zero = ops.zeros_like(counter)
        self.step_counter.assign(ops.where(finite, ops.where(grow, zero, counter + 1), zero))
        self.dynamic_scale.assign(ops.where(finite, ops.where(grow, scale * 2.0, scale), scale * 0.5))

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        from lamina.saving.serialization import serialize_object

        return {
            "name": self.name,
            "inner_optimizer": serialize_object(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """Keras 3's and tf-keras's configs, and TF 2.3's (`optimizer` and a `DynamicLossScale`)."""
        config = dict(config)
        if "loss_scale" in config:
            config.update(_tf23_loss_scale(config.pop("loss_scale")))
        if "inner_optimizer" not in config and "optimizer" in config:
            config["inner_optimizer"] = config.pop("optimizer")
        inner = config.pop("inner_optimizer", None)
        if isinstance(inner, (dict, str)):
            from lamina.saving.training_config import optimizer_from_config

            inner = optimizer_from_config(inner if isinstance(inner, dict) else {"class_name": inner}, custom_objects)
        return cls(inner, **config)


def _tf23_loss_scale(loss_scale) -> dict:
    """TF 2.3's `loss_scale` entry as today's arguments (only the dynamic kind with multiplier 2 maps)."""
    if loss_scale == "dynamic":
        return {}
    kind = loss_scale.get("class_name") if isinstance(loss_scale, dict) else None
    settings = loss_scale.get("config", {}) if kind else {}
    if kind == "DynamicLossScale" and float(settings.get("multiplier", 2.0)) == 2.0:
        return {
            "initial_scale": settings.get("initial_loss_scale", 2.0**15),
            "dynamic_growth_steps": settings.get("increment_period", 2000),
        }
    raise ValueError(
        f"LossScaleOptimizer: cannot load loss_scale={loss_scale!r}; only a DynamicLossScale with multiplier 2 "
        "(or 'dynamic') has a lamina equivalent."
    )
