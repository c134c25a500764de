"""Initializer classes. Each is `__call__(shape, dtype) -> np.ndarray` plus `get_config`."""

from __future__ import annotations

import math

import numpy as np

from lamina.backend.common.naming import to_snake_case
from lamina.backend.common.seed import numpy_rng


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype)` and `get_config()`."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=_np_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=_np_dtype(dtype))


class Constant(Initializer):
    """Every value equal to `value`."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return numpy_rng(self.seed)


class RandomNormal(_Random):
    """Normal values with `mean` and `stddev`."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        rng = self._rng()
        return _filled(shape, dtype, lambda count: rng.normal(self.mean, self.stddev, count))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    """Uniform values in [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype="float32"):
        rng = self._rng()
        return _filled(shape, dtype, lambda count: rng.uniform(self.minval, self.maxval, count))

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


_BLOCK = 1 << 18  # values drawn (in float64) per block before they are cast into the weight's dtype


def _filled(shape, dtype, draw) -> np.ndarray:
    """An array of `shape` in `dtype` filled block by block with `draw(count)`'s float64 values.

    Only one block at a time exists in float64, so a float32 weight never needs twice its size on the way; the
    values are those one `draw(size)` would give (NumPy's generators draw element after element).
    """
    out = np.empty(shape, dtype=_np_dtype(dtype))
    flat = out.reshape(-1)
    for start in range(0, flat.size, _BLOCK):
        flat[start : start + _BLOCK] = draw(min(_BLOCK, flat.size - start))
    return out


def _truncated_normal(rng, shape, mean, stddev, dtype="float32"):
    """Normal values redrawn until all lie within two standard deviations, in `dtype` (drawn block by block)."""
    out = np.empty(shape, dtype=_np_dtype(dtype))
    flat = out.reshape(-1)
    pending = []  # the positions of draws beyond two stddevs, in order
    for start in range(0, flat.size, _BLOCK):
        values = rng.standard_normal(min(_BLOCK, flat.size - start))
        flat[start : start + len(values)] = mean + stddev * values
        pending.append(np.flatnonzero(np.abs(values) > 2.0) + start)
    pending = np.concatenate(pending) if pending else np.zeros(0, dtype=np.int64)
    while pending.size:  # as redrawing every outlier of the whole array at once, in index order
        values = rng.standard_normal(pending.size)
        outside = np.abs(values) > 2.0
        flat[pending[~outside]] = mean + stddev * values[~outside]
        pending = pending[outside]
    return out


class TruncatedNormal(_Random):
    """Normal values, redrawn when more than two standard deviations from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev, dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def compute_fans(shape) -> tuple:
    """(fan_in, fan_out) as Keras computes them, for dense and convolution kernels."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Random):
    """Values scaled by the kernel's fans: the family behind Glorot, He and LeCun."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling scale must be positive, got {scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling mode must be fan_in, fan_out or fan_avg, got {mode!r}.")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling distribution {distribution!r} is not known.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # 0.879... is the stddev of a unit normal truncated at two stddevs.
            return _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / 0.87962566103423978, dtype)
        if self.distribution == "untruncated_normal":
            return _filled(shape, dtype, lambda count: rng.normal(0.0, math.sqrt(variance), count))
        limit = math.sqrt(3.0 * variance)
        return _filled(shape, dtype, lambda count: rng.uniform(-limit, limit, count))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _fixed_variance_scaling(name, scale, mode, distribution):
    class Fixed(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

        def get_config(self) -> dict:
            return {"seed": self.seed}

    Fixed.__name__ = Fixed.__qualname__ = name
    Fixed.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Fixed


GlorotUniform = _fixed_variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _fixed_variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _fixed_variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _fixed_variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _fixed_variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _fixed_variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(_Random):
    """A (semi-)orthogonal matrix times `gain`, from the QR decomposition of a normal matrix."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {tuple(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        matrix = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(matrix)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {tuple(shape)}.")
        out = np.eye(*shape, dtype=_np_dtype(dtype))
        np.multiply(out, self.gain, out=out, casting="unsafe")
        return out

    def get_config(self) -> dict:
        return {"gain": self.gain}


def _np_dtype(dtype):
    return "float32" if dtype == "bfloat16" else dtype


_CLASSES = [
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity,
]  # fmt: skip
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})
_BY_NAME.update({"zero": Zeros, "one": Ones, "normal": RandomNormal, "uniform": RandomUniform})


def serialize(initializer) -> dict:
    """`{"class_name": ..., "config": ...}` for an initializer."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config, custom_objects=None):
    """An initializer from `serialize`'s output (or a name)."""
    if isinstance(config, str):
        return get(config)
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown initializer {name!r}. Pass it in custom_objects.")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """An initializer from a name, a config dict, an instance or a callable.

    Example:
        >>> get("he_normal")
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown initializer {identifier!r}. Known: {sorted(to_snake_case(c.__name__) for c in _CLASSES)}."
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer {identifier!r}.")
