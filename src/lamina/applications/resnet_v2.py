"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016: pre-activation blocks) as Keras builds them.

Example:
    >>> model = ResNet50V2(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)), top=3)
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.applications.resnet import batch_norm, build_resnet, model_arguments, with_arguments_doc


def residual_block_v2(x, filters: int, stride: int = 1, conv_shortcut: bool = False, name: str = ""):
    """The pre-activation bottleneck block: batch norm and ReLU first, then 1x1, 3x3 (strided) and 1x1 convolutions.

    Without a convolution shortcut a strided block's shortcut is a 1x1 max pooling with the same strides.
    """
    from lamina import layers

    preact = layers.Activation("relu", name=f"{name}_preact_relu")(batch_norm(x, f"{name}_preact_bn"))
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.Activation("relu", name=f"{name}_1_relu")(batch_norm(x, f"{name}_1_bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(batch_norm(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters: int, blocks: int, stride1: int = 2, name: str = ""):
    """`blocks` pre-activation blocks: the first has the convolution shortcut, the last the strides."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for index in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{index}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def resnet_v2_stacks(blocks: tuple):
    """The stack function of a ResNetV2 with `blocks` blocks in its four stages (ResNet50V2: 3, 4, 6, 3)."""

    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            x = stack_residual_blocks_v2(x, filters, count, stride1=1 if stage == 3 else 2, name=f"conv{stage + 2}")
        return x

    return stack_fn


def ResNet50V2(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet50v2",
):
    """ResNet50V2 (25,613,800 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet50V2(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="max").output_shape
        (None, 2048)
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v2_stacks((3, 4, 6, 3)), True, True, "ResNet50V2", "resnet50v2", arguments)


def ResNet101V2(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet101v2",
):
    """ResNet101V2 (44,675,560 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet101V2(weights=None).count_params()
        44675560
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v2_stacks((3, 4, 23, 3)), True, True, "ResNet101V2", "resnet101v2", arguments)


def ResNet152V2(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet152v2",
):
    """ResNet152V2 (60,380,648 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet152V2(weights=None).count_params()
        60380648
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v2_stacks((3, 8, 36, 3)), True, True, "ResNet152V2", "resnet152v2", arguments)


with_arguments_doc((ResNet50V2, ResNet101V2, ResNet152V2))


def preprocess_input(x, data_format=None):
    """ResNetV2's preprocessing ("tf" mode): RGB values in [0, 255] scaled to [-1, 1].

    Args:
        x: a batch (or one image) of RGB values in [0, 255], as a NumPy array or nested lists.
        data_format: "channels_last" or "channels_first"; the configured image data format by default.

    Example:
        >>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]))[0, 0, 0]
        array([-1.,  0.,  1.], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (batch, 1000) as (class id, name, score) lists.

    Example:
        >>> decode_predictions(model.predict(x), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    return imagenet_utils.decode_predictions(preds, top=top)
