"""Inception-ResNet v2 (Szegedy et al., 2016) as Keras builds it: the same layers, order and names.

Each residual block adds its scaled residual with a `CustomScaleLayer` (Keras 3's class, same name and config;
tf.keras used a `Lambda`). That layer has no weights, so the published ImageNet files, written by tf.keras,
load by topological order: only layers with weights are matched.

Example:
    >>> model = InceptionResNetV2(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.layers.layer import Layer

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"
WEIGHTS_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_HASH = "e693bd0210a403b3192acc6073ad2e96"
NO_TOP_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
NO_TOP_HASH = "d19885ff4a710c122648d3b5c3b684e4"


class CustomScaleLayer(Layer):
    """`inputs[0] + inputs[1] * scale`: a shortcut plus a scaled residual (Keras 3's layer of this name).

    Saved models name it "CustomScaleLayer" with config key `scale`, and load it back without custom_objects.

    Args:
        scale: the factor applied to the residual (the second input).

    Example:
        >>> CustomScaleLayer(0.5)([np.ones((1, 2)), np.ones((1, 2))])  # all 1.5
    """

    keras3_module = "keras.src.applications.inception_resnet_v2"  # where Keras 3 finds it in a .keras file

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f'Layer "{self.name}" expects a list of 2 tensors (shortcut, residual), got {type(inputs).__name__}'
                f"{f' of {len(inputs)}' if isinstance(inputs, (list, tuple)) else ''}."
            )
        return inputs[0] + inputs[1] * self.scale

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def _channel_axis() -> int:
    from lamina import config

    return 1 if config.image_data_format() == "channels_first" else 3


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu", use_bias=False, name=None):
    """A convolution, then (without a bias) a batch normalization without scale, then the activation.

    With `name`, the layers are `name`, `name_bn` and `name_ac`; without, Keras's counter names.

    Example:
        >>> y = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    """
    from lamina import layers

    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        bn_name = None if name is None else f"{name}_bn"
        x = layers.BatchNormalization(axis=_channel_axis(), scale=False, name=bn_name)(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def _block_branches(x, block_type):
    """The parallel branches of a block35 (Inception-ResNet-A), block17 (B) or block8 (C) residual."""
    if block_type == "block35":
        branch_0 = conv2d_bn(x, 32, 1)
        branch_1 = conv2d_bn(conv2d_bn(x, 32, 1), 32, 3)
        branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)
        return [branch_0, branch_1, branch_2]
    sizes = {"block17": (192, 128, 160, 192, 7), "block8": (192, 192, 224, 256, 3)}.get(block_type)
    if sizes is None:
        raise ValueError(
            f'Unknown Inception-ResNet block type. Expects "block35", "block17" or "block8", but got: {block_type}'
        )
    first, inner, middle, last, long_side = sizes
    branch_0 = conv2d_bn(x, first, 1)
    branch_1 = conv2d_bn(x, inner, 1)
    branch_1 = conv2d_bn(branch_1, middle, [1, long_side])
    branch_1 = conv2d_bn(branch_1, last, [long_side, 1])
    return [branch_0, branch_1]


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """One Inception-ResNet block: `activation(x + scale * conv1x1(concat(branches(x))))`, named `{type}_{idx}`.

    Example:
        >>> x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=1)
    """
    from lamina import layers

    branches = _block_branches(x, block_type)
    block_name = f"{block_type}_{block_idx}"
    axis = _channel_axis()
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def _stem(x):
    """299x299x3 to 35x35x320: the convolution stem and mixed_5b (an Inception-A block)."""
    from lamina import layers

    x = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branch_0 = conv2d_bn(x, 96, 1)
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    return layers.Concatenate(axis=_channel_axis(), name="mixed_5b")([branch_0, branch_1, branch_2, branch_pool])


def _reduction_a(x):
    """mixed_6a (35x35 to 17x17x1088)."""
    from lamina import layers

    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 256, 3)
    branch_1 = conv2d_bn(branch_1, 384, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    return layers.Concatenate(axis=_channel_axis(), name="mixed_6a")([branch_0, branch_1, branch_pool])


def _reduction_b(x):
    """mixed_7a (17x17 to 8x8x2080)."""
    from lamina import layers

    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3)
    branch_2 = conv2d_bn(branch_2, 320, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    branches = [branch_0, branch_1, branch_2, branch_pool]
    return layers.Concatenate(axis=_channel_axis(), name="mixed_7a")(branches)


def _features(x):
    """Inception-ResNet v2's convolutional part: 299x299x3 to 8x8x1536."""
    x = _stem(x)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    x = _reduction_a(x)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    x = _reduction_b(x)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    return conv2d_bn(x, 1536, 1, name="conv_7b")


def InceptionResNetV2(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_resnet_v2",
):
    """The Inception-ResNet v2 model, optionally with Keras's ImageNet weights (55,873,736 parameters with the top).

    Its inputs are RGB images scaled to [-1, 1] (`preprocess_input`).

    Args:
        include_top: whether to end with global average pooling and the 1000-way dense layer (then the input
            must be 299x299).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3) (channels first: (3, height, width)) without the top, each side at
            least 75.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> InceptionResNetV2(include_top=False, weights=None, input_shape=(75, 75, 3), pooling="avg").output_shape
        (None, 1536)
    """
    from lamina import config
    from lamina.applications.inception_v3 import top_or_pooling

    imagenet_utils.check_arguments("InceptionResNetV2", weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(input_shape, 299, 75, data_format, include_top, weights)
    top, no_top = (WEIGHTS_FILE, WEIGHTS_HASH), (NO_TOP_FILE, NO_TOP_HASH)
    path = imagenet_utils.weights_path(weights, "InceptionResNetV2", WEIGHTS_ORIGIN, top, no_top, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = top_or_pooling(_features(x), include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name, path)


def preprocess_input(x, data_format=None):
    """Scales RGB values in [0, 255] to [-1, 1], as Keras's InceptionResNetV2 expects ("tf" mode).

    Example:
        >>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))
        array([[[[-1.,  0.,  1.]]]], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
