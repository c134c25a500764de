"""The dtype-policy part of every layer: `dtype`, `compute_dtype`, `dtype_policy` and Keras's autocasting.

Under a mixed policy ("mixed_float16": float16 compute, float32 weights) a layer's call gets its floating inputs
in the compute dtype, reads its float weights in it (`lamina.backend.common.autocast`), and gives its outputs in
it; the weights themselves stay float32. Models do not cast: each of their layers does, by its own policy, so a
last `Activation("linear", dtype="float32")` gives float32 predictions.

Example:
    >>> layer = lamina.layers.Dense(2, dtype="mixed_float16")
    >>> layer.dtype, layer.compute_dtype
    ('float32', 'float16')
"""

from __future__ import annotations

from lamina.backend import KerasTensor, engine
from lamina.backend.common import autocast, is_float_dtype, standardize_dtype
from lamina.utils import nest


class DTypePolicyMixin:
    """A layer's dtype policy and the autocasting around its `call` (mixed into `Layer`)."""

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights: its policy's variable dtype (float32 under "mixed_float16")."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value) -> None:
        self.dtype_policy = value

    @property
    def dtype_policy(self):
        """The layer's `DTypePolicy`."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        from lamina import dtype_policies

        policy = dtype_policies.get(value, owner=getattr(self, "name", None))
        object.__setattr__(self, "_dtype_policy", policy)
        object.__setattr__(self, "_compute_dtype", policy.compute_dtype)
        mixed = policy.compute_dtype != policy.variable_dtype and self._autocast_layer
        # Under a mixed policy `_run_call` casts inputs and outputs to this dtype and autocasts the weights.
        object.__setattr__(self, "_autocast_dtype", policy.compute_dtype if mixed else None)
        # The dtype floating inputs are cast to on the way in; a model takes them as its inputs declare.
        input_dtype = policy.compute_dtype if self._autocast_layer else policy.variable_dtype
        object.__setattr__(self, "_input_dtype", input_dtype)

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in: its floating inputs are cast to it, its outputs come in it."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer's weights are created in."""
        return self._dtype_policy.variable_dtype

    _autocast_layer = True  # False on models: their layers cast for themselves, each by its own policy
    _normalizes_in_float32 = False  # True: under a mixed policy `call` runs in float32 (BatchNormalization, ...)

    def _call_autocast(self, inputs, args, kwargs):
        """`call` under mixed precision (Keras's autocast): floats in and out in the compute dtype.

        Inside, float weights read as the compute dtype; a layer that is not mixed (a float32 layer
        inside a mixed model) reads them as stored.
        """
        dtype = self._autocast_dtype
        if dtype is None:
            with autocast.AutocastScope(None):
                return self.call(inputs, *args, **kwargs)
        # Normalization layers compute in float32 with their weights as stored, as Keras's do (statistics of
        # float16 values lose too much); every other layer in the compute dtype.
        inner = "float32" if self._normalizes_in_float32 else dtype
        inputs = nest.map_structure(lambda t: _cast_float(t, inner), inputs)
        with autocast.AutocastScope(None if self._normalizes_in_float32 else dtype):
            outputs = self.call(inputs, *args, **kwargs)
        return nest.map_structure(lambda t: _cast_float(t, dtype), outputs)

    def _symbolic_input(self, tensor):
        """A symbolic input as the layer sees it: floats in the compute dtype (they are cast when it runs)."""
        compute = self._input_dtype
        if tensor.dtype != compute and is_float_dtype(tensor.dtype) and is_float_dtype(compute):
            return KerasTensor(tensor.shape, dtype=compute)
        return tensor


def _cast_float(value, dtype: str):
    """A floating tensor cast to `dtype`; anything else (ints, None, masks) as it is."""
    if engine.core.is_tensor(value) and is_float_dtype(value.dtype) and standardize_dtype(value.dtype) != dtype:
        return engine.core.cast(value, dtype)
    return value


def policy_config(policy):
    """A layer's `dtype` in its config: a name, or tf-keras's `Policy` dict for a mixed policy.

    Keras 2 form (lamina's .h5/JSON); the .keras writer turns both into Keras 3's `DTypePolicy` dict.
    """
    if policy.compute_dtype == policy.variable_dtype:
        return policy.compute_dtype
    return {"class_name": "Policy", "config": {"name": policy.name}}
