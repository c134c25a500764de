"""Depthwise convolution: DepthwiseConv1D, DepthwiseConv2D."""

from __future__ import annotations

from lamina import activations, config, initializers, ops, regularizers
from lamina.layers.convolutional.base_conv import (
    add_bias,
    channel_axis,
    check_kernel_fits,
    input_channels,
    normalize_padding,
    normalize_tuple,
    positive_int,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


class BaseDepthwiseConv(Layer):
    """Each input channel convolved with its own `depth_multiplier` filters.

    Weights: `depthwise_kernel` `(*kernel_size, input_channels, depth_multiplier)` and `bias`
    `(input_channels * depth_multiplier,)`; output channel `c * depth_multiplier + m` comes from
    input channel `c` and filter `m`.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(np.ones((1, 5, 5, 3))).shape
        (1, 3, 3, 6)
    """

    rank = 2

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        # tf.keras wrote "groups": 1 into this layer's config (inherited from Conv); nothing else means anything here.
        groups = kwargs.pop("groups", 1)
        super().__init__(**kwargs)
        if groups != 1:
            raise ValueError(f'Layer "{self.name}": groups must be 1 for a depthwise convolution, got {groups!r}.')
        rank = self.rank
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = input_channels(self, input_shape)
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(channels * self.depth_multiplier,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})
        self.built = True

    def call(self, inputs):
        check_kernel_fits(self, inputs.shape)
        outputs = ops.depthwise_conv(
            inputs,
            self.depthwise_kernel,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )
        return self.activation(add_bias(outputs, self.bias, self.data_format))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": serialize_object(self.depthwise_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "depthwise_regularizer": serialize_object(self.depthwise_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "depthwise_constraint": serialize_object(self.depthwise_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
        }


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1-D convolution over sequences.

    Example:
        >>> DepthwiseConv1D(3)(np.ones((2, 8, 4))).shape
        (2, 6, 4)
    """

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """Depthwise 2-D convolution over images (MobileNet's building block).

    Example:
        >>> DepthwiseConv2D(3, padding="same")(np.ones((1, 5, 5, 3))).shape
        (1, 5, 5, 3)
    """

    rank = 2
