"""What the ResNet and Inception families share: the model around the features, the top, the docstrings, conv + BN.

`build_application` checks the arguments as Keras does, fetches the weights, builds the input, the family's
features and the top (or the optional pooling), and loads the weights; `model_doc` writes the public function's
docstring from the numbers that differ between sizes, `preprocess_function` a module's `preprocess_input`.

Example:
    >>> files = keras_files(KERAS_ORIGIN + "inception_v3/", "inception_v3", "9a0d...", "bcbd...")
    >>> build = partial(build_application, "InceptionV3", features, (299, 75), files)
    >>> InceptionV3 = model_function("InceptionV3", build, model_doc("InceptionV3", 23_851_784, (299, 75), 2048), ...)
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.applications._heads import global_pool

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/"


def keras_files(origin: str, stem: str, top_hash: str, no_top_hash: str) -> tuple:
    """(origin, (file with top, md5), (file without top, md5)): Keras's `{stem}_weights_tf_dim_ordering_tf_kernels`
    files, as `build_application` takes them.

    Example:
        >>> keras_files(KERAS_ORIGIN + "xception/", "xception", "0a58...", "b004...")[2][0]
        'xception_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    name = f"{stem}_weights_tf_dim_ordering_tf_kernels"
    return origin, (f"{name}.h5", top_hash), (f"{name}_notop.h5", no_top_hash)


def channel_axis() -> int:
    """The channel axis of a 4-D image tensor in the configured data format (1 or 3)."""
    from lamina import config

    return 1 if config.image_data_format() == "channels_first" else 3


def conv_bn(x, filters, kernel_size, names, strides=1, padding="same", activation="relu", use_bias=False):
    """A convolution, then (without a bias) a batch normalization without scale, then `activation` if any.

    `names` are the (convolution, batch normalization, activation) layers' names; None lets a layer name itself.
    """
    from lamina import layers

    conv_name, bn_name, activation_name = names
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=conv_name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=channel_axis(), scale=False, name=bn_name)(x)
    if activation is not None:
        x = layers.Activation(activation, name=activation_name)(x)
    return x


def top_or_pooling(x, arguments: dict, top_name: str = "predictions", pool_names=(None, None)):
    """Keras's end: `avg_pool` and the Dense classifier `top_name`, or without the top the optional global pooling.

    `pool_names` are the (average, max) pooling layers' names without the top (None: the layer's counter name).
    """
    from lamina import layers

    if not arguments["include_top"]:
        return global_pool(x, arguments["pooling"], pool_names)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Dense(arguments["classes"], activation=arguments["classifier_activation"], name=top_name)(x)


def build_application(public_name: str, features, sizes: tuple, files: tuple, options=None, /, **arguments):
    """The application's model: `features` on the input, then `top_or_pooling`, with the weights loaded.

    `sizes` is (default side, smallest side); `files` is (URL folder, (file with top, md5), (file without top,
    md5)); `arguments` the public function's include_top ... name (by keyword, as `model_function` passes them).
    `options` (a dict) may set `top_name`, `pool_names`, `default_name` (the model's name when `name` is None)
    and `check` (a function of the data format, the input shape and the input tensor, run before fetching
    weights or building).

    Example:
        >>> build_application("Xception", features, (299, 71), files, include_top=False, weights=None, ...)
    """
    from lamina import config

    options = options or {}
    include_top, weights = arguments["include_top"], arguments["weights"]
    classes, activation = arguments["classes"], arguments["classifier_activation"]
    imagenet_utils.check_arguments(public_name, weights, include_top, classes, activation)
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(arguments["input_shape"], *sizes, data_format, include_top, weights)
    if options.get("check"):
        options["check"](data_format, shape, arguments["input_tensor"])
    path = imagenet_utils.weights_path(weights, public_name, *files, include_top)
    x, inputs = imagenet_utils.model_input(arguments["input_tensor"], shape)
    x = features(x)
    x = top_or_pooling(x, arguments, options.get("top_name", "predictions"), options.get("pool_names", (None, None)))
    return imagenet_utils.finish(inputs, x, arguments["name"] or options.get("default_name"), path)


_DOC = """{name} ({params:,} parameters with the top), optionally with {source} ImageNet weights.
{note}
    Args:
        include_top: whether to end with global average pooling and the 1000-way dense layer `{top_name}`.
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: without the top, (height, width, 3) (or (3, height, width) in channels_first), each side at
            least {min_side}; with the top and ImageNet weights it must be the default {side}x{side}.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> {name}(include_top=False, weights=None, input_shape=({example}, 3), pooling="avg").output_shape
        (None, {channels})
        >>> {name}(weights=None).count_params()
        {params}
"""


def model_doc(name: str, params: int, sizes: tuple, channels: int, note: str = "", **options) -> str:
    """The public model function's docstring: its size, the shared Args section and an example.

    `sizes` is (default side, smallest side), `channels` the features' channels; `note` an optional paragraph
    (indented as a docstring's); `options` may set `source` ("Keras's"), `top_name` and `example` (the example's
    input height and width, the smallest side by default).

    Example:
        >>> model_doc("ResNet50", 25_636_712, (224, 32), 2048, example=(64, 64))
    """
    side, min_side = sizes
    return _DOC.format(
        name=name,
        params=params,
        source=options.get("source", "Keras's"),
        note=f"\n{note}\n" if note else "",
        top_name=options.get("top_name", "predictions"),
        min_side=min_side,
        side=side,
        example=", ".join(map(str, options.get("example", (min_side, min_side)))),
        channels=channels,
    )


_PREPROCESS_DOC = """{summary}

    Args:
        x: a batch (or one image) of RGB values in [0, 255], as a NumPy array or nested lists.
        data_format: "channels_last" or "channels_first"; the configured image data format by default.

    Example:
        >>> {example}
        {result}
"""


def preprocess_function(mode: str, summary: str, example: tuple, module: str):
    """A module's `preprocess_input(x, data_format=None)`: `imagenet_utils.preprocess_input` in `mode`.

    `summary` is its docstring's first line, `example` (a call, its printed result) the docstring's example.

    Example:
        >>> preprocess_input = preprocess_function("tf", "Scales to [-1, 1].", (call, result), __name__)
    """

    def preprocess_input(x, data_format=None):
        return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)

    preprocess_input.__doc__ = _PREPROCESS_DOC.format(summary=summary, example=example[0], result=example[1])
    preprocess_input.__module__ = module
    return preprocess_input
