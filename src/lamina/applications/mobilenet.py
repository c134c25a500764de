"""MobileNet (Howard et al., 2017) as Keras builds it: the same layer names, order and weights.

`alpha` scales every layer's width and `depth_multiplier` the depthwise convolutions' outputs; Keras publishes
ImageNet weights for alpha in (0.25, 0.5, 0.75, 1.0) and square inputs of 128, 160, 192 or 224 pixels, one file
per pair.

Example:
    >>> model = MobileNet(weights="imagenet", alpha=0.5, input_shape=(160, 160, 3))
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

import warnings
from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._heads import global_pool

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
ALPHAS = (0.25, 0.50, 0.75, 1.0)  # the widths Keras publishes ImageNet weights for
SIZES = (128, 160, 192, 224)  # the square input sides it publishes them for
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}

# (pointwise filters, stride) of the thirteen depthwise-separable blocks, in order (block ids 1 to 13).
BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip


def weights_file(alpha: float, rows: int, include_top: bool) -> str:
    """The name of Keras's ImageNet weights file for width `alpha` and input side `rows`.

    Example:
        >>> weights_file(0.5, 160, include_top=False)
        'mobilenet_5_0_160_tf_no_top.h5'
    """
    return f"mobilenet_{_ALPHA_TEXT.get(alpha, '2_5')}_{rows}_tf{'' if include_top else '_no_top'}.h5"


def square_side(input_shape, data_format: str, sides, fallback: int = 224) -> int:
    """The input side when `input_shape` is square with a side in `sides` (Keras's default size), else `fallback`."""
    if input_shape is None:
        return fallback
    rows, cols = (input_shape[1], input_shape[2]) if data_format == "channels_first" else input_shape[:2]
    return rows if rows == cols and rows in sides else fallback


def imagenet_side(rows, cols, sides) -> int:
    """The side whose ImageNet weights load: `rows` if the input is square with a side in `sides`, else 224 (with
    Keras's warning)."""
    if rows != cols or rows not in sides:
        warnings.warn(
            f"`input_shape` is undefined or non-square, or `rows` is not in {list(sides)}. Weights for "
            "input shape (224, 224) will be loaded as the default.",
            stacklevel=5,  # the user's call of MobileNet(V2), through _check_imagenet and shape_and_weights
        )
        return 224
    return rows


def shape_and_weights(model: str, input_shape, default: int, data_format: str, weights, include_top, check, origin):
    """(input shape, input side, weights path) of MobileNet or MobileNetV2, as Keras finds them.

    With ImageNet weights `check(rows, cols)` applies the model's checks and returns the side whose published
    file loads; `origin` is (the files' URL folder, a function naming the file: `(side, include_top) -> name`).
    """
    shape = imagenet_utils.obtain_input_shape(input_shape, default, 32, data_format, include_top, weights)
    rows, cols = shape[1:] if data_format == "channels_first" else shape[:2]
    if weights == "imagenet":
        rows = check(rows, cols)
    folder, file_name = origin
    top, no_top = ((file_name(rows, flag), None) for flag in (True, False))  # Keras publishes no hashes for these
    return shape, rows, imagenet_utils.weights_path(weights, model, folder, top, no_top, include_top)


def _check_imagenet(alpha, depth_multiplier, rows, cols) -> int:
    """Keras's checks of MobileNet's extras with ImageNet weights; the side whose weights file is loaded."""
    if depth_multiplier != 1:
        raise ValueError(
            "MobileNet: if imagenet weights are being loaded, depth multiplier must be 1. "
            f"Received depth_multiplier={depth_multiplier}"
        )
    if alpha not in ALPHAS:
        raise ValueError(
            "MobileNet: if imagenet weights are being loaded, alpha can be one of `0.25`, `0.50`, `0.75` or "
            f"`1.0` only. Received alpha={alpha}"
        )
    return imagenet_side(rows, cols, SIZES)


def _conv_block(x, filters, alpha, channel_axis):
    """The stem: a strided 3x3 convolution, batch normalization and ReLU6."""
    from lamina import layers

    x = layers.Conv2D(int(filters * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2), name="conv1")(x)
    x = layers.BatchNormalization(axis=channel_axis, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(x, filters, alpha, depth_multiplier, stride, block_id, channel_axis):
    """A 3x3 depthwise convolution and a 1x1 pointwise one, each with batch normalization and ReLU6."""
    from lamina import layers

    if stride != 1:  # Keras pads bottom and right only, then convolves "valid"
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        (3, 3),
        padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=(stride, stride),
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(
        int(filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1), name=f"conv_pw_{block_id}"
    )(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _top(x, include_top, pooling, dropout, classes, classifier_activation):
    """The classifier (pooling, dropout, a 1x1 convolution) or, without it, the optional global pooling."""
    from lamina import layers

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        return layers.Activation(classifier_activation, name="predictions")(x)
    return global_pool(x, pooling)


def MobileNet(  # noqa: N802 - Keras's name
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """The MobileNet model, optionally with Keras's ImageNet weights (4,253,864 parameters at alpha 1 with the top).

    Args:
        input_shape: (height, width, 3), each side at least 32; with the top and ImageNet weights, square with a
            side of 128, 160, 192 or 224 (the default 224).
        alpha: the width multiplier: every layer has `alpha` times the paper's filters (ImageNet weights exist
            for 0.25, 0.5, 0.75 and 1.0).
        depth_multiplier: the outputs per input channel of each depthwise convolution (1 with ImageNet weights).
        dropout: the rate of the dropout before the classifier.
        include_top: whether to end with the classifier (global pooling, dropout, a 1x1 convolution).
        weights: None, "imagenet" (Keras's published file for `alpha` and the input side) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name (default `mobilenet_<alpha>_<side>`, as Keras).

    Example:
        >>> MobileNet(weights=None, alpha=0.5, include_top=False, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 512)
    """
    from lamina import config

    imagenet_utils.check_arguments("MobileNet", weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    default = square_side(input_shape, data_format, SIZES)
    check, origin = partial(_check_imagenet, alpha, depth_multiplier), (WEIGHTS_ORIGIN, partial(weights_file, alpha))
    shape, rows, path = shape_and_weights(
        "MobileNet", input_shape, default, data_format, weights, include_top, check, origin
    )
    channel_axis = 1 if data_format == "channels_first" else -1
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = _conv_block(x, 32, alpha, channel_axis)
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, stride, block_id, channel_axis)
    x = _top(x, include_top, pooling, dropout, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name or f"mobilenet_{alpha:0.2f}_{rows}", path)


def preprocess_input(x, data_format=None):
    """Scales RGB values in [0, 255] to [-1, 1], as MobileNet was trained (Keras's "tf" mode).

    Example:
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0))[0, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
