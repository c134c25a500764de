"""Keras's pretrained ImageNet models (`keras.applications`): each family in its module, each name here too.

So far: VGG16 and VGG19 (issue 14 adds the other families).

Example:
    >>> from lamina.applications.vgg16 import VGG16, preprocess_input, decode_predictions
    >>> model = lamina.applications.VGG16(weights="imagenet")
"""

from lamina.applications import imagenet_utils as imagenet_utils
from lamina.applications import vgg16 as vgg16
from lamina.applications import vgg19 as vgg19
from lamina.applications.vgg16 import VGG16 as VGG16
from lamina.applications.vgg19 import VGG19 as VGG19
