"""MobileNetV2 (Sandler et al., 2018) as Keras builds it: the same layer names, order and weights.

`alpha` scales the widths (rounded to multiples of 8); Keras publishes ImageNet weights for alpha in
(0.35, 0.5, 0.75, 1.0, 1.3, 1.4) and square inputs of 96, 128, 160, 192 or 224 pixels, one file per pair.

Example:
    >>> model = MobileNetV2(weights="imagenet", alpha=0.35, input_shape=(96, 96, 3))
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._heads import dense_classifier
from lamina.applications.mobilenet import imagenet_side, shape_and_weights, square_side

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)  # the widths Keras publishes ImageNet weights for
SIZES = (96, 128, 160, 192, 224)  # the square input sides it publishes them for

# (filters, stride, expansion) of the seventeen inverted residual blocks, in order (block ids 0 to 16).
BLOCKS = (
    (16, 1, 1),
    (24, 2, 6), (24, 1, 6),
    (32, 2, 6), (32, 1, 6), (32, 1, 6),
    (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
    (96, 1, 6), (96, 1, 6), (96, 1, 6),
    (160, 2, 6), (160, 1, 6), (160, 1, 6),
    (320, 1, 6),
)  # fmt: skip


def make_divisible(value, divisor: int = 8, min_value=None) -> int:
    """`value` rounded to the nearest multiple of `divisor` (at least `min_value`), never more than 10% below it.

    Example:
        >>> make_divisible(32 * 0.35)
        16
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def weights_file(alpha: float, rows: int, include_top: bool) -> str:
    """The name of Keras's ImageNet weights file for width `alpha` and input side `rows`.

    Example:
        >>> weights_file(0.35, 96, include_top=False)
        'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5'
    """
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{'' if include_top else '_no_top'}.h5"


def tensor_shape(model: str, input_shape, input_tensor, data_format: str):
    """`input_tensor`'s shape without the batch axis (None without a tensor); with `input_shape` too, their widths
    must agree, as Keras checks."""
    if not hasattr(input_tensor, "shape"):
        return None
    shape = tuple(input_tensor.shape)[1:]
    width = 2 if data_format == "channels_first" else 1
    if input_shape is not None and len(shape) == 3 and shape[width] != tuple(input_shape)[width]:
        raise ValueError(
            f"{model}: the width of `input_tensor` must equal the width in `input_shape`; Received "
            f"input_shape={input_shape}, input_tensor.shape={tuple(input_tensor.shape)}"
        )
    return shape


def _default_side(input_shape, input_tensor, data_format: str) -> int:
    """Keras's default input side: the given shape's (or, without one, the input tensor's) square side if it is
    one of `SIZES`, else 224."""
    given = tensor_shape("MobileNetV2", input_shape, input_tensor, data_format)
    return square_side(given if input_shape is None else input_shape, data_format, SIZES)


def _check_imagenet(alpha, rows, cols) -> int:
    """Keras's check of `alpha` with ImageNet weights; the side whose weights file is loaded."""
    if alpha not in ALPHAS:
        raise ValueError(
            "MobileNetV2: if imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, "
            f"`1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`"
        )
    return imagenet_side(rows, cols, SIZES)


def _batch_norm(x, channel_axis, name):
    from lamina import layers

    return layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=name)(x)


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id, channel_axis):
    """Expand (1x1, except block 0), 3x3 depthwise, project (1x1, linear); a residual sum when shapes allow."""
    from lamina import layers

    in_channels = inputs.shape[channel_axis]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _batch_norm(x, channel_axis, f"{prefix}expand_BN")
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise"
    )(x)
    x = _batch_norm(x, channel_axis, f"{prefix}depthwise_BN")
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(x, channel_axis, f"{prefix}project_BN")
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _features(x, alpha, channel_axis):
    """From the image to the last ReLU6: the stem, the seventeen blocks and the 1x1 convolution to 1280+."""
    from lamina import layers

    x = layers.Conv2D(make_divisible(32 * alpha, 8), 3, strides=(2, 2), padding="same", use_bias=False, name="Conv1")(x)
    x = _batch_norm(x, channel_axis, "bn_Conv1")
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id, channel_axis)
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = _batch_norm(x, channel_axis, "Conv_1_bn")
    return layers.ReLU(6.0, name="out_relu")(x)


def MobileNetV2(  # noqa: N802 - Keras's name
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """The MobileNetV2 model, optionally with Keras's ImageNet weights (3,538,984 parameters at alpha 1 with the top).

    Args:
        input_shape: (height, width, 3), each side at least 32; with the top and ImageNet weights, square with a
            side of 96, 128, 160, 192 or 224 (the default 224).
        alpha: the width multiplier (ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4).
        include_top: whether to end with the classifier (global average pooling and a dense layer).
        weights: None, "imagenet" (Keras's published file for `alpha` and the input side) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name (default `mobilenetv2_<alpha>_<side>`, as Keras).

    Example:
        >>> MobileNetV2(weights=None, alpha=0.35, include_top=False, input_shape=(96, 96, 3)).output_shape
        (None, 3, 3, 1280)
    """
    from lamina import config

    imagenet_utils.check_arguments("MobileNetV2", weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    default = _default_side(input_shape, input_tensor, data_format)
    check, origin = partial(_check_imagenet, alpha), (WEIGHTS_ORIGIN, partial(weights_file, alpha))
    shape, rows, path = shape_and_weights(
        "MobileNetV2", input_shape, default, data_format, weights, include_top, check, origin
    )
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = _features(x, alpha, 1 if data_format == "channels_first" else -1)
    x = dense_classifier(x, include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name or f"mobilenetv2_{alpha:0.2f}_{rows}", path)


def preprocess_input(x, data_format=None):
    """Scales RGB values in [0, 255] to [-1, 1], as MobileNetV2 was trained (Keras's "tf" mode).

    Example:
        >>> preprocess_input(np.zeros((1, 2, 2, 3)))[0, 0, 0]
        array([-1., -1., -1.], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
