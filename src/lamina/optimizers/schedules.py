"""Learning-rate schedules: functions of the optimizer's step count, written with ops.

An optimizer given a schedule calls it with its `iterations` variable on every
step; each schedule computes its value with ops (no Python floats from device
values), so it runs inside the JAX trainer's jitted step.

Example:
    >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> optimizer = lamina.optimizers.SGD(learning_rate=schedule)
"""

from __future__ import annotations

import math

from lamina import ops


def _step(step):
    return ops.cast(ops.convert_to_tensor(step), "float32")


def _ceil(x):
    return -ops.floor(-x)


def _check_positive(owner: str, name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {name}={value!r}.")


class LearningRateSchedule:
    """Base class: `__call__(step)` gives the learning rate at `step`; `get_config` describes it.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * ops.power(0.5, ops.cast(step, "float32"))
        ...     def get_config(self):
        ...         return {}
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__} must implement __call__(step).")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (the exponent floored with `staircase`).

    Example:
        >>> float(ExponentialDecay(0.1, 10, 0.5)(20))
        0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / float(self.decay_steps)
        if self.staircase:
            p = ops.floor(p)
        return float(self.initial_learning_rate) * ops.power(float(self.decay_rate), p)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` for `boundaries[i-1] < step <= boundaries[i]`, ...

    Example:
        >>> float(PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(15))
        0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: boundaries must have one element fewer than values, got "
                f"boundaries={boundaries} ({len(boundaries)}) and values={values} ({len(values)})."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = _step(step)
        result = ops.zeros((), "float32") + float(self.values[-1])
        # From the last interval back, so the first boundary the step is at or below wins.
        for boundary, value in zip(reversed(self.boundaries), reversed(self.values[:-1])):
            result = ops.where(step <= float(boundary), float(value), result)
        return result

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` over `decay_steps` as `(1 - step/decay_steps) ** power`.

    With `cycle`, the decay restarts past `decay_steps` over the next multiple of it.

    Example:
        >>> float(PolynomialDecay(1.0, 10, end_learning_rate=0.0)(5))
        0.5
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        _check_positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            multiplier = ops.where(step == 0.0, 1.0, _ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = ops.minimum(step, decay_steps)
        remaining = 1.0 - step / decay_steps
        span = float(self.initial_learning_rate) - float(self.end_learning_rate)
        return span * ops.power(remaining, float(self.power)) + float(self.end_learning_rate)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (the ratio floored with `staircase`).

    Example:
        >>> float(InverseTimeDecay(1.0, 10, 1.0)(10))
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / float(self.decay_steps)
        if self.staircase:
            p = ops.floor(p)
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * p)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _cosine(fraction, alpha: float):
    """`(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha`."""
    return (1.0 - alpha) * (0.5 * (1.0 + ops.cos(math.pi * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the start rate to `alpha` times it over `decay_steps`, after an optional linear warmup.

    Without `warmup_target`, it decays from `initial_learning_rate`. With it, the
    rate first rises linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then decays from `warmup_target`.

    Example:
        >>> float(CosineDecay(1.0, 10)(5))
        0.5
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0
    ):
        _check_positive("CosineDecay", "decay_steps", decay_steps)
        if warmup_steps < 0:
            raise ValueError(f"CosineDecay: warmup_steps must be >= 0, got warmup_steps={warmup_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = _step(step)
        decay_steps, alpha = float(self.decay_steps), float(self.alpha)
        if self.warmup_target is None:
            step = ops.minimum(step, decay_steps)
            return float(self.initial_learning_rate) * _cosine(step / decay_steps, alpha)
        start, target = float(self.initial_learning_rate), float(self.warmup_target)
        warmup_steps = float(self.warmup_steps)
        step = ops.minimum(step, decay_steps + warmup_steps)
        # Both branches are computed and one is picked, so the warmup's division must not make NaNs.
        warming = start + (target - start) * (step / max(warmup_steps, 1.0))
        decaying = target * _cosine((step - warmup_steps) / decay_steps, alpha)
        return ops.where(step < warmup_steps, warming, decaying)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay that restarts (SGDR): period i lasts `first_decay_steps * t_mul**i`, peaks at `m_mul**i`.

    Example:
        >>> float(CosineDecayRestarts(1.0, 10)(10))  # the first restart
        1.0
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _check_positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / float(self.first_decay_steps)
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            restarts = ops.floor(fraction)
            fraction = fraction - restarts
        else:
            # Periods grow geometrically: the restarts so far solve sum(t_mul**i) <= fraction.
            restarts = ops.floor(ops.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - ops.power(t_mul, restarts)) / (1.0 - t_mul)
            fraction = (fraction - done) / ops.power(t_mul, restarts)
        peak = ops.power(float(self.m_mul), restarts)
        alpha = float(self.alpha)
        decayed = (1.0 - alpha) * (0.5 * peak * (1.0 + ops.cos(math.pi * fraction))) + alpha
        return float(self.initial_learning_rate) * decayed

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_BY_NAME = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict:
    """A schedule's config as Keras writes it: `{"module", "class_name", "config", "registered_name"}`.

    The Keras 2 keys (`class_name`, `config`) are there; `module` lets real Keras 3 find the class.

    Example:
        >>> serialize(ExponentialDecay(0.1, 10, 0.5))["class_name"]
        'ExponentialDecay'
    """
    name = type(schedule).__name__
    builtin = _BY_NAME.get(name) is type(schedule)
    return {
        "module": "keras.optimizers.schedules" if builtin else None,
        "class_name": name,
        "config": schedule.get_config(),
        "registered_name": None if builtin else name,
    }


def deserialize(config: dict, custom_objects=None) -> LearningRateSchedule:
    """A schedule from `{"class_name", "config"}` (Keras 2 or Keras 3's form).

    Example:
        >>> deserialize({"class_name": "InverseTimeDecay", "config": {"initial_learning_rate": 0.1,
        ...     "decay_steps": 1, "decay_rate": 0.5}})
    """
    name = config.get("registered_name") or config.get("class_name")
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule {config.get('class_name')!r}. lamina knows {sorted(_BY_NAME)}; "
            "pass a custom schedule in custom_objects."
        )
    return cls.from_config(dict(config.get("config") or {}))
