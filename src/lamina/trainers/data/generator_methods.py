"""Keras 2's generator methods: `fit_generator`, `evaluate_generator`, `predict_generator`.

They are thin wrappers: `fit`, `evaluate` and `predict` take generators,
Sequences and DataLoaders themselves.
"""

from __future__ import annotations

from lamina.compat.legacy_interfaces import builtin_generator_methods_support
from lamina.trainers.data.stream_data import is_stream


def _check_stream(method: str, generator) -> None:
    if not is_stream(generator):
        raise TypeError(
            f"{method}() expects a generator, a lamina.utils.Sequence or a DataLoader, got "
            f"{type(generator).__name__}; pass arrays to {method.split('_')[0]}() instead."
        )


class GeneratorMethods:
    """Keras 2's `*_generator` methods, mixed into the Trainer."""

    @builtin_generator_methods_support  # Keras 1's samples_per_epoch, nb_epoch, ... (with a warning)
    def fit_generator(
        self,
        generator,
        steps_per_epoch=None,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_data=None,
        validation_steps=None,
        validation_freq=1,
        class_weight=None,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        shuffle=True,
        initial_epoch=0,
    ):
        """Trains on batches from a generator, a Sequence or a DataLoader (Keras 2's API; same as `fit`).

        Args:
            generator: yields `(x, y)` or `(x, y, sample_weight)` batches.
            steps_per_epoch: batches per epoch (required for a generator; default len() of a Sequence).
            validation_data: a generator/Sequence, or a tuple `(x_val, y_val[, sample_weight])` of arrays.
            validation_steps: batches per validation run (required for a validation generator).
            Others: as for `fit`.

        Example:
            >>> def batches():
            ...     while True:
            ...         yield x[:32], y[:32]
            >>> model.fit_generator(batches(), steps_per_epoch=100, epochs=5)
        """
        _check_stream("fit_generator", generator)
        return self.fit(
            generator,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_data=validation_data,
            validation_steps=validation_steps,
            validation_freq=validation_freq,
            class_weight=class_weight,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            shuffle=shuffle,
            initial_epoch=initial_epoch,
        )

    @builtin_generator_methods_support  # Keras 1's samples_per_epoch, nb_epoch, ... (with a warning)
    def evaluate_generator(
        self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1, use_multiprocessing=False, verbose=0
    ):
        """The loss and metrics over batches from a generator or Sequence (Keras 2's API; same as `evaluate`).

        Example:
            >>> loss, acc = model.evaluate_generator(test_batches(), steps=50)
        """
        _check_stream("evaluate_generator", generator)
        return self.evaluate(
            generator,
            steps=steps,
            callbacks=callbacks,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            verbose=verbose,
        )

    @builtin_generator_methods_support  # Keras 1's samples_per_epoch, nb_epoch, ... (with a warning)
    def predict_generator(
        self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1, use_multiprocessing=False, verbose=0
    ):
        """The outputs for batches from a generator or Sequence (Keras 2's API; same as `predict`).

        Example:
            >>> probabilities = model.predict_generator(test_batches(), steps=50)
        """
        _check_stream("predict_generator", generator)
        return self.predict(
            generator,
            steps=steps,
            callbacks=callbacks,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            verbose=verbose,
        )
