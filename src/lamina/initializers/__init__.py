"""Weight initializers, Keras names and defaults. Values are drawn with NumPy (engine-neutral).

Example:
    >>> init = lamina.initializers.get("glorot_uniform")
    >>> init((3, 4), "float32").shape
    (3, 4)
"""

from lamina.initializers.initializers import Constant as Constant
from lamina.initializers.initializers import GlorotNormal as GlorotNormal
from lamina.initializers.initializers import GlorotUniform as GlorotUniform
from lamina.initializers.initializers import HeNormal as HeNormal
from lamina.initializers.initializers import HeUniform as HeUniform
from lamina.initializers.initializers import Identity as Identity
from lamina.initializers.initializers import Initializer as Initializer
from lamina.initializers.initializers import LecunNormal as LecunNormal
from lamina.initializers.initializers import LecunUniform as LecunUniform
from lamina.initializers.initializers import Ones as Ones
from lamina.initializers.initializers import Orthogonal as Orthogonal
from lamina.initializers.initializers import RandomNormal as RandomNormal
from lamina.initializers.initializers import RandomUniform as RandomUniform
from lamina.initializers.initializers import TruncatedNormal as TruncatedNormal
from lamina.initializers.initializers import VarianceScaling as VarianceScaling
from lamina.initializers.initializers import Zeros as Zeros
from lamina.initializers.initializers import compute_fans as compute_fans
from lamina.initializers.initializers import deserialize as deserialize
from lamina.initializers.initializers import get as get
from lamina.initializers.initializers import serialize as serialize
