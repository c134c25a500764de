"""Normalization: `(x - mean) / sqrt(variance)` per feature, from given statistics or from `adapt`."""

from __future__ import annotations

import numpy as np

from lamina import config, ops
from lamina.layers.layer import Layer


def _as_axes(axis) -> tuple:
    if axis is None:
        return ()
    if isinstance(axis, int):
        return (axis,)
    return tuple(int(a) for a in axis)


def _plain(value):
    return None if value is None else np.asarray(value).tolist()


class Normalization(Layer):
    """Shifts and scales its input to zero mean and unit variance along `axis`.

    Without `mean`/`variance` the statistics are weights (`mean`, `variance`, `count`, not trainable,
    named as Keras names them), set by `adapt(data)` or loaded from a file.

    Args:
        axis: the axes that keep their own statistics (default -1, one per feature); None for one overall.
        mean, variance: fixed statistics (numbers or arrays broadcast over the kept axes).
        invert: apply the inverse, `x * sqrt(variance) + mean`.

    Example:
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> layer(np.array([[1.0, 20.0]]))  # [[0, 0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _as_axes(axis)
        if (mean is None) != (variance is None):
            raise ValueError(
                f'Layer "{self.name}": give both mean and variance, or neither; got mean={mean!r}, '
                f"variance={variance!r}."
            )
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError(
                f'Layer "{self.name}": mean and variance must have the same shape, got {np.shape(mean)} '
                f"and {np.shape(variance)}."
            )
        if mean is not None and np.ndim(mean) > len(self.axis):
            raise ValueError(
                f'Layer "{self.name}": mean has {np.ndim(mean)} axes but the layer keeps {len(self.axis)} '
                f"(axis={self.axis})."
            )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f'Layer "{self.name}": axis {self.axis} is out of range for inputs of shape {input_shape}.'
            )
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep):
            raise ValueError(f'Layer "{self.name}": the kept axes {self.axis} must be known, got shape {input_shape}.')
        self._reduce = tuple(a for a in range(ndim) if a not in self._keep)
        self._broadcast = tuple(input_shape[a] if a in self._keep else 1 for a in range(ndim))
        stats_shape = tuple(input_shape[a] for a in self._keep)
        self._stats_shape = stats_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=stats_shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(
                name="variance", shape=stats_shape, initializer="ones", trainable=False
            )
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
        else:
            self._fixed = [self._expand(self.input_mean, ndim), self._expand(self.input_variance, ndim)]
        self.built = True

    def _expand(self, value, ndim):
        """A given mean or variance as an array of the broadcast shape (its axes are the last kept axes)."""
        value = np.asarray(value, dtype=self.dtype)
        shape = [1] * ndim
        for i in range(1, value.ndim + 1):
            shape[self._keep[-i]] = value.shape[-i]
        return np.broadcast_to(value.reshape(shape), self._broadcast).copy()

    def adapt(self, data) -> None:
        """Sets `mean` and `variance` from `data`: an array, or an iterable of batches.

        Example:
            >>> layer = Normalization(axis=None)
            >>> layer.adapt(np.arange(10.0))
        """
        batches = [data] if isinstance(data, np.ndarray) or ops.is_tensor(data) else list(data)
        if not batches:
            raise ValueError(f'Layer "{self.name}": adapt() got no data (an empty iterable).')
        arrays = [np.asarray(ops.convert_to_numpy(b), "float64") for b in batches]
        if not self.built:
            self.build(arrays[0].shape)
        if self.input_mean is not None:
            raise ValueError(f'Layer "{self.name}" was given mean and variance; adapt() would not change them.')
        for array in arrays:
            if array.ndim != len(self._broadcast) or any(array.shape[a] != self._broadcast[a] for a in self._keep):
                raise ValueError(
                    f'Layer "{self.name}" was built for inputs of shape {self._broadcast} on its kept axes '
                    f"{self._keep}, but adapt() got data of shape {array.shape}."
                )
        joined = np.concatenate(arrays, axis=0) if self._reduce and self._reduce[0] == 0 else arrays[0]
        mean = np.mean(joined, axis=self._reduce).reshape(self._stats_shape)
        variance = np.var(joined, axis=self._reduce).reshape(self._stats_shape)
        self.adapt_mean.assign(mean.astype(self.dtype))
        self.adapt_variance.assign(variance.astype(self.dtype))

    def _statistics(self):
        if self.input_mean is not None:
            return [ops.convert_to_tensor(v) for v in self._fixed]
        return [ops.reshape(ops.cast(v, self.dtype), self._broadcast) for v in (self.adapt_mean, self.adapt_variance)]

    def call(self, inputs):
        inputs = ops.cast(inputs, self.dtype)
        mean, variance = self._statistics()
        scale = ops.maximum(ops.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": _plain(self.input_mean),
            "variance": _plain(self.input_variance),
        }
