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

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._build import preprocess_function
from lamina.applications.resnet import batch_norm, resnet_function, stack_residual_blocks

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


def _check_builds(name: str, data_format, shape, input_tensor):
    """Keras's ResNeXt reshapes with the static channels-last size: say so instead of failing deep inside."""
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


_KERAS2_NOTE = (
    "    Keras 2 had no `classifier_activation` or `name` arguments (its classifier was always softmax): they are\n"
    "    here as in the rest of the ResNet family, with Keras 2's behaviour by default."
)


# What the ResNeXt sizes share (see `resnet.resnet_function`).
RESNEXT = {
    "stack": partial(stack_residual_blocks, residual_block_v3),
    "filters": (128, 256, 512, 1024),
    "unstrided_stage": 0,
    "preact": False,
    "use_bias": False,
    "origin": WEIGHTS_ORIGIN,
    "top_name": "probs",
    "check": _check_builds,
    "source": "Keras 2's",
    "note": _KERAS2_NOTE,
}
ResNeXt50 = resnet_function("ResNeXt50", 25_097_128, (3, 4, 6, 3), RESNEXT, __name__)
ResNeXt101 = resnet_function("ResNeXt101", 44_315_560, (3, 4, 23, 3), RESNEXT, __name__)


preprocess_input = preprocess_function(
    "torch",
    'ResNeXt\'s preprocessing ("torch" mode): scaled to [0, 1], minus the ImageNet means, over their deviations.',
    (
        "preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0]",
        "array([2.2489083, 2.4285715, 2.64     ], dtype=float32)",
    ),
    __name__,
)


decode_predictions = imagenet_utils.decode_predictions
