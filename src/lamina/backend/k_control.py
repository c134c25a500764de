"""Keras 2's K.* control flow, scopes, ids, variable constructors and random draws over lamina's ops.

`rnn`, `map_fn`, `foldl` and `foldr` take Python callables over engine tensors; the rest are the
small session helpers Keras 2 programs call (`get_uid`, `learning_phase_scope`, `name_scope`, ...).

Example:
    >>> from lamina import backend as K
    >>> last, outputs, states = K.rnn(lambda x, s: (x + s[0], [x + s[0]]), inputs, [K.zeros((2, 3))])
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

import numpy as np

from lamina import ops
from lamina.backend.common import KerasTensor, Variable, standardize_dtype
from lamina.backend.common.seed import seed_for_draw
from lamina.config import floatx

__all__ = [
    "control_dependencies", "eager", "foldl", "foldr", "get_session", "get_uid", "is_placeholder",
    "learning_phase_scope", "set_session",
    "manual_variable_initialization", "map_fn", "name_scope", "random_bernoulli", "random_binomial",
    "random_normal_variable", "random_uniform_variable", "reset_uids", "rnn", "symbolic", "truncated_normal",
]  # fmt: skip


def _tensor(x):
    return ops.convert_to_tensor(x.value if isinstance(x, Variable) else x)


# ------------------------------------------------------------------ loops
def rnn(
    step_function,
    inputs,
    initial_states,
    go_backwards=False,
    mask=None,
    constants=None,
    unroll=False,
    input_length=None,
):
    """Iterates `step_function` over the time axis of `inputs` (batch, time, ...), as Keras 2's `K.rnn`.

    Args:
        step_function: `(input_t, states + constants) -> (output_t, new_states)`; `states` is a list of
            (batch, ...) tensors and `new_states` a list of the same length and shapes.
        inputs: (batch, time, ...) tensor.
        initial_states: list of (batch, ...) tensors, the states before the first step.
        go_backwards: process the steps last to first (outputs come in processing order).
        mask: (batch, time) booleans (or (batch, time, 1)); a masked step keeps the states and
            repeats the previous output (zeros before the first unmasked step).
        constants: list of tensors passed to every step after the states.
        unroll: unroll the loop (a Python loop) instead of a compiled scan.
        input_length: unused (the time axis has a static length).

    Returns:
        `(last_output, outputs, new_states)`: the last step's output (batch, ...), every output
        (batch, time, ...) and the final states (a list).

    Example:
        >>> def step(x_t, states):
        ...     h = K.tanh(K.dot(x_t, w) + K.dot(states[0], u))
        ...     return h, [h]
        >>> last, outputs, (h,) = K.rnn(step, x, [K.zeros((batch, units))])
    """
    inputs = _tensor(inputs)
    if len(inputs.shape) < 3:
        raise ValueError(f"K.rnn: inputs must be at least 3-D (batch, time, ...), got shape {tuple(inputs.shape)}.")
    constants = [_tensor(c) for c in (constants or [])]
    states = [_tensor(s) for s in initial_states]
    if mask is not None:
        mask = ops.cast(_tensor(mask), "bool")
        if len(mask.shape) == 3:
            mask = ops.squeeze(mask, 2)

    def step(x_t, step_states):
        output, new_states = step_function(x_t, list(step_states) + constants)
        new_states = [_tensor(s) for s in new_states]
        if len(new_states) != len(states):
            raise ValueError(f"K.rnn: step_function returned {len(new_states)} states, expected {len(states)}.")
        return output, new_states

    return ops.rnn(step, inputs, states, go_backwards=go_backwards, mask=mask, unroll=unroll)


def _slices(elems):
    """The number of rows of `elems` (a tensor or a tuple/list of tensors) and a function giving row i."""
    if isinstance(elems, (tuple, list)):
        parts = [_tensor(e) for e in elems]
        return parts[0].shape[0], lambda i: type(elems)(p[i] for p in parts)
    elems = _tensor(elems)
    return elems.shape[0], lambda i: elems[i]


def map_fn(fn, elems, name=None, dtype=None):
    """`fn` applied to each row of `elems` (its first axis), the results stacked.

    Example:
        >>> K.eval(K.map_fn(lambda row: K.sum(row), np.array([[1.0, 2.0], [3.0, 4.0]])))
        array([3., 7.])
    """
    count, row = _slices(elems)
    outputs = ops.stack([_tensor(fn(row(i))) for i in range(count)], axis=0)
    return outputs if dtype is None else ops.cast(outputs, standardize_dtype(dtype))


def _fold(fn, elems, initializer, order, name):
    count, row = _slices(elems)
    indices = list(order(range(count)))
    if initializer is None:
        if not indices:
            raise ValueError(f"K.{name}: elems is empty and there is no initializer.")
        accumulator, indices = row(indices[0]), indices[1:]
    elif isinstance(initializer, (tuple, list)):
        accumulator = type(initializer)(_tensor(part) for part in initializer)
    else:
        accumulator = _tensor(initializer)
    for i in indices:
        accumulator = fn(accumulator, row(i))
    return accumulator


def foldl(fn, elems, initializer=None, name=None):
    """Reduces the rows of `elems` first to last: `acc = fn(acc, row)`, from `initializer` (else row 0).

    Example:
        >>> K.eval(K.foldl(lambda acc, x: acc * 10 + x, np.array([1, 2, 3])))
        123
    """
    return _fold(fn, elems, initializer, lambda r: r, "foldl")


def foldr(fn, elems, initializer=None, name=None):
    """Reduces the rows of `elems` last to first: `acc = fn(acc, row)`, from `initializer` (else the last row).

    Example:
        >>> K.eval(K.foldr(lambda acc, x: acc * 10 + x, np.array([1, 2, 3])))
        321
    """
    return _fold(fn, elems, initializer, reversed, "foldr")


# ------------------------------------------------------------ scopes and ids
@contextlib.contextmanager
def learning_phase_scope(value):
    """Sets the default learning phase (0 test, 1 train) inside the block, restoring it after.

    Example:
        >>> with K.learning_phase_scope(1):
        ...     train_mode_outputs = f([x])
    """
    from lamina.backend import k_api

    if value not in (0, 1):
        raise ValueError(f"K.learning_phase_scope expects 0 (test) or 1 (train), got {value!r}.")
    previous = k_api._default_phase["value"]
    k_api._default_phase["value"] = int(value)
    try:
        yield value
    finally:
        k_api._default_phase["value"] = previous


_name_stack: list = []


@contextlib.contextmanager
def name_scope(name):
    """A named block (Keras 2's `K.name_scope`); yields the scope's full name, "outer/inner".

    lamina's layer and weight names do not depend on it: Keras 2 code uses it to group
    operations in TensorBoard graphs, which lamina does not draw.

    Example:
        >>> with K.name_scope("block1") as scope:
        ...     scope
        'block1'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"K.name_scope expects a non-empty string, got {name!r}.")
    _name_stack.append(name.rstrip("/"))
    try:
        yield "/".join(_name_stack)
    finally:
        _name_stack.pop()


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """A no-op block: lamina runs operations in program order, so there is nothing to order."""
    yield


_uids: defaultdict = defaultdict(int)


def get_uid(prefix=""):
    """A counter per `prefix`: 1 on the first call, then 2, 3, ... (until `reset_uids` or `clear_session`).

    Example:
        >>> K.get_uid("dense"), K.get_uid("dense")
        (1, 2)
    """
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids() -> None:
    """Starts every `get_uid` counter again."""
    _uids.clear()


_manual_initialization = {"value": False}


def manual_variable_initialization(value) -> None:
    """Recorded for Keras 2 programs; lamina's variables always hold their initial value at once."""
    _manual_initialization["value"] = bool(value)


def is_placeholder(x) -> bool:
    """Whether `x` is a symbolic input (`K.placeholder` or `Input`), not a layer's output or a value."""
    if not isinstance(x, KerasTensor) or x._keras_history is None:
        return False
    return type(x._keras_history[0]).__name__ == "InputLayer"


def symbolic(func):
    """Keras 2's decorator for graph-mode functions: lamina has one mode, so `func` is returned as it is."""
    return func


def eager(func):
    """Keras 2's decorator for eager-mode functions: lamina has one mode, so `func` is returned as it is."""
    return func


# ----------------------------------------------------------- random values
def _seed(seed) -> int:
    from lamina.backend.common.seed import draw_seed

    return draw_seed() if seed is None else int(seed)


def _variable(value, dtype, name):
    from lamina.backend.k_api import variable

    return variable(np.asarray(ops.convert_to_numpy(value)), dtype=dtype or floatx(), name=name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A Variable of uniform samples in [low, high).

    Example:
        >>> kvar = K.random_uniform_variable((2, 3), 0, 1, seed=1)
    """
    dtype = standardize_dtype(dtype or floatx())
    return _variable(ops.random.uniform(tuple(shape), low, high, dtype=dtype, seed=_seed(seed)), dtype, name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    """A Variable of normal samples with mean `mean` and standard deviation `scale`.

    Example:
        >>> kvar = K.random_normal_variable((2, 3), 0, 1, seed=1)
    """
    dtype = standardize_dtype(dtype or floatx())
    return _variable(ops.random.normal(tuple(shape), mean, scale, dtype=dtype, seed=_seed(seed)), dtype, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples with those beyond two standard deviations drawn again (as TensorFlow's truncated normal).

    Example:
        >>> K.truncated_normal((3, 4), stddev=0.1, seed=1)
    """
    dtype = standardize_dtype(dtype or floatx())
    shape = tuple(shape)
    seed = seed_for_draw(seed)  # inside a Lambda, its own generator: new values every step
    # Eight candidates per entry: the first inside (-2, 2) is kept; all eight outside has probability 1e-11.
    candidates = ops.random.normal((8, *shape), 0.0, 1.0, dtype="float32", seed=seed)
    inside = ops.less(ops.abs(candidates), 2.0)
    first = ops.argmax(ops.cast(inside, "int32"), axis=0)
    picked = ops.squeeze(ops.take_along_axis(candidates, ops.expand_dims(first, 0), axis=0), 0)
    picked = ops.clip(picked, -2.0, 2.0)
    return ops.cast(ops.add(ops.multiply(picked, stddev), mean), dtype)


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """1 with probability `p`, else 0 (Keras 2's name for Bernoulli draws).

    Example:
        >>> K.random_binomial((2, 3), p=0.5, seed=1)
    """
    dtype = standardize_dtype(dtype or floatx())
    draws = ops.random.uniform(tuple(shape), 0.0, 1.0, dtype="float32", seed=seed_for_draw(seed))
    return ops.cast(ops.less(draws, p), dtype)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability `p`, else 0."""
    return random_binomial(shape, p=p, dtype=dtype, seed=seed)


# ------------------------------------------------------------- TF sessions
_session_warned = {"done": False}


def set_session(session) -> None:
    """Keras 2's `K.set_session(tf.Session(config=...))`: lamina runs no TensorFlow session, so it is ignored.

    Programs set a session to configure TensorFlow (GPU memory growth, threads); lamina's engines allocate
    as they do by default. One warning says so.

    Example:
        >>> K.set_session(session)  # UserWarning: ... ignored
    """
    if not _session_warned["done"]:
        _session_warned["done"] = True
        import warnings

        warnings.warn(
            f"K.set_session({type(session).__name__}): lamina runs no TensorFlow session, so the session (and its "
            "config) is ignored. Configure the engine instead (XLA_PYTHON_CLIENT_PREALLOCATE=false for JAX's GPU "
            "memory, torch.set_num_threads for torch).",
            stacklevel=2,
        )


def get_session(op_input_list=()):
    """Keras 2's `K.get_session()`: there is no TensorFlow session in lamina, so this is an error saying what to use.

    Example:
        >>> K.get_session()  # RuntimeError: ... use K.function, K.get_value / K.set_value
    """
    raise RuntimeError(
        "K.get_session(): lamina runs no TensorFlow session. Evaluate tensors with K.function(inputs, outputs) or "
        "K.get_value(variable), and change variables with K.set_value(variable, value)."
    )
