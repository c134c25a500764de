"""Utilities: seeding, to_categorical, the progress bar, nested structures.

Example:
    >>> lamina.utils.set_random_seed(1337)
"""

from lamina.utils.numerical_utils import normalize as normalize
from lamina.utils.numerical_utils import to_categorical as to_categorical
from lamina.utils.progbar import Progbar as Progbar
from lamina.utils.random import set_random_seed as set_random_seed
