"""Exponential moving average (EMA) of the trained variables, Keras 3's `use_ema` for every optimizer.

With `use_ema=True` the optimizer keeps one `average` slot per variable (created before the
rule's own slots, as Keras 3 orders them). After each update:
`average = m * average + (1 - m) * variable`, where `m = ema_momentum`, except on the first
step, where `m = 0` (the average starts at the updated variable). With
`ema_overwrite_frequency=n` every n-th step also writes the averages into the variables, and
`fit` writes them in at the end (`Optimizer.finalize_variable_values`).

The overwrite is a `where` on the step counter, not a Python branch, so it runs the same way
inside the JAX trainer's jitted step and eagerly on torch.

Example:
    >>> opt = lamina.optimizers.Adam(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=100)
"""

from __future__ import annotations

from lamina import ops

_KEYS = ("use_ema", "ema_momentum", "ema_overwrite_frequency")


def settings(owner: str, kwargs: dict) -> tuple:
    """Pops and checks `use_ema`, `ema_momentum`, `ema_overwrite_frequency` from `kwargs`.

    Args:
        owner: the optimizer's class name, for error messages.
        kwargs: the optimizer's extra keyword arguments (the three keys are removed).

    Returns:
        `(use_ema, ema_momentum, ema_overwrite_frequency)`.

    Example:
        >>> settings("Adam", {"use_ema": True})
        (True, 0.99, None)
    """
    use_ema = kwargs.pop("use_ema", False)
    momentum = kwargs.pop("ema_momentum", 0.99)
    frequency = kwargs.pop("ema_overwrite_frequency", None)
    if use_ema is None:
        use_ema = False
    if not isinstance(use_ema, bool):
        raise TypeError(f"{owner}: use_ema must be True or False, got {use_ema!r}.")
    if momentum is None:
        momentum = 0.99
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"{owner}: ema_momentum must be a number in [0, 1], got {momentum!r}.")
    if use_ema and not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{owner}: ema_momentum must be in [0, 1], got ema_momentum={momentum!r}.")
    if use_ema and frequency and (isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1):
        raise ValueError(f"{owner}: ema_overwrite_frequency must be an integer >= 1 or None, got {frequency!r}.")
    return use_ema, float(momentum), (int(frequency) if frequency else None)


def build(optimizer, variables) -> None:
    """Creates the `average` slots (with `use_ema`).

    Example:
        >>> build(optimizer, model.trainable_variables)  # called by Optimizer.build
    """
    optimizer._ema_averages = [optimizer.add_slot(v, "average") for v in variables] if optimizer.use_ema else []


def update(optimizer, variables) -> None:
    """Moves the averages towards the just-updated variables; overwrites the variables every n-th step.

    Example:
        >>> update(optimizer, variables)  # called by Optimizer.apply after the rule's update
    """
    iterations = optimizer.iterations.value  # the updates done before this one
    momentum = ops.cast(ops.not_equal(iterations, 0), "float32") * optimizer.ema_momentum
    for variable, average in zip(variables, optimizer._ema_averages):
        value = variable.value
        factor = ops.cast(momentum, variable.dtype)
        average.assign(factor * average.value + (1.0 - factor) * value)
    frequency = optimizer.ema_overwrite_frequency
    if frequency:
        due = ops.equal((iterations + 1) % frequency, 0)
        for variable, average in zip(variables, optimizer._ema_averages):
            variable.assign(ops.where(due, average.value, variable.value))


def overwrite(optimizer, variables) -> None:
    """Writes each average into its variable (the end of `fit`).

    Example:
        >>> overwrite(optimizer, optimizer._built_for)
    """
    if len(variables) != len(optimizer._ema_averages):
        raise ValueError(
            f"{optimizer.name}: finalize_variable_values() got {len(variables)} variables, but the optimizer "
            f"keeps moving averages for {len(optimizer._ema_averages)}; pass the variables it was built for."
        )
    for variable, average in zip(variables, optimizer._ema_averages):
        variable.assign(average.value)


def config(optimizer) -> dict:
    """The EMA keys for `get_config` (only when EMA is on, so other configs stay as they were).

    Example:
        >>> config(lamina.optimizers.SGD(use_ema=True))
        {'use_ema': True, 'ema_momentum': 0.99, 'ema_overwrite_frequency': None}
    """
    if not optimizer.use_ema:
        return {}
    return {key: getattr(optimizer, key) for key in _KEYS}
