"""Models: Sequential, functional Model, and subclassed Model.

Example:
    >>> from lamina.models import Sequential, Model, load_model
"""

from lamina.models.cloning import clone_model as clone_model
from lamina.models.functional import Functional as Functional
from lamina.models.model import Model as Model
from lamina.models.sequential import Sequential as Sequential
from lamina.saving.hdf5 import load_model as load_model
from lamina.saving.hdf5 import save_model as save_model
from lamina.saving.model_config import model_from_config as model_from_config
from lamina.saving.model_config import model_from_json as model_from_json
from lamina.saving.model_config import model_from_yaml as model_from_yaml
