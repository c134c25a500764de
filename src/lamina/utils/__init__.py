"""Utilities: seeding, to_categorical, the progress bar, nested structures, Sequence and HDF5Matrix.

Example:
    >>> lamina.utils.set_random_seed(1337)
"""

from lamina.saving.object_registration import CustomObjectScope as CustomObjectScope
from lamina.saving.object_registration import custom_object_scope as custom_object_scope
from lamina.saving.object_registration import get_custom_objects as get_custom_objects
from lamina.saving.object_registration import get_registered_name as get_registered_name
from lamina.saving.object_registration import get_registered_object as get_registered_object
from lamina.saving.object_registration import register_keras_serializable as register_keras_serializable
from lamina.utils.io_utils import HDF5Matrix as HDF5Matrix
from lamina.utils.layer_utils import convert_all_kernels_in_model as convert_all_kernels_in_model
from lamina.utils.numerical_utils import normalize as normalize
from lamina.utils.numerical_utils import to_categorical as to_categorical
from lamina.utils.progbar import Progbar as Progbar
from lamina.utils.random import set_random_seed as set_random_seed
from lamina.utils.sequence import Sequence as Sequence
