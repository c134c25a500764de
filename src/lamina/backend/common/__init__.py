"""Engine-neutral pieces of the backend: variables, symbolic tensors, names, dtypes, scopes."""

from lamina.backend.common.dtypes import is_float_dtype as is_float_dtype
from lamina.backend.common.dtypes import is_int_dtype as is_int_dtype
from lamina.backend.common.dtypes import standardize_dtype as standardize_dtype
from lamina.backend.common.keras_tensor import KerasTensor as KerasTensor
from lamina.backend.common.keras_tensor import is_keras_tensor as is_keras_tensor
from lamina.backend.common.naming import reset_names as reset_names
from lamina.backend.common.naming import to_snake_case as to_snake_case
from lamina.backend.common.naming import unique_name as unique_name
from lamina.backend.common.scopes import StatelessScope as StatelessScope
from lamina.backend.common.scopes import current_stateless_scope as current_stateless_scope
from lamina.backend.common.seed import SeedGenerator as SeedGenerator
from lamina.backend.common.variables import Variable as Variable
