"""ResNeXt50 and ResNeXt101 (Xie et al., 2017) as Keras 2 built them (keras-applications 1.0.8).

Keras 3 dropped ResNeXt; Keras 2's models and published ImageNet files are what this module matches. Keras 2 built
each 32-group 3x3 convolution from a `DepthwiseConv2D` with `depth_multiplier = filters // 32`, a `Reshape` to
(height, width, 32, c, c), a `Lambda` named `<block>_2_reduce` that sums each group's input channels, and a `Reshape`
back; the same layers are here, so the files load by name and by order. Keras 2's classifier is named `probs`.
The Lambda's function is `lamina.ops.sum` (by name), so a saved model loads again in safe mode.

Because of those reshapes, Keras builds ResNeXt only for channels_last and a static input size.

Example:
    >>> model = ResNeXt50(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)), top=3)
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.applications.resnet import batch_norm, build_resnet, model_arguments, with_arguments_doc

# keras-applications 1.0.8 published the ResNeXt files with its own release (hashes as in resnet.WEIGHTS_HASHES).
WEIGHTS_ORIGIN = "https://github.com/keras-team/keras-applications/releases/download/resnet/"
GROUPS = 32


def grouped_convolution(x, filters: int, stride: int, name: str):
    """Keras 2's 3x3 convolution in 32 groups: depthwise (c = filters // 32 outputs per channel), then per group
    the sum over its c input channels of each output's c products."""
    from lamina import layers, ops

    c = filters // GROUPS
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, depth_multiplier=c, use_bias=False, name=f"{name}_2_conv")(x)
    height, width = x.shape[1:3]
    x = layers.Reshape((height, width, GROUPS, c, c))(x)
    # axis 4 holds the group's input channels, axis 5 its output channels (the depthwise multiplier)
    x = layers.Lambda(ops.sum, arguments={"axis": 4}, name=f"{name}_2_reduce")(x)
    return layers.Reshape((height, width, filters))(x)


def residual_block_v3(x, filters: int, stride: int = 1, conv_shortcut: bool = True, name: str = ""):
    """ResNeXt's block: 1x1 convolution, the grouped 3x3 convolution, 1x1 to 2 * `filters`, added to the shortcut."""
    from lamina import layers

    out_filters = (64 // GROUPS) * filters
    if conv_shortcut:
        shortcut = layers.Conv2D(out_filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(x)
        shortcut = batch_norm(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(batch_norm(x, f"{name}_1_bn"))
    x = grouped_convolution(x, filters, stride, name)
    x = layers.Activation("relu", name=f"{name}_2_relu")(batch_norm(x, f"{name}_2_bn"))
    x = layers.Conv2D(out_filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = batch_norm(x, f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnext_stacks(blocks: tuple):
    """The stack function of a ResNeXt with `blocks` blocks in its four stages (ResNeXt50: 3, 4, 6, 3)."""

    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip((128, 256, 512, 1024), blocks)):
            name = f"conv{stage + 2}"
            x = residual_block_v3(x, filters, stride=1 if stage == 0 else 2, name=f"{name}_block1")
            for index in range(2, count + 1):
                x = residual_block_v3(x, filters, conv_shortcut=False, name=f"{name}_block{index}")
        return x

    return stack_fn


def _check_builds(name: str, input_tensor):
    """Keras's ResNeXt reshapes with the static channels-last size: say so instead of failing deep inside."""

    def check(data_format, shape):
        if data_format != "channels_last":
            raise ValueError(
                f"{name} is built for the channels_last image data format only (its grouped convolutions reshape "
                f"channels-last tensors, as Keras's did). Received: image_data_format={data_format!r}"
            )
        if input_tensor is not None:
            shape = tuple(input_tensor.shape[1:])
        if None in tuple(shape)[:2]:
            raise ValueError(
                f"{name} needs a static input size (its grouped convolutions reshape to the feature map's height "
                f"and width, as Keras's did): pass input_shape=(height, width, 3). Received: input_shape={shape}"
            )

    return check


def _build(name, blocks, include_top, weights, input_tensor, input_shape, pooling, classes, activation, model_name):
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, activation, model_name
    )
    return build_resnet(
        resnext_stacks(blocks),
        False,
        False,
        name,
        name.lower(),
        arguments,
        origin=WEIGHTS_ORIGIN,
        top_name="probs",
        check=_check_builds(name, input_tensor),
    )


def ResNeXt50(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnext50",
):
    """ResNeXt50 (25,097,128 parameters with the top), optionally with Keras 2's ImageNet weights.

    Keras 2 had no `classifier_activation` or `name` arguments (its classifier was always softmax): they are here as
    in the rest of the ResNet family, with Keras 2's behaviour by default.

    Example:
        >>> ResNeXt50(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 2048)
    """
    return _build(
        "ResNeXt50",
        (3, 4, 6, 3),
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNeXt101(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnext101",
):
    """ResNeXt101 (44,315,560 parameters with the top), optionally with Keras 2's ImageNet weights.

    Keras 2 had no `classifier_activation` or `name` arguments (its classifier was always softmax): they are here as
    in the rest of the ResNet family, with Keras 2's behaviour by default.

    Example:
        >>> ResNeXt101(weights=None).count_params()
        44315560
    """
    return _build(
        "ResNeXt101",
        (3, 4, 23, 3),
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


with_arguments_doc((ResNeXt50, ResNeXt101))


def preprocess_input(x, data_format=None):
    """ResNeXt's preprocessing ("torch" mode): scaled to [0, 1], minus the ImageNet means, over their deviations.

    Args:
        x: a batch (or one image) of RGB values in [0, 255], as a NumPy array or nested lists.
        data_format: "channels_last" or "channels_first"; the configured image data format by default.

    Example:
        >>> preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0]
        array([2.2489083, 2.4285715, 2.64     ], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (batch, 1000) as (class id, name, score) lists.

    Example:
        >>> decode_predictions(model.predict(x), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    return imagenet_utils.decode_predictions(preds, top=top)
