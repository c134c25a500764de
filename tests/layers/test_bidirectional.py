"""Bidirectional: merge modes, states, masks and weights named as Keras names them, against Keras 3 and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer, check_one_step, random_weight
from recurrent_reference import PATHS, cell_weights, compare_sgd_step, gru_step, kernel_path, run_rnn, zeros_states

import lamina
from lamina import layers

MERGES = {
    "concat": lambda a, b: np.concatenate([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "ave": lambda a, b: (a + b) / 2,
}


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _numpy_bidirectional_gru(x, weights, merge):
    """Keras's Bidirectional(GRU(return_sequences=True)): the backward outputs flipped back to input order."""
    units = weights[1].shape[0]
    forward, _ = run_rnn(gru_step(*weights[:3]), x, zeros_states(len(x), units, 1))
    backward, _ = run_rnn(gru_step(*weights[3:]), x, zeros_states(len(x), units, 1), go_backwards=True)
    return merge(forward, backward[:, ::-1])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("merge_mode", list(MERGES))
def test_bidirectional_gru_matches_keras_and_numpy(merge_mode, path, keras3):
    x = _x(2, 4, 3)
    with kernel_path(path):
        layer = check_layer(
            lambda: layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=merge_mode),
            x,
            make_keras=lambda: keras3.layers.Bidirectional(
                keras3.layers.GRU(3, return_sequences=True), merge_mode=merge_mode
            ),
            weight_names=cell_weights("forward_gru/gru_cell") + cell_weights("backward_gru/gru_cell"),
            keras_config_keys=("merge_mode",),
        )
        got = as_numpy(layer(x))
    assert layer.forward_layer.name == "forward_gru" and layer.backward_layer.name == "backward_gru"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert_close(got, _numpy_bidirectional_gru(x, layer.get_weights(), MERGES[merge_mode]), atol=1e-5)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)),
        lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3), merge_mode=None),
        lambda lib: lib.layers.Bidirectional(lib.layers.SimpleRNN(3, return_state=True), merge_mode="sum"),
        lambda lib: lib.layers.Bidirectional(
            lib.layers.GRU(3, reset_after=False), backward_layer=lib.layers.GRU(3, reset_after=False, go_backwards=True)
        ),
    ],
    ids=["lstm_concat", "lstm_merge_none", "simple_rnn_state", "gru_own_backward_layer"],
)
def test_one_sgd_step_matches_keras(make, path, keras3):
    """The harness's step 10 for more Bidirectional layers; with several outputs the model is trained on the first."""
    x = _x(2, 5, 2)
    with kernel_path(path):
        layer = make(lamina)
        layer(x)
        rng = np.random.default_rng(5)
        values = [random_weight(w.name, tuple(w.shape), rng) for w in layer.weights]
        check_one_step(lambda: make(lamina), lambda: make(keras3), x, values)


@pytest.mark.parametrize("path", PATHS)
def test_merge_mode_none_and_return_state_match_keras(path, keras3):
    x = _x(3, 5, 2)
    ours = layers.Bidirectional(layers.LSTM(3, return_state=True), merge_mode=None)
    theirs = keras3.layers.Bidirectional(keras3.layers.LSTM(3, return_state=True), merge_mode=None)
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    with kernel_path(path):
        got = ours(x)
    want = theirs(x)
    assert len(got) == len(want) == 6  # forward output, backward output, forward h and c, backward h and c
    for a, b in zip(got, want):
        assert_close(as_numpy(a), np.asarray(b))
    inputs = lamina.Input((5, 2))
    symbolic = layers.Bidirectional(layers.LSTM(3, return_state=True), merge_mode=None)(inputs)
    assert [t.shape for t in symbolic] == [(None, 3)] * 6


def test_initial_state_is_split_between_the_directions(keras3):
    x = _x(3, 5, 2)
    states = [_x(3, 4, seed=i) for i in range(2)]
    ours = layers.Bidirectional(layers.GRU(4, return_sequences=True))
    theirs = keras3.layers.Bidirectional(keras3.layers.GRU(4, return_sequences=True))
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    assert_close(as_numpy(ours(x, initial_state=states)), np.asarray(theirs(x, initial_state=states)))


@pytest.mark.parametrize("path", PATHS)
def test_one_sgd_step_with_masks_matches_keras(path, keras3):
    ids = np.random.default_rng(2).integers(1, 9, size=(4, 6)).astype("int32")
    ids[1, 4:] = 0
    ids[2, :3] = 0

    def make(lib):
        return lib.Sequential(
            [
                lib.Input((6,), dtype="int32"),
                lib.layers.Embedding(9, 3, mask_zero=True),
                lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True), merge_mode="sum"),
                lib.layers.Bidirectional(lib.layers.GRU(2)),
                lib.layers.Dense(1),
            ]
        )

    with kernel_path(path):
        compare_sgd_step(make, keras3, ids, _x(4, 1, seed=5))


def test_config_round_trip_and_keras_names():
    layer = layers.Bidirectional(layers.SimpleRNN(2, name="encoder"), merge_mode="ave", name="both_ways")
    layer(_x(2, 3, 4))
    assert [w.path for w in layer.weights][::3] == [
        "both_ways/forward_encoder/simple_rnn_cell/kernel",
        "both_ways/backward_encoder/simple_rnn_cell/kernel",
    ]
    config = layer.get_config()
    assert config["layer"]["config"]["name"] == "forward_encoder"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = layers.Bidirectional.from_config(config)
    assert clone.get_config() == config
    clone(_x(2, 3, 4))
    clone.set_weights(layer.get_weights())
    assert_close(as_numpy(clone(_x(2, 3, 4))), as_numpy(layer(_x(2, 3, 4))))


def test_stateful_bidirectional_resets_both_directions():
    layer = layers.Bidirectional(layers.LSTM(2, stateful=True))
    model = lamina.Sequential([lamina.Input(batch_shape=(2, 3, 2)), layer])
    first = model.predict(_x(2, 3, 2), batch_size=2, verbose=0)
    assert len(layer.states) == 4 and all(as_numpy(s).any() for s in layer.states)
    model.reset_states()
    assert not any(as_numpy(s).any() for s in layer.states)
    assert_close(model.predict(_x(2, 3, 2), batch_size=2, verbose=0), first)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(2))
    with pytest.raises(ValueError, match="different go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
