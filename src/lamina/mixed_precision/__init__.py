"""Mixed precision, as Keras's `keras.mixed_precision` names it.

Example:
    >>> from lamina import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_float16")
    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8),
    ...                            lamina.layers.Activation("linear", dtype="float32")])
    >>> model.compile("adam", "mse")  # the optimizer is wrapped in a LossScaleOptimizer
    >>> mixed_precision.set_global_policy("float32")
"""

from lamina.dtype_policies.dtype_policy import DTypePolicy as DTypePolicy
from lamina.dtype_policies.dtype_policy import dtype_policy as dtype_policy
from lamina.dtype_policies.dtype_policy import set_dtype_policy as set_dtype_policy
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer as LossScaleOptimizer

Policy = DTypePolicy  # tf-keras's name
global_policy = dtype_policy  # tf-keras's name
set_global_policy = set_dtype_policy  # tf-keras's name
