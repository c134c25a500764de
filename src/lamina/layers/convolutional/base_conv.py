"""The convolution layers' shared base: kernel (spatial..., in/groups, filters) and bias."""

from __future__ import annotations

from lamina import activations, config, initializers, ops, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def normalize_tuple(value, rank: int, name: str, layer_name: str) -> tuple:
    """An int or a sequence of `rank` ints as a tuple, or a clear error."""
    if isinstance(value, int):
        return (value,) * rank
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(f'Layer "{layer_name}": {name} must be an int or {rank} ints, got {value!r}.') from None
    if len(out) != rank:
        raise ValueError(f'Layer "{layer_name}": {name} must be an int or {rank} ints, got {value!r}.')
    return out


class BaseConv(Layer):
    """N-D convolution; Conv2D sets rank 2."""

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        rank = self.rank
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f'Layer "{self.name}": padding must be "valid" or "same", got {padding!r}.')
        self.data_format = config.standardize_data_format(data_format)
        self.groups = int(groups)
        if self.filters <= 0 or self.filters % self.groups:
            raise ValueError(
                f'Layer "{self.name}": filters must be a positive multiple of groups, got {filters} and {groups}.'
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(ndim=rank + 2)

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        channels = input_shape[self._channel_axis()]
        if channels is None or channels % self.groups:
            raise ValueError(
                f'Layer "{self.name}" needs a known number of input channels divisible by groups={self.groups}, '
                f"got input shape {tuple(input_shape)}."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis(): channels})
        self.built = True

    def call(self, inputs):
        outputs = ops.conv(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
        )
        if self.bias is not None:
            if self.data_format == "channels_last":
                outputs = outputs + self.bias
            else:
                outputs = outputs + ops.reshape(self.bias, (1, self.filters) + (1,) * self.rank)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "kernel_regularizer": serialize_object(self.kernel_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "kernel_constraint": serialize_object(self.kernel_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
        }


class Conv2D(BaseConv):
    """2-D convolution over images (channels_last: `(batch, rows, cols, channels)`).

    Example:
        >>> Conv2D(32, 3, activation="relu")(np.ones((1, 28, 28, 1))).shape
        (1, 26, 26, 32)
    """

    rank = 2
