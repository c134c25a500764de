"""The rectifier family as layers: ReLU, LeakyReLU, ELU and Keras 2's ThresholdedReLU."""

from __future__ import annotations

from lamina import activations, ops
from lamina.layers.layer import Layer


def _number(layer_name: str, key: str, value, minimum=None):
    """`value` as a float, or a ValueError naming the layer and the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'Layer "{layer_name}": {key} must be a number, got {value!r}.')
    if minimum is not None and value < minimum:
        raise ValueError(f'Layer "{layer_name}": {key} must be >= {minimum}, got {value!r}.')
    return float(value)


class ReLU(Layer):
    """Rectified linear unit: `x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)` below.

    Args:
        max_value: an upper bound on the output (None: no bound).
        negative_slope: the slope below the threshold (0: the plain ReLU).
        threshold: where the rectifier bends.

    Example:
        >>> ReLU(max_value=6.0)(np.array([[-1.0, 3.0, 9.0]]))  # [[0., 3., 6.]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _number(self.name, "max_value", max_value, 0.0)
        self.negative_slope = _number(self.name, "negative_slope", negative_slope, 0.0)
        self.threshold = _number(self.name, "threshold", threshold, 0.0)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, alpha=self.negative_slope, max_value=self.max_value, threshold=self.threshold)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """`x` for x >= 0, `negative_slope * x` below.

    Args:
        negative_slope: the slope for negative inputs (default 0.3, as in Keras). Keras 2
            called it `alpha`; both are accepted.

    Example:
        >>> LeakyReLU(negative_slope=0.1)(np.array([[-2.0, 2.0]]))  # [[-0.2, 2.]]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        alpha = kwargs.pop("alpha", None)
        super().__init__(**kwargs)
        if alpha is not None:
            negative_slope = alpha  # Keras 2's name (configs written by Keras 2 hold "alpha")
        self.negative_slope = _number(self.name, "negative_slope", negative_slope, 0.0)
        self.supports_masking = True
        self.built = True

    @property
    def alpha(self) -> float:
        """Keras 2's name for `negative_slope`."""
        return self.negative_slope

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """Exponential linear unit: `x` for x > 0, `alpha * (exp(x) - 1)` below.

    Example:
        >>> ELU(alpha=0.5)(np.array([[-1.0, 1.0]]))  # [[-0.316, 1.]]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(self.name, "alpha", alpha)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(Layer):
    """Keras 2's thresholded rectifier: `x` where x > theta, else 0 (Keras 3 dropped this layer).

    Example:
        >>> ThresholdedReLU(theta=1.0)(np.array([[0.5, 1.0, 2.0]]))  # [[0., 0., 2.]]
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError(f'Layer "{self.name}": theta must be a number >= 0, got None.')
        self.theta = _number(self.name, "theta", theta, 0.0)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.where(ops.greater(inputs, self.theta), inputs, ops.zeros_like(inputs))

    def get_config(self) -> dict:
        return {**super().get_config(), "theta": self.theta}
