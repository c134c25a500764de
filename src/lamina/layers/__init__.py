"""Layers, by Keras name.

Example:
    >>> from lamina.layers import Dense, Dropout
"""

from lamina.layers.convolutional.base_conv import Conv2D as Conv2D
from lamina.layers.core.activation import Activation as Activation
from lamina.layers.core.dense import Dense as Dense
from lamina.layers.core.embedding import Embedding as Embedding
from lamina.layers.core.input_layer import Input as Input
from lamina.layers.core.input_layer import InputLayer as InputLayer
from lamina.layers.core.lambda_layer import Lambda as Lambda
from lamina.layers.input_spec import InputSpec as InputSpec
from lamina.layers.layer import Layer as Layer
from lamina.layers.merging.base_merge import Add as Add
from lamina.layers.merging.base_merge import Concatenate as Concatenate
from lamina.layers.merging.base_merge import add as add
from lamina.layers.merging.base_merge import concatenate as concatenate
from lamina.layers.normalization.batch_normalization import BatchNormalization as BatchNormalization
from lamina.layers.pooling.base_pooling import MaxPooling2D as MaxPooling2D
from lamina.layers.regularization.dropout import Dropout as Dropout
from lamina.layers.reshaping.flatten import Flatten as Flatten
from lamina.layers.reshaping.reshape import Reshape as Reshape

MaxPool2D = MaxPooling2D
Convolution2D = Conv2D
