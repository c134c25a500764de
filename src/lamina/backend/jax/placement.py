"""Device parallelism inside compiled steps: a functional model's device-scoped layers run on their devices.

XLA compiles one program for one set of devices, so a model whose layers were called under
`lamina.backend.device(...)` scopes on different devices cannot be one jitted step. The step runner then runs its
steps *pipelined*: each run of consecutive graph nodes with the same scope is its own compiled program (cached per
run and input shapes), run on the scope's device, or on the step's home device (where the variables and the
optimizer live) for nodes without a scope. The weights and inputs a run needs are copied to its device, its outputs
move on to the next run's device, and JAX's asynchronous dispatch lets two branches on two devices run at the same
time.
Gradients flow through the copies (their transpose copies the cotangents back), so the backward pass of each node
runs on the node's device too. Layers nested inside one node run within that node's program.

Example:
    >>> with pipelined(home_device):
    ...     outputs = model(x, training=True)  # each node: one compiled program on its own device
"""

from __future__ import annotations

import contextlib
import functools
import threading

import jax

from lamina.backend.common import StatelessScope
from lamina.backend.common.device import devices_ran_on
from lamina.backend.common.scopes import current_stateless_scope
from lamina.backend.jax.core import current_device, device_scope

__all__ = ["call_on_device", "devices_ran_on", "is_pipelined", "pipelined"]

_local = threading.local()


@contextlib.contextmanager
def pipelined(home):
    """Inside, `call_on_device` runs each node as its own compiled program; `home` holds the state.

    Example:
        >>> with pipelined(jax.devices()[0]):
        ...     y = model(x)
    """
    previous = getattr(_local, "home", None)
    _local.home = home
    try:
        yield home
    finally:
        _local.home = previous


def is_pipelined() -> bool:
    """True inside `pipelined` (and not inside a node's own program)."""
    return getattr(_local, "home", None) is not None


def call_on_device(device, nodes, fn, tree, key):
    """`fn(*tree)` (the calls of a run of graph `nodes`) run on `device` (None: the home device).

    Inside `pipelined`, one compiled program per run of nodes and `key` (the static parts of the call: training
    flag, mask handling), with the nodes' layers' variables read from the step's state and copied to `device`.
    An eager call outside a step runs the same way (the weights may live on another device). Inside a jitted step
    that is not pipelined the nodes run inline: XLA places the whole program.

    Example:
        >>> outputs, mask = call_on_device(gpu1, [node], run_node, (args, kwargs, in_mask), key)
    """
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if not is_pipelined():
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):  # inside a jitted step: one program
            with device_scope(device):
                return fn(*tree)
        with pipelined(current_device()):  # eager: the weights may live elsewhere; copy them as a step does
            return call_on_device(device, nodes, fn, tree, key)
    target = device if device is not None else _local.home
    dynamic = [i for i, leaf in enumerate(leaves) if _is_array(leaf)]
    static = tuple((i, leaf) for i, leaf in enumerate(leaves) if i not in set(dynamic))
    program = _program(nodes[0], fn, (key, treedef, static, tuple(dynamic)), _layers_of(nodes))
    outer = current_stateless_scope()
    values = [_current(outer, v) for v in program.variables]
    arguments = ([leaves[i] for i in dynamic], values)
    flat = jax.tree_util.tree_leaves(arguments)
    if any(isinstance(leaf, jax.core.Tracer) for leaf in flat):  # under the step's gradient
        sources = tuple(_device_of(leaf) for leaf in flat)
        outputs, updated, losses = program.differentiable(*arguments, sources, target)
    else:
        outputs, updated, losses = program.compiled(*jax.device_put(arguments, target))
    _keep(outer, program, updated, losses)
    ran_on = _devices_of(outputs)
    for node in nodes:
        node._ran_on = ran_on
    return outputs


class _Program:
    """Some nodes' compiled calls: (inputs, variable values) -> (outputs, updated variable values, added losses)."""

    def __init__(self, layers, fn, treedef, static, dynamic):
        self.fn = fn
        self.variables = _unique(v for layer in layers for v in layer.variables)
        self.sublayers = _unique(sub for layer in layers for sub in layer._flatten_layers())
        self.treedef, self.static, self.dynamic = treedef, static, dynamic
        self.updated_indices = ()
        self.compiled = jax.jit(self._pure)
        # Under the step's gradient the program is one opaque function (copies included) whose backward pass is a
        # compiled program too, the forward recomputed inside it: autodiff neither retraces the program nor steps
        # through its ops, and the copies to `target` and of the cotangents back cost one plain transfer each.
        self.differentiable = jax.custom_vjp(self._placed, nondiff_argnums=(2, 3))
        self.differentiable.defvjp(self._forward, self._backward)
        self._pullback = jax.jit(self._cotangents)

    def _placed(self, inputs, values, sources, target):
        return self.compiled(*jax.device_put((inputs, values), target))

    def _forward(self, inputs, values, sources, target):
        moved = jax.device_put((inputs, values), target)  # concrete values: the gradient is traced around this call
        return self.compiled(*moved), moved

    def _backward(self, sources, target, residuals, cotangents):
        grads = self._pullback(residuals, cotangents)
        flat, treedef = jax.tree_util.tree_flatten(grads)
        return tuple(jax.tree_util.tree_unflatten(treedef, _sent_back(flat, sources)))

    def _cotangents(self, residuals, cotangents):
        _, pullback = jax.vjp(self._pure, *residuals)
        return pullback(cotangents)

    def _pure(self, inputs, values):
        leaves = [None] * (len(self.static) + len(self.dynamic))
        for i, leaf in self.static:
            leaves[i] = leaf
        for i, leaf in zip(self.dynamic, inputs):
            leaves[i] = leaf
        tree = jax.tree_util.tree_unflatten(self.treedef, leaves)
        variables, flat = self.variables, self.sublayers
        with StatelessScope(zip(variables, values)) as scope:
            initial = scope.values_for(variables)
            counts = [len(sub._losses) for sub in flat]
            _local.home, home = None, _local.home  # layers nested in this node run inside its program
            try:
                outputs = self.fn(*tree)
            finally:
                _local.home = home
            final = scope.values_for(variables)
        self.updated_indices = tuple(i for i, (a, b) in enumerate(zip(initial, final)) if a is not b)
        losses = []
        for sub, count in zip(flat, counts):
            losses.append(sub._losses[count:])
            del sub._losses[count:]  # traced values must not outlive the trace
        return outputs, [final[i] for i in self.updated_indices], losses


class _Opaque:
    """`fn` compiled; under a gradient one custom_vjp whose forward and backward (the forward recomputed) are
    compiled too, so eager autodiff neither traces `fn` again nor steps through its ops.

    Example:
        >>> loss = _Opaque(pure_loss)(y, y_pred)  # inside jax.value_and_grad, eagerly
    """

    def __init__(self, fn):
        self.fn = fn
        self.compiled = jax.jit(fn)
        self.differentiable = jax.custom_vjp(self.compiled)
        self.differentiable.defvjp(jax.jit(self._forward), jax.jit(self._backward))

    def __call__(self, *args):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
            return self.differentiable(*args)
        return self.compiled(*args)

    def _forward(self, *args):
        return self.fn(*args), args

    def _backward(self, args, cotangents):
        _, pullback = jax.vjp(self.fn, *args)
        return pullback(cotangents)


def _program(owner, fn, key, layers) -> _Program:
    cache = owner.__dict__.setdefault("_placed_programs", {})
    program = cache.get(key)
    if program is None:
        _, treedef, static, dynamic = key
        program = cache[key] = _Program(layers, fn, treedef, static, dynamic)
    return program


def _layers_of(nodes) -> list:
    return _unique(node.layer for node in nodes)


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _keep(outer, program, updated, losses) -> None:
    """The nodes' variable updates (moved home) into the step's state, and their losses onto their layers."""
    updated = jax.device_put([_primal(value) for value in updated], _local.home)  # state: no gradient flows
    for i, value in zip(program.updated_indices, updated):
        if outer is not None:
            outer.add_update(program.variables[i], value)
        else:
            program.variables[i].assign(value)
    for sub, added in zip(program.sublayers, _moved(losses, _local.home)):  # summed with the loss at home
        for loss in added:
            sub.add_loss(loss)


def _current(scope, variable):
    found = scope.get_current_value(variable) if scope is not None else None
    return variable._value if found is None else found


def _is_array(leaf) -> bool:
    return isinstance(leaf, jax.Array) or hasattr(leaf, "__array__") and hasattr(leaf, "dtype")


def _moved(tree, device):
    """`tree` on `device`, copying only the leaves that are elsewhere; under the step's gradient a copy's backward
    pass copies the cotangent back."""

    flat, treedef = jax.tree_util.tree_flatten(tree)
    sources = [_device_of(leaf) for leaf in flat]
    traced = [i for i, (leaf, source) in enumerate(zip(flat, sources)) if source != device and _differentiable(leaf)]
    if traced:  # one transfer for them all, whose backward pass copies the cotangents back
        moved = _transfer([flat[i] for i in traced], tuple(sources[i] for i in traced), device)
        for i, leaf in zip(traced, moved):
            flat[i] = leaf
    flat = [leaf if i in traced or source == device else jax.device_put(leaf, device) for i, (leaf, source) in
            enumerate(zip(flat, sources))]  # fmt: skip
    return jax.tree_util.tree_unflatten(treedef, flat)


def _differentiable(leaf) -> bool:
    return isinstance(leaf, jax.core.Tracer) and jax.numpy.issubdtype(leaf.dtype, jax.numpy.inexact)


def _float0(array) -> bool:
    return getattr(array, "dtype", None) == jax.dtypes.float0


def _primal(leaf):
    while isinstance(leaf, jax.core.Tracer) and hasattr(leaf, "primal"):
        leaf = leaf.primal
    return leaf


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _transfer(leaves, sources, target):
    return jax.device_put(leaves, target)


def _transfer_forward(leaves, sources, target):
    return jax.device_put(leaves, target), None


def _transfer_backward(sources, target, _, cotangents):
    return (_sent_back(list(cotangents), sources),)


def _sent_back(cotangents: list, sources) -> list:
    """Each cotangent on its source device (None: left where it is), one transfer per device."""
    by_device = {}
    for i, (cotangent, source) in enumerate(zip(cotangents, sources)):
        if source is not None and not _float0(cotangent):
            by_device.setdefault(source, []).append(i)
    out = list(cotangents)
    for device, indices in by_device.items():
        for i, moved in zip(indices, jax.device_put([cotangents[i] for i in indices], device)):
            out[i] = moved
    return out


_transfer.defvjp(_transfer_forward, _transfer_backward)


def _device_of(leaf):
    leaf = _primal(leaf)
    if isinstance(leaf, jax.Array) and not isinstance(leaf, jax.core.Tracer):
        devices = leaf.devices()
        return next(iter(devices)) if len(devices) == 1 else None
    return None


def _devices_of(tree) -> list:
    names = set()
    for leaf in jax.tree_util.tree_leaves(tree):
        while isinstance(leaf, jax.core.Tracer) and hasattr(leaf, "primal"):
            leaf = leaf.primal
        if isinstance(leaf, jax.Array) and not isinstance(leaf, jax.core.Tracer):
            names.update(f"{d.platform}:{d.id}" for d in leaf.devices())
    return sorted(names)
