"""Inception v3 (Szegedy et al., 2015) as Keras builds it: the same layers, in the same order, with the same names.

The layers are created in Keras's order, so the counter names (`conv2d_7`, `batch_normalization_7`) and the
topological order match Keras's and its published ImageNet weight files load by order or by name.

Example:
    >>> model = InceptionV3(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from lamina.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_HASH = "9a0d58056eeedaa3f26cb7ebd46da564"
NO_TOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
NO_TOP_HASH = "bcbd6486424b2319ff4ef7d526e38f63"


def _channel_axis() -> int:
    from lamina import config

    return 1 if config.image_data_format() == "channels_first" else 3


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """A bias-free convolution, a batch normalization without scale (gamma) and a ReLU, as Keras's helper.

    With `name`, the layers are `name_conv`, `name_bn` and `name`; without, Keras's counter names.

    Example:
        >>> y = conv2d_bn(x, 64, 3, 3)  # conv2d_N, batch_normalization_N, activation_N
    """
    from lamina import layers

    conv_name, bn_name = (None, None) if name is None else (f"{name}_conv", f"{name}_bn")
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False, name=conv_name)(x)
    x = layers.BatchNormalization(axis=_channel_axis(), scale=False, name=bn_name)(x)
    return layers.Activation("relu", name=name)(x)


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
    return layers.Concatenate(axis=_channel_axis(), name=name)(branches)


def _reduction_a(x):
    """mixed3 (35x35 to 17x17): a strided 3x3, two 3x3 (the second strided) and a max pooling."""
    from lamina import layers

    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.Concatenate(axis=_channel_axis(), name="mixed3")([branch3x3, branch3x3dbl, branch_pool])


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
    return layers.Concatenate(axis=_channel_axis(), name=name)(branches)


def _reduction_b(x):
    """mixed8 (17x17 to 8x8): a strided 3x3 after a 1x1, a 7x7 then strided 3x3 branch and a max pooling."""
    from lamina import layers

    branch3x3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.Concatenate(axis=_channel_axis(), name="mixed8")([branch3x3, branch7x7x3, branch_pool])


def _block_8(x, index):
    """mixed9 and mixed10 (8x8): 1x1, split 1x3/3x1 branches (one after a 3x3) and a pool branch."""
    from lamina import layers

    axis = _channel_axis()
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


def top_or_pooling(x, include_top, pooling, classes, classifier_activation):
    """Keras's end of these models: `avg_pool` and the `predictions` layer, or the optional global pooling."""
    from lamina import layers

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D()(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D()(x)
    return x


def InceptionV3(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_v3",
):
    """The Inception v3 model, optionally with Keras's ImageNet weights (23,851,784 parameters with the top).

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
        >>> InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3), pooling="avg").output_shape
        (None, 2048)
    """
    from lamina import config

    imagenet_utils.check_arguments("InceptionV3", weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(input_shape, 299, 75, data_format, include_top, weights)
    top, no_top = (WEIGHTS_FILE, WEIGHTS_HASH), (NO_TOP_FILE, NO_TOP_HASH)
    path = imagenet_utils.weights_path(weights, "InceptionV3", WEIGHTS_ORIGIN, top, no_top, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = _stem(x)
    for index, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{index}")
    x = _reduction_a(x)
    for index, width in enumerate((128, 160, 160, 192), start=4):
        x = _block_17(x, width, f"mixed{index}")
    x = _reduction_b(x)
    for index in range(2):
        x = _block_8(x, index)
    x = top_or_pooling(x, include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name, path)


def preprocess_input(x, data_format=None):
    """Scales RGB values in [0, 255] to [-1, 1], as Keras's InceptionV3 expects ("tf" mode).

    Example:
        >>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))
        array([[[[-1.,  0.,  1.]]]], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
