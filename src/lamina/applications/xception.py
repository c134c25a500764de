"""Xception (Chollet, 2017) as Keras builds it: the same layers, in the same order, with the same names.

Depthwise separable convolutions in an entry flow (blocks 1-4), a middle flow of eight residual blocks (5-12)
and an exit flow (13-14); the strided residual shortcuts are Keras's unnamed `conv2d`/`batch_normalization`
layers, created in Keras's order so their counter names match and the published weights load by order or name.

Example:
    >>> model = Xception(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from lamina.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
WEIGHTS_FILE, WEIGHTS_HASH = "xception_weights_tf_dim_ordering_tf_kernels.h5", "0a58e3b7378bc2990ea3b43d5981f1f6"
NO_TOP_FILE, NO_TOP_HASH = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97"


def _sepconv_bn(x, filters, name, axis):
    """`name` (a bias-free 3x3 SeparableConv2D, same padding) then `name_bn`."""
    from lamina import layers

    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=axis, name=f"{name}_bn")(x)


def _entry_block(x, block, filters, axis, first_relu=True):
    """A strided block of the entry flow (2-4, and 13 with filters (728, 1024)): a 1x1 strided shortcut beside
    two separable convolutions and a max pooling, added."""
    from lamina import layers

    filters = filters if isinstance(filters, tuple) else (filters, filters)
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization(axis=axis)(residual)
    prefix = f"block{block}"
    if first_relu:  # block 2 follows block 1's own ReLU
        x = layers.Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _sepconv_bn(x, filters[0], f"{prefix}_sepconv1", axis)
    x = layers.Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _sepconv_bn(x, filters[1], f"{prefix}_sepconv2", axis)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.Add()([x, residual])


def _middle_block(x, block, axis):
    """A block of the middle flow (5-12): three ReLU + 728-filter separable convolutions, added to its input."""
    from lamina import layers

    residual = x
    for index in (1, 2, 3):
        x = layers.Activation("relu", name=f"block{block}_sepconv{index}_act")(x)
        x = _sepconv_bn(x, 728, f"block{block}_sepconv{index}", axis)
    return layers.Add()([x, residual])


def _features(x, axis):
    """Xception's convolutional part: 299x299x3 to 10x10x2048."""
    from lamina import layers

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _entry_block(x, 2, 128, axis, first_relu=False)
    x = _entry_block(x, 3, 256, axis)
    x = _entry_block(x, 4, 728, axis)
    for block in range(5, 13):
        x = _middle_block(x, block, axis)
    x = _entry_block(x, 13, (728, 1024), axis)
    for index, filters in ((1, 1536), (2, 2048)):
        x = _sepconv_bn(x, filters, f"block14_sepconv{index}", axis)
        x = layers.Activation("relu", name=f"block14_sepconv{index}_act")(x)
    return x


def Xception(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="xception",
):
    """The Xception model, optionally with Keras's ImageNet weights (22,910,480 parameters with the top).

    Its inputs are RGB images scaled to [-1, 1] (`preprocess_input`). Both data formats work, as in Keras 3.

    Args:
        include_top: whether to end with global average pooling and the 1000-way dense layer (then the input
            must be 299x299).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3) (channels first: (3, height, width)) without the top, each side at
            least 71.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> Xception(include_top=False, weights=None, input_shape=(71, 71, 3), pooling="max").output_shape
        (None, 2048)
    """
    from lamina import config
    from lamina.applications.inception_v3 import top_or_pooling

    imagenet_utils.check_arguments("Xception", weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(input_shape, 299, 71, data_format, include_top, weights)
    top, no_top = (WEIGHTS_FILE, WEIGHTS_HASH), (NO_TOP_FILE, NO_TOP_HASH)
    path = imagenet_utils.weights_path(weights, "Xception", WEIGHTS_ORIGIN, top, no_top, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = _features(x, 1 if data_format == "channels_first" else -1)
    x = top_or_pooling(x, include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name, path)


def preprocess_input(x, data_format=None):
    """Scales RGB values in [0, 255] to [-1, 1], as Keras's Xception expects ("tf" mode).

    Example:
        >>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))
        array([[[[-1.,  0.,  1.]]]], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
