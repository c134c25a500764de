"""The JAX step runner: train, test and predict steps as jitted pure functions of explicit state.

State is four lists of arrays — trainable, non-trainable (including seed
state), optimizer and metric variables — read from the Variables before a
call and written back after it, in `_write_back` only (DESIGN rule 4). A call
runs k steps at once with `lax.scan` when the trainer stacks k batches.
"""

from __future__ import annotations

import jax

from lamina.backend.common import StatelessScope
from lamina.backend.common.replicas import replica_context
from lamina.backend.jax import placement as _placement
from lamina.backend.jax.core import current_device
from lamina.backend.jax.distribute import single_device
from lamina.utils import nest

__all__ = ["StepRunner"]


def _read(variables) -> list:
    return [v._value for v in variables]


def _write_back(variables, values) -> None:
    for variable, value in zip(variables, values):
        variable._value = value


def _scope(*pairs):
    mapping = []
    for variables, values in pairs:
        mapping.extend(zip(variables, values))
    return StatelessScope(mapping)


def _first(tree):
    return jax.tree_util.tree_map(lambda a: a[0], tree)


def _uses_primitive(jaxpr, fragment: str) -> bool:
    """True if any equation of `jaxpr` (or of a jaxpr nested in it) is a primitive whose name contains `fragment`."""
    for eqn in jaxpr.eqns:
        if fragment in eqn.primitive.name:
            return True
        for param in eqn.params.values():
            inner = getattr(param, "jaxpr", param)
            if hasattr(inner, "eqns") and _uses_primitive(inner, fragment):
                return True
    return False


class StepRunner:
    """Compiled train/test/predict steps for one compiled model.

    Example:
        >>> runner = StepRunner(model)
        >>> logs = runner.train(x_steps, y_steps, None)  # arrays shaped (k, batch, ...)
    """

    def __init__(self, model, predict_only=False, placement=None):
        self.model = model
        self._fusable = None
        # A DataParallelPlacement (backend/jax/distribute.py) runs the same steps on a mesh of devices.
        self.placement = placement
        trainable = model.trainable_variables if predict_only else model._compiled_trainable
        self.tv = list(trainable)
        ids = {id(v) for v in self.tv}
        every = model.weights + model.non_trainable_variables
        seen = set()
        self.ntv = []
        for variable in every:
            if id(variable) not in ids and id(variable) not in seen:
                seen.add(id(variable))
                self.ntv.append(variable)
        self.ov = [] if predict_only else model.optimizer.variables
        self.mv = [] if predict_only else model._compile_metrics.variables
        eager = getattr(model, "_run_eagerly", False)
        wrap = (lambda fn, **kw: fn) if eager else jax.jit
        options = {} if placement is None else placement.jit_options()  # across processes: outputs whole everywhere
        self._train_fn = wrap(self._train_chunk, donate_argnums=(0,), **options)
        self._test_fn = wrap(self._test_chunk, donate_argnums=(1,), **options)
        self._predict_fn = wrap(self._predict_chunk, **options)
        # Device scopes on other devices than the home one: one compiled program per node (backend/jax/placement.py).
        self.home = None if eager or placement is not None else _pipeline_home(model)
        if self.home is not None:
            self._train_fn, self._test_fn, self._predict_fn = (
                self._pipelined_train,
                self._pipelined_test,
                self._pipelined_predict,
            )
            self._apply_fn = jax.jit(self._apply_and_measure, static_argnums=(10,))
            self._measure_fn = jax.jit(self._measure, static_argnums=(7,))
            self._results_fn = jax.jit(self._results)
            self._loss_programs = {}

    def can_fuse(self, x_batch) -> bool:
        """Whether k steps may run as one `lax.scan` call (decided once, from one batch of x).

        XLA:CPU runs convolutions inside a while loop on a slow path (measured 20x
        slower than the same step called k times), so on CPU a model whose step
        convolves runs one step per call.
        """
        if self._fusable is None:
            if self.home is not None:
                self._fusable = False  # pipelined steps run one at a time
            elif jax.default_backend() != "cpu":
                self._fusable = True
            else:
                sample = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), x_batch)
                jaxpr = jax.make_jaxpr(self._predict_step)(_read(self.tv), _read(self.ntv), sample)
                self._fusable = not _uses_primitive(jaxpr.jaxpr, "conv_general")  # not convert_element_type
        return self._fusable

    def _place(self, state, batch):
        """The step's arguments where they run: replicated state and split batches on a mesh, else one device."""
        if self.home is not None:
            return jax.device_put(state, self.home), batch
        if self.placement is None:
            return single_device(state), batch
        return self.placement.replicate(state), self.placement.split(batch, axis=1)

    def _replicas(self, batch):
        """The replica context of a call on `batch`: the device count when the batch splits, else 1.

        The split depends only on shapes, so a trace cached for some shapes always ran in the right context.
        """
        count = self.placement.count if self.placement is not None and self.placement.divides(batch, 1) else 1
        return replica_context(count)

    # ------------------------------------------------------------- train
    def _train_step(self, state, batch):
        tv_vals, ntv_vals, ov_vals, mv_vals = state
        x, y, sw = batch
        grads, total, y_pred, per_output, ntv_vals, masks = self._gradients(tv_vals, ntv_vals, ov_vals, x, y, sw)
        count = nest.leading_dim(x)
        tv_vals, ov_vals, mv_vals = self._apply_and_measure(
            tv_vals, ov_vals, mv_vals, grads, y, y_pred, sw, total, per_output, masks, count
        )
        return (tv_vals, ntv_vals, ov_vals, mv_vals)

    def _gradients(self, tv_vals, ntv_vals, ov_vals, x, y, sw):
        """The loss's gradients with respect to the trainable values, and what the metrics need."""
        model = self.model

        def loss_fn(tv_now):
            with _scope((self.tv, tv_now), (self.ntv, ntv_vals)) as scope:
                y_pred = self._at_home(nest.flatten(model(x, training=True)))
                total, per_output = self._loss(x, y, y_pred, sw, True, scope)
                new_ntv = scope.values_for(self.ntv)
            masks = self._at_home(getattr(model, "_output_masks_for_metrics", None))  # out of the gradient trace
            with _scope((self.ov, ov_vals)):  # a LossScaleOptimizer's scale is optimizer state
                scaled = model.optimizer.scale_loss(total)
            return scaled, (total, y_pred, per_output, new_ntv, masks)

        (_, (total, y_pred, per_output, ntv_vals, masks)), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv_vals)
        return grads, total, y_pred, per_output, ntv_vals, masks

    def _apply_and_measure(self, tv_vals, ov_vals, mv_vals, grads, y, y_pred, sw, total, per_output, masks, count):
        with _scope((self.tv, tv_vals), (self.ov, ov_vals)) as scope:
            self.model.optimizer.apply(grads, self.tv)
            tv_vals = scope.values_for(self.tv)
            ov_vals = scope.values_for(self.ov)
        return tv_vals, ov_vals, self._measure(mv_vals, y, y_pred, sw, total, per_output, masks, count)

    def _measure(self, mv_vals, y, y_pred, sw, total, per_output, masks, count):
        with _scope((self.mv, mv_vals)) as scope:
            self.model._compile_metrics.update(y, y_pred, sw, total, per_output, count, masks)
            return scope.values_for(self.mv)

    def _loss(self, x, y, y_pred, sw, training: bool, scope):
        """The model's loss; in a pipelined step one compiled program, whose inputs are named rather than read from
        the model: the penalties added by this call's layers, the output masks and the regularized variables."""
        model = self.model
        if self.home is None:
            return model._compute_loss(x, y, y_pred, sw, training=training)
        holders = [layer for layer in model._flatten_layers() if layer._losses]
        regularized = [v for v in self.tv + self.ntv if v.regularizer is not None]
        masks = getattr(model, "_output_masks_for_loss", None)
        key = (tuple(id(layer) for layer in holders), training)
        program = self._loss_programs.get(key)
        if program is None:
            program = self._loss_programs[key] = _placement._Opaque(
                lambda *args: self._pure_loss(holders, regularized, training, *args)
            )
        added = [list(layer._losses) for layer in holders]
        values = scope.values_for(regularized)
        total, per_output = program(x, y, y_pred, sw, masks, added, values)
        object.__setattr__(model, "_output_masks_for_metrics", masks)
        return total, per_output

    def _pure_loss(self, holders, regularized, training, x, y, y_pred, sw, masks, added, values):
        model = self.model
        kept = [layer._losses for layer in holders]
        outer_masks = getattr(model, "_output_masks_for_loss", None)
        try:
            for layer, losses in zip(holders, added):
                layer._losses = list(losses)
            object.__setattr__(model, "_output_masks_for_loss", masks)
            with StatelessScope(list(zip(regularized, values))):
                return model._compute_loss(x, y, y_pred, sw, training=training)
        finally:
            for layer, losses in zip(holders, kept):  # no traced value outlives the trace
                layer._losses = losses
            object.__setattr__(model, "_output_masks_for_loss", outer_masks)

    def _at_home(self, tree):
        """`tree` on the home device in a pipelined step (the last node may have run elsewhere), else `tree`."""
        return tree if self.home is None or tree is None else _placement._moved(tree, self.home)

    def _results(self, mv_vals) -> list:
        with _scope((self.mv, mv_vals)):
            return list(self.model._compile_metrics.results().values())

    def _train_chunk(self, state, x, y, sw):
        steps = nest.flatten(x)[0].shape[0]
        if steps == 1:
            state = self._train_step(state, _first((x, y, sw)))
        else:
            state, _ = jax.lax.scan(lambda s, b: (self._train_step(s, b), None), state, (x, y, sw))
        return state, self._results(state[3])

    def train(self, x, y, sw) -> list:
        """Runs one train step per leading index of x/y/sw; returns the metric results in log order."""
        variables = (self.tv, self.ntv, self.ov, self.mv)
        state, (x, y, sw) = self._place(tuple(_read(v) for v in variables), (x, y, sw))
        with self._replicas(x):
            state, logs = self._train_fn(state, x, y, sw)
        for group, values in zip(variables, state):
            _write_back(group, values)
        return logs

    # -------------------------------------------------------------- test
    def _test_step(self, tv_vals, state, batch):
        ntv_vals, mv_vals = state
        x, y, sw = batch
        model = self.model
        with _scope((self.tv, tv_vals), (self.ntv, ntv_vals)) as scope:
            y_pred = self._at_home(nest.flatten(model(x, training=False)))
            total, per_output = self._loss(x, y, y_pred, sw, False, scope)
            ntv_vals = scope.values_for(self.ntv)
        masks = self._at_home(getattr(model, "_output_masks_for_metrics", None))
        measure = self._measure if self.home is None else self._measure_fn
        return (ntv_vals, measure(mv_vals, y, y_pred, sw, total, per_output, masks, nest.leading_dim(x)))

    def _test_chunk(self, tv_vals, state, x, y, sw):
        steps = nest.flatten(x)[0].shape[0]
        if steps == 1:
            state = self._test_step(tv_vals, state, _first((x, y, sw)))
        else:
            state, _ = jax.lax.scan(lambda s, b: (self._test_step(tv_vals, s, b), None), state, (x, y, sw))
        return state, self._results(state[1])

    def test(self, x, y, sw) -> list:
        """Runs one test step per leading index; returns the metric results in log order."""
        (tv_vals, state), (x, y, sw) = self._place((_read(self.tv), (_read(self.ntv), _read(self.mv))), (x, y, sw))
        state, logs = self._test_fn(tv_vals, state, x, y, sw)
        _write_back(self.ntv, state[0])
        _write_back(self.mv, state[1])
        return logs

    # ----------------------------------------------------------- predict
    def _predict_step(self, tv_vals, ntv_vals, x):
        with _scope((self.tv, tv_vals), (self.ntv, ntv_vals)) as scope:
            outputs = self._at_home(nest.flatten(self.model(x, training=False)))
            ntv_vals = scope.values_for(self.ntv)
        return ntv_vals, outputs

    def _predict_chunk(self, tv_vals, ntv_vals, x):
        if nest.flatten(x)[0].shape[0] == 1:
            ntv_vals, outputs = self._predict_step(tv_vals, ntv_vals, _first(x))
            return ntv_vals, [o[None] for o in outputs]
        return jax.lax.scan(lambda s, b: self._predict_step(tv_vals, s, b), ntv_vals, x)

    def predict(self, x) -> list:
        """The outputs for each leading index of x, stacked: [(k, batch, ...), ...]."""
        (tv_vals, ntv_vals), x = self._place((_read(self.tv), _read(self.ntv)), x)
        ntv_vals, outputs = self._predict_fn(tv_vals, ntv_vals, x)
        _write_back(self.ntv, ntv_vals)
        return outputs

    # --------------------------------------------------------- pipelined
    def _pipelined_train(self, state, x, y, sw):
        """One train step with each node compiled on its own device; the update compiled on the home device."""
        tv_vals, ntv_vals, ov_vals, mv_vals = state
        x, y, sw = _first((x, y, sw))
        with _placement.pipelined(self.home):
            grads, total, y_pred, per_output, ntv_vals, masks = self._gradients(tv_vals, ntv_vals, ov_vals, x, y, sw)
        count = nest.leading_dim(x)
        tv_vals, ov_vals, mv_vals = self._apply_fn(
            tv_vals, ov_vals, mv_vals, grads, y, y_pred, sw, total, per_output, masks, count
        )
        return (tv_vals, ntv_vals, ov_vals, mv_vals), self._results_fn(mv_vals)

    def _pipelined_test(self, tv_vals, state, x, y, sw):
        with _placement.pipelined(self.home):
            state = self._test_step(tv_vals, state, _first((x, y, sw)))
        return state, self._results_fn(state[1])

    def _pipelined_predict(self, tv_vals, ntv_vals, x):
        with _placement.pipelined(self.home):
            ntv_vals, outputs = self._predict_step(tv_vals, ntv_vals, _first(x))
        return ntv_vals, [o[None] for o in outputs]


def _pipeline_home(model):
    """The home device when the model's graph has nodes scoped to other devices (a pipelined step), else None."""
    home = current_device()
    scoped = {node.device for node in getattr(model, "_nodes", ())} - {None, home}
    return home if scoped else None
