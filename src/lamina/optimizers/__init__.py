"""Optimizers by Keras name, with Keras defaults and update rules.

Example:
    >>> model.compile(optimizer=lamina.optimizers.Adam(learning_rate=1e-3), loss="mse")
"""

from lamina.optimizers.adam import Adam as Adam
from lamina.optimizers.optimizer import Optimizer as Optimizer
from lamina.optimizers.optimizer import get as get
from lamina.optimizers.rmsprop import RMSprop as RMSprop
from lamina.optimizers.sgd import SGD as SGD
