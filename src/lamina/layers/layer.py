"""Layer: the base of every layer and model.

A layer is `__init__` (config) -> `build(input_shape)` (weights via
`add_weight`) -> `call(inputs, training=None)` -> `get_config` (DESIGN rule 3).
Calling a layer on a symbolic `KerasTensor` records a `Node` instead of
computing, which is how functional models are built.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np

from lamina.backend import KerasTensor, Variable, engine
from lamina.backend.common import autocast, is_float_dtype, standardize_dtype, to_snake_case, unique_name
from lamina.backend.common import device as device_stack
from lamina.layers import string_tensors
from lamina.layers.dtype_policy_mixin import DTypePolicyMixin, policy_config
from lamina.layers.input_spec import InputSpec, check_input
from lamina.layers.node import Node
from lamina.layers.plain_arguments import accept_numpy_integers
from lamina.utils import nest

_context = threading.local()
# Threads that call a layer before it is built (8 threads predicting on a fresh model) build it once, not each
# with its own weights; reentrant because building a model builds its layers. Built layers never take it.
_BUILD_LOCK = threading.RLock()


class _CallContext:
    """Per-thread state of the outermost layer call in progress."""

    def __init__(self):
        self.depth = 0
        self.training = None
        self.symbolic = False


def _call_context() -> _CallContext:
    ctx = getattr(_context, "ctx", None)
    if ctx is None:
        ctx = _context.ctx = _CallContext()
    return ctx


_PLAIN = (type(None), bool, int, float, str)
# Bumped whenever any layer's list of sub-layers changes, so a cached flattening knows it is stale.
_STRUCTURE_VERSION = [0]
# ids of layers holding losses from their last call: when empty, clearing them is a no-op.
_LAYERS_WITH_LOSSES: set = set()


def structure_changed() -> None:
    """Marks every cached layer flattening stale (call after changing a layer's `_layers` list)."""
    _STRUCTURE_VERSION[0] += 1


_LAYER_KWARGS = ("input_shape", "batch_input_shape", "batch_size", "input_dim", "input_length")


class Layer(DTypePolicyMixin):
    """The base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        activity_regularizer: a penalty on the layer's output, added to the training loss
            (divided by the batch size, as in Keras).
        name: a unique name; by default the class name in snake case, numbered
            (`dense`, `dense_1`, ...).
        dtype: a dtype name, a dtype policy ("mixed_float16": float16 compute, float32 weights) or a
            `DTypePolicy`; by default the global policy (floatx, unless `mixed_precision.set_global_policy`).
        input_shape, batch_input_shape, batch_size, input_dim: on the first layer
            of a Sequential model, the shape of its input (Keras 2 style).

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, inputs):
        ...         return inputs * self.scale
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        accept_numpy_integers(cls)  # Keras 2 took Dense(np.int64(46)): sizes arrive as Python ints

    def __init__(self, trainable=True, name=None, dtype=None, activity_regularizer=None, **kwargs):
        from lamina import regularizers

        object.__setattr__(self, "_layers", [])
        object.__setattr__(self, "_trainable_variables", [])
        object.__setattr__(self, "_non_trainable_variables", [])
        object.__setattr__(self, "_seed_generators", [])
        object.__setattr__(self, "_state_variables", [])  # carried state that is not a weight (stateful RNNs)
        self._inbound_nodes = []
        self._losses = []
        self.built = False
        self._trainable = bool(trainable)
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Layer name must be a non-empty string, got {name!r}.")
        self.dtype = dtype  # a name, a DTypePolicy or a policy config; None: the global policy
        self.input_spec = None
        self.supports_masking = False
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._batch_input_shape = self._read_input_shape_kwargs(kwargs)
        if kwargs:
            raise TypeError(
                f'Layer "{self.name}": {type(self).__name__} got unexpected keyword argument(s): {sorted(kwargs)}.'
            )
        call_parameters = inspect.signature(self.call).parameters
        self._call_has_training = "training" in call_parameters
        self._call_has_mask = "mask" in call_parameters  # models pass such a layer its input's mask

    def _read_input_shape_kwargs(self, kwargs):
        batch_size = kwargs.pop("batch_size", None)
        input_length = kwargs.pop("input_length", None)
        if "batch_input_shape" in kwargs:
            shape = kwargs.pop("batch_input_shape")
            kwargs.pop("input_shape", None)
            kwargs.pop("input_dim", None)
            return None if shape is None else tuple(shape)
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
            kwargs.pop("input_dim", None)
            if shape is None:
                return None
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            return (batch_size, *shape)
        if "input_dim" in kwargs:
            dim = kwargs.pop("input_dim")
            if dim is None:
                return None
            return (batch_size, input_length, dim) if input_length is not None else (batch_size, dim)
        if input_length is not None:
            return (batch_size, input_length)
        return None

    # ----------------------------------------------------------------- tracking
    def __setattr__(self, name, value):
        if name == "_layers":
            structure_changed()
        else:
            candidates = value if isinstance(value, (list, tuple)) else [value]
            for item in candidates:
                if isinstance(item, Layer) and item is not self and all(item is not x for x in self._layers):
                    self._layers.append(item)
                    structure_changed()
                elif hasattr(item, "_is_seed_generator") and all(item is not s for s in self._seed_generators):
                    self._seed_generators.append(item)
        object.__setattr__(self, name, value)

    def _flatten_layers(self, include_self=True) -> list:
        """This layer and every layer inside it, each once, depth first."""
        # Cached until some layer's sub-layers change: this runs every training step (regularization losses).
        cached = self.__dict__.get("_flat_layers")
        if cached is None or cached[0] != _STRUCTURE_VERSION[0]:
            seen, out, stack = set(), [], [self]
            while stack:
                layer = stack.pop()
                if id(layer) in seen:
                    continue
                seen.add(id(layer))
                out.append(layer)
                stack.extend(reversed(layer._layers))
            cached = (_STRUCTURE_VERSION[0], tuple(out))
            object.__setattr__(self, "_flat_layers", cached)  # not through __setattr__: no tracking
        return list(cached[1]) if include_self else list(cached[1][1:])

    # ------------------------------------------------------------------ weights
    def add_weight(
        self,
        name=None,
        shape=None,
        dtype=None,
        initializer=None,
        regularizer=None,
        trainable=True,
        constraint=None,
        **kwargs,
    ):
        """Creates a weight of this layer and tracks it.

        Accepts Keras 2's order (`add_weight(name, shape, ...)`) and Keras 3's
        (`add_weight(shape, initializer, ...)`, with `name=` as a keyword).

        Example:
            >>> self.kernel = self.add_weight(name="kernel", shape=(3, 4), initializer="glorot_uniform")
        """
        from lamina import constraints, initializers, regularizers

        if name is not None and not isinstance(name, str):
            # Keras 3's order is (shape, initializer, ...): the second positional is the initializer.
            if shape is not None:
                if initializer is not None:
                    raise TypeError(
                        f"add_weight() of layer {self.name!r} got two initializers: {shape!r} and {initializer!r}."
                    )
                initializer = shape
            name, shape = None, name
        autocast_weight = kwargs.pop("autocast", True)
        kwargs.pop("aggregation", None)
        kwargs.pop("use_resource", None)
        if kwargs:
            raise TypeError(f"add_weight() of layer {self.name!r} got unexpected keyword argument(s): {sorted(kwargs)}")
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if is_float_dtype(dtype) else "zeros"
        init = initializers.get(initializer)
        from lamina.saving.file_limits import check_weight_size

        check_weight_size(self.name, name or "variable", shape, dtype)  # before the initializer allocates it
        variable = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name or "variable")
        variable.path = f"{self.name}/{variable.name}"
        variable.autocast = bool(autocast_weight)  # False: read as stored even inside a mixed-precision call
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)  # names and Keras config dicts too
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        return variable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    def _collect(self, own: list, attribute: str) -> list:
        out, seen = [], set()
        for variable in own + [v for layer in self._layers for v in getattr(layer, attribute)]:
            if id(variable) not in seen:
                seen.add(id(variable))
                out.append(variable)
        return out

    @property
    def weights(self) -> list:
        """All weights: this layer's (trainable, then non-trainable), then its sublayers'."""
        return self._collect(self._trainable_variables + self._non_trainable_variables, "weights")

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return self._collect(list(self._trainable_variables), "trainable_weights")

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return self._collect(list(self._non_trainable_variables), "non_trainable_weights")

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        """Non-trainable weights plus state that is not a weight: Dropout's seeds, stateful RNNs' states.

        The JAX trainer threads all of these through its jitted step; only the weights are saved.
        """
        flat = self._flatten_layers()
        seeds = [g.state for layer in flat for g in layer._seed_generators]
        states = [v for layer in flat for v in layer._state_variables]
        return self.non_trainable_weights + seeds + states

    @property
    def variables(self) -> list:
        return self.trainable_variables + self.non_trainable_variables

    def get_weights(self) -> list:
        """The weights' values as NumPy arrays, in `weights` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Sets the weights from NumPy arrays, in `weights` order, checking count and shapes."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f'Layer "{self.name}" expects {len(params)} weight arrays '
                f"({[v.name for v in params]}), got {len(weights)}."
            )
        for variable, value in zip(params, weights):
            value = engine.core.convert_to_numpy(value)  # arrays, Variables, or tensors that carry autograd graphs
            if tuple(value.shape) != variable.shape:
                raise ValueError(
                    f'Layer "{self.name}" weight "{variable.name}" has shape {variable.shape}, '
                    f"got an array of shape {tuple(value.shape)}."
                )
            variable.assign(value)

    def count_params(self) -> int:
        """The number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(
                f'Layer "{self.name}" is not built yet, so it has no weights to count. '
                "Call it on an input (or give the model an input shape) first."
            )
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self.weights))

    # ----------------------------------------------------------------- losses
    def add_loss(self, loss) -> None:
        """Adds a scalar to the training loss (collected during the current call)."""
        if _call_context().symbolic:
            return
        self._losses.append(loss)
        _LAYERS_WITH_LOSSES.add(id(self))

    @property
    def losses(self) -> list:
        """Losses added during the last call, plus the weight regularization penalties."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            for variable in layer._trainable_variables + layer._non_trainable_variables:
                if variable.regularizer is not None:
                    out.append(variable.regularizer(variable.value))
        return out

    def _clear_losses(self) -> None:
        if not _LAYERS_WITH_LOSSES:
            return  # the usual case, every step: no layer added a loss
        for layer in self._flatten_layers():
            if layer._losses:
                layer._losses = []
                _LAYERS_WITH_LOSSES.discard(id(layer))

    # ---------------------------------------------------------------- building
    def build(self, input_shape) -> None:
        """Creates the weights; subclasses override it and call `add_weight`."""
        self.built = True

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        with _BUILD_LOCK:
            if self.built:  # another thread built it while this one waited
                return
            shapes = nest.map_structure(lambda t: tuple(t.shape), inputs)
            self.build(shapes)
            self.built = True

    def call(self, inputs, *args, **kwargs):
        """The computation; subclasses override it."""
        return inputs

    # ---------------------------------------------------------------- masking
    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output, given its input and the input's mask (None: no mask).

        A layer with `supports_masking = True` passes its input's mask on; any other
        layer drops it. Models call this while they run (masks travel beside the
        tensors, not on them), and a layer whose `call` takes a `mask` argument is given
        its input's mask.

        Example:
            >>> Embedding(10, 4, mask_zero=True).compute_mask(np.array([[3, 0]]))  # [[True, False]]
        """
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`, found by running `call` symbolically."""
        is_shape = isinstance(input_shape, tuple) and all(d is None or isinstance(d, int) for d in input_shape)
        if is_shape:
            spec = KerasTensor(input_shape, dtype=self._compute_dtype)
        else:
            spec = [KerasTensor(s, dtype=self._compute_dtype) for s in input_shape]
        self._maybe_build(spec)
        out = engine.core.compute_output_spec(self._run_call, spec)
        return nest.map_structure(lambda t: t.shape, out)

    def compute_output_dtype(self, input_dtype=None):
        """The output's dtype for inputs of `input_dtype`, where a call is not traced (string inputs).

        A layer with `accepts_strings = True` (see `lamina.layers.string_tensors`) overrides it
        when its output's dtype is not its `compute_dtype`.
        """
        return self._compute_dtype

    # ----------------------------------------------------------------- calling
    accepts_strings = False  # True: the layer takes strings, through call_on_host (layers/string_tensors.py)

    def __call__(self, *args, **kwargs):
        if (
            len(args) == 1
            and engine.core.is_tensor(args[0])
            and (not kwargs or all(type(v) in _PLAIN for v in kwargs.values()))
        ):
            # The hot path (every layer, every eager step): one array in, nothing symbolic anywhere.
            inputs = self._convert_input(args[0])
            spec = self.input_spec
            if type(spec) is InputSpec:
                check_input(self.name, 0, spec, tuple(inputs.shape))
            elif spec is not None:
                self._check_inputs(inputs)
            if not self.built:
                self._maybe_build(inputs)
            return self._run_call(inputs, **kwargs)
        if any(isinstance(t, KerasTensor) for t in nest.flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        if not args:
            raise ValueError(f'Layer "{self.name}" was called without inputs.')
        if self.accepts_strings and string_tensors.is_text(args[0]):
            return string_tensors.eager_string_call(self, args[0])  # strings never become engine tensors
        inputs = nest.map_structure(self._convert_input, args[0])
        self._check_inputs(inputs)
        self._maybe_build(inputs)
        return self._run_call(inputs, *args[1:], **kwargs)

    def _convert_input(self, value):
        if isinstance(value, Variable):
            value = value.value
        if not engine.core.is_tensor(value):
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(
                    f'Layer "{self.name}" expects numeric inputs (bool, int or float), '
                    f"got an array of dtype {array.dtype}."
                )
            dtype = self._input_dtype if array.dtype.kind == "f" else None
            return engine.core.convert_to_tensor(array, dtype=dtype)
        compute = self._input_dtype
        if compute != standardize_dtype(value.dtype) and is_float_dtype(value.dtype) and is_float_dtype(compute):
            return engine.core.cast(value, compute)
        return value

    def _check_inputs(self, inputs) -> None:
        specs = self.input_spec
        if specs is None:
            return
        flat = nest.flatten(inputs)
        specs = specs if isinstance(specs, (list, tuple)) else [specs]
        if len(specs) > 1 and len(flat) != len(specs):
            raise ValueError(f'Layer "{self.name}" expects {len(specs)} inputs, got {len(flat)}.')
        for i, (spec, tensor) in enumerate(zip(specs, flat)):
            check_input(self.name, i, spec, tuple(tensor.shape))

    def _run_call(self, inputs, *args, **kwargs):
        ctx = _call_context()
        training = kwargs.pop("training", None)
        if training is None:
            training = ctx.training
        if self._call_has_training:
            kwargs["training"] = training
        scoped = device_stack.current()
        if scoped is not None:
            inputs = nest.map_structure(lambda t: engine.core.to_device(t, scoped), inputs)
        outermost = ctx.depth == 0
        if outermost:
            self._clear_losses()
        previous = ctx.training
        ctx.depth += 1
        ctx.training = training
        try:
            if self._autocast_dtype is None and not autocast.ACTIVE[0]:
                outputs = self.call(inputs, *args, **kwargs)
            else:
                outputs = self._call_autocast(inputs, args, kwargs)
        finally:
            ctx.depth -= 1
            ctx.training = previous
        if self.activity_regularizer is not None:
            for output in nest.flatten(outputs):
                # Divided by the batch size, as Keras does, so the strength does not depend on it.
                self.add_loss(self.activity_regularizer(output) / output.shape[0])
        return outputs

    def _symbolic_call(self, args, kwargs):
        if not args:
            raise ValueError(f'Layer "{self.name}" was called without inputs.')
        inputs = args[0]
        for tensor in nest.flatten(inputs):
            if not isinstance(tensor, KerasTensor):
                raise TypeError(
                    f'Layer "{self.name}" was called on a mix of symbolic tensors and {type(tensor).__name__}; '
                    "in a functional model every input must come from lamina.Input or another layer."
                )
        if any(string_tensors.is_string_tensor(t) for t in nest.flatten(inputs)):
            return string_tensors.symbolic_string_call(self, args, kwargs)  # untraced: no engine holds strings
        self._check_inputs(inputs)
        self._maybe_build(inputs)
        ctx = _call_context()
        was_symbolic, ctx.symbolic = ctx.symbolic, True
        # Traced with the inputs' floats in the compute dtype, as they are cast when the layer runs.
        spec_args = (nest.map_structure(self._symbolic_input, inputs), *args[1:])
        try:
            outputs = engine.core.compute_output_spec(self._run_call, *spec_args, **kwargs)
        finally:
            ctx.symbolic = was_symbolic
        flat = nest.flatten(outputs)
        for i, tensor in enumerate(flat):
            tensor.name = self.name if len(flat) == 1 else f"{self.name}_{i}"
        Node(self, args, kwargs, outputs)
        return outputs

    # ------------------------------------------------------------ graph access
    def _single_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f'Layer "{self.name}" has never been called on a symbolic input, so it has no {what}.')
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f'Layer "{self.name}" has been called {len(self._inbound_nodes)} times, so its {what} is ambiguous; '
                f"use get_{what}_at(node_index)."
            )
        return self._inbound_nodes[0]

    @property
    def input(self):
        return self._single_node("input").args[0]

    @property
    def output(self):
        return self._single_node("output").outputs

    def get_input_at(self, node_index: int):
        return self._inbound_nodes[node_index].args[0]

    def get_output_at(self, node_index: int):
        return self._inbound_nodes[node_index].outputs

    @property
    def input_shape(self):
        return nest.map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self):
        return nest.map_structure(lambda t: t.shape, self.output)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The constructor arguments that re-create this layer (without weights)."""
        config_dict = {"name": self.name, "trainable": self.trainable, "dtype": policy_config(self._dtype_policy)}
        if self._batch_input_shape is not None:
            config_dict["batch_input_shape"] = list(self._batch_input_shape)
        return config_dict

    @classmethod
    def from_config(cls, config_dict: dict):
        """A new layer from `get_config()`'s output, or from a layer config written by Keras 2 or 3.

        Example:
            >>> Dense.from_config({"units": 2, "quantization_config": None}).units
            2
        """
        from lamina.saving.serialization import clean_layer_config

        return cls(**clean_layer_config(cls, config_dict))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


__all__ = ["InputSpec", "Layer"]
