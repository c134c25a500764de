"""EfficientNetV2 B0 to B3, S, M and L (Tan & Le, 2021) as Keras builds them: the same layer names, order and weights.

With `include_preprocessing=True` (the default) the models take RGB values in [0, 255]: the B variants rescale by
1/255 and normalize with ImageNet's fixed mean and variance (a `Normalization` without weights), S, M and L rescale
to [-1, 1]. `preprocess_input` is a pass-through.

Example:
    >>> model = EfficientNetV2S(weights="imagenet")
    >>> decode_predictions(model.predict(images))  # images: RGB in [0, 255]
"""

from __future__ import annotations

import math

from lamina.applications import imagenet_utils
from lamina.applications.efficientnet import (
    CONV_KERNEL_INITIALIZER,
    channel_axis,
    conv_bn,
    head,
    residual,
    squeeze_excite,
)

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
# variant -> (md5 of the file with the classifier, md5 of the file without), as Keras publishes them.
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)

# One row per stage: kernel size, repeats, filters in, filters out, expansion ratio, squeeze-excite ratio, strides,
# and the block (1: fused MBConv, a full convolution in place of expand + depthwise; 0: MBConv).
_B_BLOCKS = (
    (3, 1, 32, 16, 1, 0, 1, 1),
    (3, 2, 16, 32, 4, 0, 2, 1),
    (3, 2, 32, 48, 4, 0, 2, 1),
    (3, 3, 48, 96, 4, 0.25, 2, 0),
    (3, 5, 96, 112, 6, 0.25, 1, 0),
    (3, 8, 112, 192, 6, 0.25, 2, 0),
)
DEFAULT_BLOCKS_ARGS = {
    "b0": _B_BLOCKS,
    "b1": _B_BLOCKS,
    "b2": _B_BLOCKS,
    "b3": _B_BLOCKS,
    "s": (
        (3, 2, 24, 24, 1, 0, 1, 1),
        (3, 4, 24, 48, 4, 0, 2, 1),
        (3, 4, 48, 64, 4, 0, 2, 1),
        (3, 6, 64, 128, 4, 0.25, 2, 0),
        (3, 9, 128, 160, 6, 0.25, 1, 0),
        (3, 15, 160, 256, 6, 0.25, 2, 0),
    ),
    "m": (
        (3, 3, 24, 24, 1, 0, 1, 1),
        (3, 5, 24, 48, 4, 0, 2, 1),
        (3, 5, 48, 80, 4, 0, 2, 1),
        (3, 7, 80, 160, 4, 0.25, 2, 0),
        (3, 14, 160, 176, 6, 0.25, 1, 0),
        (3, 18, 176, 304, 6, 0.25, 2, 0),
        (3, 5, 304, 512, 6, 0.25, 1, 0),
    ),
    "l": (
        (3, 4, 32, 32, 1, 0, 1, 1),
        (3, 7, 32, 64, 4, 0, 2, 1),
        (3, 7, 64, 96, 4, 0, 2, 1),
        (3, 10, 96, 192, 4, 0.25, 2, 0),
        (3, 19, 192, 224, 6, 0.25, 1, 0),
        (3, 25, 224, 384, 6, 0.25, 2, 0),
        (3, 7, 384, 640, 6, 0.25, 1, 0),
    ),
}
# variant -> (width coefficient, depth coefficient, default input size); every variant drops 0.2 before the top.
VARIANTS = {
    "b0": (1.0, 1.0, 224),
    "b1": (1.0, 1.1, 240),
    "b2": (1.1, 1.2, 260),
    "b3": (1.2, 1.4, 300),
    "s": (1.0, 1.0, 384),
    "m": (1.0, 1.0, 480),
    "l": (1.0, 1.0, 480),
}
BN_MOMENTUM = 0.9


def round_filters(filters, width_coefficient, min_depth=8, divisor=8):
    """`filters` scaled by the width coefficient, to the nearest multiple of `divisor`, at least `min_depth`.

    Example:
        >>> round_filters(1280, 1.1)
        1408
    """
    filters *= width_coefficient
    return int(max(min_depth or divisor, int(filters + divisor / 2) // divisor * divisor))


def mb_conv(inputs, filters_in, filters_out, expand_ratio, kernel_size, strides, se_ratio, drop_rate, name):
    """Keras's MBConv block of EfficientNetV2: 1x1 expand, depthwise `{name}dwconv2`, squeeze-excite, project."""
    from lamina import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, 1, f"{name}expand_", "swish", momentum=BN_MOMENTUM)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        depthwise_initializer=CONV_KERNEL_INITIALIZER,
        name=f"{name}dwconv2",
    )(x)
    x = layers.BatchNormalization(axis=channel_axis(), momentum=BN_MOMENTUM, name=f"{name}bn")(x)
    x = layers.Activation("swish", name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), "swish", name)
    x = conv_bn(x, filters_out, 1, f"{name}project_", momentum=BN_MOMENTUM)
    if strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def fused_mb_conv(inputs, filters_in, filters_out, expand_ratio, kernel_size, strides, se_ratio, drop_rate, name):
    """Keras's fused MBConv block: one full `kernel_size` convolution expands (or, at ratio 1, projects)."""
    from lamina import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, kernel_size, f"{name}expand_", "swish", strides=strides, momentum=BN_MOMENTUM)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), "swish", name)
    if expand_ratio != 1:
        x = conv_bn(x, filters_out, 1, f"{name}project_", momentum=BN_MOMENTUM)
    else:
        x = conv_bn(x, filters_out, kernel_size, f"{name}project_", strides=strides, momentum=BN_MOMENTUM)
        x = layers.Activation("swish", name=f"{name}project_activation")(x)
    if strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def _stages(x, variant, width, depth, drop_connect_rate=0.2):
    """The stages of blocks, named block1a, block1b, ... as Keras names them."""
    rows = DEFAULT_BLOCKS_ARGS[variant]
    total = float(sum(row[1] for row in rows))  # Keras divides by the unscaled count of blocks
    done = 0
    for stage, (kernel, repeats, filters_in, filters_out, expand, se_ratio, strides, fused) in enumerate(rows, 1):
        filters_in, filters_out = round_filters(filters_in, width), round_filters(filters_out, width)
        block = fused_mb_conv if fused else mb_conv
        for index in range(int(math.ceil(depth * repeats))):
            first = index == 0
            x = block(
                x,
                filters_in if first else filters_out,
                filters_out,
                expand,
                kernel,
                strides if first else 1,
                se_ratio,
                drop_connect_rate * done / total,
                f"block{stage}{chr(97 + index)}_",
            )
            done += 1
    return x


def _preprocessing(x, variant, shape):
    """Keras's input layers: ImageNet's mean and variance for the B variants with 3 channels, else [-1, 1]."""
    from lamina import layers

    axis = channel_axis()
    if variant.startswith("b") and shape[axis - 1] == 3:
        x = layers.Rescaling(scale=1.0 / 255)(x)
        variance = [stddev**2 for stddev in IMAGENET_STDDEV_RGB]
        return layers.Normalization(mean=list(IMAGENET_MEAN_RGB), variance=variance, axis=axis)(x)
    return layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)


def build_efficientnet_v2(variant, name, args, include_preprocessing):
    """The EfficientNetV2 `variant` ("b0".."b3", "s", "m", "l"); `args` are the public function's first seven."""
    from lamina import config

    include_top, weights, input_tensor, input_shape, pooling, classes, activation = args
    width, depth, default_size = VARIANTS[variant]
    title = f"EfficientNetV2{variant.upper()}"
    imagenet_utils.check_arguments(title, weights, include_top, classes, activation)
    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size, 32, config.image_data_format(), include_top, weights
    )
    stem = f"efficientnetv2-{variant}"
    top_hash, no_top_hash = WEIGHTS_HASHES[variant]
    path = imagenet_utils.weights_path(
        weights, title, WEIGHTS_ORIGIN, (f"{stem}.h5", top_hash), (f"{stem}_notop.h5", no_top_hash), include_top
    )
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    if include_preprocessing:
        x = _preprocessing(x, variant, shape)
    stem_filters = round_filters(DEFAULT_BLOCKS_ARGS[variant][0][2], width)
    x = conv_bn(x, stem_filters, 3, "stem_", "swish", strides=2, momentum=BN_MOMENTUM)
    x = _stages(x, variant, width, depth)
    x = conv_bn(x, round_filters(1280, width), 1, "top_", "swish", momentum=BN_MOMENTUM)
    x = head(x, include_top, pooling, classes, activation, 0.2)
    return imagenet_utils.finish(inputs, x, name, path)


_ARGS = """
    Args:
        include_top: whether to end with the classifier (then the input must be {size}x{size} with ImageNet weights).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 32; the default is ({size}, {size}, 3).
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        include_preprocessing: whether the model starts with its own rescaling of RGB values in [0, 255].
        name: the model's name.
"""


def _documented(size):
    def decorate(function):
        function.__doc__ += _ARGS.format(size=size)
        return function

    return decorate


@_documented(224)
def EfficientNetV2B0(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-b0",
):
    """EfficientNetV2B0 (7,200,312 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2B0(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1280)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("b0", name, args, include_preprocessing)


@_documented(240)
def EfficientNetV2B1(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-b1",
):
    """EfficientNetV2B1 (8,212,124 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2B1(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1280)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("b1", name, args, include_preprocessing)


@_documented(260)
def EfficientNetV2B2(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-b2",
):
    """EfficientNetV2B2 (10,178,374 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2B2(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1408)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("b2", name, args, include_preprocessing)


@_documented(300)
def EfficientNetV2B3(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-b3",
):
    """EfficientNetV2B3 (14,467,622 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2B3(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1536)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("b3", name, args, include_preprocessing)


@_documented(384)
def EfficientNetV2S(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-s",
):
    """EfficientNetV2S (21,612,360 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2S(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1280)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("s", name, args, include_preprocessing)


@_documented(480)
def EfficientNetV2M(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-m",
):
    """EfficientNetV2M (54,431,388 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2M(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1280)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("m", name, args, include_preprocessing)


@_documented(480)
def EfficientNetV2L(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="efficientnetv2-l",
):
    """EfficientNetV2L (119,027,848 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> EfficientNetV2L(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 1280)
    """
    args = (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    return build_efficientnet_v2("l", name, args, include_preprocessing)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: EfficientNetV2 models rescale inside (kept for Keras's API).

    Example:
        >>> preprocess_input(images) is images
        True
    """
    return x


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (batch, 1000): lists of (class id, name, score).

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    return imagenet_utils.decode_predictions(preds, top=top)
