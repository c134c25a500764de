"""Models: Sequential, functional Model, and subclassed Model.

Example:
    >>> from lamina.models import Sequential, Model
"""

from lamina.models.functional import Functional as Functional
from lamina.models.model import Model as Model
from lamina.models.sequential import Sequential as Sequential
