"""Generators and re-iterables (DataLoader) as training data, Keras 2's *_generator methods, and their errors.

Every stream is checked against the same samples passed as NumPy arrays with
shuffle=False: the same History (loss and metrics per epoch) and the same
weights after training with SGD.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers

N, BATCH, STEPS = 40, 8, 5
_rng = np.random.default_rng(7)
X = _rng.normal(size=(N, 3)).astype("float32")
Y = _rng.normal(size=(N, 2)).astype("float32")
SW = _rng.uniform(0.5, 2.0, size=N).astype("float32")
KERNEL = _rng.normal(size=(3, 2)).astype("float32") * 0.5
BIAS = np.array([0.1, -0.2], "float32")


def make_model(lr=0.05):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=lr), loss="mse", metrics=["mae"])
    return model


def batches(x=X, y=Y, sw=None, repeat=True):
    """Keras 2's generator: (x, y) or (x, y, sample_weight) batches, forever when `repeat`."""
    while True:
        for start in range(0, len(x), BATCH):
            part = slice(start, start + BATCH)
            yield (x[part], y[part]) if sw is None else (x[part], y[part], sw[part])
        if not repeat:
            return


def reference(**fit_kwargs):
    model = make_model()
    history = model.fit(X, Y, batch_size=BATCH, shuffle=False, verbose=0, **fit_kwargs)
    return history.history, model.get_weights(), model


def assert_same(history, weights, expected_history, expected_weights):
    assert sorted(history) == sorted(expected_history)
    for key in expected_history:
        np.testing.assert_allclose(history[key], expected_history[key], rtol=2e-5, atol=1e-6, err_msg=key)
    for got, want in zip(weights, expected_weights):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


class Steps(lamina.callbacks.Callback):
    """Records params["steps"] and the batch indices of every epoch."""

    def on_train_begin(self, logs=None):
        self.steps, self.batches = self.params["steps"], []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1].append(batch)


# ------------------------------------------------------------------ generators
@pytest.mark.parametrize("workers", [0, 1])
def test_generator_trains_like_arrays(workers):
    want_history, want_weights, _ = reference(epochs=3)
    model = make_model()
    steps = Steps()
    history = model.fit(batches(), steps_per_epoch=STEPS, epochs=3, workers=workers, callbacks=[steps], verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    assert steps.steps == STEPS and steps.batches == [list(range(STEPS))] * 3


def test_generator_with_sample_weights_and_class_weight():
    want_history, want_weights, _ = reference(epochs=2, sample_weight=SW, class_weight={0: 1.0, 1: 3.0})
    model = make_model()
    history = model.fit(batches(sw=SW), steps_per_epoch=STEPS, epochs=2, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)


def test_epochs_keep_drawing_from_the_same_generator_and_nothing_extra_is_drawn():
    # 12 batches of 96 samples: two epochs of 5 steps use the first 10, in order, as one pass of 80 arrays does.
    x, y = np.concatenate([X, X[::-1], X[:16]]), np.concatenate([Y, -Y, Y[:16]])
    gen = batches(x, y, repeat=False)
    model = make_model()
    model.fit(gen, steps_per_epoch=STEPS, epochs=2, verbose=0)
    arrays = make_model()
    arrays.fit(x[:80], y[:80], batch_size=BATCH, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), arrays.get_weights()):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    np.testing.assert_array_equal(next(gen)[0], x[80:88])  # the read-ahead thread took no more than it used


def test_validation_generator_matches_validation_arrays():
    want_history, want_weights, _ = reference(epochs=2, validation_data=(X[:16], Y[:16]))
    model = make_model()
    history = model.fit(
        batches(), steps_per_epoch=STEPS, epochs=2, validation_data=batches(X[:16], Y[:16]), validation_steps=2
    )
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    assert "val_loss" in history.history


def test_arrays_for_training_and_a_generator_for_validation():
    want_history, want_weights, _ = reference(epochs=2, validation_data=(X[:16], Y[:16]))
    model = make_model()
    history = model.fit(
        X, Y, batch_size=BATCH, shuffle=False, epochs=2, validation_data=batches(X[:16], Y[:16]), validation_steps=2
    )
    assert_same(history.history, model.get_weights(), want_history, want_weights)


def test_evaluate_and_predict_on_a_generator_match_arrays():
    model = make_model()
    want_eval = model.evaluate(X, Y, batch_size=BATCH, verbose=0)
    want_pred = model.predict(X, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(model.evaluate(batches(), steps=STEPS, verbose=0), want_eval, rtol=1e-6)
    np.testing.assert_allclose(model.predict(batches(), steps=STEPS, verbose=0), want_pred, rtol=1e-6)
    only_x = (X[i : i + BATCH] for i in range(0, N, BATCH))  # predict also takes bare x batches
    np.testing.assert_allclose(model.predict(only_x, steps=STEPS, verbose=0), want_pred, rtol=1e-6)
    np.testing.assert_allclose(want_pred, X @ KERNEL + BIAS, rtol=1e-5, atol=1e-6)


def test_keras2_generator_methods_are_fit_evaluate_predict():
    want_history, want_weights, fitted = reference(epochs=2, validation_data=(X[:16], Y[:16]))
    model = make_model()
    history = model.fit_generator(
        batches(), steps_per_epoch=STEPS, epochs=2, verbose=0, validation_data=batches(X[:16], Y[:16]),
        validation_steps=2, workers=0,
    )  # fmt: skip
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    want_eval = fitted.evaluate(X, Y, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(model.evaluate_generator(batches(), steps=STEPS), want_eval, rtol=1e-6)
    want_pred = fitted.predict(X, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(model.predict_generator(batches(), steps=STEPS), want_pred, rtol=1e-6)
    with pytest.raises(TypeError, match=r"fit_generator\(\) expects a generator.*got ndarray.*pass arrays to fit"):
        model.fit_generator(X)


def test_multi_input_model_takes_dict_batches():
    a, b = lamina.Input(shape=(2,), name="a"), lamina.Input(shape=(1,), name="b")
    model = lamina.Model([a, b], layers.Dense(2, name="out")(layers.Concatenate()([a, b])))
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    gen = ((({"a": X[i : i + BATCH, :2], "b": X[i : i + BATCH, 2:]}, Y[i : i + BATCH])) for i in range(0, N, BATCH))
    history = model.fit(gen, steps_per_epoch=STEPS, verbose=0)
    want_history, want_weights, _ = reference(epochs=1)
    np.testing.assert_allclose(history.history["loss"], want_history["loss"], rtol=2e-5)
    for got, want in zip(model.get_weights(), want_weights):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_lists_are_batches_for_fit_and_several_inputs_for_predict():
    want_history, want_weights, _ = reference(epochs=1)
    model = make_model()
    history = model.fit(([X[i : i + BATCH], Y[i : i + BATCH]] for i in range(0, N, BATCH)), steps_per_epoch=STEPS)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    a, b = lamina.Input(shape=(2,)), lamina.Input(shape=(1,))
    two_inputs = lamina.Model([a, b], layers.Concatenate()([a, b]))
    lists = ([X[i : i + BATCH, :2], X[i : i + BATCH, 2:]] for i in range(0, N, BATCH))
    np.testing.assert_array_equal(two_inputs.predict(lists, steps=STEPS, verbose=0), X)


# ---------------------------------------------------------------- re-iterables
class Reiterable:
    """A DataLoader-like object: a length, and a fresh iterator every epoch."""

    def __init__(self):
        self.iterations = 0

    def __len__(self):
        return STEPS

    def __iter__(self):
        self.iterations += 1
        return iter([(X[i : i + BATCH], Y[i : i + BATCH]) for i in range(0, N, BATCH)])


def test_a_reiterable_with_a_length_is_iterated_anew_every_epoch():
    want_history, want_weights, fitted = reference(epochs=3)
    data, model, steps = Reiterable(), make_model(), Steps()
    history = model.fit(data, epochs=3, callbacks=[steps], verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    assert data.iterations == 3 and steps.steps == STEPS
    np.testing.assert_allclose(
        model.evaluate(Reiterable(), verbose=0), fitted.evaluate(X, Y, batch_size=BATCH, verbose=0), rtol=1e-6
    )


def test_torch_dataloader():
    if lamina.backend.backend() != "torch":
        pytest.skip("a torch DataLoader yields torch tensors; it is tested on the torch engine only")
    torch = pytest.importorskip("torch")
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=False)
    want_history, want_weights, fitted = reference(epochs=2, validation_data=(X, Y))
    model = make_model()
    history = model.fit(loader, epochs=2, validation_data=loader, verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
    np.testing.assert_allclose(
        model.evaluate(loader, verbose=0), fitted.evaluate(X, Y, batch_size=BATCH, verbose=0), rtol=1e-6
    )
    np.testing.assert_allclose(model.predict(loader, verbose=0), fitted.predict(X, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------------- errors
def test_a_generator_needs_steps():
    model = make_model()
    with pytest.raises(ValueError, match=r"fit\(\): `steps_per_epoch` is required when the data is a generator"):
        model.fit(batches(), verbose=0)
    with pytest.raises(ValueError, match=r"`validation_steps` is required when the data is a generator"):
        model.fit(batches(), steps_per_epoch=2, validation_data=batches(), verbose=0)
    with pytest.raises(ValueError, match=r"evaluate\(\): `steps` is required"):
        model.evaluate(batches(), verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\): `steps` is required"):
        model.predict(batches(), verbose=0)
    with pytest.raises(ValueError, match=r"`steps_per_epoch` must be a positive int, got 0"):
        model.fit(batches(), steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match=r"`steps_per_epoch` must be a positive int, got inf"):
        model.fit(batches(), steps_per_epoch=float("inf"), verbose=0)


def test_a_fractional_step_count_rounds_up_as_keras2():
    # Keras 2 programs pass `steps_per_epoch=len(x) / batch_size`; Keras 2 drew while steps_done < steps.
    drawn = []

    def counted():
        for i in range(0, N, BATCH):
            drawn.append(i)
            yield X[i : i + BATCH], Y[i : i + BATCH]

    model = make_model()
    model.fit(counted(), steps_per_epoch=2.5, epochs=1, verbose=0)
    assert len(drawn) == 3


def test_a_batch_of_the_wrong_structure_names_what_came():
    model = make_model()
    bare = (X[i : i + BATCH] for i in range(0, N, BATCH))
    with pytest.raises(ValueError, match=r"Batch 0 of the generator passed to fit\(\) must be a tuple \(x, y\) or "
                       r"\(x, y, sample_weight\), got ndarray of shape \(8, 3\)"):  # fmt: skip
        model.fit(bare, steps_per_epoch=STEPS, verbose=0)

    def late_mistake():
        yield X[:8], Y[:8]
        yield X[:8], Y[:8]
        yield X[:8], Y[:8], SW[:8], SW[:8]

    with pytest.raises(ValueError, match=r"Batch 2 of the generator .* got a tuple of 4 item\(s\): \(ndarray of shape"):
        make_model().fit(late_mistake(), steps_per_epoch=3, verbose=0)
    mismatched = iter([(X[:8], Y[:8]), (X[:8], Y[:6])])
    with pytest.raises(ValueError, match=r"Batch 1 of the generator passed to fit\(\): x and y must have the same"):
        make_model().fit(mismatched, steps_per_epoch=2, workers=0, verbose=0)


def test_a_generator_that_runs_out_names_the_step():
    model = make_model()
    with pytest.raises(ValueError, match=r"The generator ran out of data at step 3 of 5 .*`while True:`"):
        model.fit(batches(X[:24], Y[:24], repeat=False), steps_per_epoch=5, verbose=0)
    with pytest.raises(ValueError, match=r"ran out of data at step 2 of 5 \(after 7 batches in all\)"):
        seven = batches(np.concatenate([X, X[:16]]), np.concatenate([Y, Y[:16]]), repeat=False)
        make_model().fit(seven, steps_per_epoch=5, epochs=3, workers=0, verbose=0)


def test_arguments_that_a_stream_carries_itself_are_rejected():
    model = make_model()
    with pytest.raises(ValueError, match=r"`y` cannot be used when x is a generator"):
        model.fit(batches(), Y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight` cannot be used when x is a generator"):
        model.evaluate(batches(), sample_weight=SW, steps=2, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_split` cannot be used .*pass validation_data instead"):
        model.fit(batches(), steps_per_epoch=2, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"`workers` must be an int >= 0, got -1"):
        model.fit(batches(), steps_per_epoch=2, workers=-1, verbose=0)


def test_an_error_inside_the_generator_reaches_the_caller():
    def broken():
        yield X[:8], Y[:8]
        raise ZeroDivisionError("bad sample")

    with pytest.raises(ZeroDivisionError, match="bad sample"):
        make_model().fit(broken(), steps_per_epoch=3, verbose=0)


def test_use_multiprocessing_with_a_generator_warns_and_uses_a_thread():
    want_history, want_weights, _ = reference(epochs=1)
    model = make_model()
    with pytest.warns(UserWarning, match=r"use_multiprocessing=True needs a lamina.utils.Sequence"):
        history = model.fit(batches(), steps_per_epoch=STEPS, use_multiprocessing=True, workers=2, verbose=0)
    assert_same(history.history, model.get_weights(), want_history, want_weights)
