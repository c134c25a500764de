"""DenseNet (Huang et al., 2017) as Keras builds it: the same layer names, order and weights.

Each dense block stacks conv blocks whose outputs are concatenated onto their inputs (32 new channels each);
transition blocks halve the channels and the image size in between. Keras's DenseNet only supports
`channels_last`, and so does this one.

Example:
    >>> model = DenseNet121(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

import numbers
from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._heads import dense_classifier

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
# blocks per dense block -> (the file with the classifier, its md5, the file without it, its md5)
WEIGHTS = {
    (6, 12, 24, 16): (
        "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
        "9d60b8095a5708f2dcce2bca79d332c7",
        "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "30ee3e1110167f948a6b9946edeeb738",
    ),
    (6, 12, 32, 32): (
        "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
        "d699b8f76981ab1b30698df4c175e90b",
        "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "b8c4d4c20dd625c148057b9ff1c1176b",
    ),
    (6, 12, 48, 32): (
        "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
        "1ceb130c1ea1b78c3bf6114dbdfd8807",
        "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "c13680b51ded0fb44dff2d8f86ac8bb1",
    ),
}
EPSILON = 1.001e-5
GROWTH_RATE = 32


def _bn_relu(x, name):
    """BatchNormalization `{name}_bn` then ReLU `{name}_relu`, as every DenseNet unit starts."""
    from lamina import layers

    x = layers.BatchNormalization(axis=3, epsilon=EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x, growth_rate, name):
    """One unit of a dense block: BN-ReLU-1x1 conv (4*growth_rate), BN-ReLU-3x3 conv (growth_rate), concatenated
    onto the unit's input along the channels.

    Example:
        >>> conv_block(x, 32, name="conv2_block1").shape[-1] == x.shape[-1] + 32
        True
    """
    from lamina import layers

    x1 = _bn_relu(x, f"{name}_0")
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = _bn_relu(x1, f"{name}_1")
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, x1])


def dense_block(x, blocks, name):
    """`blocks` conv blocks named `{name}_block1`, `{name}_block2`, ...

    Example:
        >>> dense_block(x, 6, name="conv2").shape[-1] == x.shape[-1] + 6 * 32
        True
    """
    for index in range(1, blocks + 1):
        x = conv_block(x, GROWTH_RATE, name=f"{name}_block{index}")
    return x


def transition_block(x, reduction, name):
    """BN-ReLU, a 1x1 conv keeping `reduction` of the channels, then 2x2 average pooling with stride 2.

    Example:
        >>> transition_block(x, 0.5, name="pool2").shape[-1] == x.shape[-1] // 2
        True
    """
    from lamina import layers

    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _weights_file(weights, blocks, include_top):
    """The weights file to load: None, the user's path, or Keras's ImageNet file for these `blocks`."""
    if weights != "imagenet":
        return weights
    if tuple(blocks) not in WEIGHTS:
        raise ValueError(
            "DenseNet: ImageNet weights exist only for blocks [6, 12, 24, 16] (DenseNet121), [6, 12, 32, 32] "
            f"(DenseNet169) and [6, 12, 48, 32] (DenseNet201). Received: blocks={list(blocks)}"
        )
    top_file, top_hash, no_top_file, no_top_hash = WEIGHTS[tuple(blocks)]
    return imagenet_utils.weights_path(
        weights, "DenseNet", WEIGHTS_ORIGIN, (top_file, top_hash), (no_top_file, no_top_hash), include_top
    )


def _check_blocks(blocks):
    if not (
        isinstance(blocks, (list, tuple))
        and len(blocks) == 4
        and all(isinstance(b, numbers.Integral) and not isinstance(b, bool) and b > 0 for b in blocks)
    ):
        raise ValueError(
            f"DenseNet: `blocks` must be four positive integers (units per dense block). Received: blocks={blocks}"
        )


def DenseNet(  # noqa: N802 - Keras's name
    blocks,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="densenet",
):
    """A DenseNet with `blocks` conv blocks in each of its four dense blocks, as Keras builds it.

    Args:
        blocks: four integers, e.g. [6, 12, 24, 16] (DenseNet121); ImageNet weights exist for 121, 169 and 201.
        include_top: whether to end with global average pooling and the `predictions` dense layer (then the
            input must be 224x224 with ImageNet weights).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 32 (only `channels_last` is supported, as in Keras).
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> DenseNet([2, 2, 2, 2], weights=None, include_top=False, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 128)
    """
    from lamina import config, layers

    if config.image_data_format() == "channels_first":
        raise ValueError(
            "DenseNet does not support the `channels_first` image data format. Switch to `channels_last` by "
            "editing your local config file at ~/.keras/keras.json"
        )
    _check_blocks(blocks)
    imagenet_utils.check_arguments(name, weights, include_top, classes, classifier_activation)
    shape = imagenet_utils.obtain_input_shape(input_shape, 224, 32, "channels_last", include_top, weights)
    path = _weights_file(weights, blocks, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, units in enumerate(blocks, start=2):
        x = dense_block(x, units, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=3, epsilon=EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = dense_classifier(x, include_top, pooling, classes, classifier_activation, ("avg_pool", "max_pool"))
    return imagenet_utils.finish(inputs, x, name, path)


_SIZE_DOC = """DenseNet{depth} ({params} parameters with the top), optionally with Keras's ImageNet weights.

    The arguments are `DenseNet`'s, with blocks {blocks}. Inputs are preprocessed by this module's
    `preprocess_input` (torch mode: scaled to [0, 1], then normalized by the ImageNet means and deviations).

    Example:
        >>> DenseNet{depth}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, {channels})
    """


def _size(depth: int, blocks: list, params: str, channels: int):
    """The public function `DenseNet<depth>`: `DenseNet` with these `blocks` and Keras's signature."""
    doc = _SIZE_DOC.format(depth=depth, params=params, blocks=blocks, channels=channels)
    arguments = (*imagenet_utils.SHARED_ARGUMENTS, ("name", f"densenet{depth}"))
    return imagenet_utils.model_function(f"DenseNet{depth}", partial(DenseNet, blocks), doc, arguments, __name__)


DenseNet121 = _size(121, [6, 12, 24, 16], "8,062,504", 1024)
DenseNet169 = _size(169, [6, 12, 32, 32], "14,307,880", 1664)
DenseNet201 = _size(201, [6, 12, 48, 32], "20,242,984", 1920)


def preprocess_input(x, data_format=None):
    """Keras's DenseNet preprocessing (torch mode): RGB in [0, 255] scaled to [0, 1], then each channel minus
    the ImageNet mean (0.485, 0.456, 0.406) and divided by its deviation (0.229, 0.224, 0.225).

    Example:
        >>> preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0]
        array([2.2489083, 2.4285715, 2.64     ], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions
