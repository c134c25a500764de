"""ResNet50, ResNet101 and ResNet152 (He et al., 2015) as Keras builds them, and the builder ResNetV2 and ResNeXt share.

The layer names, order and weights are Keras's (`conv2_block1_1_conv`, ..., `predictions`), so Keras's published
ImageNet files load by name and by topological order.

Example:
    >>> model = ResNet50(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)), top=3)
"""

from __future__ import annotations

from lamina.applications import imagenet_utils

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
    top_hash, no_top_hash = WEIGHTS_HASHES[weights_name]
    stem = f"{weights_name}_weights_tf_dim_ordering_tf_kernels"
    return (f"{stem}.h5", top_hash), (f"{stem}_notop.h5", no_top_hash)


def batch_norm(x, name: str):
    """Keras's ResNet batch normalization: over the channel axis, epsilon 1.001e-5."""
    from lamina import config, layers

    axis = 3 if config.image_data_format() == "channels_last" else 1
    return layers.BatchNormalization(axis=axis, epsilon=BN_EPSILON, name=name)(x)


def build_resnet(stack_fn, preact: bool, use_bias: bool, name: str, weights_name: str, arguments: dict, **options):
    """The ResNet family's model: stem, `stack_fn`'s residual stacks, then the top or the pooling Keras adds.

    `name` is the public name used in messages ("ResNet50"), `weights_name` Keras's key of the weight files and
    the default model name ("resnet50"). `arguments` holds the public function's include_top, weights,
    input_tensor, input_shape, pooling, classes, classifier_activation and name. `options` may set `origin` (the
    weights URL folder, Keras's by default), `top_name` (the classifier layer's name, "predictions") and `check`
    (a function of the data format and the input shape, run before fetching weights or building).

    Example:
        >>> build_resnet(stack_fn, False, True, "ResNet50", "resnet50", {"weights": None, ...})
    """
    from lamina import config, layers

    include_top, weights = arguments["include_top"], arguments["weights"]
    imagenet_utils.check_arguments(name, weights, include_top, arguments["classes"], arguments["classifier_activation"])
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(arguments["input_shape"], 224, 32, data_format, include_top, weights)
    if options.get("check"):
        options["check"](data_format, shape)
    top, no_top = weight_files(weights_name)
    path = imagenet_utils.weights_path(weights, name, options.get("origin", WEIGHTS_ORIGIN), top, no_top, include_top)
    x, inputs = imagenet_utils.model_input(arguments["input_tensor"], shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.Activation("relu", name="conv1_relu")(batch_norm(x, "conv1_bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.Activation("relu", name="post_relu")(batch_norm(x, "post_bn"))
    x = _top_or_pooling(x, arguments, options.get("top_name", "predictions"))
    return imagenet_utils.finish(inputs, x, arguments.get("name") or weights_name, path)


def _top_or_pooling(x, arguments: dict, top_name: str):
    """Keras's end of a ResNet: global average pooling and the classifier, or the optional pooling without top."""
    from lamina import layers

    if arguments["include_top"]:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        activation = arguments["classifier_activation"]
        return layers.Dense(arguments["classes"], activation=activation, name=top_name)(x)
    if arguments["pooling"] == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if arguments["pooling"] == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


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


def stack_residual_blocks_v1(x, filters: int, blocks: int, stride1: int = 2, name: str = ""):
    """`blocks` ResNet blocks named `{name}_block1`, ...; only the first has a convolution shortcut and strides."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for index in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{index}")
    return x


def resnet_v1_stacks(blocks: tuple):
    """The stack function of a ResNet with `blocks` blocks in its four stages (ResNet50: 3, 4, 6, 3)."""

    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            x = stack_residual_blocks_v1(x, filters, count, stride1=1 if stage == 0 else 2, name=f"conv{stage + 2}")
        return x

    return stack_fn


def model_arguments(include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name):
    """The public function's arguments as the dict `build_resnet` takes."""
    return {
        "include_top": include_top,
        "weights": weights,
        "input_tensor": input_tensor,
        "input_shape": input_shape,
        "pooling": pooling,
        "classes": classes,
        "classifier_activation": classifier_activation,
        "name": name,
    }


_ARGS_DOC = """
    Args:
        include_top: whether to end with global average pooling and the 1000-way dense layer `predictions`.
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: without the top, (height, width, 3) (or (3, height, width) in channels_first), each side at
            least 32; with the top and ImageNet weights it must be the default 224x224.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.
"""


def ResNet50(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet50",
):
    """ResNet50 (25,636,712 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 2048)
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v1_stacks((3, 4, 6, 3)), False, True, "ResNet50", "resnet50", arguments)


def ResNet101(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet101",
):
    """ResNet101 (44,707,176 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet101(weights=None).count_params()
        44707176
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v1_stacks((3, 4, 23, 3)), False, True, "ResNet101", "resnet101", arguments)


def ResNet152(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet152",
):
    """ResNet152 (60,419,944 parameters with the top), optionally with Keras's ImageNet weights.

    Example:
        >>> ResNet152(weights=None).count_params()
        60419944
    """
    arguments = model_arguments(
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
    )
    return build_resnet(resnet_v1_stacks((3, 8, 36, 3)), False, True, "ResNet152", "resnet152", arguments)


def with_arguments_doc(model_functions) -> None:
    """Adds the family's shared Args section to each public function's docstring, before its example."""
    for function in model_functions:
        if function.__doc__:  # None under python -OO
            function.__doc__ = function.__doc__.replace("\n    Example:", _ARGS_DOC + "\n    Example:", 1)


with_arguments_doc((ResNet50, ResNet101, ResNet152))


def preprocess_input(x, data_format=None):
    """ResNet's preprocessing ("caffe" mode): RGB to BGR, then minus the ImageNet channel means, without scaling.

    Args:
        x: a batch (or one image) of RGB values in [0, 255], as a NumPy array or nested lists.
        data_format: "channels_last" or "channels_first"; the configured image data format by default.

    Example:
        >>> preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0]
        array([-103.939, -116.779, -123.68 ], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (batch, 1000) as (class id, name, score) lists.

    Example:
        >>> decode_predictions(model.predict(x), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    return imagenet_utils.decode_predictions(preds, top=top)
