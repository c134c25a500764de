"""The JAX engine. Only this package (and backend/torch) may import jax."""

from lamina.backend.jax import core as core
from lamina.backend.jax import distribute as distribute
from lamina.backend.jax import nn as nn
from lamina.backend.jax import numpy as numpy
from lamina.backend.jax import optimizers as optimizers
from lamina.backend.jax import placement as placement
from lamina.backend.jax import random as random
from lamina.backend.jax import trainer as trainer

NAME = "jax"
