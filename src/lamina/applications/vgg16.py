"""VGG16 (Simonyan & Zisserman, 2014) as Keras builds it: the same layer names, order and weights.

Example:
    >>> model = VGG16(weights="imagenet")
    >>> decode_predictions(model.predict(preprocess_input(images)))
"""

from __future__ import annotations

import sys

from lamina.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
WEIGHTS_FILE, WEIGHTS_HASH = "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"
NO_TOP_FILE, NO_TOP_HASH = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"


def build_vgg(
    public_name,
    convs_per_block,
    module,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    name,
):
    """A VGG network with `convs_per_block` 3x3 convolutions in each of its five blocks (VGG16: 2, 2, 3, 3, 3)."""
    from lamina import config, layers

    imagenet_utils.check_arguments(public_name, weights, include_top, classes, classifier_activation)
    data_format = config.image_data_format()
    shape = imagenet_utils.obtain_input_shape(input_shape, 224, 32, data_format, include_top, weights)
    path = imagenet_utils.weights_path(
        weights,
        public_name,
        module.WEIGHTS_ORIGIN,
        (module.WEIGHTS_FILE, module.WEIGHTS_HASH),
        (module.NO_TOP_FILE, module.NO_TOP_HASH),
        include_top,
    )
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    for block, (convs, filters) in enumerate(zip(convs_per_block, (64, 128, 256, 512, 512)), start=1):
        for index in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{index}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return imagenet_utils.finish(inputs, x, name, path)


VGG_DOC = """The {model} model, optionally with Keras's ImageNet weights ({count:,} parameters with the top).

    Args:
        include_top: whether to end with the three dense layers (then the input must be 224x224).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3) without the top, each side at least 32.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D).
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> {model}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, 512)
    """


def vgg_function(model: str, count: int, convs_per_block: tuple, module_name: str):
    """The public `model` function of module `module_name` (whose weight constants it reads at each call)."""

    def build(**arguments):
        return build_vgg(model, convs_per_block, sys.modules[module_name], **arguments)

    arguments = (*imagenet_utils.SHARED_ARGUMENTS, ("name", model.lower()))
    doc = VGG_DOC.format(model=model, count=count)
    return imagenet_utils.model_function(model, build, doc, arguments, module_name)


VGG16 = vgg_function("VGG16", 138_357_544, (2, 2, 3, 3, 3), __name__)


preprocess_input = imagenet_utils.preprocess_input  # caffe mode, as Keras's VGG
decode_predictions = imagenet_utils.decode_predictions
