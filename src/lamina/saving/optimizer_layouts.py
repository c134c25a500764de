"""Where each Keras release put an optimizer's state in a model file, and how lamina reads it back.

A model file's `optimizer_weights` group holds arrays and their names (attribute `weight_names`).
Which Keras wrote the file (root attributes `keras_version`, `backend`, and the optimizer config)
decides both where each array goes and which update rule the next step must use.

Keras 2 standalone (`keras.optimizers`, 2.0.0 to 2.3.1, on TensorFlow, Theano or CNTK) saved
`optimizer.weights`, and its `load_model` set them back by position. `m`, `v`, ... are lists with one
array per trainable weight, in `model.trainable_weights` order, one whole list after the other:

    optimizer  2.0.x to 2.2.5                        2.3.0, 2.3.1
    SGD        iterations, moments                   iterations, moment_i
    RMSprop    accumulators                          iterations, accumulator_i
    Adagrad    accumulators                          iterations, accumulator_i
    Adadelta   accumulators, delta_accumulators      iterations, accumulator_i, delta_accumulator_i
    Adam       iterations, ms, vs (+ vhats 2.1.3+)   iterations, m_i, v_i, vhat_i
    Adamax     iterations, ms, us                    iterations, m_i, u_i
    Nadam      iterations, ms, vs                    iterations, m_schedule, m_i, v_i

SGD keeps its moments even with `momentum=0`; Adam without `amsgrad` keeps one `(1,)`-shaped
placeholder `vhat` per weight; 2.0.x counted `iterations` in floats (and, except Adam, Adamax and
Nadam, only with `decay > 0`). Names on TensorFlow are `Adam/iterations:0`, `training/Adam/Variable_3:0`
(2.2) or `training/Adam/m_0:0` (2.3); Theano and CNTK names are arbitrary, so only positions and
shapes are trusted. Where a release left the counter out of the file, its own `load_model` resumed it
from 0, and so does lamina. Nadam's `m_schedule` (the product of the momentum schedule) depends on the
count alone: where the file lacks it, lamina rebuilds the value the writer held in memory (Keras 2.2's
own reload restarted it at 1.0, a jump in the step size). Keras 2's rules differ from Keras 3's
in three places, which lamina then follows: RMSprop and Adagrad add `epsilon` after the square root
(`w -= lr * g / (sqrt(a) + epsilon)`), Adagrad's accumulators start at 0, and Nadam's momentum schedule
is `beta_1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))` with `schedule_decay` 0.004. `lr` names the
learning rate, `decay` divides it by `1 + decay * iterations` (iterations before the step),
`epsilon: None` means `keras.backend.epsilon()`.

tf.keras 2.x before 2.11, and `tf.keras.optimizers.legacy.*` after (OptimizerV2; config without
`is_legacy_optimizer: false`): `Adam/iter:0` then slots named `<optimizer>/<weight path>/<slot>:0`,
kind by kind (`Adam/dense/kernel/m:0`, `Adam/dense/bias/m:0`, `Adam/dense/kernel/v:0`, ...); Nadam adds
`Nadam/momentum_cache:0` (the schedule product) after the counter; slot names `rms`, `mg`,
`accum_grad`, `accum_var`, Adamax's norm is `v`. Rules: Adagrad's epsilon is outside the root, and so is
RMSprop's without momentum (with momentum the fused kernel puts it inside); Nadam's config `decay` is
the schedule decay, not a learning-rate decay.

tf-keras 2.11+ optimizers: `iteration:0` then `<optimizer>/<slot>/<weight path>:0`, interleaved per
weight (`Adam/m/dense/kernel:0`, `Adam/v/dense/kernel:0`, ...); Adamax's norm is `u`. Nadam's
`u_product` is not saved (tf-keras restarts it at 1.0 and, through a per-variable trace counter,
advances it a varying number of times per step); lamina rebuilds it from the count, as Keras 3 keeps
it. Rules are Keras 3's. Its SGD saves `m` slots even with `momentum=0`: zeros that lamina skips.

Keras 3 (`.h5` via `model.save("x.h5")`, and `.keras`): `optimizer.variables` by position, the
counter, the learning rate (absent with a schedule), then each `build()`'s slots: kinds created in one
`add_optimizer_variables` call interleave per weight (Adam `m0 v0 m1 v1 ...` then `vhat0 vhat1 ...`),
Nadam's `u_product` comes last (named `variable`). `keras_zip.keras3_optimizer_variables` orders
lamina's variables that way.

Example:
    >>> writer = file_writer(f.attrs.get("keras_version"), f.attrs.get("backend"), optimizer_config)
    >>> adapt_optimizer(model.optimizer, writer, optimizer_config)
    >>> pairs, problem = match_state(model.optimizer, names, values, writer)
"""

from __future__ import annotations

import re

import numpy as np

KERAS2 = "Keras 2"
TF_LEGACY = "tf.keras (OptimizerV2)"
TF_KERAS = "tf-keras 2.11+"
KERAS3 = "Keras 3"
LAMINA = "lamina"
UNKNOWN = "an unknown Keras"

_COUNTERS = ("iter", "iteration", "iterations")

# lamina's slot kinds, and the names tf.keras (OptimizerV2), tf-keras 2.11+ and Keras 3 give them.
_ALIASES = {
    "SGD": {"momentum": ("momentum", "m")},
    "RMSprop": {
        "velocity": ("rms", "velocity"),
        "momentum": ("momentum",),
        "average_gradient": ("mg", "average_gradient"),
    },
    "Adagrad": {"accumulator": ("accumulator",)},
    "Adadelta": {
        "accumulated_grad": ("accum_grad", "accumulated_grad"),
        "accumulated_delta_var": ("accum_var", "accumulated_delta_var"),
    },
    "Adam": {"m": ("m", "momentum"), "v": ("v", "velocity"), "vhat": ("vhat", "velocity_hat")},
    "Adamax": {"momentum": ("m", "momentum"), "norm": ("v", "u", "norm")},
    "Nadam": {"momentum": ("m", "momentum"), "velocity": ("v", "velocity")},
    "Ftrl": {"accumulator": ("accumulator",), "linear": ("linear",)},
    "Lion": {"momentum": ("m", "momentum")},
}
# Optimizer-wide states (not per weight), by the names the other Keras gave them.
_STATE_ALIASES = {"Nadam": {"u_product": ("momentum_cache",)}}

# Keras 2 standalone layouts, every release's (see the table above): "iterations", a named state, or
# (lamina slot kind, shape) with shape "w" (the weight's) or "1" (a (1,) placeholder); kind None: unused.
_W, _ONE = "w", "1"
_KERAS2_LAYOUTS = {
    "SGD": (("iterations", ("momentum", _W)),),
    "RMSprop": ((("velocity", _W),), ("iterations", ("velocity", _W))),
    "Adagrad": ((("accumulator", _W),), ("iterations", ("accumulator", _W))),
    "Adadelta": (
        (("accumulated_grad", _W), ("accumulated_delta_var", _W)),
        ("iterations", ("accumulated_grad", _W), ("accumulated_delta_var", _W)),
    ),
    "Adam": (
        ("iterations", ("m", _W), ("v", _W)),
        ("iterations", ("m", _W), ("v", _W), ("vhat", _W)),
        ("iterations", ("m", _W), ("v", _W), (None, _ONE)),
    ),
    "Adamax": (("iterations", ("momentum", _W), ("norm", _W)),),
    "Nadam": (
        ("iterations", ("momentum", _W), ("velocity", _W)),
        ("iterations", "u_product", ("momentum", _W), ("velocity", _W)),
    ),
}


# ------------------------------------------------------------------ the writer
def _version(text: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


def file_writer(keras_version, backend, optimizer_config: dict | None) -> str:
    """Which Keras wrote a model file, from its root attributes and its optimizer config.

    Example:
        >>> file_writer("2.2.4", "tensorflow", {"class_name": "Adam", "config": {}})
        'Keras 2'
    """
    version = keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version or "")
    backend = backend.decode() if isinstance(backend, bytes) else str(backend or "")
    numbers = _version(version)
    if not numbers:
        return UNKNOWN
    if numbers[0] >= 3:
        return KERAS3
    if backend in ("jax", "torch"):
        return LAMINA  # Keras 2 never ran on these; lamina writes Keras 2's layout from them
    if "-tf" in version or numbers[:2] >= (2, 4):
        config = (optimizer_config or {}).get("config") or {}
        if isinstance(config.get("inner_optimizer"), dict):  # a LossScaleOptimizer: its inner optimizer decides
            config = config["inner_optimizer"].get("config") or {}
        return TF_KERAS if config.get("is_legacy_optimizer") is False else TF_LEGACY
    return KERAS2


def _family(optimizer) -> str | None:
    """The Keras optimizer whose layout and rules `optimizer` follows (a subclass follows its base)."""
    for cls in type(optimizer).__mro__:
        if cls.__name__ == "AdamW":
            return "Adam"
        if cls.__name__ in _ALIASES:
            return cls.__name__
    return None


def adapt_optimizer(optimizer, writer: str, optimizer_config: dict | None) -> None:
    """Switches `optimizer` to the update rule of the Keras that wrote the file, where it differs.

    Keras 2 and tf.keras (OptimizerV2) put Adagrad's epsilon (and RMSprop's, without momentum) outside
    the square root; Keras 2's Adagrad starts its accumulators at 0; their Nadam has a schedule decay.

    Example:
        >>> adapt_optimizer(model.optimizer, KERAS2, {"class_name": "RMSprop", "config": {"lr": 0.001}})
    """
    if writer not in (KERAS2, TF_LEGACY):
        return
    config = (optimizer_config or {}).get("config") or {}
    if hasattr(optimizer, "inner_optimizer"):  # a LossScaleOptimizer: its inner optimizer follows the file's rules
        adapt_optimizer(optimizer.inner_optimizer, writer, config.get("inner_optimizer") or config.get("optimizer"))
        return
    family = _family(optimizer)
    if family == "Adagrad":
        optimizer._epsilon_outside_root = True
        if writer == KERAS2 and "initial_accumulator_value" not in config and optimizer._built_for is None:
            optimizer.initial_accumulator_value = 0.0
    elif family == "RMSprop" and not optimizer.momentum:
        optimizer._epsilon_outside_root = True
    elif family == "Nadam" and config.get("schedule_decay") is None:
        # OptimizerV2's Nadam saves its schedule decay as `decay`; it never decays the learning rate.
        optimizer.schedule_decay = optimizer.decay if writer == TF_LEGACY and optimizer.decay else 0.004
        optimizer.decay = 0.0


# ----------------------------------------------------------- lamina's variables
def _slots_by_kind(optimizer) -> tuple[dict, dict]:
    """({kind: [slot per built variable]}, {state name: state}) of a built optimizer."""
    by_path = {slot.path: slot for slot in optimizer._slots}
    owned, kinds = set(), {}
    for slot in optimizer._slots:
        kinds.setdefault(slot.name, None)
    per_kind = {}
    for kind in kinds:
        slots = []
        for variable in optimizer._built_for:
            slot = by_path.get(f"{optimizer.name}/{variable.path.replace('/', '_')}_{kind}")
            if slot is None or slot.name != kind:
                break
            slots.append(slot)
        else:
            per_kind[kind] = slots
            owned.update(id(s) for s in slots)
    states = {slot.name: slot for slot in optimizer._slots if id(slot) not in owned}
    return per_kind, states


# ------------------------------------------------------------ matching by name
def _plain(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _name_candidates(family: str, per_kind: dict, variables: list) -> dict:
    """{file name after the optimizer's own scope: slot} for the OptimizerV2 and tf-keras 2.11+ patterns."""
    candidates = {}
    for kind, slots in per_kind.items():
        for alias in _ALIASES[family].get(kind, ()):
            for variable, slot in zip(variables, slots):
                candidates.setdefault(f"{variable.path}/{alias}", []).append(slot)  # OptimizerV2
                candidates.setdefault(f"{alias}/{variable.path}", []).append(slot)  # tf-keras 2.11+
    return candidates


def _unused_momentum(optimizer, family: str, parts: list) -> bool:
    """tf-keras 2.11+'s SGD saves momentum slots even with `momentum=0`: zeros it never reads."""
    if family != "SGD" or getattr(optimizer, "momentum", 0) or len(parts) < 3:
        return False
    return parts[1] in _ALIASES["SGD"]["momentum"] or parts[-1] in _ALIASES["SGD"]["momentum"]


def _match_by_name(optimizer, family: str, names: list, writer: str):
    """[(variable, index)] when every array's name says where it goes; else (None, why)."""
    per_kind, states = _slots_by_kind(optimizer)
    candidates = _name_candidates(family, per_kind, optimizer._built_for)
    state_names = {alias: states[key] for key, aliases in _STATE_ALIASES.get(family, {}).items() for alias in aliases}
    pairs, used = [], set()
    for index, name in enumerate(names):
        parts = _plain(name).split("/")
        if parts[-1] in _COUNTERS:
            target = optimizer.iterations
        elif len(parts) == 2 and parts[1] in state_names:
            target = state_names[parts[1]]
        elif _unused_momentum(optimizer, family, parts):
            continue
        else:
            found = candidates.get("/".join(parts[1:]), [])
            if len(found) != 1:
                return None, f"its array {name!r} names no single {type(optimizer).__name__} slot of this model"
            target = found[0]
        if id(target) in used:
            return None, f"two of its arrays go to {target.path!r}"
        used.add(id(target))
        pairs.append((target, index))
    may_miss = {id(states.get("u_product"))} if writer == TF_KERAS else set()  # rebuilt by _resume_schedule
    missing = [s.path for s in [optimizer.iterations, *optimizer._slots] if id(s) not in used | may_miss]
    if missing:
        return None, f"it has no array for {missing[0]!r}"
    return pairs, None


# -------------------------------------------------------- matching by position
def _fit_layout(layout, optimizer, per_kind: dict, states: dict, shapes: list):
    """[(variable or None, index)] if the arrays' shapes fit `layout` exactly, else None."""
    variables = optimizer._built_for
    pairs, position = [], 0
    for segment in layout:
        if isinstance(segment, str):  # the counter or an optimizer-wide state
            if position >= len(shapes) or shapes[position] != ():
                return None
            target = optimizer.iterations if segment == "iterations" else states.get(segment)
            pairs.append((target, position))
            position += 1
            continue
        kind, rule = segment
        slots = per_kind.get(kind) if kind is not None else None
        if kind is not None and slots is None and not (kind == "momentum" and not getattr(optimizer, "momentum", 1)):
            return None  # the file has slots lamina's optimizer, as configured, does not have
        for i, variable in enumerate(variables):
            expected = tuple(variable.shape) if rule == _W else (1,)
            if position >= len(shapes) or shapes[position] != expected:
                return None
            pairs.append((slots[i] if slots else None, position))
            position += 1
    return pairs if position == len(shapes) else None


def _match_keras2(optimizer, family: str, values: list):
    per_kind, states = _slots_by_kind(optimizer)
    shapes = [tuple(np.shape(v)) for v in values]
    fits = [p for p in (_fit_layout(lay, optimizer, per_kind, states, shapes) for lay in _KERAS2_LAYOUTS[family]) if p]
    if len(fits) != 1:
        what = "no" if not fits else "more than one"
        return None, f"its {len(values)} arrays fit {what} Keras 2 {family} layout for this model's weights"
    pairs = [(target, index) for target, index in fits[0] if target is not None]
    restored = {id(target) for target, _ in pairs}
    for kind, slots in per_kind.items():
        if any(id(s) not in restored for s in slots):
            return None, f"a Keras 2 {family} file holds no {kind!r} slots"
    return pairs, None


def _match_keras3(optimizer, values: list):
    from lamina.saving import keras_zip

    variables = keras_zip.keras3_optimizer_variables(optimizer)
    if len(variables) != len(values):
        return None, f"it holds {len(values)} arrays, Keras 3's {type(optimizer).__name__} here has {len(variables)}"
    for variable, value in zip(variables, values):
        if tuple(np.shape(value)) != tuple(variable.shape):
            return None, f"{variable.path!r} has shape {tuple(variable.shape)}, the file's {np.shape(value)}"
    return list(zip(variables, range(len(values)))), None


def match_state(optimizer, names: list, values: list, writer: str):
    """Where each of a file's optimizer arrays goes: ([(variable, value)], None), or (None, why not).

    Example:
        >>> pairs, problem = match_state(model.optimizer, ["Adam/iterations:0", ...], arrays, KERAS2)
    """
    family, writer = _family(optimizer), writer or UNKNOWN
    if writer == KERAS3:
        pairs, problem = _match_keras3(optimizer, values)
    elif hasattr(optimizer, "inner_optimizer"):
        return _match_loss_scale(optimizer.inner_optimizer, list(names), values, writer)
    elif family is None:
        pairs, problem = None, f"lamina knows no other Keras's layout for {type(optimizer).__name__}"
    else:
        pairs, problem = _match_by_name(optimizer, family, list(names), writer)
        if pairs is None and writer in (KERAS2, TF_LEGACY, UNKNOWN) and family in _KERAS2_LAYOUTS:
            pairs, keras2_problem = _match_keras2(optimizer, family, values)
            problem = problem if writer == TF_LEGACY else keras2_problem
    if pairs is None and writer == TF_KERAS:  # names under a scope lamina lacks (a wrapper's, a ConvLSTM cell's)
        pairs = _match_tf_keras_order(optimizer, values)
    if pairs is None:
        return None, problem
    for target, index in pairs:
        if tuple(np.shape(values[index])) != tuple(target.shape):
            return None, f"{target.path!r} has shape {tuple(target.shape)}, the file's {np.shape(values[index])}"
    return [(target, values[index]) for target, index in pairs] + _resume_schedule(optimizer, pairs, values), None


def _match_tf_keras_order(optimizer, values: list):
    """[(variable, index)] by position in tf-keras 2.11+'s `optimizer.variables` order if every shape fits."""
    from lamina.saving import keras_zip

    variables = tf_keras_zip_order(optimizer, keras_zip.keras3_optimizer_variables(optimizer))
    if len(variables) != len(values):
        return None
    if any(v is not None and tuple(np.shape(value)) != tuple(v.shape) for v, value in zip(variables, values)):
        return None
    return [(v, index) for index, v in enumerate(variables) if v is not None]


def _match_loss_scale(inner, names: list, values: list, writer: str):
    """tf-keras's LossScaleOptimizer saves only its inner optimizer's state, under other names.

    Its legacy form nests the names in a `cond_1/` scope (`cond_1/Adam/dense/kernel/m:0`); its 2.11+
    form leaves the optimizer's scope out (`m/dense/kernel:0`). The loss scale itself is not saved:
    it restarts at `initial_scale`, as in tf-keras's own `load_model`.
    """
    stripped = [re.sub(r"^(cond(_\d+)?/)+", "", name) for name in names]
    pairs, problem = match_state(inner, stripped, values, writer)
    if pairs is None:
        scoped = [name if _plain(name) in _COUNTERS else f"{inner.name}/{name}" for name in stripped]
        pairs, _ = match_state(inner, scoped, values, writer)
    return pairs, (None if pairs is not None else problem)


def _resume_schedule(optimizer, pairs: list, values: list) -> list:
    """Nadam's momentum-schedule product where the file lacks it (Keras 2 before 2.3, tf-keras 2.11+).

    The product depends on the step count alone, so it is rebuilt as the writer held it in memory
    (`prod_{t<=n} b1 (1 - 0.5 * 0.96**(t * decay))`); those Keras' own `load_model` restarted it at 1.0.
    """
    if _family(optimizer) != "Nadam":
        return []
    _, states = _slots_by_kind(optimizer)
    product = states.get("u_product")
    restored = {id(target): index for target, index in pairs}
    if product is None or id(product) in restored or id(optimizer.iterations) not in restored:
        return []
    steps = np.arange(1, int(np.asarray(values[restored[id(optimizer.iterations)]])) + 1, dtype="float64")
    decay = 1.0 if optimizer.schedule_decay is None else optimizer.schedule_decay
    factors = optimizer.beta_1 * (1.0 - 0.5 * np.power(0.96, steps * decay))
    return [(product, np.asarray(np.prod(factors), dtype="float32"))]


def writer_rules(optimizer, attrs, train: dict) -> str:
    """Which Keras wrote an HDF5 model file (`attrs`: its root attributes); `optimizer` then follows its rules.

    Example:
        >>> saved_by = writer_rules(model.optimizer, f.attrs, training_config)
    """
    config = train.get("optimizer_config") if isinstance(train, dict) else None
    writer = file_writer(attrs.get("keras_version"), attrs.get("backend"), config)
    adapt_optimizer(optimizer, writer, config)
    return writer


def tf_keras_zip_order(optimizer, keras3_order: list) -> list:
    """The variables a tf-keras 2.11+ `.keras` file holds for `optimizer`, in the file's order.

    tf-keras saves `optimizer.variables` in Keras 3's order, less what it keeps outside them: the
    learning rate, Nadam's `u_product` (see `resumed_schedule`) and Adafactor's scalar `r`/`c`
    placeholders for weights of fewer than two dimensions. Its SGD without momentum still saves one
    (zero) momentum slot per weight, which stands as None in the list.

    Example:
        >>> order = tf_keras_zip_order(model.optimizer, keras_zip.keras3_optimizer_variables(model.optimizer))
    """
    left_out = {id(getattr(optimizer, "_learning_rate", None)), id(getattr(optimizer, "_u_product", None))}
    adafactor = any(cls.__name__ == "Adafactor" for cls in type(optimizer).__mro__)

    def placeholder(variable) -> bool:
        return adafactor and variable.name in ("r", "c") and tuple(variable.shape) == ()

    order = [v for v in keras3_order if id(v) not in left_out and not placeholder(v)]
    if _family(optimizer) == "SGD" and not getattr(optimizer, "momentum", 0):
        order += [None] * len(optimizer._built_for or ())
    return order


def resumed_schedule(optimizer, variables: list, values: list) -> list:
    """[(variable, value)] for Nadam's schedule product where `variables`, set from `values`, lack it.

    Example:
        >>> for variable, value in resumed_schedule(model.optimizer, variables, values): variable.assign(value)
    """
    return _resume_schedule(optimizer, list(zip(variables, range(len(values)))), values)
