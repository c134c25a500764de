"""compile / fit / evaluate / predict, written once for every engine (DESIGN rule 5).

The engine supplies a step runner (`backend.<engine>.trainer.StepRunner`) that
runs one or several train, test or predict steps on batches stacked along a
leading axis. Everything else — data, batching, validation, callbacks,
progress, History — lives here.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from lamina import optimizers
from lamina.backend import engine
from lamina.backend.common.seed import draw_seed, numpy_rng
from lamina.callbacks.callback import CallbackList
from lamina.callbacks.history import History
from lamina.distribution import distribution, placement_for
from lamina.dtype_policies.dtype_policy import needs_loss_scaling
from lamina.trainers.arguments import (
    check_batch_size,
    evaluate_result,
    loading_arguments,
    progbar_logger,
    reject_unknown,
    symbolic_specs,
    unpack_validation,
)
from lamina.trainers.batch_methods import BatchMethods
from lamina.trainers.compile_utils import CompileLoss, CompileMetrics, masked_sample_weights, regularization_total
from lamina.trainers.data.array_data import ArrayData, batch_chunks, epoch_order, planned_chunk
from lamina.trainers.data.generator_methods import GeneratorMethods
from lamina.trainers.data.stream_data import check_stream_arguments, is_stream, make_stream
from lamina.trainers.data.stream_loops import (
    evaluate_stream,
    predict_stream,
    prepare_from_stream,
    train_stream_epoch,
)
from lamina.trainers.fused_steps import FusedSteps
from lamina.trainers.predict_runner import predict_only_runner
from lamina.trainers.target_checks import TargetChecks, check_batch_targets, check_targets
from lamina.utils import nest


class Trainer(GeneratorMethods, BatchMethods):
    """The training API mixed into Model (with Keras 2's fit_generator & co. from GeneratorMethods)."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._runner = None
        self._compile_loss = None
        self._compile_metrics = None
        self._fused = FusedSteps()

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution="auto",
        jit_compile="auto",
        **kwargs,
    ):
        """Configures the model for training.

        Args:
            optimizer: a name ('sgd', 'rmsprop', 'adam') or an Optimizer.
            loss: a name, function or Loss; or a list/dict with one per output.
            metrics: names, functions or Metrics; "accuracy" is resolved from the loss.
            loss_weights: a list/dict of per-output factors for the total loss.
            weighted_metrics: metrics that also use sample_weight/class_weight.
            steps_per_execution: "auto" (fuse steps into one compiled call when no
                callback needs every batch) or a number of steps per call.
            auto_scale_loss: when the model has "mixed_float16" layers, wrap the optimizer in a
                `LossScaleOptimizer` (True, as Keras 3 does; False leaves it as given).

        Which weights are trainable is fixed here: changing `layer.trainable`
        takes effect at the next `compile()`, as the Keras FAQ says.

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        kwargs.pop("sample_weight_mode", None)
        kwargs.pop("target_tensors", None)
        auto_scale_loss = kwargs.pop("auto_scale_loss", True)
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s): {sorted(kwargs)}.")
        if steps_per_execution != "auto" and (not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError(f'steps_per_execution must be "auto" or a positive int, got {steps_per_execution!r}.')
        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss and needs_loss_scaling(self, self.optimizer):  # mixed_float16: Keras 3 wraps it too
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer)
        self._compile_loss = CompileLoss(loss, loss_weights)
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics)
        self._steps_per_execution = steps_per_execution
        self._run_eagerly = bool(run_eagerly)
        self._jit_compile = jit_compile
        self._compile_config = {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": metrics,
            "loss_weights": loss_weights,
            "weighted_metrics": weighted_metrics,
        }
        self._runner = None
        self._target_checks = None  # built with the runner, for this compile's losses and metrics
        self._distribution = distribution()  # compiled in a distribution's scope: fit outside it still uses it
        self._fused = FusedSteps(steps_per_execution)
        self._compiled_trainable = None
        self.compiled = True
        if self.built:
            self._freeze_trainable_set()

    def _freeze_trainable_set(self) -> None:
        self._compiled_trainable = list(self.trainable_variables)

    def _assert_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must compile the model before calling {what}(): "
                "model.compile(optimizer='adam', loss='mse') for example."
            )

    @property
    def metrics_names(self) -> list:
        if self._compile_metrics is None:
            return []
        return [m.name for m in self._compile_metrics.all_metrics]

    @property
    def metrics(self) -> list:
        return [] if self._compile_metrics is None else self._compile_metrics.all_metrics

    def reset_metrics(self) -> None:
        if self._compile_metrics is not None:
            self._compile_metrics.reset()

    # ------------------------------------------------------- step machinery
    def _output_names_list(self, count: int) -> list:
        names = list(getattr(self, "output_names", None) or [])
        return names if len(names) == count else [f"output_{i}" for i in range(count)]

    def _prepare(self, data: ArrayData) -> None:
        """Builds the model, the loss and metric containers and the engine runner, once per compile."""
        if self._runner is not None:
            return
        sample_x, sample_y, _ = data.take(np.arange(min(data.n, 2)))
        if not self.built:
            self(sample_x)
        if self._compiled_trainable is None:
            self._freeze_trainable_set()
        specs = symbolic_specs(sample_x, self._fixed_batch_size())
        y_pred = nest.flatten(engine.core.compute_output_spec(self._predict_symbolic, specs))
        names = self._output_names_list(len(y_pred))
        self._compile_loss.build(names)
        y_shapes = [tuple(a.shape) for a in (sample_y or [])] or [t.shape for t in y_pred]
        self._compile_metrics.build(names, self._compile_loss, y_shapes, [t.shape for t in y_pred])
        output_shapes = [tuple(t.shape[1:]) for t in y_pred]
        self._target_checks = TargetChecks(names, output_shapes, self._compile_loss, self._compile_metrics)
        self.optimizer.build(self._compiled_trainable)
        self._runner = engine.trainer.StepRunner(self, placement=placement_for(self))

    def _data(self, x, y=None, sample_weight=None, class_weight=None, batch_size=None, argument="x") -> ArrayData:
        """The arrays, checked against the model's inputs before anything is compiled.

        With `batch_size`, one batch is checked: a model with a fixed batch size
        (`batch_input_shape`) takes any number of samples in batches of that size.
        No samples at all is refused, naming `argument`, as Keras 2 does.
        """
        data = ArrayData(self, x, y, sample_weight, class_weight)
        if data.n == 0:
            raise ValueError(f"Expected input data to be non-empty: {argument} has 0 samples.")
        if self.built:
            first = np.arange(data.n if batch_size is None else min(data.n, batch_size))
            self._check_inputs(data.take(first)[0])
        return data

    def _fixed_batch_size(self):
        """The batch size the model's inputs fix (`batch_input_shape=(32, ...)`), or None."""
        try:
            inputs = self.inputs
        except (AttributeError, ValueError):  # not built yet, or a subclassed model
            return None
        sizes = {tensor.shape[0] for tensor in inputs or []}
        return sizes.pop() if len(sizes) == 1 else None

    def _predict_symbolic(self, x):
        return self(x, training=False)

    def _compute_loss(self, x, y, y_pred: list, sample_weight, training: bool):
        """(total loss with penalties, per-output losses). Called inside the engine's step."""
        if y is None and any(loss is not None for loss in self._compile_loss.losses):
            raise ValueError("This model was compiled with a loss, so fit/evaluate need targets `y`.")
        masks = getattr(self, "_output_masks_for_loss", None)  # set by this step's forward
        # The engine's step hands these to the metrics (from inside its gradient function on JAX).
        object.__setattr__(self, "_output_masks_for_metrics", masks)
        if masks is not None and y is not None:
            sample_weight = masked_sample_weights(masks, sample_weight, len(y_pred))
        total, per_output = self._compile_loss(y, y_pred, sample_weight)
        penalty = regularization_total(self)
        if isinstance(penalty, float) and penalty == 0.0:
            if training and all(loss is None for loss in self._compile_loss.losses):
                raise ValueError(
                    "The model has no loss to train: compile(loss=...) was not given one (for example "
                    "compile(optimizer='adam', loss='mse')) and no layer added one with add_loss()."
                )
            return total, per_output
        return total + penalty, per_output

    def _step_inputs(self, data: ArrayData, indices, k: int):
        """The batches at `indices`, stacked as k steps along a leading axis."""
        x, y, sw = data.take(indices)
        if data.lazy:  # a file-backed y is read batch by batch: its labels are checked as they come
            check_batch_targets(self, y, labels_only=True)

        def stack(array):
            return array.reshape((k, array.shape[0] // k, *array.shape[1:]))

        return (
            nest.map_structure(stack, x),
            (None if y is None else [stack(a) for a in y]),
            (None if sw is None else [stack(a) for a in sw]),
        )

    def _fusable(self, runner, data: ArrayData, batch_size: int, per_batch: bool) -> bool:
        if per_batch or getattr(self, "_run_eagerly", False):
            return False
        # A whole batch, not one sample: a model with a fixed batch size rejects any other.
        return runner.can_fuse(data.take(np.arange(min(data.n, batch_size)))[0])

    def _host_logs(self, results) -> dict:
        """The runner's metric results (a list in log order) as a dict of Python floats.

        A per-class result (F1Score with average=None, ...) stays a NumPy array, as in Keras.
        """
        values = engine.core.convert_to_numpy_tree(results)
        return {
            metric.name: float(value) if np.size(value) == 1 else np.asarray(value)
            for metric, value in zip(self._compile_metrics.all_metrics, values)
        }

    # -------------------------------------------------------------------- fit
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        **kwargs,
    ):
        """Trains for `epochs` epochs and returns a History.

        `x` is arrays (a NumPy array, a list of them, or a dict by input name;
        h5py datasets and `lamina.utils.HDF5Matrix` are read batch by batch
        from disk), or a stream of batches with no `y`: a generator yielding
        `(x, y)` or `(x, y, sample_weight)` (with `steps_per_epoch`; epochs keep
        drawing from the same generator), a `lamina.utils.Sequence`, or a
        re-iterable with a length, such as a torch DataLoader (iterated anew
        every epoch). `validation_data` may be a stream too (with
        `validation_steps` for a generator).

        Validation data is the *last* `validation_split` fraction of x/y, taken
        before shuffling, and is evaluated at the end of every epoch. With
        `shuffle=True` the training samples (a Sequence's batches) are reordered
        every epoch; `shuffle="batch"` reorders whole batch-sized blocks, so
        each batch of an HDF5 file is one contiguous read. The logged training
        loss is the mean over the epoch's batches (weighted by batch size, so a
        short last batch counts for less).

        A Sequence's batches are loaded ahead, up to `max_queue_size`, by
        `workers` threads, or by `workers` processes with
        `use_multiprocessing=True`; a generator is drawn in a background
        thread. `workers=0` loads every batch in the training loop itself.

        Example:
            >>> history = model.fit(x, y, batch_size=32, epochs=10, validation_split=0.2)
            >>> history.history["val_loss"]
            >>> model.fit(batch_generator(), steps_per_epoch=100, epochs=5)
        """
        if "nb_epoch" in kwargs:  # Keras 1's name, which Keras 2 still took
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        reject_unknown(kwargs, "fit")
        self._assert_compiled("fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"Expected epochs to be a positive integer, got epochs={epochs!r}.")
        batch_size = check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        loading = loading_arguments(max_queue_size, workers, use_multiprocessing)
        streams = []  # closed (worker threads and processes stopped) however fit ends
        try:
            if is_stream(x):
                check_stream_arguments("fit", x, y=y, sample_weight=sample_weight, validation_split=validation_split)
                passes = epochs - initial_epoch
                data = make_stream(x, "fit", steps_per_epoch, "steps_per_epoch", shuffle, passes, loading)
                streams.append(data)
                self._prepare(prepare_from_stream(self, data, "fit", class_weight))
            else:
                data = self._data(x, y, sample_weight, class_weight, batch_size=batch_size)
            val_data = None
            if validation_data is not None and is_stream(validation_data):
                runs = sum((epoch + 1) % validation_freq == 0 for epoch in range(initial_epoch, epochs))
                val_data = make_stream(
                    validation_data, "fit", validation_steps, "validation_steps", False, runs, loading
                )
                streams.append(val_data)
            elif validation_data is not None:
                val_batch = validation_batch_size or batch_size
                val_data = self._data(
                    *unpack_validation(validation_data), batch_size=val_batch, argument="validation_data"
                )
            elif validation_split:
                data, val_data = data.split(validation_split)
            if isinstance(data, ArrayData):
                self._prepare(data)
                check_targets(self, data)
                steps = steps_per_epoch or -(-data.n // batch_size)
            else:
                steps = data.steps
            if isinstance(val_data, ArrayData):
                check_targets(self, val_data, "validation y")
            history = History()
            user_callbacks = list(callbacks or [])
            built_in = [history] + progbar_logger(verbose, user_callbacks)
            # Keras 2's keys in Keras 2's order (History.params shows only these), then lamina's own.
            params = {"verbose": verbose, "epochs": epochs, "steps": steps, "batch_size": batch_size}
            callback_list = CallbackList(user_callbacks + built_in, self, params)
            per_batch = callback_list.needs_every_batch()
            # BackupAndRestore restores the shuffling generator's state and moves `_initial_epoch` on in on_train_begin.
            rng = self._shuffle_rng = numpy_rng(engine.distribute.chief_seed(draw_seed()))  # one order, all processes
            self._initial_epoch = initial_epoch
            self.stop_training = False
            callback_list.call("on_train_begin", None)
            if hasattr(data, "draw_orders_from"):  # a shuffled Sequence shuffles from the (restored) generator too
                data.draw_orders_from(rng)
            logs = {}
            for epoch in range(self._initial_epoch, epochs):
                self.reset_metrics()
                callback_list.call("on_epoch_begin", epoch, None)
                if isinstance(data, ArrayData):
                    order, steps = epoch_order(data.n, batch_size, steps_per_epoch, shuffle, rng)
                    logs = self._train_epoch(data, order, batch_size, steps, callback_list, per_batch, verbose == 1)
                else:
                    logs = train_stream_epoch(self, data, callback_list, per_batch, class_weight)
                if val_data is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_data(
                        val_data, validation_batch_size or batch_size, validation_steps, callback_list, in_fit=True
                    )
                    logs.update({f"val_{name}": value for name, value in val_logs.items()})
                callback_list.call("on_epoch_end", epoch, logs)
                if self.stop_training:
                    break
            if self.optimizer._built_for is not None:  # use_ema: the averages become the weights, as in Keras 3
                self.optimizer.finalize_variable_values(self.optimizer._built_for)
            callback_list.call("on_train_end", logs)
        finally:
            for stream in streams:
                stream.close()
        self.history = history
        return history

    def _train_epoch(self, data, order, batch_size, steps, callback_list, per_batch, with_bar=False) -> dict:
        step = 0
        logs = {}
        full_batches = min(len(order), steps * batch_size) // batch_size
        fusable = self._fusable(self._runner, data, batch_size, per_batch)  # once per epoch, not per step
        while step < steps:
            # A callback that set stop_training before this epoch gets one batch, as in Keras.
            cap = None if self.stop_training else self._fused.choose(fusable, with_bar)
            if cap is not None:  # file-backed data is read in small chunks
                cap = min(cap, data.fused_steps_limit(batch_size))
            k = planned_chunk(step, full_batches, cap or 1, lead=self._fused.lead_steps())
            start = step * batch_size
            end = min(start + k * batch_size, len(order))
            if per_batch:
                callback_list.on_train_batch_begin(step, None)
            began = time.perf_counter()
            logs = self._host_logs(self._runner.train(*self._step_inputs(data, order[start:end], k)))
            seconds = time.perf_counter() - began
            if cap is None and step == 1:
                self._fused.measure(seconds, data.bytes_per_sample() * batch_size)
            elif with_bar and k > 1:  # a bar on screen (verbose=1) should move several times a second
                self._fused.pace_bar(k, batch_size, seconds)
            step += k
            callback_list.on_train_batch_end(step - 1, logs)
            if self.stop_training:
                break
        return logs

    # --------------------------------------------------------------- evaluate
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        **kwargs,
    ):
        """The loss (plus regularization penalties) and metrics on x/y, in inference mode.

        `x` is arrays, or a generator, Sequence or DataLoader of `(x, y)` /
        `(x, y, sample_weight)` batches, as for `fit` (a generator needs `steps`).
        Returns a scalar when there are no metrics, else `[loss, metric, ...]`
        (in `model.metrics_names` order), or a dict with `return_dict=True`.

        Example:
            >>> loss, acc = model.evaluate(x_test, y_test)
            >>> loss, acc = model.evaluate(test_batches, steps=50)  # a generator
        """
        reject_unknown(kwargs, "evaluate")
        self._assert_compiled("evaluate")
        batch_size = check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        data = None
        try:
            if is_stream(x):
                check_stream_arguments("evaluate", x, y=y, sample_weight=sample_weight)
                loading = loading_arguments(max_queue_size, workers, use_multiprocessing)
                data = make_stream(x, "evaluate", steps, "steps", False, 1, loading)
                self._prepare(prepare_from_stream(self, data, "evaluate"))
                total = data.steps
            else:
                data = self._data(x, y, sample_weight, batch_size=batch_size)
                self._prepare(data)
                check_targets(self, data)
                total = steps or -(-data.n // batch_size)
            user_callbacks = list(callbacks or [])
            params = {"verbose": verbose, "epochs": 1, "steps": total}
            callback_list = CallbackList(user_callbacks + progbar_logger(verbose, user_callbacks), self, params)
            logs = self._evaluate_data(data, batch_size, steps, callback_list, in_fit=False)
        finally:
            if data is not None and not isinstance(data, ArrayData):
                data.close()
        return evaluate_result(logs, return_dict)

    def _evaluate_data(self, data, batch_size, steps, callback_list, in_fit: bool) -> dict:
        if not isinstance(data, ArrayData):
            return evaluate_stream(self, data, callback_list, in_fit)
        self._prepare(data)
        self.reset_metrics()
        order, steps = epoch_order(data.n, batch_size, steps, False, None)
        per_batch = callback_list.needs_every_batch()
        callback_list.params["in_fit"] = in_fit
        callback_list.call("on_test_begin", None)
        logs = {}
        fusable = self._fusable(self._runner, data, batch_size, per_batch)
        fused = min(64, data.fused_steps_limit(batch_size)) if fusable else 1
        for start, end, k, step in batch_chunks(len(order), batch_size, steps, fused):
            if per_batch:
                callback_list.call("on_test_batch_begin", step, None)
            logs = self._host_logs(self._runner.test(*self._step_inputs(data, order[start:end], k)))
            callback_list.call("on_test_batch_end", step + k - 1, logs)
        callback_list.call("on_test_end", logs)
        callback_list.params["in_fit"] = False
        return logs

    # ---------------------------------------------------------------- predict
    def predict(
        self,
        x,
        batch_size=None,
        verbose="auto",
        steps=None,
        callbacks=None,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        **kwargs,
    ):
        """The model's outputs for x, computed batch by batch in inference mode, as NumPy arrays.

        `x` is arrays, or a generator, Sequence or DataLoader of batches (`x`,
        or tuples whose first item is x), as for `fit` (a generator needs `steps`).

        Example:
            >>> probabilities = model.predict(x_test, batch_size=256)
        """
        reject_unknown(kwargs, "predict")
        batch_size = check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        data = None
        try:
            if is_stream(x):
                loading = loading_arguments(max_queue_size, workers, use_multiprocessing)
                data = make_stream(x, "predict", steps, "steps", False, 1, loading)
                sample = prepare_from_stream(self, data, "predict")
            else:
                data = sample = self._data(x, batch_size=batch_size)
            if not self.built:
                self(sample.take(np.arange(min(sample.n, 2)))[0])
            runner = self._runner or predict_only_runner(self)
            total = data.steps if data is not sample else epoch_order(data.n, batch_size, steps, False, None)[1]
            user_callbacks = list(callbacks or [])
            params = {"verbose": verbose, "epochs": 1, "steps": total}
            callback_list = CallbackList(user_callbacks + progbar_logger(verbose, user_callbacks), self, params)
            if data is sample:
                merged = self._predict_arrays(data, runner, batch_size, steps, callback_list)
            else:
                merged = predict_stream(self, data, runner, callback_list)
        finally:
            if data is not None and not isinstance(data, ArrayData):
                data.close()
        return merged[0] if len(merged) == 1 else merged

    def _predict_arrays(self, data, runner, batch_size, steps, callback_list) -> list:
        order, steps = epoch_order(data.n, batch_size, steps, False, None)
        per_batch = callback_list.needs_every_batch()
        callback_list.call("on_predict_begin", None)
        pieces = []
        fused = min(64, data.fused_steps_limit(batch_size)) if self._fusable(runner, data, batch_size, per_batch) else 1
        for start, end, k, step in batch_chunks(len(order), batch_size, steps, fused):
            if per_batch:
                callback_list.call("on_predict_batch_begin", step, None)
            x_chunk = self._step_inputs(data, order[start:end], k)[0]
            outputs = engine.core.convert_to_numpy_tree(runner.predict(x_chunk))
            pieces.append([o.reshape((-1, *o.shape[2:])) for o in nest.flatten(outputs)])
            callback_list.call("on_predict_batch_end", step + k - 1, {"outputs": pieces[-1]})
        callback_list.call("on_predict_end", None)
        if not pieces:
            raise ValueError("predict() got no samples.")
        return [np.concatenate(parts, axis=0) for parts in zip(*pieces)]
