"""NASNet-A (Zoph et al., 2018) as Keras builds it: the same layer names, order and weights.

The network is a stem convolution, two reduction cells, then three stacks of `num_blocks` normal cells separated
by reduction cells. Each cell takes the two previous cells' outputs (`ip` and `p`); `p` is first adjusted to
`ip`'s size and width (a factorized reduction through ZeroPadding2D/Cropping2D when the sizes differ, a 1x1
projection when only the widths do). Keras's NASNet only supports `channels_last`, and so does this one.

Example:
    >>> model = NASNetMobile(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._heads import dense_classifier

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"
# default size -> {include_top: (URL file name, local file name, md5)}, as Keras fetches them
WEIGHTS = {
    224: {
        True: ("NASNet-mobile.h5", "nasnet_mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
        False: ("NASNet-mobile-no-top.h5", "nasnet_mobile_no_top.h5", "1ed92395b5b598bdda52abe5c0dbfd63"),
    },
    331: {
        True: ("NASNet-large.h5", "nasnet_large.h5", "11577c9a518f0070763c2b964a382f17"),
        False: ("NASNet-large-no-top.h5", "nasnet_large_no_top.h5", "d81d89dc07e6e56530c4e77faddd61b5"),
    },
}
MOMENTUM, EPSILON = 0.9997, 1e-3


def _bn(x, name):
    from lamina import layers

    return layers.BatchNormalization(axis=-1, momentum=MOMENTUM, epsilon=EPSILON, name=name)(x)


def _conv1x1(x, filters, name):
    from lamina import layers

    return layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, kernel_initializer="he_normal", name=name)(x)


def _separable_conv_block(x, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """Two [ReLU, separable conv, BN] units; the first one strided (after Keras's padding) when asked."""
    from lamina import layers

    x = layers.Activation("relu")(x)
    padding = "same"
    if strides == (2, 2):
        pads = imagenet_utils.correct_pad(x, kernel_size)
        x = layers.ZeroPadding2D(padding=pads, name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    for index in (1, 2):
        if index == 2:
            x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(
            filters,
            kernel_size,
            strides=strides if index == 1 else (1, 1),
            padding=padding if index == 1 else "same",
            use_bias=False,
            name=f"separable_conv_{index}_{block_id}",
        )(x)
        x = _bn(x, f"separable_conv_{index}_bn_{block_id}")
    return x


def _factorized_reduction(p, filters, block_id):
    """Halves `p`'s size: two 1x1 convs (filters // 2 each) over stride-2 samples at offsets 0 and 1."""
    from lamina import layers

    p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
    p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
    p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
    p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
    p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
    p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_2_{block_id}")(p2)
    p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
    p = layers.concatenate([p1, p2], axis=-1)
    return _bn(p, f"adjust_bn_{block_id}")


def _adjust_block(p, ip, filters, block_id=None):
    """The previous path `p` made to match `ip`'s width (image side) and `filters` channels."""
    from lamina import layers

    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        return _factorized_reduction(p, filters, block_id)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return _bn(p, f"adjust_bn_{block_id}")
    return p


def _cell_input(ip, p, filters, kind, block_id):
    """(adjusted p, h): the previous path adjusted, and ReLU-1x1 conv-BN of the cell's input."""
    from lamina import layers

    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation("relu")(ip)
    h = _conv1x1(h, filters, f"{kind}_conv_1_{block_id}")
    return p, _bn(h, f"{kind}_bn_1_{block_id}")


def _avg_pool_same(x, name):
    from lamina import layers

    return layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=name)(x)


def _normal_a_cell(ip, p, filters, block_id=None):
    """A NASNet-A normal cell (Fig. 4 of the paper): the same size out, six branches concatenated."""
    from lamina import layers

    p, h = _cell_input(ip, p, filters, "normal", block_id)
    x1_1 = _separable_conv_block(h, filters, kernel_size=(5, 5), block_id=f"normal_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"normal_add_1_{block_id}")
    x2_1 = _separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}")
    x2_2 = _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"normal_add_2_{block_id}")
    x3 = _avg_pool_same(h, f"normal_left3_{block_id}")
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")
    x4_1 = _avg_pool_same(p, f"normal_left4_{block_id}")
    x4_2 = _avg_pool_same(p, f"normal_right4_{block_id}")
    x4 = layers.add([x4_1, x4_2], name=f"normal_add_4_{block_id}")
    x5 = _separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    """A NASNet-A reduction cell (Fig. 4 of the paper): half the size out, four branches concatenated."""
    from lamina import layers

    p, h = _cell_input(ip, p, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    x1_1 = _separable_conv_block(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"reduction_add_1_{block_id}")
    x2_1 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left2_{block_id}")(h3)
    x2_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{block_id}")
    x3_1 = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left3_{block_id}")(h3)
    x3_2 = _separable_conv_block(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}")
    x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{block_id}")
    x4 = _avg_pool_same(x1, f"reduction_left4_{block_id}")
    x4 = layers.add([x2, x4])
    x5_1 = _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}")
    x5_2 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_right5_{block_id}")(h3)
    x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def _check_nasnet(input_shape, penultimate_filters, filter_multiplier, weights, default_size):
    """Keras's NASNet-specific argument checks (data format, static shape with ImageNet weights, widths)."""
    from lamina import config

    if config.image_data_format() == "channels_first":
        raise ValueError(
            "NASNet does not support the `channels_first` image data format. Switch to `channels_last` by "
            "editing your local config file at ~/.keras/keras.json"
        )
    if isinstance(input_shape, (tuple, list)) and None in input_shape and weights == "imagenet":
        raise ValueError(
            "When specifying the input shape of a NASNet and loading `ImageNet` weights, the input_shape argument "
            f"must be static (no None entries). Got: `input_shape={input_shape}`."
        )
    if penultimate_filters % (24 * (filter_multiplier**2)) != 0:
        raise ValueError(
            "For NASNet-A models, the `penultimate_filters` must be a multiple of 24 * (`filter_multiplier` ** 2). "
            f"Current value: {penultimate_filters}"
        )
    if weights == "imagenet" and default_size not in WEIGHTS:
        raise ValueError(
            "ImageNet weights can only be loaded with NASNetLarge or NASNetMobile (default_size 331 or 224). "
            f"Received: default_size={default_size}"
        )


def _weights_file(weights, default_size, include_top):
    """The weights file to load: None, the user's path, or Keras's ImageNet file for this model size."""
    if weights != "imagenet":
        return weights
    url_name, fname, file_hash = WEIGHTS[default_size][bool(include_top)]
    model = "NASNetMobile" if default_size == 224 else "NASNetLarge"
    return imagenet_utils.fetch(fname, WEIGHTS_ORIGIN + url_name, file_hash, f"{model}'s ImageNet weights")


def _nasnet_body(x, p, filters, num_blocks, skip_reduction, filter_multiplier):
    """The two stem reduction cells, then three stacks of normal cells separated by two reduction cells."""
    x, p = _reduction_a_cell(x, p, filters // (filter_multiplier**2), block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stack in range(3):
        width = filters * filter_multiplier**stack
        if stack > 0:
            x, p0 = _reduction_a_cell(x, p, width, block_id=f"reduce_{stack * num_blocks}")
            p = p if skip_reduction else p0
        for index in range(num_blocks):
            block = index if stack == 0 else stack * num_blocks + index + 1
            x, p = _normal_a_cell(x, p, width, block_id=f"{block}")
    return x


def NASNet(  # noqa: N802 - Keras's name
    input_shape=None,
    penultimate_filters=4032,
    num_blocks=6,
    stem_block_filters=96,
    skip_reduction=True,
    filter_multiplier=2,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    default_size=None,
    classifier_activation="softmax",
    name="NASNet",
):
    """A NASNet-A model `NASNet (num_blocks @ penultimate_filters)`, as Keras builds it.

    Args:
        input_shape: (height, width, 3), each side at least 32; with the top and ImageNet weights it must be
            (default_size, default_size, 3). Only `channels_last` is supported, as in Keras.
        penultimate_filters: channels of the last normal cells' branches times 24; a multiple of
            24 * filter_multiplier ** 2.
        num_blocks: normal cells in each of the three stacks.
        stem_block_filters: filters of the stem convolution.
        skip_reduction: whether the first normal cell after each inner reduction cell keeps, as its previous
            path, the one the reduction cell had (NASNetLarge) rather than the reduction cell's input (NASNetMobile).
        filter_multiplier: how much wider each stack is than the one before.
        include_top: whether to end with global average pooling and the `predictions` dense layer.
        weights: None, "imagenet" (Keras's file for default_size 224 or 331) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        default_size: the default image side (331 when None).
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> NASNet((64, 64, 3), penultimate_filters=96, num_blocks=1, stem_block_filters=8, weights=None,
        ...        include_top=False, pooling="avg").output_shape
        (None, 96)
    """
    from lamina import layers

    default_size = 331 if default_size is None else default_size
    _check_nasnet(input_shape, penultimate_filters, filter_multiplier, weights, default_size)
    imagenet_utils.check_arguments(name, weights, include_top, classes, classifier_activation)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size, 32, "channels_last", include_top, weights)
    path = _weights_file(weights, default_size, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = layers.Conv2D(
        stem_block_filters,
        (3, 3),
        strides=(2, 2),
        padding="valid",
        use_bias=False,
        kernel_initializer="he_normal",
        name="stem_conv1",
    )(x)
    x = _bn(x, "stem_bn1")
    x = _nasnet_body(x, None, penultimate_filters // 24, num_blocks, skip_reduction, filter_multiplier)
    x = layers.Activation("relu")(x)
    x = dense_classifier(x, include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name, path)


def _preset(
    penultimate_filters, num_blocks, stem_block_filters, skip_reduction, default_size, input_shape, **arguments
):
    """A published NASNet-A; without the top and an `input_shape`, NASNetMobile's input is 224x224x3, as Keras's."""
    if default_size == 224 and not arguments["include_top"] and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(
        input_shape,
        penultimate_filters=penultimate_filters,
        num_blocks=num_blocks,
        stem_block_filters=stem_block_filters,
        skip_reduction=skip_reduction,
        filter_multiplier=2,
        default_size=default_size,
        **arguments,
    )


_PRESET_DOC = """NASNet-A ({num_blocks} @ {filters}), {params} parameters with the top; default input {size}x{size}x3.

    The arguments are `NASNet`'s.{note} Inputs are preprocessed by this module's `preprocess_input` (tf mode:
    scaled to [-1, 1]).

    Example:
        >>> {public_name}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, {filters})
    """
# Keras's order: input_shape first, then the shared arguments.
_ARGUMENTS = (("input_shape", None), *(item for item in imagenet_utils.SHARED_ARGUMENTS if item[0] != "input_shape"))


def _public(public_name, name, preset, params, note=""):
    """The public function `public_name`: the NASNet-A `preset` (filters, blocks, stem, skip, size)."""
    filters, num_blocks, _, _, size = preset
    doc = _PRESET_DOC.format(
        num_blocks=num_blocks, filters=filters, params=params, size=size, note=note, public_name=public_name
    )
    build = partial(_preset, *preset)
    return imagenet_utils.model_function(public_name, build, doc, (*_ARGUMENTS, ("name", name)), __name__)


NASNetMobile = _public(
    "NASNetMobile",
    "nasnet_mobile",
    (1056, 4, 32, False, 224),
    "5,326,716",
    " Without the top and an `input_shape`, the input is (224, 224, 3), as in Keras.",
)
NASNetLarge = _public("NASNetLarge", "nasnet_large", (4032, 6, 96, True, 331), "88,949,818")


def preprocess_input(x, data_format=None):
    """Keras's NASNet preprocessing (tf mode): RGB values in [0, 255] scaled to [-1, 1].

    Example:
        >>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))[0, 0, 0]
        array([-1.,  0.,  1.], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
