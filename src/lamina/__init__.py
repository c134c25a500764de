"""lamina: the Keras API, as the Keras FAQ describes it, on JAX (default) and PyTorch.

Example:
    >>> import lamina as keras
    >>> model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""

__version__ = "0.1.0"

from lamina import activations as activations
from lamina import applications as applications
from lamina import backend as backend
from lamina import callbacks as callbacks
from lamina import compat as compat
from lamina import config as config
from lamina import constraints as constraints
from lamina import datasets as datasets
from lamina import distribution as distribution
from lamina import dtype_policies as dtype_policies
from lamina import initializers as initializers
from lamina import layers as layers
from lamina import losses as losses
from lamina import metrics as metrics
from lamina import mixed_precision as mixed_precision
from lamina import models as models
from lamina import ops as ops
from lamina import optimizers as optimizers
from lamina import preprocessing as preprocessing
from lamina import regularizers as regularizers
from lamina import saving as saving
from lamina import utils as utils
from lamina import wrappers as wrappers
from lamina.layers import Input as Input
from lamina.models import Model as Model
from lamina.models import Sequential as Sequential
