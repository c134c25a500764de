"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016: pre-activation blocks) as Keras builds them.

Example:
    >>> model = ResNet50V2(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)), top=3)
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.applications.inception_v3 import preprocess_input as preprocess_input
from lamina.applications.resnet import batch_norm, resnet_function


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


# What the ResNetV2 sizes share (see `resnet.resnet_function`): the last stage's last block has the strides.
RESNET_V2 = {"stack": stack_residual_blocks_v2, "unstrided_stage": 3, "preact": True}
ResNet50V2 = resnet_function("ResNet50V2", 25_613_800, (3, 4, 6, 3), RESNET_V2, __name__)
ResNet101V2 = resnet_function("ResNet101V2", 44_675_560, (3, 4, 23, 3), RESNET_V2, __name__)
ResNet152V2 = resnet_function("ResNet152V2", 60_380_648, (3, 8, 36, 3), RESNET_V2, __name__)

decode_predictions = imagenet_utils.decode_predictions
