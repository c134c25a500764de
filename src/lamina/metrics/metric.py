"""The Metric base class and the reduction metrics (Mean, Sum, MeanMetricWrapper).

A metric's state lives in Variables it creates with `add_variable`; `update_state`
only assigns new values computed with ops, so the JAX trainer's jitted step
updates it as explicit state (no Python-side accumulation, no host reads).
"""

from __future__ import annotations

from lamina import ops
from lamina.backend import Variable
from lamina.backend.common import current_stateless_scope, to_snake_case


class Metric:
    """Base class: `update_state(...)` accumulates, `result()` reads, `reset_state()` zeroes.

    Metrics whose variables depend on the data's shape (F1Score's per-class
    counts) create them in `build(y_true_shape, y_pred_shape)`; compiled models
    call it before the first step, eager use calls it on the first update.

    Example:
        >>> class Count(Metric):
        ...     def __init__(self):
        ...         super().__init__(name="count")
        ...         self.n = self.add_variable((), name="n")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n.assign_add(y_true.shape[0])
        ...     def result(self):
        ...         return self.n.value
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        if isinstance(dtype, dict):  # Keras 3's dtype policy config
            dtype = (dtype.get("config") or {}).get("name")
        self.dtype = dtype or "float32"
        self._variables = []
        self.built = True

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None) -> Variable:
        """A state variable of this metric, reset to zeros by `reset_state`."""
        from lamina import initializers

        init = initializers.get(initializer)
        variable = Variable(init, shape=tuple(shape), dtype=dtype or self.dtype, trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None) -> Variable:
        """Keras 2's name for `add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list:
        return list(self._variables)

    def build(self, y_true_shape, y_pred_shape) -> None:
        """Creates shape-dependent variables; a no-op for most metrics."""
        self.built = True

    def _build_at_first_update(self, y_true_shape, y_pred_shape) -> None:
        """`build` from the first batch, which only works outside a compiled (stateless) step."""
        if current_stateless_scope() is not None:
            # Variables made while a jitted step is traced would not be part of its state.
            raise ValueError(
                f"Metric {self.name!r} ({type(self).__name__}) makes its variables from the data's shape and was "
                f"first updated inside a compiled step. Call {type(self).__name__}.build(y_true_shape, "
                "y_pred_shape) before fit(), e.g. metric.build((None, 3), (None, 3))."
            )
        self.build(y_true_shape, y_pred_shape)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def reset_states(self) -> None:
        """Keras 2's name for `reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _size(values) -> int:
    size = 1
    for dim in values.shape:
        size *= dim
    return size


def _weights_like(sample_weight, values, dtype):
    """`sample_weight` broadcast to `values` (trailing 1s squeezed, missing trailing axes added)."""
    weight = ops.cast(sample_weight, dtype)
    while weight.ndim > values.ndim and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, -1)
    while weight.ndim < values.ndim:
        weight = ops.expand_dims(weight, -1)
    return ops.broadcast_to(weight, values.shape)


class Mean(Metric):
    """The (weighted) mean of every value it is given.

    Example:
        >>> m = Mean()
        >>> m.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 1.0])
        >>> float(m.result())
        2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        if isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool):
            # One weight for every value (the trainer's loss tracker passes the batch size): no broadcasting.
            self.total.assign_add((values if values.ndim == 0 else ops.sum(values)) * sample_weight)
            self.count.assign_add(_size(values) * sample_weight)
            return
        if sample_weight is None:
            self.total.assign_add(ops.sum(values))
            self.count.assign_add(_size(values))
            return
        weight = _weights_like(sample_weight, values, self.dtype)
        self.total.assign_add(ops.sum(values * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return ops.where(self.count.value > 0, self.total.value / ops.maximum(self.count.value, 1e-12), 0.0)


class Sum(Metric):
    """The (weighted) sum of every value it is given.

    Example:
        >>> m = Sum()
        >>> m.update_state([1.0, 2.0], sample_weight=[2.0, 1.0])
        >>> float(m.result())
        4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        if sample_weight is not None:
            values = values * _weights_like(sample_weight, values, self.dtype)
        self.total.assign_add(ops.sum(values))

    def result(self):
        return self.total.value + 0.0


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over every sample seen.

    Example:
        >>> MeanMetricWrapper(lamina.losses.huber, name="huber", delta=2.0)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight=sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


def wrapper_class(class_name, fn, default_name, doc=None, module=None):
    """A MeanMetricWrapper subclass around `fn`, taking (name, dtype) and `fn`'s keyword arguments."""

    class Wrapped(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name=name, dtype=dtype, **kwargs)

    Wrapped.__name__ = Wrapped.__qualname__ = class_name
    Wrapped.__module__ = module or __name__
    Wrapped.__doc__ = doc or (
        f"The mean of `{fn.__name__}` over every sample seen.\n\n    Example:\n"
        f"        >>> {class_name}().update_state(y_true, y_pred)\n"
    )
    return Wrapped
