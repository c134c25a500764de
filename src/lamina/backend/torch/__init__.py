"""The PyTorch engine. Only this package (and backend/jax) may import torch."""

from lamina.backend.torch import core as core
from lamina.backend.torch import nn as nn
from lamina.backend.torch import numpy as numpy
from lamina.backend.torch import optimizers as optimizers
from lamina.backend.torch import random as random
from lamina.backend.torch import trainer as trainer

NAME = "torch"
