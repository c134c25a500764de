"""The JAX engine. Only this package (and backend/torch) may import jax.

Importing it keeps XLA:CPU's convolutions from YNNPACK, 4-5x slower than XLA's own on the AVX2 CPU measured
(`_xla_flags`), unless the user's `XLA_FLAGS` already choose.
"""

from lamina.backend.jax import _xla_flags

_xla_flags.keep_convolutions_from_ynnpack()  # before JAX starts its CPU client, which reads XLA_FLAGS once

from lamina.backend.jax import core as core  # noqa: E402
from lamina.backend.jax import distribute as distribute  # noqa: E402
from lamina.backend.jax import nn as nn  # noqa: E402
from lamina.backend.jax import numpy as numpy  # noqa: E402
from lamina.backend.jax import optimizers as optimizers  # noqa: E402
from lamina.backend.jax import placement as placement  # noqa: E402
from lamina.backend.jax import random as random  # noqa: E402
from lamina.backend.jax import trainer as trainer  # noqa: E402

NAME = "jax"
