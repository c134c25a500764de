"""Identity: returns its input unchanged (Keras 3's placeholder layer)."""

from __future__ import annotations

from lamina.layers.layer import Layer


class Identity(Layer):
    """Returns its input (any structure of tensors) as it is, passing the mask on.

    Example:
        >>> Identity()(np.ones((2, 3))).shape
        (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
