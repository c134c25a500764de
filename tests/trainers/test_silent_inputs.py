"""Inputs Keras 2 refuses that used to train silently (issue 16): each now raises, naming what is wrong.

Empty data and `epochs < 1` returned an empty History; sparse labels outside an output's classes gave
`nan` (JAX) or a finite, meaningless loss (torch); targets broadcast against an output of another shape;
a model compiled with no loss trained on 0.0. The messages carry what tf-keras 2.21 says (its wording is
quoted where it has one). The legitimate neighbours of each case still run, their losses checked with NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers

N, FEATURES, CLASSES = 8, 3, 4
_rng = np.random.default_rng(16)
X = _rng.normal(size=(N, FEATURES)).astype("float32")
LABELS = np.array([0, 1, 2, 3, 3, 2, 1, 0])
KERNEL = np.linspace(-0.5, 0.5, FEATURES * CLASSES, dtype="float32").reshape(FEATURES, CLASSES)


def _classifier(loss="sparse_categorical_crossentropy", metrics=None, units=CLASSES, activation="softmax"):
    model = lamina.Sequential([layers.Dense(units, activation=activation, input_shape=(FEATURES,), name="scores")])
    model.set_weights([KERNEL[:, :units], np.zeros(units, "float32")])
    model.compile(lamina.optimizers.SGD(learning_rate=0.1), loss, metrics=metrics)
    return model


def _probabilities() -> np.ndarray:
    z = X.astype("float64") @ KERNEL
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------- empty data and epochs
def test_fit_evaluate_and_predict_on_no_samples_raise_naming_the_argument():
    model = _classifier()
    empty_x, empty_y = np.zeros((0, FEATURES), "float32"), np.zeros((0,), "int64")
    with pytest.raises(ValueError, match=r"Expected input data to be non-empty: x has 0 samples"):
        model.fit(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match=r"non-empty: x has 0 samples"):
        model.evaluate(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match=r"non-empty: x has 0 samples"):
        model.predict(empty_x, verbose=0)
    with pytest.raises(ValueError, match=r"non-empty: validation_data has 0 samples"):
        model.fit(X, LABELS, validation_data=(empty_x, empty_y), verbose=0)


@pytest.mark.parametrize("epochs", [-1, 0, 2.5])
def test_fit_with_epochs_below_one_raises(epochs):
    model = _classifier()
    with pytest.raises(ValueError, match=rf"Expected epochs to be a positive integer, got epochs={epochs}"):
        model.fit(X, LABELS, epochs=epochs, verbose=0)
    assert np.array_equal(model.get_weights()[0], KERNEL)  # nothing trained


# ----------------------------------------------------------------- sparse labels out of range
@pytest.mark.parametrize("bad", [CLASSES, -1])
def test_sparse_labels_outside_the_classes_raise_in_every_entry_point(bad):
    model = _classifier()
    labels = LABELS.copy()
    labels[5] = bad
    message = rf'label value of {bad} in y which is outside the valid range of \[0, {CLASSES}\) for output "scores"'
    with pytest.raises(ValueError, match=message):
        model.fit(X, labels, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(X, labels, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.train_on_batch(X, labels)
    with pytest.raises(ValueError, match=message):
        model.test_on_batch(X, labels)
    with pytest.raises(ValueError, match=message.replace(" y ", " validation y ")):
        model.fit(X, LABELS, validation_data=(X, labels), verbose=0)
    assert np.array_equal(model.get_weights()[0], KERNEL)  # refused before any step


def test_sparse_labels_out_of_range_in_a_generator_batch_and_in_a_metric():
    model = _classifier()

    def batches():
        yield X[:4], LABELS[:4]
        yield X[4:], np.array([0, 1, 7, 0])

    with pytest.raises(ValueError, match=r'label value of 7 in y .*\[0, 4\) for output "scores"'):
        model.fit(batches(), steps_per_epoch=2, verbose=0)
    # A custom loss takes the labels as it likes; the sparse metric still needs them in range.
    with_metric = _classifier(loss=_mean_score, metrics=["sparse_categorical_accuracy"])
    with pytest.raises(ValueError, match=r"label value of 4 .*sparse_categorical_accuracy metric"):
        with_metric.evaluate(X, LABELS + 1, verbose=0)


def _mean_score(y_true, y_pred):
    return lamina.ops.mean(y_pred, axis=-1)


def test_the_ignored_class_is_no_label_out_of_range_but_others_are():
    model = _classifier(loss=lamina.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    labels = LABELS.astype("float32")  # float labels, as Keras 2 users often pass them; the largest is 3
    labels[:2] = -1
    kept = np.arange(2, N)
    expected = -np.mean(np.log(_probabilities()[kept, LABELS[kept]]))
    np.testing.assert_allclose(model.evaluate(X, labels, verbose=0), expected, rtol=1e-5)
    labels[2] = -2
    with pytest.raises(ValueError, match=r"label value of -2 in y .*\[0, 4\)"):
        model.evaluate(X, labels, verbose=0)


# ----------------------------------------------------------------- target shapes
def test_targets_that_only_broadcast_against_the_output_raise_naming_both_shapes():
    model = _classifier(loss="mse", units=1, activation=None)
    shapes = r'y does not fit output "scores" \(loss mean_squared_error\): the output has shape \(8, 1\), '
    with pytest.raises(ValueError, match=shapes + r"got targets of shape \(8, 2\)"):
        model.fit(X, np.zeros((N, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match=shapes + r"got targets of shape \(8, 2\)"):
        model.evaluate(X, np.zeros((N, 2), "float32"), verbose=0)
    wide = _classifier(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"output has shape \(8, 4\), got targets of shape \(8, 1\)"):
        wide.train_on_batch(X, LABELS[:, None])
    # Keras's compatible shapes still evaluate: a trailing axis of 1 added or left out.
    predictions = (X.astype("float64") @ KERNEL[:, :1])[:, 0]
    for target_shape in [(N,), (N, 1, 1)]:
        targets = np.linspace(-1, 1, N, dtype="float32").reshape(target_shape)
        expected = np.mean((predictions - targets.reshape(N)) ** 2)
        np.testing.assert_allclose(model.evaluate(X, targets, verbose=0), expected, rtol=1e-5)


def test_only_built_in_losses_fix_the_target_shape():
    def first_column_mse(y_true, y_pred):
        return lamina.ops.mean(lamina.ops.square(y_true[:, :1] - y_pred), axis=-1)

    targets = np.stack([np.linspace(-1, 1, N), np.ones(N)], axis=1).astype("float32")
    with pytest.raises(ValueError, match=r"\(loss mean_absolute_error\).*got targets of shape \(8, 2\)"):
        _classifier(loss="mae", units=1, activation=None).evaluate(X, targets, verbose=0)
    model = _classifier(loss=first_column_mse, units=1, activation=None)  # a custom loss may take any shape
    expected = np.mean(((X.astype("float64") @ KERNEL[:, :1])[:, 0] - targets[:, 0]) ** 2)
    np.testing.assert_allclose(model.evaluate(X, targets, verbose=0), expected, rtol=1e-5)


# ----------------------------------------------------------------- no loss
def test_fit_without_a_loss_raises_unless_a_layer_added_one():
    model = _classifier(loss=None)
    with pytest.raises(ValueError, match=r"no loss to train: compile\(loss=\.\.\.\)"):
        model.fit(X, LABELS, verbose=0)
    with pytest.raises(ValueError, match=r"no loss to train"):
        model.train_on_batch(X, LABELS)
    assert np.array_equal(model.get_weights()[0], KERNEL)

    with_added = lamina.Sequential([layers.Dense(1, use_bias=False, input_shape=(FEATURES,)), _MeanSquare()])
    with_added.set_weights([KERNEL[:, :1]])
    with_added.compile(lamina.optimizers.SGD(learning_rate=0.0))
    history = with_added.fit(X, epochs=1, batch_size=N, verbose=0)
    expected = np.mean((X.astype("float64") @ KERNEL[:, :1]) ** 2)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


class _MeanSquare(layers.Layer):
    """Adds the mean square of its inputs as a loss, the way a Keras 2 layer calls `add_loss`."""

    def call(self, inputs):
        self.add_loss(lamina.ops.mean(lamina.ops.square(inputs)))
        return inputs
