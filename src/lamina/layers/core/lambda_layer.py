"""Lambda: wraps a function of tensors as a layer."""

from __future__ import annotations

from lamina.layers.layer import Layer


class Lambda(Layer):
    """Calls `function(inputs, **arguments)`.

    Args:
        function: a function of the input tensor(s), written with `lamina.ops`.
        output_shape: accepted for Keras compatibility; shapes are inferred by running the function.
        arguments: extra keyword arguments for `function`.

    Example:
        >>> double = Lambda(lambda x: x * 2)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f'Layer "{self.name}": Lambda expects a callable, got {type(function).__name__}.')
        self.function = function
        self.output_shape_arg = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "function": getattr(self.function, "__name__", "<lambda>"),
            "output_shape": self.output_shape_arg,
            "arguments": self.arguments,
        }
