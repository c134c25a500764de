"""The Optimizer base: variables, gradient clipping, constraints, the step counter.

Updates are written with `variable.assign`, so the same code runs eagerly and,
inside the JAX trainer's stateless scope, as a pure function under `jit`.
"""

from __future__ import annotations

from lamina import ops
from lamina.backend import Variable


class Optimizer:
    """Base class. Subclasses implement `build_slots(variables)` and `update_step(grad, variable, lr)`.

    Args:
        learning_rate: a float (kept in a variable, so callbacks can change it without recompiling).
        clipnorm: clip each gradient to this L2 norm. clipvalue: clip each gradient element.
        global_clipnorm: clip all gradients together to this global norm.
        lr: Keras 2's name for learning_rate.

    Example:
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.apply([grad], [variable])
    """

    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None, global_clipnorm=None, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        for ignored in ("decay", "weight_decay", "use_ema", "ema_momentum", "ema_overwrite_frequency", "jit_compile"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {sorted(kwargs)}.")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Pass at most one of clipnorm, clipvalue and global_clipnorm.")
        self.name = name or type(self).__name__
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = Variable(0, dtype="int32", trainable=False, name="iteration")
        self._learning_rate = Variable(float(learning_rate), dtype="float32", trainable=False, name="learning_rate")
        self._slots: list = []
        self._built_for: list | None = None

    # The learning rate reads and writes as a float, as in Keras.
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
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
        slot.name = name
        slot.path = f"{self.name}/{variable.path.replace('/', '_')}_{name}"
        self._slots.append(slot)
        return slot

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
        self.build_slots(variables)
        self._built_for = variables

    def build_slots(self, variables) -> None:
        pass

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

    def apply(self, grads, variables) -> None:
        """One update of every variable from its gradient; then constraints; then iterations += 1."""
        variables = list(variables)
        self.build(variables)
        grads = self._clip([ops.convert_to_tensor(g) for g in grads])
        self.update_all(grads, variables, self._learning_rate.value)
        for variable in variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable.value))
        self.iterations.assign_add(1)

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

    def update_step(self, index, grad, variable, lr) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        config = {"name": self.name, "learning_rate": float(self._learning_rate.numpy())}
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def get(identifier) -> Optimizer:
    """An optimizer from a name ('sgd', 'rmsprop', 'adam'), a config dict, a class or an instance."""
    from lamina.optimizers.adam import Adam
    from lamina.optimizers.rmsprop import RMSprop
    from lamina.optimizers.sgd import SGD

    known = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = known.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}. Known: {sorted(known)}.")
        return cls()
    if isinstance(identifier, dict):
        cls = known.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier.get('class_name')!r}. Known: {sorted(known)}.")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer {identifier!r}: expected a name or an Optimizer.")
