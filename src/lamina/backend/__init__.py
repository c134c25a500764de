"""The engine, picked once at import from keras.json or LAMINA_BACKEND, and the K.* settings.

Example:
    >>> from lamina import backend as K
    >>> K.backend(), K.floatx(), K.image_data_format()
    ('jax', 'float32', 'channels_last')
"""

import importlib

from lamina.backend.common import KerasTensor as KerasTensor
from lamina.backend.common import StatelessScope as StatelessScope
from lamina.backend.common import is_keras_tensor as is_keras_tensor
from lamina.backend.common import standardize_dtype as standardize_dtype
from lamina.config import backend as backend
from lamina.config import epsilon as epsilon
from lamina.config import floatx as floatx
from lamina.config import image_data_format as image_data_format
from lamina.config import set_epsilon as set_epsilon
from lamina.config import set_floatx as set_floatx
from lamina.config import set_image_data_format as set_image_data_format

engine = importlib.import_module(f"lamina.backend.{backend()}")
Variable = engine.core.Variable


def clear_session() -> None:
    """Resets automatic layer names (`dense`, `dense_1`, ... start again).

    Example:
        >>> clear_session()
    """
    from lamina.backend.common import reset_names

    reset_names()
