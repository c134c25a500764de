"""The Optimizer base: variables, gradient clipping, weight decay, learning-rate schedules, the step counter.

Updates are written with `variable.assign`, so the same code runs eagerly and,
inside the JAX trainer's stateless scope, as a pure function under `jit`.
"""

from __future__ import annotations

import re

from lamina import ops
from lamina.backend import Variable, engine
from lamina.optimizers import ema, schedules

# Keras 3 arguments lamina does not implement: accepted while they are off (None or False).
_OFF_ARGUMENTS = ("loss_scale_factor", "gradient_accumulation_steps")
# Arguments with no effect here: Keras 2's jit_compile and is_legacy_optimizer.
_IGNORED_ARGUMENTS = ("jit_compile", "is_legacy_optimizer", "mesh")


class Optimizer:
    """Base class. Subclasses implement `build_slots(variables)` and `update_step(index, grad, variable, lr)`.

    Args:
        learning_rate: a float (kept in a variable, so callbacks can change it without recompiling),
            or a `LearningRateSchedule`, evaluated at `iterations` on every step.
        weight_decay: if set, every variable is first shrunk by `variable * weight_decay * lr`
            (decoupled weight decay, as Keras 3 does).
        clipnorm: clip each gradient to this L2 norm. clipvalue: clip each gradient element.
        global_clipnorm: clip all gradients together to this global norm.
        decay: Keras 2's time decay: the step uses `lr / (1 + decay * iterations)`.
        lr: Keras 2's name for learning_rate.
        use_ema: keep an exponential moving average of the variables (Keras 3's EMA; see `ema`).
        ema_momentum: the average's momentum (0.99). ema_overwrite_frequency: every this many steps
            the averages are written into the variables (None: only at the end of `fit`).

    Example:
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.apply([grad], [variable])
    """

    def __init__(
        self,
        learning_rate=0.001,
        name=None,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        decay=0.0,
        **kwargs,
    ):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = ema.settings(type(self).__name__, kwargs)
        self._check_extra_arguments(kwargs)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Pass at most one of clipnorm, clipvalue and global_clipnorm.")
        for key, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
            if value is not None and not value > 0:
                raise ValueError(f"{type(self).__name__}: {key} must be a positive number, got {value!r}.")
        self.name = name or type(self).__name__
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.decay = float(decay or 0.0)
        if self.decay < 0:
            raise ValueError(f"{type(self).__name__}: decay must be >= 0, got {decay}.")
        self.iterations = Variable(0, dtype="int32", trainable=False, name="iteration")
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        self._schedule = learning_rate if isinstance(learning_rate, schedules.LearningRateSchedule) else None
        if self._schedule is not None:
            initial = float(ops.convert_to_numpy(self._schedule(0)))
        elif callable(learning_rate) or isinstance(learning_rate, (str, bool)):
            raise TypeError(
                f"{type(self).__name__}: learning_rate must be a float or a LearningRateSchedule, "
                f"got {learning_rate!r}."
            )
        else:
            initial = float(learning_rate)
        self._learning_rate = Variable(initial, dtype="float32", trainable=False, name="learning_rate")
        self._slots: list = []
        self._built_for: list | None = None
        self._exclude_ids: set = set()
        self._exclude_pattern = None

    def _check_extra_arguments(self, kwargs: dict) -> None:
        for key in _IGNORED_ARGUMENTS:
            kwargs.pop(key, None)
        for key in _OFF_ARGUMENTS:
            if key in kwargs:
                value = kwargs.pop(key)
                if value not in (None, False):
                    raise ValueError(f"{type(self).__name__}: lamina does not support {key}={value!r}.")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {sorted(kwargs)}.")

    # The learning rate reads and writes as a float, as in Keras.
    @property
    def learning_rate(self):
        """The learning rate variable (with a schedule: its value at the current `iterations`)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._schedule is not None:
            raise TypeError(
                f"{self.name} was created with a LearningRateSchedule as its learning_rate; "
                "its learning rate cannot be set."
            )
        self._learning_rate.assign(float(value))

    lr = learning_rate

    @property
    def variables(self) -> list:
        """The step counter, the learning rate and every slot, in creation order."""
        return [self.iterations, self._learning_rate, *self._slots]

    def add_slot(self, variable, name, initializer="zeros") -> Variable:
        """A per-weight state variable (momentum, velocity, ...) shaped like `variable`."""
        from lamina import initializers

        slot = Variable(initializers.get(initializer), shape=variable.shape, dtype=variable.dtype, trainable=False)
        engine.core.match_layout(slot, variable)  # torch: in the weight's memory order, for the fused update
        slot.name = name
        slot.path = f"{self.name}/{variable.path.replace('/', '_')}_{name}"
        self._slots.append(slot)
        return slot

    def add_state(self, name, value, dtype="float32") -> Variable:
        """A state variable of the optimizer itself (not tied to a weight), saved with the slots."""
        state = Variable(value, dtype=dtype, trainable=False, name=name)
        state.path = f"{self.name}/{name}"
        self._slots.append(state)
        return state

    def build(self, variables) -> None:
        """Creates the slots for `variables` (once)."""
        variables = list(variables)
        if self._built_for is not None:
            # Compared by identity against the variables themselves, held here: ids alone could be
            # reused by new variables once the old ones are garbage collected.
            if len(variables) != len(self._built_for) or any(a is not b for a, b in zip(variables, self._built_for)):
                raise ValueError(
                    f"Optimizer {self.name} was built for another set of variables; "
                    "create a new optimizer for a different model."
                )
            return
        ema.build(self, variables)  # before the rule's slots, as Keras 3 orders them
        self.build_slots(variables)
        self._built_for = variables

    def build_slots(self, variables) -> None:
        pass

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keeps weight decay off `var_list` and off variables whose name contains one of `var_names`.

        Example:
            >>> opt = AdamW(weight_decay=0.01)
            >>> opt.exclude_from_weight_decay(var_names=["bias"])
        """
        if self._built_for is not None:
            raise ValueError(f"{self.name}: exclude_from_weight_decay() must be called before the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or []}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _decays(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or self._exclude_pattern.search(variable.name) is None

    def _clip(self, grads):
        if self.clipvalue is not None:
            return [ops.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = ops.sqrt(ops.sum(ops.square(g)))
                out.append(g * ops.minimum(1.0, self.clipnorm / ops.maximum(norm, 1e-12)))
            return out
        if self.global_clipnorm is not None:
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
            scale = ops.minimum(1.0, self.global_clipnorm / ops.maximum(norm, 1e-12))
            return [g * scale for g in grads]
        return list(grads)

    def _current_learning_rate(self):
        """The learning rate of the coming step, computed with ops from `iterations` (no host reads)."""
        if self._schedule is not None:
            return ops.cast(self._schedule(self.iterations.value), "float32")
        lr = self._learning_rate.value
        if self.decay:
            lr = lr / (1.0 + self.decay * ops.cast(self.iterations.value, "float32"))
        return lr

    def apply(self, grads, variables) -> None:
        """One update of every variable from its gradient; then constraints; then iterations += 1."""
        variables = list(variables)
        self.build(variables)
        grads = self._clip([ops.convert_to_tensor(g) for g in grads])
        lr = self._current_learning_rate()
        self._apply_weight_decay(variables, lr)
        self.update_all(grads, variables, lr)
        if self.use_ema:
            ema.update(self, variables)
        for variable in variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable.value))
        self.iterations.assign_add(1)
        if self._schedule is not None:
            # `learning_rate` then reads as the schedule's value for the next step, as in Keras.
            self._learning_rate.assign(ops.cast(self._schedule(self.iterations.value), "float32"))

    def _apply_weight_decay(self, variables, lr) -> None:
        """Decoupled weight decay: `w -= w * weight_decay * lr` (Muon overrides it with two rates)."""
        if self.weight_decay:
            for variable in variables:
                if self._decays(variable):
                    variable.assign(variable.value - variable.value * self.weight_decay * lr)

    def finalize_variable_values(self, var_list) -> None:
        """At the end of `fit`: with `use_ema`, writes the moving averages into `var_list`.

        Example:
            >>> opt = Adam(use_ema=True)
            >>> opt.apply(grads, variables)
            >>> opt.finalize_variable_values(variables)  # variables now hold their averages
        """
        if self.use_ema:
            ema.overwrite(self, list(var_list))

    def update_all(self, grads, variables, lr) -> None:
        """Updates every variable; optimizers with a whole-model engine op override this."""
        for index, (grad, variable) in enumerate(zip(grads, variables)):
            self.update_step(index, grad, variable, lr)

    @staticmethod
    def _store(variables, values) -> None:
        """Assigns new values, skipping those an engine already updated in place."""
        for variable, value in zip(variables, values):
            if value is not variable.value:
                variable.assign(value)

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras 2's form: a list of (gradient, variable) pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def get_gradients(self, loss, params) -> list:
        """Keras 2's symbolic gradients of `loss` for `params` (`K.gradients`), for a `K.function`."""
        from lamina.backend import gradients

        return gradients(loss, params)

    def get_updates(self, loss, params) -> list:
        """Keras 2's training updates: pass them to `K.function(inputs, outputs, updates=...)`.

        Each call of that function then takes one optimizer step on the gradients of the symbolic `loss`.

        Example:
            >>> updates = model.optimizer.get_updates(loss=loss, params=model.trainable_weights)
            >>> train = K.function([model.input, target], [loss], updates=updates)
        """
        from lamina.backend.k_function import OptimizerUpdate

        return [OptimizerUpdate(self, loss, params)]

    def update_step(self, index, grad, variable, lr) -> None:
        raise NotImplementedError

    def scale_loss(self, loss):
        """The loss the trainer differentiates: unchanged here (a `LossScaleOptimizer` scales it)."""
        return loss

    def get_config(self) -> dict:
        if self._schedule is not None:
            learning_rate = schedules.serialize(self._schedule)
        else:
            learning_rate = float(self._learning_rate.numpy())
        config = {"name": self.name, "learning_rate": learning_rate}
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        if self.decay:
            config["decay"] = self.decay
        if getattr(self, "_epsilon_outside_root", False):
            # Keras 2's rule, taken on from a Keras 2 file: kept through lamina's own save and reload.
            config["epsilon_outside_root"] = True
        return {**config, **ema.config(self)}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        outside = config.pop("epsilon_outside_root", False)
        if outside and not hasattr(cls, "_epsilon_outside_root"):
            raise ValueError(f"{cls.__name__} has no Keras 2 epsilon rule; its config says epsilon_outside_root=True.")
        optimizer = cls(**config)
        if outside:
            optimizer._epsilon_outside_root = True
        return optimizer


def fuzz_factor(epsilon) -> float:
    """`epsilon` as a float; None (Keras 2's default) means `lamina.config.epsilon()`."""
    from lamina import config

    return float(config.epsilon() if epsilon is None else epsilon)


def _known_optimizers() -> dict:
    """lamina's optimizers by lower-case class name."""
    from lamina import optimizers

    classes = (
        optimizers.SGD,
        optimizers.RMSprop,
        optimizers.Adam,
        optimizers.AdamW,
        optimizers.Adagrad,
        optimizers.Adadelta,
        optimizers.Adamax,
        optimizers.Nadam,
        optimizers.Ftrl,
        optimizers.Lion,
        optimizers.Adafactor,
        optimizers.Lamb,
        optimizers.Muon,
        optimizers.ScheduleFreeAdamW,
        optimizers.LossScaleOptimizer,
        optimizers.MultiOptimizer,
    )
    known = {cls.__name__.lower(): cls for cls in classes}
    known["lossscaleoptimizerv3"] = optimizers.LossScaleOptimizer  # tf-keras 2.11+'s class name in its files
    return known


def _class_for(name: str):
    known = _known_optimizers()
    # Keras 2 writes "Custom>Adam"; Keras 3 names AdamW's config "adam_w".
    cls = known.get(str(name).split(">")[-1].lower().replace("_", ""))
    if cls is None:
        raise ValueError(f"Unknown optimizer {name!r}. Known: {sorted(known)}.")
    return cls


def serialize(optimizer) -> dict:
    """`{"class_name": ..., "config": ...}` for an optimizer.

    Example:
        >>> serialize(SGD(learning_rate=0.1))["class_name"]
        'SGD'
    """
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects=None) -> Optimizer:
    """An optimizer from `{"class_name", "config"}` (Keras 2's "Custom>Adam" and Keras 3's extra keys accepted).

    Example:
        >>> deserialize({"class_name": "Adagrad", "config": {"learning_rate": 0.01}})
    """
    name = config.get("class_name", "")
    cls = (custom_objects or {}).get(name) or _class_for(name)
    inner = dict(config.get("config") or {})
    for key in ("module", "registered_name"):
        inner.pop(key, None)
    if isinstance(cls, type) and issubclass(cls, Optimizer):
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def get(identifier) -> Optimizer:
    """An optimizer from a name ('sgd', 'adagrad', 'adamw', ...), a config dict, a class or an instance.

    Example:
        >>> get("adagrad").get_config()["initial_accumulator_value"]
        0.1
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _class_for(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer {identifier!r}: expected a name or an Optimizer.")
