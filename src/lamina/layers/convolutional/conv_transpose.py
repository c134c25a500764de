"""Transposed convolution: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose."""

from __future__ import annotations

from lamina import activations, config, initializers, ops, regularizers
from lamina.layers.convolutional.base_conv import (
    add_bias,
    channel_axis,
    check_strides_and_dilation,
    input_channels,
    normalize_padding,
    normalize_tuple,
    positive_int,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


class BaseConvTranspose(Layer):
    """N-D transposed convolution with a kernel `(*kernel_size, filters, input_channels)` and a bias `(filters,)`.

    Each spatial axis of length `n` becomes, with `span = (kernel_size - 1) * dilation_rate + 1`:
    `n * strides + max(span - strides, 0)` ("valid") or `n * strides` ("same") when `output_padding` is
    None, else `(n - 1) * strides + span + output_padding` ("valid") or that less `2 * (span // 2)` ("same").

    Example:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.ones((1, 5, 5, 3))).shape
        (1, 10, 10, 4)
    """

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
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
        # tf.keras wrote "groups": 1 into this layer's config (inherited from Conv); nothing else means anything here.
        groups = kwargs.pop("groups", 1)
        super().__init__(**kwargs)
        if groups != 1:
            raise ValueError(f'Layer "{self.name}": groups must be 1 for a transposed convolution, got {groups!r}.')
        rank = self.rank
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        check_strides_and_dilation(self.strides, self.dilation_rate, self.name)
        self.padding = normalize_padding(padding, self.name)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, rank, "output_padding", self.name, allow_zero=True)
            if any(extra >= stride for extra, stride in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f'Layer "{self.name}": output_padding must be smaller than strides on every axis, '
                    f"got output_padding={self.output_padding} and strides={self.strides}."
                )
        self.data_format = config.standardize_data_format(data_format)
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
        channels = input_channels(self, input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, channels),
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
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})
        self.built = True

    def call(self, inputs):
        outputs = ops.conv_transpose(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )
        return self.activation(add_bias(outputs, self.bias, self.data_format))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
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


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution ("deconvolution") over sequences.

    Example:
        >>> Conv1DTranspose(4, 3, strides=2)(np.ones((2, 5, 3))).shape
        (2, 11, 4)
    """

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution ("deconvolution") over images.

    Example:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(np.ones((1, 5, 5, 3))).shape
        (1, 10, 10, 4)
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution ("deconvolution") over volumes.

    Example:
        >>> Conv3DTranspose(2, 2, strides=2)(np.ones((1, 3, 3, 3, 1))).shape
        (1, 6, 6, 6, 2)
    """

    rank = 3
