"""The PyTorch engine. Only this package (and backend/jax) may import torch.

Importing it before torch sets one default for torch's CPU threads, when the user has set neither
`OMP_WAIT_POLICY` nor `GOMP_SPINCOUNT`: `GOMP_SPINCOUNT=30000`. torch's OpenMP runtime (GNU libgomp on
Linux) otherwise keeps each idle worker thread spinning for 300,000 rounds after every parallel op; when
other processes keep the cores busy, those spins take the CPU from the threads doing the work, and
training takes many times longer. A tenth of that spin keeps the quiet-machine speed (the next op
usually starts within it), where `OMP_WAIT_POLICY=PASSIVE` or one thread made small models 1.5-3x
slower (benchmarks/README.md, "torch's CPU threads"). The thread count stays torch's (one per usable
core); OMP_NUM_THREADS and `torch.set_num_threads` work as usual.
"""

import os
import sys

# OpenMP reads the variables once, when torch loads it: too late once torch is imported, and then
# nothing is set rather than handed on to child processes for nothing.
if "torch" not in sys.modules and "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "30000"

from lamina.backend.torch import core as core  # noqa: E402
from lamina.backend.torch import distribute as distribute  # noqa: E402
from lamina.backend.torch import nn as nn  # noqa: E402
from lamina.backend.torch import numpy as numpy  # noqa: E402
from lamina.backend.torch import optimizers as optimizers  # noqa: E402
from lamina.backend.torch import placement as placement  # noqa: E402
from lamina.backend.torch import random as random  # noqa: E402
from lamina.backend.torch import trainer as trainer  # noqa: E402

NAME = "torch"
