"""ResNet50, ResNet101 and ResNet152 (He et al., 2015) as Keras builds them, and the builder ResNetV2 and ResNeXt share.

The layer names, order and weights are Keras's (`conv2_block1_1_conv`, ..., `predictions`), so Keras's published
ImageNet files load by name and by topological order.

Example:
    >>> model = ResNet50(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)), top=3)
"""

from __future__ import annotations

from functools import partial

from lamina.applications import imagenet_utils
from lamina.applications._build import build_application, channel_axis, keras_files, model_doc, preprocess_function

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# weights name -> (md5 of the file with the classifier, md5 of the file without it), as Keras publishes them.
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
    "resnext50": ("67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc"),
    "resnext101": ("34fb605428fcc7aa4d62f44404c11509", "0f678c91647380debd923963594981b3"),
}
BN_EPSILON = 1.001e-5


def weight_files(weights_name: str) -> tuple:
    """((file with top, md5), (file without top, md5)) of Keras's ImageNet weights for `weights_name`.

    Example:
        >>> weight_files("resnet50")[1][0]
        'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    return keras_files("", weights_name, *WEIGHTS_HASHES[weights_name])[1:]


def batch_norm(x, name: str):
    """Keras's ResNet batch normalization: over the channel axis, epsilon 1.001e-5."""
    from lamina import layers

    return layers.BatchNormalization(axis=channel_axis(), epsilon=BN_EPSILON, name=name)(x)


def resnet_features(stack_fn, preact: bool, use_bias: bool):
    """The ResNet family's features: the 7x7 stem and max pooling, `stack_fn`'s residual stacks, and (pre-activation
    ResNets) the final batch normalization and ReLU."""

    def features(x):
        from lamina import layers

        x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
        if not preact:
            x = layers.Activation("relu", name="conv1_relu")(batch_norm(x, "conv1_bn"))
        x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
        x = stack_fn(x)
        if preact:
            x = layers.Activation("relu", name="post_relu")(batch_norm(x, "post_bn"))
        return x

    return features


def resnet_stacks(family: dict, blocks: tuple):
    """The stack function of a size: `family["stack"]` per stage, `blocks` blocks each (ResNet50: 3, 4, 6, 3).

    Stage i (named `conv{i + 2}`) has `family["filters"][i]` filters (64, 128, 256, 512 by default), strides 2
    but in `family["unstrided_stage"]`.
    """

    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip(family.get("filters", (64, 128, 256, 512)), blocks)):
            stride1 = 1 if stage == family["unstrided_stage"] else 2
            x = family["stack"](x, filters, count, stride1=stride1, name=f"conv{stage + 2}")
        return x

    return stack_fn


def resnet_function(public_name: str, params: int, blocks: tuple, family: dict, module: str):
    """A ResNet family's public model function (`ResNet50`, `ResNeXt101`) with Keras's signature and docstring.

    `params` is the parameter count with the top (for the docstring), `blocks` the blocks per stage; the weights
    files and the default model name are Keras's for `public_name.lower()`. `family` holds what the sizes share:
    `stack`, `filters` and `unstrided_stage` (`resnet_stacks`), `preact` and `use_bias` (`resnet_features`, True
    by default), and optionally `origin` (the weights URL folder), `top_name` (the classifier's name,
    "predictions"), `check` (a function of the public name, the data format, the input shape and the input
    tensor, run before building) and for the docstring `source` ("Keras's") and `note`.

    Example:
        >>> ResNet50 = resnet_function("ResNet50", 25_636_712, (3, 4, 6, 3), RESNET_V1, __name__)
    """
    weights_name = public_name.lower()
    features = resnet_features(resnet_stacks(family, blocks), family["preact"], family.get("use_bias", True))
    files = (family.get("origin", WEIGHTS_ORIGIN), *weight_files(weights_name))
    options = {"pool_names": ("avg_pool", "max_pool"), "default_name": weights_name}
    options["top_name"] = family.get("top_name", "predictions")
    if "check" in family:
        options["check"] = partial(family["check"], public_name)
    build = partial(build_application, public_name, features, (224, 32), files, options)
    doc_options = {"source": family.get("source", "Keras's"), "top_name": options["top_name"], "example": (64, 64)}
    doc = model_doc(public_name, params, (224, 32), 2048, family.get("note", ""), **doc_options)
    arguments = (*imagenet_utils.SHARED_ARGUMENTS, ("name", weights_name))
    return imagenet_utils.model_function(public_name, build, doc, arguments, module)


def residual_block_v1(x, filters: int, stride: int = 1, conv_shortcut: bool = True, name: str = ""):
    """ResNet's bottleneck block: 1x1, 3x3 and 1x1 convolutions (4 * `filters` out) added to the shortcut."""
    from lamina import layers

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = batch_norm(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(batch_norm(x, f"{name}_1_bn"))
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(batch_norm(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = batch_norm(x, f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks(block, x, filters: int, blocks: int, stride1: int = 2, name: str = ""):
    """`blocks` `block`s named `{name}_block1`, ...; only the first has a convolution shortcut and strides.

    ResNet's stack with `residual_block_v1` (`stack_residual_blocks_v1`), ResNeXt's with its grouped block.
    """
    x = block(x, filters, stride=stride1, name=f"{name}_block1")
    for index in range(2, blocks + 1):
        x = block(x, filters, conv_shortcut=False, name=f"{name}_block{index}")
    return x


stack_residual_blocks_v1 = partial(stack_residual_blocks, residual_block_v1)

# What the ResNet sizes share (see `resnet_function`).
RESNET_V1 = {"stack": stack_residual_blocks_v1, "unstrided_stage": 0, "preact": False}
ResNet50 = resnet_function("ResNet50", 25_636_712, (3, 4, 6, 3), RESNET_V1, __name__)
ResNet101 = resnet_function("ResNet101", 44_707_176, (3, 4, 23, 3), RESNET_V1, __name__)
ResNet152 = resnet_function("ResNet152", 60_419_944, (3, 8, 36, 3), RESNET_V1, __name__)


preprocess_input = preprocess_function(
    "caffe",
    'ResNet\'s preprocessing ("caffe" mode): RGB to BGR, then minus the ImageNet channel means, without scaling.',
    ("preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0]", "array([-103.939, -116.779, -123.68 ], dtype=float32)"),
    __name__,
)


decode_predictions = imagenet_utils.decode_predictions
