"""The engine, picked once at import from keras.json or LAMINA_BACKEND, and the K.* settings.

Example:
    >>> from lamina import backend as K
    >>> K.backend(), K.floatx(), K.image_data_format()
    ('jax', 'float32', 'channels_last')
"""

import contextlib
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

# The Keras 2 K.* functions; imported after `engine` exists, since they are written over lamina.ops.
from lamina.backend import k_api as _k_api  # noqa: E402

for _name in _k_api.__all__:
    globals()[_name] = getattr(_k_api, _name)


@contextlib.contextmanager
def device(name: str):
    """Places the variables and computation of layers called inside on a device (the FAQ's device scopes).

    Names: "cpu", "cpu:0", "gpu:1", "/gpu:0", "/device:GPU:0", "cuda:1". An unknown
    or absent device raises ValueError naming what this machine has.

    Example:
        >>> with lamina.backend.device("/gpu:0"):
        ...     encoded_a = shared_lstm(tweet_a)
        >>> with lamina.backend.device("/cpu:0"):
        ...     merged = layers.concatenate([encoded_a, encoded_b])
    """
    from lamina.backend.common.device import parse_device_name

    kind, index = parse_device_name(name)
    handle = engine.core.resolve_device(kind, index)
    with engine.core.device_scope(handle):
        yield handle


def clear_session() -> None:
    """Resets automatic layer names (`dense`, `dense_1`, ... start again).

    Example:
        >>> clear_session()
    """
    from lamina.backend.common import reset_names

    reset_names()
