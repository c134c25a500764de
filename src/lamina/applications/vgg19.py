"""VGG19 (Simonyan & Zisserman, 2014) as Keras builds it: VGG16 with four convolutions in the last three blocks.

Example:
    >>> model = VGG19(include_top=False, weights=None, input_shape=(64, 64, 3))
"""

from __future__ import annotations

import sys

from lamina.applications import imagenet_utils
from lamina.applications.vgg16 import build_vgg

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
WEIGHTS_FILE, WEIGHTS_HASH = "vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"
NO_TOP_FILE, NO_TOP_HASH = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"


def VGG19(  # noqa: N802 - Keras's name
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
):
    """The VGG19 model, optionally with Keras's ImageNet weights (143,667,240 parameters with the top).

    The arguments are VGG16's (`lamina.applications.vgg16.VGG16`).

    Example:
        >>> VGG19(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max").output_shape
        (None, 512)
    """
    return build_vgg(
        "VGG19",
        (2, 2, 4, 4, 4),
        sys.modules[__name__],
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
    )


preprocess_input = imagenet_utils.preprocess_input  # caffe mode, as Keras's VGG
decode_predictions = imagenet_utils.decode_predictions
