"""Inception-ResNet v2 (Szegedy et al., 2016) as Keras builds it: the same layers, order and names.

Each residual block adds its scaled residual with a `CustomScaleLayer` (Keras 3's class, same name and config;
tf.keras used a `Lambda`). That layer has no weights, so the published ImageNet files, written by tf.keras,
load by topological order: only layers with weights are matched.

Example:
    >>> model = InceptionResNetV2(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._build import KERAS_ORIGIN, build_application, channel_axis, conv_bn, keras_files, model_doc
from lamina.applications.inception_v3 import TF_MODE_NOTE
from lamina.applications.inception_v3 import preprocess_input as preprocess_input
from lamina.layers.layer import Layer

# Keras's ImageNet weight files: (URL folder, (with the top, md5), (without, md5)).
FILES = keras_files(
    KERAS_ORIGIN + "inception_resnet_v2/",
    "inception_resnet_v2",
    "e693bd0210a403b3192acc6073ad2e96",
    "d19885ff4a710c122648d3b5c3b684e4",
)


class CustomScaleLayer(Layer):
    """`inputs[0] + inputs[1] * scale`: a shortcut plus a scaled residual (Keras 3's layer of this name).

    Saved models name it "CustomScaleLayer" with config key `scale`, and load it back without custom_objects.

    Args:
        scale: the factor applied to the residual (the second input).

    Example:
        >>> CustomScaleLayer(0.5)([np.ones((1, 2)), np.ones((1, 2))])  # all 1.5
    """

    keras3_module = "keras.src.applications.inception_resnet_v2"  # where Keras 3 finds it in a .keras file

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f'Layer "{self.name}" expects a list of 2 tensors (shortcut, residual), got {type(inputs).__name__}'
                f"{f' of {len(inputs)}' if isinstance(inputs, (list, tuple)) else ''}."
            )
        return inputs[0] + inputs[1] * self.scale

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu", use_bias=False, name=None):
    """A convolution, then (without a bias) a batch normalization without scale, then the activation.

    With `name`, the layers are `name`, `name_bn` and `name_ac`; without, Keras's counter names.

    Example:
        >>> y = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    """
    names = (None, None, None) if name is None else (name, f"{name}_bn", f"{name}_ac")
    return conv_bn(x, filters, kernel_size, names, strides, padding, activation, use_bias)


def _block_branches(x, block_type):
    """The parallel branches of a block35 (Inception-ResNet-A), block17 (B) or block8 (C) residual."""
    if block_type == "block35":
        branch_0 = conv2d_bn(x, 32, 1)
        branch_1 = conv2d_bn(conv2d_bn(x, 32, 1), 32, 3)
        branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)
        return [branch_0, branch_1, branch_2]
    sizes = {"block17": (192, 128, 160, 192, 7), "block8": (192, 192, 224, 256, 3)}.get(block_type)
    if sizes is None:
        raise ValueError(
            f'Unknown Inception-ResNet block type. Expects "block35", "block17" or "block8", but got: {block_type}'
        )
    first, inner, middle, last, long_side = sizes
    branch_0 = conv2d_bn(x, first, 1)
    branch_1 = conv2d_bn(x, inner, 1)
    branch_1 = conv2d_bn(branch_1, middle, [1, long_side])
    branch_1 = conv2d_bn(branch_1, last, [long_side, 1])
    return [branch_0, branch_1]


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """One Inception-ResNet block: `activation(x + scale * conv1x1(concat(branches(x))))`, named `{type}_{idx}`.

    Example:
        >>> x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=1)
    """
    from lamina import layers

    branches = _block_branches(x, block_type)
    block_name = f"{block_type}_{block_idx}"
    axis = channel_axis()
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def _stem(x):
    """299x299x3 to 35x35x320: the convolution stem and mixed_5b (an Inception-A block)."""
    from lamina import layers

    x = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branch_0 = conv2d_bn(x, 96, 1)
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    return layers.Concatenate(axis=channel_axis(), name="mixed_5b")([branch_0, branch_1, branch_2, branch_pool])


def _reduction_a(x):
    """mixed_6a (35x35 to 17x17x1088)."""
    from lamina import layers

    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 256, 3)
    branch_1 = conv2d_bn(branch_1, 384, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    return layers.Concatenate(axis=channel_axis(), name="mixed_6a")([branch_0, branch_1, branch_pool])


def _reduction_b(x):
    """mixed_7a (17x17 to 8x8x2080)."""
    from lamina import layers

    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3)
    branch_2 = conv2d_bn(branch_2, 320, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    branches = [branch_0, branch_1, branch_2, branch_pool]
    return layers.Concatenate(axis=channel_axis(), name="mixed_7a")(branches)


def _features(x):
    """Inception-ResNet v2's convolutional part: 299x299x3 to 8x8x1536."""
    x = _stem(x)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    x = _reduction_a(x)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    x = _reduction_b(x)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    return conv2d_bn(x, 1536, 1, name="conv_7b")


InceptionResNetV2 = imagenet_utils.model_function(
    "InceptionResNetV2",
    partial(build_application, "InceptionResNetV2", _features, (299, 75), FILES),
    model_doc("InceptionResNetV2", 55_873_736, (299, 75), 1536, TF_MODE_NOTE),
    (*imagenet_utils.SHARED_ARGUMENTS, ("name", "inception_resnet_v2")),
    __name__,
)

decode_predictions = imagenet_utils.decode_predictions
