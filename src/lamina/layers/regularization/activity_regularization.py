"""ActivityRegularization: passes its input through and adds an L1/L2 penalty on it to the loss."""

from __future__ import annotations

from lamina import regularizers
from lamina.layers.layer import Layer


class ActivityRegularization(Layer):
    """The identity, plus `(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size` added to the training loss.

    Example:
        >>> layer = ActivityRegularization(l1=0.01)
        >>> y = layer(np.ones((2, 3)))  # y is the input; layer.losses holds 0.01 * 6 / 2
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # made here from l1 and l2
        for key, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"ActivityRegularization: {key} must be a number >= 0, got {value!r}.")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
