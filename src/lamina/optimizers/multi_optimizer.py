"""MultiOptimizer and OptimizerMap: different optimizers for different weights, as Keras 3.15 defines them.

An `OptimizerMap` names optimizers by weight path (`"encoder/dense/kernel"`): a key matches a path
exactly, or else as a regular expression over the whole path (`"encoder/.*"`); a path no key matches
goes to the default optimizer. `MultiOptimizer` asks its map (or any callable taking a variable) which
optimizer updates each weight, and each inner optimizer then updates its own weights.

Its variables, in Keras 3's order (which files follow): its own step counter and (unused) learning
rate, then each inner optimizer's, the map's optimizers first (in key order, each once), the default last.

Example:
    >>> opt = lamina.optimizers.MultiOptimizer(
    ...     lamina.optimizers.OptimizerMap(lamina.optimizers.SGD(0.1), {"encoder/.*": lamina.optimizers.Adam()})
    ... )
    >>> model.compile(optimizer=opt, loss="mse")
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.optimizer import Optimizer


def _check_inner(optimizer, where: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where} must be a lamina Optimizer, got {type(optimizer).__name__}.")
    if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
        raise ValueError(f"{where} cannot be a {type(optimizer).__name__}; wrap the MultiOptimizer instead.")


def _deserialize_optimizer(config, custom_objects):
    from lamina.saving.training_config import optimizer_from_config

    return config if isinstance(config, Optimizer) else optimizer_from_config(config, custom_objects)


class OptimizerMap(MutableMapping):
    """Optimizers by weight path or path pattern, with a default for the rest.

    Args:
        default_optimizer: the optimizer of every weight no key matches.
        optimizer_map: `{path or regular expression: optimizer}`.

    Example:
        >>> opt_map = OptimizerMap(RMSprop())
        >>> opt_map["encoder/.*"] = SGD()
        >>> opt_map["encoder/dense/kernel"].name  # a regular expression over the whole path
        'SGD'
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                f"OptimizerMap: default_optimizer must be a lamina Optimizer, got {type(default_optimizer).__name__}."
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dict, got {type(optimizer_map).__name__}.")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self):
        """The optimizer of weights no key matches."""
        return self._default_optimizer

    def __getitem__(self, key):
        """The optimizer for path `key`: an exact key, else the one key that fully matches as a pattern."""
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(
                f"OptimizerMap: {key!r} matches more than one key ({matching}); make the patterns disjoint."
            )
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key, optimizer) -> None:
        if not isinstance(key, str):
            raise TypeError(f"OptimizerMap: keys must be strings (paths or patterns), got {key!r}.")
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: the key {key!r} is already mapped; keys must be unique.")
        _check_inner(optimizer, f"OptimizerMap[{key!r}]")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        """The optimizer for `variable` (by its path)."""
        return self[variable.path]

    def get_config(self) -> dict:
        from lamina.saving.serialization import serialize_object

        return {
            "default_optimizer": serialize_object(self._default_optimizer),
            "optimizer_map": {key: serialize_object(opt) for key, opt in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        default = _deserialize_optimizer(config["default_optimizer"], custom_objects)
        mapping = {
            key: _deserialize_optimizer(v, custom_objects) for key, v in (config.get("optimizer_map") or {}).items()
        }
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Updates each weight with the optimizer its map picks (Keras 3's `keras.optimizers.MultiOptimizer`).

    Args:
        optimizer_map: an `OptimizerMap`, or a callable `variable -> Optimizer`.
        loss_scale_factor: Keras 3's fixed loss scale; lamina supports only None (wrap the
            MultiOptimizer in a `LossScaleOptimizer` for dynamic loss scaling).
        name: the optimizer's name.

    A MultiOptimizer has no single learning rate: set it on the inner optimizers (`optimizers`).

    Example:
        >>> opt = MultiOptimizer(lambda v: adam if v.path.startswith("encoder/") else sgd)
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        super().__init__(learning_rate=0.0, name=name or "MultiOptimizer", loss_scale_factor=loss_scale_factor)
        if not callable(optimizer_map):
            raise TypeError(
                "MultiOptimizer: optimizer_map must be an OptimizerMap or a callable taking a variable, "
                f"got {type(optimizer_map).__name__}."
            )
        self.loss_scale_factor = None
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list = []
        for optimizer in [*getattr(optimizer_map, "values", list)(), getattr(optimizer_map, "default_optimizer", None)]:
            if optimizer is not None and not any(optimizer is o for o in self._inner_optimizers):
                self._inner_optimizers.append(optimizer)
        self._owner_of: dict = {}  # id(variable) -> index into _inner_optimizers

    @property
    def optimizers(self) -> list:
        """The inner optimizers, in the order their variables are saved."""
        return list(self._inner_optimizers)

    @property
    def optimizer_map(self):
        """The OptimizerMap (or callable) that picks each weight's optimizer."""
        return self._optimizer_map

    @property
    def learning_rate(self):
        raise AttributeError(
            f"{self.name}: a MultiOptimizer has no single learning rate; use its inner optimizers' (`optimizers`)."
        )

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError(
            f"{self.name}: a MultiOptimizer has no single learning rate; set it on its inner optimizers (`optimizers`)."
        )

    lr = learning_rate

    @property
    def variables(self) -> list:
        """Own counter and learning rate, then each inner optimizer's variables."""
        return [*self._own_variables(), *(v for opt in self._inner_optimizers for v in opt.variables)]

    def _own_variables(self) -> list:
        return [self.iterations, self._learning_rate]

    def _sub_optimizers(self) -> list:
        return list(self._inner_optimizers)

    def build(self, variables) -> None:
        variables = list(variables)
        if self._built_for is None:
            owners = [self._owner(variable) for variable in variables]
            for index, optimizer in enumerate(self._inner_optimizers):
                mine = [v for v, owner in zip(variables, owners) if owner == index]
                if mine:
                    optimizer.build(mine)
            self._owner_of = {id(v): owner for v, owner in zip(variables, owners)}
        super().build(variables)

    def _owner(self, variable) -> int:
        optimizer = self._optimizer_map(variable)
        _check_inner(optimizer, f"{self.name}: the optimizer for {variable.path!r}")
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    def apply(self, grads, variables) -> None:
        """Gives each inner optimizer the gradients of its own weights; then iterations += 1."""
        variables, grads = list(variables), list(grads)
        if len(grads) != len(variables):
            raise ValueError(f"{self.name}: got {len(grads)} gradients for {len(variables)} variables.")
        self.build(variables)
        groups: list = [([], []) for _ in self._inner_optimizers]
        for grad, variable in zip(grads, variables):
            sub_grads, sub_vars = groups[self._owner_of[id(variable)]]
            sub_grads.append(grad)
            sub_vars.append(variable)
        for optimizer, (sub_grads, sub_vars) in zip(self._inner_optimizers, groups):
            if sub_vars:
                optimizer.apply(sub_grads, sub_vars)
        self.iterations.assign_add(1)

    def finalize_variable_values(self, var_list) -> None:
        for index, optimizer in enumerate(self._inner_optimizers):
            mine = [v for v in var_list if self._owner_of.get(id(v)) == index]
            if mine:
                optimizer.finalize_variable_values(mine)

    def get_config(self) -> dict:
        from lamina.saving.serialization import serialize_object

        return {"optimizer_map": serialize_object(self._optimizer_map), "loss_scale_factor": None, "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = _map_from_config(config.get("optimizer_map"), custom_objects)
        return cls(**config)


def _map_from_config(entry, custom_objects):
    """An OptimizerMap from its config, or a registered / custom function from its name."""
    from lamina.saving import object_registration

    if isinstance(entry, dict) and entry.get("class_name") == "OptimizerMap":
        return OptimizerMap.from_config(entry.get("config") or {}, custom_objects)
    name = entry.get("config") if isinstance(entry, dict) and entry.get("class_name") == "function" else entry
    found = object_registration.get_registered_object(name, custom_objects) if isinstance(name, str) else None
    if found is None:
        raise ValueError(
            f"MultiOptimizer: cannot rebuild its optimizer_map from {entry!r}; a function needs "
            "custom_objects={name: function} (or a registered one)."
        )
    return found
