"""Convolution: Conv1D, Conv2D, Conv3D, their shared base, and the argument checks every conv layer uses."""

from __future__ import annotations

from lamina import activations, config, initializers, ops, regularizers
from lamina.backend import engine
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def normalize_tuple(value, rank: int, name: str, layer_name: str, allow_zero: bool = False) -> tuple:
    """An int or a sequence of `rank` ints as a tuple of positive ints (or non-negative), or a clear error.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size", "conv2d")
        (3, 3)
    """
    expected = f"an int or {rank} ints {'>= 0' if allow_zero else '> 0'}"
    if isinstance(value, int) and not isinstance(value, bool):
        out = (value,) * rank
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f'Layer "{layer_name}": {name} must be {expected}, got {value!r}.') from None
    if len(out) != rank or any(v < 0 or (v == 0 and not allow_zero) for v in out):
        raise ValueError(f'Layer "{layer_name}": {name} must be {expected}, got {value!r}.')
    return out


def normalize_padding(value, layer_name: str, allowed=("valid", "same")) -> str:
    """`padding` in lower case, checked against the modes this layer supports."""
    padding = str(value).lower()
    if padding not in allowed:
        choices = " or ".join(f'"{mode}"' for mode in allowed)
        raise ValueError(f'Layer "{layer_name}": padding must be {choices}, got {value!r}.')
    return padding


def check_strides_and_dilation(strides: tuple, dilation_rate: tuple, layer_name: str) -> None:
    """Keras refuses strides > 1 together with dilation_rate > 1 for (transposed) convolutions."""
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation_rate):
        raise ValueError(
            f'Layer "{layer_name}": strides > 1 cannot be combined with dilation_rate > 1, '
            f"got strides={strides} and dilation_rate={dilation_rate}."
        )


def positive_int(value, name: str, layer_name: str) -> int:
    """`value` as a positive int, or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value <= 0:
        raise ValueError(f'Layer "{layer_name}": {name} must be a positive integer, got {value!r}.')
    return int(value)


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def input_channels(layer, input_shape) -> int:
    """The known channel count of `input_shape`, or a ValueError naming the layer."""
    channels = input_shape[channel_axis(layer.data_format)]
    if channels is None:
        raise ValueError(
            f'Layer "{layer.name}" needs a known number of input channels, got input shape {tuple(input_shape)}.'
        )
    return int(channels)


def add_bias(outputs, bias, data_format: str):
    """`outputs + bias` along the channel axis."""
    if bias is None:
        return outputs
    if data_format == "channels_last":
        return outputs + bias
    return outputs + ops.reshape(bias, (1, -1) + (1,) * (outputs.ndim - 2))


def check_kernel_fits(layer, input_shape) -> None:
    """Refuses an input smaller than `layer`'s dilated kernel with padding "valid" (its output would be empty).

    Checked on the static shape at every call, so a model is refused when it is built, and eager data of the
    wrong size when it comes: the engines would otherwise return an empty array (JAX) or raise deep inside.
    """
    if layer.padding != "valid":
        return
    first = 1 if layer.data_format == "channels_last" else 2
    sizes = tuple(input_shape)[first : first + layer.rank]
    dilated = tuple((k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate))
    if any(size is not None and size < need for size, need in zip(sizes, dilated)):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): the input\'s spatial size {sizes} is smaller than the '
            f'kernel {tuple(layer.kernel_size)} (dilated to {dilated}) with padding="valid", so the output would be '
            f'empty. Input shape: {tuple(input_shape)}. Use padding="same", a smaller kernel, or larger inputs.'
        )


class BaseConv(Layer):
    """N-D convolution with a kernel `(*kernel_size, input_channels // groups, filters)` and a bias `(filters,)`.

    Subclasses set `rank`; Conv1D also accepts `padding="causal"`.

    Example:
        >>> Conv1D(4, 3, padding="causal")(np.ones((2, 10, 3))).shape
        (2, 10, 4)
    """

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
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        check_strides_and_dilation(self.strides, self.dilation_rate, self.name)
        modes = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = normalize_padding(padding, self.name, modes)
        self.data_format = config.standardize_data_format(data_format)
        self.groups = positive_int(groups, "groups", self.name)
        if self.filters % self.groups:
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

    def build(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
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
        if self.data_format == "channels_last" and self.rank > 1:
            engine.core.store_as_conv_kernel(self.kernel)  # torch: out-channels first, as oneDNN reads it
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})
        self.built = True

    def call(self, inputs):
        return self.activation(self.convolve(inputs, self.kernel, self.bias))

    def convolve(self, inputs, kernel, bias):
        """The layer's convolution of `inputs` with the given kernel and bias (None: none), before the activation.

        A model at inference calls it with BatchNormalization folded into the weights (models/inference_folding.py).
        """
        check_kernel_fits(self, inputs.shape)
        padding = self.padding
        if padding == "causal":
            # Causal: pad only before the steps, so output t sees inputs up to t and no later.
            steps_axis = 1 if self.data_format == "channels_last" else 2
            widths = [(0, 0)] * 3
            widths[steps_axis] = (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0)
            inputs, padding = ops.pad(inputs, widths), "valid"
        return ops.conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            bias=bias,  # inside the convolution: one pass over the output on torch
        )

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


class Conv1D(BaseConv):
    """1-D convolution over sequences (channels_last: `(batch, steps, channels)`); `padding` may be "causal".

    Example:
        >>> Conv1D(8, 3, activation="relu")(np.ones((2, 10, 4))).shape
        (2, 8, 8)
    """

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution over images (channels_last: `(batch, rows, cols, channels)`).

    Example:
        >>> Conv2D(32, 3, activation="relu")(np.ones((1, 28, 28, 1))).shape
        (1, 26, 26, 32)
    """

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over volumes (channels_last: `(batch, depth, rows, cols, channels)`).

    Example:
        >>> Conv3D(4, 3)(np.ones((1, 5, 5, 5, 2))).shape
        (1, 3, 3, 3, 4)
    """

    rank = 3
