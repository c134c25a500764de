"""VGG19 (Simonyan & Zisserman, 2014) as Keras builds it: VGG16 with four convolutions in the last three blocks.

Example:
    >>> model = VGG19(include_top=False, weights=None, input_shape=(64, 64, 3))
"""

from __future__ import annotations

from lamina.applications import imagenet_utils
from lamina.applications.vgg16 import vgg_function

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
WEIGHTS_FILE, WEIGHTS_HASH = "vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"
NO_TOP_FILE, NO_TOP_HASH = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"


VGG19 = vgg_function("VGG19", 143_667_240, (2, 2, 4, 4, 4), __name__)


preprocess_input = imagenet_utils.preprocess_input  # caffe mode, as Keras's VGG
decode_predictions = imagenet_utils.decode_predictions
