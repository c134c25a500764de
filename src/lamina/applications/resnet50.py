"""The older module path `keras.applications.resnet50`: ResNet50 with its `preprocess_input` and `decode_predictions`.

They are the very functions of `lamina.applications.resnet`, as in Keras 3 and tf.keras.

Example:
    >>> from lamina.applications.resnet50 import ResNet50, preprocess_input, decode_predictions
    >>> model = ResNet50(weights="imagenet")
"""

from lamina.applications.resnet import ResNet50 as ResNet50
from lamina.applications.resnet import decode_predictions as decode_predictions
from lamina.applications.resnet import preprocess_input as preprocess_input
