"""Stateful RNNs as the Keras FAQ describes them: states carried from batch to batch, reset on request."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close
from recurrent_reference import PATHS, kernel_path

import lamina
from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


def test_the_faq_example_runs_as_written():
    from lamina.layers import LSTM, Dense
    from lamina.models import Sequential

    x = _x(32, 21, 16)  # this is our input data, of shape (32, 21, 16)
    # we will feed it to our model in sequences of length 10

    model = Sequential()
    model.add(LSTM(32, input_shape=(10, 16), batch_size=32, stateful=True))
    model.add(Dense(16, activation="softmax"))

    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")

    # we train the network to predict the 11th timestep given the first 10:
    model.train_on_batch(x[:, :10, :], np.reshape(x[:, 10, :], (32, 16)))

    # the state of the network has changed. We can feed the follow-up sequences:
    model.train_on_batch(x[:, 10:20, :], np.reshape(x[:, 20, :], (32, 16)))

    # let's reset the states of the LSTM layer:
    model.reset_states()

    # another way to do it in this case:
    model.layers[0].reset_states()

    h, c = model.layers[0].states
    np.testing.assert_array_equal(as_numpy(h), np.zeros((32, 32)))
    np.testing.assert_array_equal(as_numpy(c), np.zeros((32, 32)))


def _stateful_and_plain(kind, steps, batch=4, **kwargs):
    stateful = lamina.Sequential(
        [getattr(layers, kind)(3, batch_input_shape=(batch, steps, 2), stateful=True, **kwargs)]
    )
    plain = lamina.Sequential([lamina.Input((None, 2)), getattr(layers, kind)(3, **kwargs)])
    plain.set_weights(stateful.get_weights())
    return stateful, plain


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_two_batches_of_five_steps_equal_one_batch_of_ten(kind, path):
    x = _x(4, 10, 2)
    stateful, plain = _stateful_and_plain(kind, 5, return_sequences=True)
    with kernel_path(path) as rnn:
        first = stateful.predict(x[:, :5], batch_size=4, verbose=0)
        second = stateful.predict(x[:, 5:], batch_size=4, verbose=0)
    whole = plain.predict(x, verbose=0)
    assert_close(np.concatenate([first, second], axis=1), whole, atol=1e-6)
    if lamina.backend.backend() == "torch" and path == "fused":
        assert rnn.calls, "the stateful layer should run torch's fused kernel"
    # Calling the model directly carries the states too, and reset_states starts again from zeros.
    stateful.reset_states()
    assert_close(as_numpy(stateful(x[:, :5])), first, atol=1e-6)
    assert_close(as_numpy(stateful(x[:, 5:])), second, atol=1e-6)


def test_states_follow_the_batches_of_one_predict_call():
    """One predict call over 3 batches of the same samples' continuations: each batch continues the previous."""
    x = _x(4, 9, 2)
    stateful, plain = _stateful_and_plain("GRU", 3)
    chunks = np.concatenate([x[:, 0:3], x[:, 3:6], x[:, 6:9]], axis=0)  # batch k holds steps 3k..3k+2
    out = stateful.predict(chunks, batch_size=4, verbose=0)
    assert_close(out[8:], plain.predict(x, verbose=0), atol=1e-6)


def test_train_on_batch_and_fit_carry_the_states_inside_the_training_step():
    x, y = _x(8, 5, 2), _x(8, 3, seed=1)

    def make():
        lamina.utils.set_random_seed(3)
        model = lamina.Sequential([layers.LSTM(3, batch_input_shape=(4, 5, 2), stateful=True)])
        model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.3), loss="mse")
        return model

    by_batch, by_fit = make(), make()
    plain = lamina.Sequential([lamina.Input((5, 2)), layers.LSTM(3, return_state=True)])
    plain.set_weights(by_batch.get_weights())
    by_batch.train_on_batch(x[:4], y[:4])
    # The states after a training step are the forward pass's final states (with the weights before the update).
    _, h, c = plain(x[:4])
    for state, expected in zip(by_batch.layers[0].states, (h, c)):
        assert_close(as_numpy(state), as_numpy(expected), atol=1e-6)
    by_batch.train_on_batch(x[4:], y[4:])
    by_fit.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(by_fit.get_weights(), by_batch.get_weights()):
        assert_close(ours, theirs, atol=1e-6)
    for ours, theirs in zip(by_fit.layers[0].states, by_batch.layers[0].states):
        assert_close(as_numpy(ours), as_numpy(theirs), atol=1e-6)


def test_evaluate_carries_the_states_until_they_are_reset():
    x, y = _x(4, 5, 2), _x(4, 3, seed=1)
    model = lamina.Sequential([layers.SimpleRNN(3, batch_input_shape=(4, 5, 2), stateful=True)])
    model.compile(optimizer="sgd", loss="mse")
    first = model.evaluate(x, y, batch_size=4, verbose=0)
    second = model.evaluate(x, y, batch_size=4, verbose=0)
    assert first != pytest.approx(second)
    model.reset_states()
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(first)


def test_reset_states_to_given_values_and_its_errors():
    layer = layers.LSTM(2, stateful=True, name="encoder")
    model = lamina.Sequential([lamina.Input(batch_shape=(3, 4, 2)), layer])
    h0, c0 = _x(3, 2, seed=4), _x(3, 2, seed=5)
    layer.reset_states(states=[h0, c0])
    np.testing.assert_array_equal(as_numpy(layer.states[0]), h0)
    plain = layers.LSTM(2)
    plain(_x(3, 4, 2))
    plain.set_weights(layer.get_weights())
    expected = as_numpy(plain(_x(3, 4, 2), initial_state=[h0, c0]))
    assert_close(model.predict(_x(3, 4, 2), batch_size=3, verbose=0), expected, atol=1e-6)
    with pytest.raises(ValueError, match='"encoder": state 1 has shape .3, 2., .*shape .3, 5.'):
        layer.reset_states(states=[h0, np.zeros((3, 5))])
    with pytest.raises(ValueError, match='"encoder" has 2 state.*got 1'):
        layer.reset_states(states=[h0])


def test_a_batch_of_another_size_raises_naming_the_layer():
    layer = layers.GRU(2, stateful=True, name="decoder")
    layer(_x(4, 3, 2))
    with pytest.raises(ValueError, match='"decoder" is stateful with batch size 4, but got a batch of 3'):
        layer(_x(3, 3, 2))
    model = lamina.Sequential([layers.LSTM(2, stateful=True, batch_input_shape=(4, 3, 2), name="encoder")])
    with pytest.raises(ValueError, match='"encoder"'):
        model.predict(_x(6, 3, 2), batch_size=4, verbose=0)


def test_stateful_without_a_batch_size_raises_naming_the_layer():
    with pytest.raises(ValueError, match='"memory" is stateful, so it needs a fixed batch size'):
        lamina.Sequential([lamina.Input((3, 2)), layers.LSTM(2, stateful=True, name="memory")])


def test_functional_input_batch_shape_and_model_reset_states():
    inputs = lamina.Input(batch_shape=(2, 3, 2))
    hidden = layers.LSTM(3, stateful=True, return_sequences=True)(inputs)
    outputs = layers.GRU(2, stateful=True)(hidden)
    model = lamina.Model(inputs, outputs)
    first = model.predict(_x(2, 3, 2), batch_size=2, verbose=0)
    assert not np.allclose(first, model.predict(_x(2, 3, 2), batch_size=2, verbose=0))
    model.reset_states()
    assert all(not as_numpy(s).any() for layer in model.layers[1:] for s in layer.states)
    assert_close(model.predict(_x(2, 3, 2), batch_size=2, verbose=0), first, atol=1e-6)


def test_states_are_not_weights_and_are_not_saved():
    model = lamina.Sequential([layers.LSTM(3, batch_input_shape=(2, 4, 2), stateful=True), layers.Dense(1)])
    states = model.layers[0].states
    assert [v.path for v in states] == ["lstm/rnn_state", "lstm/rnn_state"]
    assert all(all(s is not w for w in model.weights) for s in states)
    assert all(any(s is v for v in model.non_trainable_variables) for s in states)
    assert len(model.get_weights()) == 5
    model.predict(_x(2, 4, 2), batch_size=2, verbose=0)
    carried = [as_numpy(s) for s in states]
    assert np.abs(carried[0]).sum() > 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "stateful.h5")
        model.save(path)
        loaded = lamina.models.load_model(path)
    assert loaded.layers[0].stateful and loaded.layers[0].states[0].shape == (2, 3)
    assert not as_numpy(loaded.layers[0].states[0]).any()  # a loaded model starts from zero states
    loaded.layers[0].reset_states(carried)  # ...and continues where the saved one was, given its states
    assert_close(
        loaded.predict(_x(2, 4, 2), batch_size=2, verbose=0), model.predict(_x(2, 4, 2), batch_size=2, verbose=0)
    )
