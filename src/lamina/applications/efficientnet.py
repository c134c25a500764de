"""EfficientNet B0 to B7 (Tan & Le, 2019) as Keras builds them: the same layer names, order and weights.

The models preprocess inside: a `Rescaling` by 1/255 and a `Normalization` whose mean/variance/count weights come
with the ImageNet files; with `weights="imagenet"` Keras adds one more `Rescaling` by 1/sqrt(stddev) per channel
(the published weights were trained with inputs divided by the variance, not the standard deviation). The models
take RGB values in [0, 255], so `preprocess_input` here is a pass-through.

Example:
    >>> model = EfficientNetB0(weights="imagenet")
    >>> decode_predictions(model.predict(images))  # images: RGB in [0, 255]
"""

from __future__ import annotations

import math
from functools import partial

from lamina.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/keras-applications/"
# variant -> (md5 of the file with the classifier, md5 of the file without), as Keras publishes them.
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)

# One row per stage: kernel size, repeats, filters in, filters out, expansion ratio, strides, squeeze-excite ratio.
DEFAULT_BLOCKS_ARGS = (
    (3, 1, 32, 16, 1, 1, 0.25),
    (3, 2, 16, 24, 6, 2, 0.25),
    (5, 2, 24, 40, 6, 2, 0.25),
    (3, 3, 40, 80, 6, 2, 0.25),
    (5, 3, 80, 112, 6, 1, 0.25),
    (5, 4, 112, 192, 6, 2, 0.25),
    (3, 1, 192, 320, 6, 1, 0.25),
)
# variant -> (width coefficient, depth coefficient, default input size, dropout rate before the classifier).
VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}


def round_filters(filters, width_coefficient, divisor=8):
    """`filters` scaled by the width coefficient, to a multiple of `divisor`, never more than 10% below.

    Example:
        >>> round_filters(32, 1.1)
        32
    """
    filters *= width_coefficient
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * filters:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats, depth_coefficient):
    """`repeats` scaled by the depth coefficient, rounded up (EfficientNetB7: 4 x 3.1 -> 13)."""
    return int(math.ceil(depth_coefficient * repeats))


def channel_axis():
    """The channel axis of an image batch in the configured data format (3 or 1)."""
    from lamina import config

    return 3 if config.image_data_format() == "channels_last" else 1


def squeeze_excite(x, filters, filters_in, se_ratio, activation, name):
    """Keras's squeeze-and-excite for 0 < `se_ratio` <= 1 (else `x` as it is): global pooling, 1x1 reduce (to
    `filters_in * se_ratio` channels) and expand convolutions, the input scaled by the result."""
    from lamina import layers

    if not 0 < se_ratio <= 1:
        return x
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (1, 1, filters) if channel_axis() == 3 else (filters, 1, 1)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    conv = dict(padding="same", kernel_initializer=CONV_KERNEL_INITIALIZER)
    filters_se = max(1, int(filters_in * se_ratio))
    se = layers.Conv2D(filters_se, 1, activation=activation, name=f"{name}se_reduce", **conv)(se)
    se = layers.Conv2D(filters, 1, activation="sigmoid", name=f"{name}se_expand", **conv)(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def conv_bn(x, filters, kernel, name, activation=None, strides=1, padding="same", momentum=0.99, conv="conv"):
    """A bias-free convolution `{name}{conv}` (depthwise where `filters` is None), its `BatchNormalization`
    `{name}bn` and, given an activation, `{name}activation`."""
    from lamina import layers

    options = dict(strides=strides, padding=padding, use_bias=False, name=f"{name}{conv}")
    if filters is None:
        x = layers.DepthwiseConv2D(kernel, depthwise_initializer=CONV_KERNEL_INITIALIZER, **options)(x)
    else:
        x = layers.Conv2D(filters, kernel, kernel_initializer=CONV_KERNEL_INITIALIZER, **options)(x)
    x = layers.BatchNormalization(axis=channel_axis(), momentum=momentum, name=f"{name}bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}activation")(x)
    return x


def residual(x, inputs, strides, filters_in, filters_out, drop_rate, name):
    """The skip connection where the block keeps the shape (stride 1, as many filters out as in), with Keras's
    drop-connect: a `Dropout` of whole samples (noise shape (None, 1, 1, 1))."""
    from lamina import layers

    if strides != 1 or filters_in != filters_out:
        return x
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def block(inputs, activation, drop_rate, name, filters_in, filters_out, kernel_size, strides, expand_ratio, se_ratio):
    """Keras's inverted residual block (MBConv): expand, depthwise, squeeze-excite, project, skip."""
    from lamina import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, 1, f"{name}expand_", activation)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
        padding = "valid"
    x = conv_bn(x, None, kernel_size, name, activation, strides, padding, conv="dwconv")
    x = squeeze_excite(x, filters, filters_in, se_ratio, activation, name)
    x = conv_bn(x, filters_out, 1, f"{name}project_")
    return residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def head(x, include_top, pooling, classes, classifier_activation, dropout_rate):
    """The classifier (average pooling, dropout, `predictions`) or, without it, the optional global pooling."""
    from lamina import layers

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        return layers.Dense(
            classes,
            activation=classifier_activation,
            kernel_initializer=DENSE_KERNEL_INITIALIZER,
            name="predictions",
        )(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def _stages(x, width, depth, activation="swish", drop_connect_rate=0.2):
    """The seven stages of blocks, named block1a, block1b, ... as Keras names them."""
    total = float(sum(round_repeats(row[1], depth) for row in DEFAULT_BLOCKS_ARGS))
    done = 0
    for stage, (kernel, repeats, filters_in, filters_out, expand, strides, se_ratio) in enumerate(
        DEFAULT_BLOCKS_ARGS, start=1
    ):
        filters_in, filters_out = round_filters(filters_in, width), round_filters(filters_out, width)
        for index in range(round_repeats(repeats, depth)):
            x = block(
                x,
                activation,
                drop_connect_rate * done / total,
                f"block{stage}{chr(97 + index)}_",
                filters_in if index == 0 else filters_out,
                filters_out,
                kernel,
                strides if index == 0 else 1,
                expand,
                se_ratio,
            )
            done += 1
    return x


def build_model(
    spec, body, name, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation
):
    """An EfficientNet or EfficientNetV2 from the public function's arguments, as Keras checks and builds it.

    `spec` is (title, (origin, stem, (md5 with the classifier, md5 without)), default input size, dropout rate before
    the classifier), Keras's files being `{stem}.h5` and `{stem}_notop.h5` under `origin`; `body(x, shape, weights)`
    gives the layers from the input to `top_activation`.

    Example:
        >>> spec = ("EfficientNetB0", (WEIGHTS_ORIGIN, "efficientnetb0", WEIGHTS_HASHES["b0"]), 224, 0.2)
        >>> identity = lambda x, shape, weights: x
        >>> model = build_model(spec, identity, "tiny", False, None, None, (64, 64, 3), "max", 1000, None)
        >>> model.output_shape  # the input, globally max-pooled
        (None, 3)
    """
    from lamina import config

    title, (origin, stem, (top_hash, no_top_hash)), default_size, dropout_rate = spec
    imagenet_utils.check_arguments(title, weights, include_top, classes, classifier_activation)
    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size, 32, config.image_data_format(), include_top, weights
    )
    top, no_top = (f"{stem}.h5", top_hash), (f"{stem}_notop.h5", no_top_hash)
    path = imagenet_utils.weights_path(weights, title, origin, top, no_top, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = head(body(x, shape, weights), include_top, pooling, classes, classifier_activation, dropout_rate)
    return imagenet_utils.finish(inputs, x, name, path)


def build_efficientnet(variant, name, **arguments):
    """The EfficientNet `variant` ("b0" to "b7"); `arguments`: the seven every application takes, by keyword."""
    from lamina import layers

    width, depth, default_size, dropout_rate = VARIANTS[variant]

    def body(x, shape, weights):
        x = layers.Rescaling(1.0 / 255.0)(x)
        x = layers.Normalization(axis=channel_axis())(x)
        if weights == "imagenet":  # as Keras: only the published weights need the extra 1/sqrt(stddev)
            x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
        x = conv_bn(x, round_filters(32, width), 3, "stem_", "swish", strides=2, padding="valid")
        x = _stages(x, width, depth)
        return conv_bn(x, round_filters(1280, width), 1, "top_", "swish")

    files = (WEIGHTS_ORIGIN, f"efficientnet{variant}", WEIGHTS_HASHES[variant])
    spec = (f"EfficientNet{variant.upper()}", files, default_size, dropout_rate)
    return build_model(spec, body, name, **arguments)


DOC = """{title} ({parameters:,} parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> {title}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, {features})

    Args:
        include_top: whether to end with the classifier (then the input must be {size}x{size} with ImageNet weights).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 32; the default is ({size}, {size}, 3).
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
{more}        name: the model's name.
"""


def _size(variant, parameters):
    """The public function of EfficientNet `variant`, with Keras's signature and a docstring from `DOC`."""
    title = f"EfficientNet{variant.upper()}"
    width, _, size, _ = VARIANTS[variant]
    doc = DOC.format(title=title, parameters=parameters, size=size, features=round_filters(1280, width), more="")
    doc += "\n    The model takes RGB values in [0, 255]: its own first layers rescale and normalize them.\n"
    arguments = (*imagenet_utils.SHARED_ARGUMENTS, ("name", f"efficientnet{variant}"))
    return imagenet_utils.model_function(title, partial(build_efficientnet, variant), doc, arguments, __name__)


EfficientNetB0 = _size("b0", 5_330_571)
EfficientNetB1 = _size("b1", 7_856_239)
EfficientNetB2 = _size("b2", 9_177_569)
EfficientNetB3 = _size("b3", 12_320_535)
EfficientNetB4 = _size("b4", 19_466_823)
EfficientNetB5 = _size("b5", 30_562_527)
EfficientNetB6 = _size("b6", 43_265_143)
EfficientNetB7 = _size("b7", 66_658_687)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: EfficientNet and EfficientNetV2 models rescale inside (kept for Keras's API).

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
