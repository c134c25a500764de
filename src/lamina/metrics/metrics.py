"""Metric classes. Their state lives in Variables, so jitted steps update them as explicit state."""

from __future__ import annotations

from lamina import ops
from lamina.backend import Variable
from lamina.backend.common import to_snake_case
from lamina.losses.losses import match_ranks, mean_absolute_error, mean_squared_error


class Metric:
    """Base class: `update_state(...)` accumulates, `result()` reads, `reset_state()` zeroes.

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
        self.dtype = dtype or "float32"
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None) -> Variable:
        """A state variable of this metric, reset to zeros by `reset_state`."""
        from lamina import initializers

        init = initializers.get(initializer)
        variable = Variable(init, shape=tuple(shape), dtype=dtype or self.dtype, trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> list:
        return list(self._variables)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class Mean(Metric):
    """The (weighted) mean of every value it is given."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        if isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool):
            # One weight for every value (the trainer's loss tracker passes the batch size): no broadcasting.
            size = 1
            for dim in values.shape:
                size *= dim
            self.total.assign_add(ops.sum(values) * sample_weight)
            self.count.assign_add(size * sample_weight)
            return
        if sample_weight is None:
            size = 1
            for dim in values.shape:
                size *= dim
            self.total.assign_add(ops.sum(values))
            self.count.assign_add(size)
            return
        weight = ops.cast(sample_weight, self.dtype)
        while weight.ndim > values.ndim and weight.shape[-1] == 1:
            weight = ops.squeeze(weight, -1)
        while weight.ndim < values.ndim:
            weight = ops.expand_dims(weight, -1)
        weight = ops.broadcast_to(weight, values.shape)
        self.total.assign_add(ops.sum(values * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return ops.where(self.count.value > 0, self.total.value / ops.maximum(self.count.value, 1e-12), 0.0)


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over every sample seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight=sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


def accuracy(y_true, y_pred):
    """1.0 where y_true equals y_pred exactly."""
    y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
    return ops.cast(ops.equal(ops.cast(y_true, ops.dtype_of(y_pred)), y_pred), "float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of (y_pred > threshold) == y_true."""
    y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
    predicted = ops.cast(ops.greater(y_pred, threshold), "float32")
    return ops.mean(ops.cast(ops.equal(ops.cast(y_true, "float32"), predicted), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot targets)."""
    return ops.cast(ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals argmax(y_pred)."""
    y_true = ops.convert_to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    predicted = ops.argmax(y_pred, axis=-1)
    return ops.cast(ops.equal(ops.cast(y_true, ops.dtype_of(predicted)), predicted), "float32")


def _wrapper_class(class_name, fn, default_name):
    class Wrapped(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name=name, dtype=dtype, **kwargs)

    Wrapped.__name__ = Wrapped.__qualname__ = class_name
    Wrapped.__doc__ = f"The mean of `{fn.__name__}` over every sample seen."
    return Wrapped


Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy")
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy")
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy"
)
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")

_BY_NAME = {
    "accuracy": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
}
_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})
_FUNCTIONS = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
}


def get(identifier, name=None) -> Metric:
    """A Metric object from a name, a class, a Metric or a function `(y_true, y_pred)`.

    "accuracy"/"acc" are resolved against the loss by the compile step, not here.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown metric {identifier!r}. Known: {sorted(k for k in _BY_NAME if k.islower())}.")
        return cls(name=name or identifier)
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown metric {identifier.get('class_name')!r}.")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        if cls is not None:
            return cls(name=name or identifier.__name__)
        return MeanMetricWrapper(identifier, name=name)
    raise ValueError(f"Could not interpret metric {identifier!r}: expected a name, a Metric or a function.")
