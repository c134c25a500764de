"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019) as Keras builds them: the same layer names, order
and weights.

The models scale their input themselves (a `Rescaling` layer to [-1, 1] unless `include_preprocessing=False`),
so `preprocess_input` here returns its input unchanged, as in Keras. `minimalistic` drops the squeeze-and-excite
blocks, the hard-swish activations and the 5x5 kernels. Keras publishes ImageNet weights for alpha 0.75 and 1.0
(1.0 only when minimalistic), for 224x224 inputs.

Layer names are Keras 3's (`conv_bn`, `expanded_conv_1_expand`, `logits`). tf.keras (Keras 2) named the same layers
`Conv/BatchNorm`, `expanded_conv_1/expand`, `Logits` (`keras2_layer_name`); each model carries the table of those
names for its layers with weights (`model._keras2_layer_names`, not saved in its config), so a weights file a
tf.keras user saved loads with `load_weights(path, by_name=True)` as well as by order.

Example:
    >>> model = MobileNetV3Small(weights="imagenet")
    >>> decode_predictions(model.predict(images))  # RGB values in [0, 255]
"""

from __future__ import annotations

import re
import warnings
from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._heads import global_pool
from lamina.applications.mobilenet_v2 import make_divisible, tensor_shape

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
# variant -> (md5 of the file with the top, md5 of the file without it), as Keras checks them.
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

# The inverted residual blocks: (expansion, filters, kernel, stride, squeeze-excite, the variant's activation).
# Kernel 0 is the variant's kernel (5, or 3 when minimalistic); without the last flag a block uses ReLU;
# minimalistic models drop squeeze-excite and use ReLU throughout.
SMALL_BLOCKS = (
    (1, 16, 3, 2, True, False), (72 / 16, 24, 3, 2, False, False), (88 / 24, 24, 3, 1, False, False),
    (4, 40, 0, 2, True, True), (6, 40, 0, 1, True, True), (6, 40, 0, 1, True, True),
    (3, 48, 0, 1, True, True), (3, 48, 0, 1, True, True),
    (6, 96, 0, 2, True, True), (6, 96, 0, 1, True, True), (6, 96, 0, 1, True, True),
)  # fmt: skip
LARGE_BLOCKS = (
    (1, 16, 3, 1, False, False), (4, 24, 3, 2, False, False), (3, 24, 3, 1, False, False),
    (3, 40, 0, 2, True, False), (3, 40, 0, 1, True, False), (3, 40, 0, 1, True, False),
    (6, 80, 3, 2, False, True), (2.5, 80, 3, 1, False, True), (2.3, 80, 3, 1, False, True),
    (2.3, 80, 3, 1, False, True), (6, 112, 3, 1, True, True), (6, 112, 3, 1, True, True),
    (6, 160, 0, 2, True, True), (6, 160, 0, 1, True, True), (6, 160, 0, 1, True, True),
)  # fmt: skip


def relu(x):
    """A `ReLU` layer applied to `x`."""
    from lamina import layers

    return layers.ReLU()(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6 as Keras builds it: a `ReLU(6.0)` layer between two arithmetic nodes (lamina `OpLambda`s,
    which Keras 3 keeps out of `model.layers` and tf.keras lists as `TFOpLambda` layers)."""
    from lamina import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    """An `Activation("hard_swish")` layer applied to `x`: x * relu6(x + 3) / 6."""
    from lamina import layers

    return layers.Activation("hard_swish")(x)


def _batch_norm(x, channel_axis, name):
    from lamina import layers

    return layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=name)(x)


def _se_block(inputs, filters, se_ratio, prefix):
    """Squeeze and excite: the channels scaled by a hard sigmoid of two 1x1 convolutions of their means."""
    from lamina import layers

    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(make_divisible(filters * se_ratio), 1, padding="same", name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation, block_id, channel_axis):
    """Expand (1x1, except block 0), depthwise, optional squeeze-excite, project; a residual sum when shapes allow."""
    from lamina import layers

    shortcut = x
    infilters = x.shape[channel_axis]
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(
            make_divisible(infilters * expansion), 1, padding="same", use_bias=False, name=f"{prefix}expand"
        )(x)
        x = activation(_batch_norm(x, channel_axis, f"{prefix}expand_bn"))
    if stride == 2:
        pad = imagenet_utils.correct_pad(x, kernel_size)
        x = layers.ZeroPadding2D(padding=pad, name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        name=f"{prefix}depthwise",
    )(x)
    x = activation(_batch_norm(x, channel_axis, f"{prefix}depthwise_bn"))
    if se_ratio:
        x = _se_block(x, make_divisible(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(x, channel_axis, f"{prefix}project_bn")
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _input_shape(input_shape, input_tensor, data_format: str) -> tuple:
    """Keras's MobileNetV3 input shape: the given one (its width matching `input_tensor`'s), the tensor's, or
    free sides; each known side at least 32."""
    first = data_format == "channels_first"
    given = tensor_shape("MobileNetV3", input_shape, input_tensor, data_format)
    if input_shape is None:
        input_shape = given or ((3, None, None) if first else (None, None, 3))
    input_shape = tuple(input_shape)
    rows, cols = input_shape[1:3] if first else input_shape[:2]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    return input_shape


def weights_file(model_type: str, minimalistic: bool, alpha: float, include_top: bool) -> tuple:
    """(file name, md5) of Keras's ImageNet weights for a variant.

    Example:
        >>> weights_file("small", False, 0.75, include_top=False)
        ('weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5', 'ebdb5cc8e0b497cd13a7c275d475c819')
    """
    variant = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{float(alpha)}_float"
    name = f"weights_mobilenet_v3_{variant}{'' if include_top else '_no_top_v2'}.h5"
    return name, WEIGHTS_HASHES[variant][0 if include_top else 1]


def _check_imagenet(alpha, minimalistic, rows, cols) -> None:
    """Keras's checks of `alpha` and the input side with ImageNet weights."""
    if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
        raise ValueError(
            "MobileNetV3: if imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non "
            f"minimalistic or `1.0` for minimalistic only. Received alpha={alpha}, minimalistic={minimalistic}"
        )
    if rows != cols or rows != 224:
        warnings.warn(
            "`input_shape` is undefined or non-square, or `rows` is not 224. Weights for input shape (224, 224) "
            "will be loaded as the default.",
            stacklevel=4,
        )


def _top(x, include_top, pooling, last_point_ch, activation, dropout_rate, classes, classifier_activation):
    """The classifier (pooling, a 1x1 convolution, dropout, the logits' 1x1 convolution) or the optional pooling."""
    from lamina import layers

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, 1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        return layers.Activation(classifier_activation, name="predictions")(x)
    return global_pool(x, pooling, ("avg_pool", "max_pool"))


def keras2_layer_name(name: str) -> str:
    """tf-keras's (Keras 2's) name of the MobileNetV3 layer lamina and Keras 3 name `name`.

    Keras 2 joined a block's prefix and the layer's part with a slash, called batch normalizations
    `<conv>/BatchNorm` and paddings `<conv>/pad`, capitalized the words of the stem, head and squeeze-and-excite
    layers (`Conv_1`, `Logits`, `squeeze_excite/AvgPool`, `Add`) and kept the block's own convolutions lower case
    (`expand`, `depthwise`, `project`).

    Example:
        >>> keras2_layer_name("expanded_conv_3_squeeze_excite_conv_1")
        'expanded_conv_3/squeeze_excite/Conv_1'
        >>> keras2_layer_name("conv_1_bn")
        'Conv_1/BatchNorm'
    """
    block = re.fullmatch(r"(expanded_conv(?:_\d+)?)_(.+)", name)
    if block is None:
        return _keras2_part(name)
    prefix, part = block.groups()
    if part.startswith("squeeze_excite_"):
        return f"{prefix}/squeeze_excite/{_capitalized(part[len('squeeze_excite_') :])}"
    return f"{prefix}/{_keras2_part(part)}"


def _keras2_part(part: str) -> str:
    for suffix, keras2 in (("_bn", "/BatchNorm"), ("_pad", "/pad")):
        if part.endswith(suffix):
            return _keras2_part(part[: -len(suffix)]) + keras2
    return part if part in ("expand", "depthwise", "project") else _capitalized(part)


def _capitalized(part: str) -> str:
    """`avg_pool` -> `AvgPool`, `conv_1` -> `Conv_1`: words capitalized and joined, numbers kept after `_`."""
    words = part.split("_")
    return words[0].capitalize() + "".join(w.capitalize() if not w.isdigit() else f"_{w}" for w in words[1:])


def _finish(inputs, outputs, name: str, path):
    """The Functional model, carrying Keras 2's names of its layers with weights (so files tf.keras wrote load by
    name too: `hdf5.load_weights_from_group`), with the weights at `path` loaded if given."""
    model = imagenet_utils.finish(inputs, outputs, name, None)
    # Not part of the config: a model re-created from a saved file has no table (see keras2_aliases).
    model._keras2_layer_names = {keras2_layer_name(lay.name): lay.name for lay in model.layers if lay.weights}
    if path is not None:
        model.load_weights(path)
    return model


def _mobilenet_v3(blocks, last_point_ch, model_type, **args):
    """The MobileNetV3 network with inverted residual `blocks`; `args` are the public function's arguments."""
    from lamina import config, layers

    alpha, minimalistic, weights, include_top = (args[k] for k in ("alpha", "minimalistic", "weights", "include_top"))
    imagenet_utils.check_arguments(args["name"], weights, include_top, args["classes"], args["classifier_activation"])
    data_format = config.image_data_format()
    channel_axis = 1 if data_format == "channels_first" else -1
    shape = _input_shape(args["input_shape"], args["input_tensor"], data_format)
    if weights == "imagenet":
        _check_imagenet(alpha, minimalistic, *(shape[1:3] if channel_axis == 1 else shape[:2]))
        top, no_top = (weights_file(model_type, minimalistic, alpha, flag) for flag in (True, False))
    else:
        top = no_top = (None, None)
    path = imagenet_utils.weights_path(weights, args["name"], WEIGHTS_ORIGIN, top, no_top, include_top)
    kernel, activation, se_ratio = (3, relu, None) if minimalistic else (5, hard_swish, 0.25)
    x, inputs = imagenet_utils.model_input(args["input_tensor"], shape)
    if args["include_preprocessing"]:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, 3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = activation(_batch_norm(x, channel_axis, "conv_bn"))
    for block_id, (expansion, filters, size, stride, excite, own) in enumerate(blocks):
        x = _inverted_res_block(
            x,
            expansion,
            make_divisible(filters * alpha),
            size or kernel,
            stride,
            se_ratio if excite else None,
            activation if own else relu,
            block_id,
            channel_axis,
        )
    last_conv_ch = make_divisible(x.shape[channel_axis] * 6)
    if alpha > 1.0:  # wider models widen the classifier's hidden layer too
        last_point_ch = make_divisible(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = activation(_batch_norm(x, channel_axis, "conv_1_bn"))
    x = _top(
        x,
        include_top,
        args["pooling"],
        last_point_ch,
        activation,
        args["dropout_rate"],
        args["classes"],
        args["classifier_activation"],
    )
    return _finish(inputs, x, args["name"], path)


_VARIANT_DOC = (
    "The MobileNetV3{size} model, optionally with Keras's ImageNet weights ({params} parameters with the top).\n"
    """
    Args:
        input_shape: (height, width, 3), each known side at least 32; None leaves the sides free (the model
            pools globally, so any size works, with or without the top).
        alpha: the width multiplier (ImageNet weights exist for 0.75 and 1.0, 1.0 only when minimalistic).
        minimalistic: without squeeze-and-excite, hard-swish and 5x5 kernels (ReLU and 3x3 throughout).
        include_top: whether to end with the classifier (pooling, two 1x1 convolutions, dropout between them).
        weights: None, "imagenet" (Keras's published file for the variant) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        classes: the number of classes with the top and no pretrained weights.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        dropout_rate: the rate of the dropout before the last convolution (0 leaves the layer out).
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        include_preprocessing: whether the model starts by scaling RGB values in [0, 255] to [-1, 1].
        name: the model's name.

    Example:
        >>> MobileNetV3{size}(weights=None, include_top=False, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, {channels})
    """
)
# Keras's order: the shared arguments rearranged, with MobileNetV3's own among them.
_SHARED = dict(imagenet_utils.SHARED_ARGUMENTS)
_ARGUMENTS = (
    ("input_shape", None),
    ("alpha", 1.0),
    ("minimalistic", False),
    *((key, _SHARED[key]) for key in ("include_top", "weights", "input_tensor", "classes", "pooling")),
    ("dropout_rate", 0.2),
    ("classifier_activation", "softmax"),
    ("include_preprocessing", True),
)


def _public(size: str, blocks, last_point_ch: int, params: str, channels: int):
    """The public function `MobileNetV3<size>`, with Keras's signature."""
    doc = _VARIANT_DOC.format(size=size, params=params, channels=channels)
    build = partial(_mobilenet_v3, blocks, last_point_ch, size.lower())
    arguments = (*_ARGUMENTS, ("name", f"MobileNetV3{size}"))
    return imagenet_utils.model_function(f"MobileNetV3{size}", build, doc, arguments, __name__)


MobileNetV3Small = _public("Small", SMALL_BLOCKS, 1024, "2,554,968", 576)
MobileNetV3Large = _public("Large", LARGE_BLOCKS, 1280, "5,507,432", 960)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: MobileNetV3 scales its input itself (kept, as in Keras, for code that calls it).

    Example:
        >>> preprocess_input(images) is images
        True
    """
    return x


decode_predictions = imagenet_utils.decode_predictions
