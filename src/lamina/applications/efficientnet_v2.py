"""EfficientNetV2 B0 to B3, S, M and L (Tan & Le, 2021) as Keras builds them: the same layer names, order and weights.

With `include_preprocessing=True` (the default) the models take RGB values in [0, 255]: the B variants rescale by
1/255 and normalize with ImageNet's fixed mean and variance (a `Normalization` without weights), S, M and L rescale
to [-1, 1]. `preprocess_input` (the same as `efficientnet.preprocess_input`) is a pass-through.

Example:
    >>> model = EfficientNetV2S(weights="imagenet")
    >>> decode_predictions(model.predict(images))  # images: RGB in [0, 255]
"""

from __future__ import annotations

import math
from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications.efficientnet import (
    DOC,
    IMAGENET_STDDEV_RGB,
    build_model,
    channel_axis,
    conv_bn,
    residual,
    squeeze_excite,
)
from lamina.applications.efficientnet import decode_predictions as decode_predictions  # Keras's API, re-exported
from lamina.applications.efficientnet import preprocess_input as preprocess_input

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
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, 1, f"{name}expand_", "swish", momentum=BN_MOMENTUM)
    x = conv_bn(x, None, kernel_size, name, "swish", strides, momentum=BN_MOMENTUM, conv="dwconv2")
    x = squeeze_excite(x, filters, filters_in, se_ratio, "swish", name)
    x = conv_bn(x, filters_out, 1, f"{name}project_", momentum=BN_MOMENTUM)
    return residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def fused_mb_conv(inputs, filters_in, filters_out, expand_ratio, kernel_size, strides, se_ratio, drop_rate, name):
    """Keras's fused MBConv block: one full `kernel_size` convolution expands (or, at ratio 1, projects)."""
    from lamina import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, kernel_size, f"{name}expand_", "swish", strides=strides, momentum=BN_MOMENTUM)
    x = squeeze_excite(x, filters, filters_in, se_ratio, "swish", name)
    if expand_ratio != 1:
        x = conv_bn(x, filters_out, 1, f"{name}project_", momentum=BN_MOMENTUM)
    else:
        x = conv_bn(x, filters_out, kernel_size, f"{name}project_", strides=strides, momentum=BN_MOMENTUM)
        x = layers.Activation("swish", name=f"{name}project_activation")(x)
    return residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


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


def build_efficientnet_v2(variant, include_preprocessing, name, **arguments):
    """The EfficientNetV2 `variant` ("b0".."b3", "s", "m", "l"); `arguments`: the seven every application takes."""
    width, depth, default_size = VARIANTS[variant]

    def body(x, shape, weights):
        if include_preprocessing:
            x = _preprocessing(x, variant, shape)
        stem_filters = round_filters(DEFAULT_BLOCKS_ARGS[variant][0][2], width)
        x = conv_bn(x, stem_filters, 3, "stem_", "swish", strides=2, momentum=BN_MOMENTUM)
        x = _stages(x, variant, width, depth)
        return conv_bn(x, round_filters(1280, width), 1, "top_", "swish", momentum=BN_MOMENTUM)

    files = (WEIGHTS_ORIGIN, f"efficientnetv2-{variant}", WEIGHTS_HASHES[variant])
    return build_model((f"EfficientNetV2{variant.upper()}", files, default_size, 0.2), body, name, **arguments)


_INCLUDE_PREPROCESSING = (
    "        include_preprocessing: whether the model starts with its own rescaling of RGB values in [0, 255].\n"
)


def _size(variant, parameters):
    """The public function of EfficientNetV2 `variant`, with Keras's signature and a docstring from `DOC`."""
    title = f"EfficientNetV2{variant.upper()}"
    width, _, size = VARIANTS[variant]
    features = round_filters(1280, width)
    doc = DOC.format(title=title, parameters=parameters, size=size, features=features, more=_INCLUDE_PREPROCESSING)
    arguments = (
        *imagenet_utils.SHARED_ARGUMENTS,
        ("include_preprocessing", True),
        ("name", f"efficientnetv2-{variant}"),
    )
    return imagenet_utils.model_function(title, partial(build_efficientnet_v2, variant), doc, arguments, __name__)


EfficientNetV2B0 = _size("b0", 7_200_312)
EfficientNetV2B1 = _size("b1", 8_212_124)
EfficientNetV2B2 = _size("b2", 10_178_374)
EfficientNetV2B3 = _size("b3", 14_467_622)
EfficientNetV2S = _size("s", 21_612_360)
EfficientNetV2M = _size("m", 54_431_388)
EfficientNetV2L = _size("l", 119_027_848)
