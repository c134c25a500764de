"""Inception v3 (Szegedy et al., 2015) as Keras builds it: the same layers, in the same order, with the same names.

The layers are created in Keras's order, so the counter names (`conv2d_7`, `batch_normalization_7`) and the
topological order match Keras's and its published ImageNet weight files load by order or by name.

Example:
    >>> model = InceptionV3(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._build import (
    KERAS_ORIGIN,
    build_application,
    channel_axis,
    conv_bn,
    keras_files,
    model_doc,
    preprocess_function,
)

# Keras's ImageNet weight files: (URL folder, (with the top, md5), (without, md5)).
FILES = keras_files(
    KERAS_ORIGIN + "inception_v3/",
    "inception_v3",
    "9a0d58056eeedaa3f26cb7ebd46da564",
    "bcbd6486424b2319ff4ef7d526e38f63",
)
# The note Inception v3, Xception and Inception-ResNet v2 add to their docstrings.
TF_MODE_NOTE = "    Its inputs are RGB images scaled to [-1, 1] (`preprocess_input`)."


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """A bias-free convolution, a batch normalization without scale (gamma) and a ReLU, as Keras's helper.

    With `name`, the layers are `name_conv`, `name_bn` and `name`; without, Keras's counter names.

    Example:
        >>> y = conv2d_bn(x, 64, 3, 3)  # conv2d_N, batch_normalization_N, activation_N
    """
    names = (None, None, None) if name is None else (f"{name}_conv", f"{name}_bn", name)
    return conv_bn(x, filters, (num_row, num_col), names, strides=strides, padding=padding)


def _average_branch(x, filters):
    """A 3x3 average pooling (stride 1, same size) then a 1x1 conv2d_bn: every mixing block's pool branch."""
    from lamina import layers

    pooled = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(pooled, filters, 1, 1)


def _stem(x):
    """299x299x3 down to 35x35x192: three 3x3 convolutions, a pooling, a 1x1 and a 3x3, a pooling."""
    from lamina import layers

    x = conv2d_bn(x, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    return layers.MaxPooling2D((3, 3), strides=(2, 2))(x)


def _block_35(x, pool_filters, name):
    """mixed0..mixed2 (35x35): 1x1, 5x5 (after a 1x1), two 3x3 (after a 1x1) and pool branches."""
    from lamina import layers

    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    branch3x3dbl = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    branch_pool = _average_branch(x, pool_filters)
    branches = [branch1x1, branch5x5, branch3x3dbl, branch_pool]
    return layers.Concatenate(axis=channel_axis(), name=name)(branches)


def _reduction_a(x):
    """mixed3 (35x35 to 17x17): a strided 3x3, two 3x3 (the second strided) and a max pooling."""
    from lamina import layers

    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.Concatenate(axis=channel_axis(), name="mixed3")([branch3x3, branch3x3dbl, branch_pool])


def _block_17(x, width, name):
    """mixed4..mixed7 (17x17): factorized 7x7 branches of `width` channels inside, 192 out."""
    from lamina import layers

    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = conv2d_bn(x, width, 1, 1)
    branch7x7 = conv2d_bn(branch7x7, width, 1, 7)
    branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = conv2d_bn(x, width, 1, 1)
    for rows, cols in ((7, 1), (1, 7), (7, 1)):
        branch7x7dbl = conv2d_bn(branch7x7dbl, width, rows, cols)
    branch7x7dbl = conv2d_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = _average_branch(x, 192)
    branches = [branch1x1, branch7x7, branch7x7dbl, branch_pool]
    return layers.Concatenate(axis=channel_axis(), name=name)(branches)


def _reduction_b(x):
    """mixed8 (17x17 to 8x8): a strided 3x3 after a 1x1, a 7x7 then strided 3x3 branch and a max pooling."""
    from lamina import layers

    branch3x3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.Concatenate(axis=channel_axis(), name="mixed8")([branch3x3, branch7x7x3, branch_pool])


def _block_8(x, index):
    """mixed9 and mixed10 (8x8): 1x1, split 1x3/3x1 branches (one after a 3x3) and a pool branch."""
    from lamina import layers

    axis = channel_axis()
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3_1 = conv2d_bn(branch3x3, 384, 1, 3)
    branch3x3_2 = conv2d_bn(branch3x3, 384, 3, 1)
    branch3x3 = layers.Concatenate(axis=axis, name=f"mixed9_{index}")([branch3x3_1, branch3x3_2])
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    branch3x3dbl_1 = conv2d_bn(branch3x3dbl, 384, 1, 3)
    branch3x3dbl_2 = conv2d_bn(branch3x3dbl, 384, 3, 1)
    branch3x3dbl = layers.Concatenate(axis=axis)([branch3x3dbl_1, branch3x3dbl_2])
    branch_pool = _average_branch(x, 192)
    branches = [branch1x1, branch3x3, branch3x3dbl, branch_pool]
    return layers.Concatenate(axis=axis, name=f"mixed{9 + index}")(branches)


def _features(x):
    """Inception v3's convolutional part: 299x299x3 to 8x8x2048."""
    x = _stem(x)
    for index, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{index}")
    x = _reduction_a(x)
    for index, width in enumerate((128, 160, 160, 192), start=4):
        x = _block_17(x, width, f"mixed{index}")
    x = _reduction_b(x)
    for index in range(2):
        x = _block_8(x, index)
    return x


InceptionV3 = imagenet_utils.model_function(
    "InceptionV3",
    partial(build_application, "InceptionV3", _features, (299, 75), FILES),
    model_doc("InceptionV3", 23_851_784, (299, 75), 2048, TF_MODE_NOTE),
    (*imagenet_utils.SHARED_ARGUMENTS, ("name", "inception_v3")),
    __name__,
)


preprocess_input = preprocess_function(
    "tf",
    'Scales RGB values in [0, 255] to [-1, 1] ("tf" mode), as Keras\'s InceptionV3, Xception, InceptionResNetV2\n'
    "    and ResNetV2 expect (their modules share this function).",
    ("preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))", "array([[[[-1.,  0.,  1.]]]], dtype=float32)"),
    __name__,
)


decode_predictions = imagenet_utils.decode_predictions
