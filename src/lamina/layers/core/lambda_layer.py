"""Lambda: wraps a function of tensors as a layer."""

from __future__ import annotations

from lamina.backend.common import SeedGenerator
from lamina.backend.common.seed import layer_seed_scope
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
        # Unseeded K.random_* draws in the function (the VAE's sampling) advance this, so each step draws anew.
        self.seed_generator = SeedGenerator()

    def call(self, inputs):
        with layer_seed_scope(self.seed_generator):
            return self.function(inputs, **self.arguments)

    def get_config(self) -> dict:
        from lamina.saving.lambda_code import function_to_config

        return {
            **super().get_config(),
            **function_to_config(self.function),
            "output_shape": self.output_shape_arg,
            "arguments": self.arguments,
        }

    @classmethod
    def from_config(cls, config_dict: dict, custom_objects=None):
        """A Lambda from its config; stored bytecode loads only with `safe_mode=False`.

        Example:
            >>> Lambda.from_config({"function": "relu", "function_type": "function"})
        """
        from lamina.saving.lambda_code import config_to_function
        from lamina.saving.serialization import clean_layer_config

        config_dict = dict(config_dict)
        function = config_to_function(
            config_dict.pop("function", None),
            config_dict.pop("function_type", None),
            config_dict.pop("module", None),
            custom_objects,
            config_dict.get("name", "lambda"),
        )
        if config_dict.pop("output_shape_type", "raw") != "raw":
            config_dict["output_shape"] = None  # a stored shape function: shapes are inferred here anyway
        for key in ("output_shape_module", "mask_type", "mask_module"):
            config_dict.pop(key, None)
        if isinstance(config_dict.get("output_shape"), dict):
            config_dict["output_shape"] = None  # Keras 3 may store a shape function; shapes are inferred here
        return cls(function, **clean_layer_config(cls, config_dict, custom_objects))
