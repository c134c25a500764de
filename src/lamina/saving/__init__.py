"""Saving and loading: Keras configs, custom objects, JSON/YAML and the Keras HDF5 layout.

Example:
    >>> model.save("my_model.h5")
    >>> model = lamina.saving.load_model("my_model.h5")
"""

from lamina.saving.hdf5 import load_model as load_model
from lamina.saving.hdf5 import load_weights as load_weights
from lamina.saving.hdf5 import save_model as save_model
from lamina.saving.hdf5 import save_weights as save_weights
from lamina.saving.model_config import model_from_config as model_from_config
from lamina.saving.model_config import model_from_json as model_from_json
from lamina.saving.model_config import model_from_yaml as model_from_yaml
from lamina.saving.object_registration import CustomObjectScope as CustomObjectScope
from lamina.saving.object_registration import custom_object_scope as custom_object_scope
from lamina.saving.object_registration import get_custom_objects as get_custom_objects
from lamina.saving.object_registration import get_registered_name as get_registered_name
from lamina.saving.object_registration import get_registered_object as get_registered_object
from lamina.saving.object_registration import register_keras_serializable as register_keras_serializable
from lamina.saving.serialization import deserialize_layer as deserialize_layer
from lamina.saving.serialization import safe_mode_scope as safe_mode_scope
from lamina.saving.serialization import serialize_layer as serialize_layer
