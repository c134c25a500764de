"""Xception (Chollet, 2017) as Keras builds it: the same layers, in the same order, with the same names.

Depthwise separable convolutions in an entry flow (blocks 1-4), a middle flow of eight residual blocks (5-12)
and an exit flow (13-14); the strided residual shortcuts are Keras's unnamed `conv2d`/`batch_normalization`
layers, created in Keras's order so their counter names match and the published weights load by order or name.

Example:
    >>> model = Xception(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._build import KERAS_ORIGIN, build_application, keras_files, model_doc
from lamina.applications.inception_v3 import TF_MODE_NOTE
from lamina.applications.inception_v3 import preprocess_input as preprocess_input

# Keras's ImageNet weight files: (URL folder, (with the top, md5), (without, md5)).
FILES = keras_files(
    KERAS_ORIGIN + "xception/", "xception", "0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97"
)


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


def _features(x):
    """Xception's convolutional part: 299x299x3 to 10x10x2048."""
    from lamina import config, layers

    axis = 1 if config.image_data_format() == "channels_first" else -1  # Keras's -1 (saved in the configs)
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


Xception = imagenet_utils.model_function(
    "Xception",
    partial(build_application, "Xception", _features, (299, 71), FILES),
    model_doc("Xception", 22_910_480, (299, 71), 2048, TF_MODE_NOTE + " Both data formats work, as in Keras 3."),
    (*imagenet_utils.SHARED_ARGUMENTS, ("name", "xception")),
    __name__,
)

decode_predictions = imagenet_utils.decode_predictions
