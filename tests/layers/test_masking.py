"""Masks: Embedding(mask_zero=True) and Masking make them, models carry them, recurrent layers skip masked steps."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer
from recurrent_reference import PATHS, kernel_path

import lamina
from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _ids(side="right"):
    ids = np.random.default_rng(1).integers(1, 9, size=(3, 6)).astype("int32")
    for row, length in enumerate([6, 3, 1]):
        if side == "right":
            ids[row, length:] = 0
        else:
            ids[row, : 6 - length] = 0
    return ids


def _same_weights(ours, theirs):
    """Keras's model with lamina's weights, layer by layer: Keras orders a functional model's layers by depth,
    so functional models here name their layers."""
    if isinstance(ours, lamina.Sequential):
        pairs = zip(ours.layers, theirs.layers)
    else:
        pairs = [(layer, theirs.get_layer(layer.name)) for layer in ours.layers if layer.weights]
    for layer, twin in pairs:
        twin.set_weights(layer.get_weights())
    return theirs


# ----------------------------------------------------------- making masks
def test_embedding_mask_zero_makes_a_mask():
    ids = np.array([[3, 0, 1], [0, 0, 2]])
    layer = layers.Embedding(5, 2, mask_zero=True)
    np.testing.assert_array_equal(as_numpy(layer.compute_mask(ids)), ids != 0)
    assert layers.Embedding(5, 2).compute_mask(ids) is None
    assert layer.supports_masking and not layers.Embedding(5, 2).supports_masking


def test_embedding_input_length_still_sets_the_input_shape():
    model = lamina.Sequential([layers.Embedding(10, 3, input_length=6, mask_zero=True), layers.LSTM(2)])
    assert model.input_shape == (None, 6)
    assert model.predict(_ids(), verbose=0).shape == (3, 2)


def test_masking_layer_matches_keras_and_numpy(keras3):
    x = _x(3, 5, 4)
    x[0, 1:3] = 0.0
    x[2, 4] = 0.0

    def reference(x, w, training):
        return x * np.any(x != 0.0, axis=-1, keepdims=True)

    layer = check_layer(
        lambda: layers.Masking(mask_value=0.0),
        x,
        make_keras=lambda: keras3.layers.Masking(mask_value=0.0),
        reference=reference,
        keras_config_keys=("mask_value",),
    )
    expected = np.asarray(keras3.layers.Masking(mask_value=0.0).compute_mask(x))
    np.testing.assert_array_equal(as_numpy(layer.compute_mask(x)), expected)
    np.testing.assert_array_equal(expected, np.any(x != 0.0, axis=-1))
    with pytest.raises(TypeError, match="mask_value"):
        layers.Masking(mask_value="zero")


# -------------------------------------------------------- carrying masks
@pytest.mark.parametrize("path", PATHS)
def test_sequential_carries_a_masking_layers_mask_like_keras(path, keras3):
    x = _x(3, 6, 4)
    x[1, 4:] = -1.0  # right padding
    x[2, :2] = -1.0  # left padding

    def make(lib):
        return lib.Sequential(
            [
                lib.Input((6, 4)),
                lib.layers.Masking(mask_value=-1.0),
                lib.layers.LSTM(3, return_sequences=True),
                lib.layers.GRU(2, go_backwards=True),
            ]
        )

    ours = make(lamina)
    theirs = _same_weights(ours, make(keras3))
    expected = theirs.predict(x, verbose=0)
    with kernel_path(path):
        assert_close(ours.predict(x, verbose=0), expected)
        assert_close(as_numpy(ours(x)), expected)  # an eager call carries the mask too


@pytest.mark.parametrize("side", ["right", "left"])
def test_functional_model_carries_an_embedding_mask_like_keras(side, keras3):
    def make(lib):
        ids = lib.Input((6,), dtype="int32")
        embedded = lib.layers.Embedding(9, 3, mask_zero=True, name="embed")(ids)
        forward = lib.layers.LSTM(3, name="forward")(embedded)
        backward = lib.layers.SimpleRNN(2, go_backwards=True, return_sequences=True, name="backward")(embedded)
        backward = lib.layers.GRU(2, name="last")(backward)
        return lib.Model(ids, lib.layers.Concatenate(name="cat")([forward, backward]))

    ours = make(lamina)
    theirs = _same_weights(ours, make(keras3))
    assert_close(ours.predict(_ids(side), verbose=0), theirs.predict(_ids(side), verbose=0))


def test_a_mask_made_inside_a_nested_model_reaches_the_outer_layers(keras3):
    def make(lib):
        inner = lib.Sequential(
            [lib.Input((6,), dtype="int32"), lib.layers.Embedding(9, 3, mask_zero=True)], name="inner"
        )
        ids = lib.Input((6,), dtype="int32", name="ids")
        return lib.Model(ids, lib.layers.LSTM(2, name="lstm_out")(inner(ids)))

    ours = make(lamina)
    theirs = _same_weights(ours, make(keras3))
    assert_close(ours.predict(_ids(), verbose=0), theirs.predict(_ids(), verbose=0))
    unmasked = lamina.Sequential([lamina.Input((6,), dtype="int32"), layers.Embedding(9, 3), layers.LSTM(2)])
    unmasked.set_weights(ours.get_weights())
    assert not np.allclose(unmasked.predict(_ids(), verbose=0), ours.predict(_ids(), verbose=0))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_masked_steps_keep_the_state(kind, path):
    """Right padding gives the output of the unpadded sequence; left padding starts from the zero state."""
    ids = np.array([[4, 2, 7, 0, 0, 0], [0, 0, 0, 4, 2, 7]], "int32")
    model = lamina.Sequential(
        [lamina.Input((6,), dtype="int32"), layers.Embedding(9, 3, mask_zero=True), getattr(layers, kind)(4)]
    )
    short = lamina.Sequential([lamina.Input((3,), dtype="int32"), layers.Embedding(9, 3), getattr(layers, kind)(4)])
    short.set_weights(model.get_weights())
    with kernel_path(path):
        padded = model.predict(ids, verbose=0)
    expected = short.predict(np.array([[4, 2, 7]], "int32"), verbose=0)[0]
    assert_close(padded[0], expected, atol=1e-6)
    assert_close(padded[1], expected, atol=1e-6)


def test_return_sequences_repeats_the_last_output_over_padding(keras3):
    ids = _ids("right")
    model = lamina.Sequential(
        [
            lamina.Input((6,), dtype="int32"),
            layers.Embedding(9, 3, mask_zero=True),
            layers.GRU(2, return_sequences=True),
        ]
    )
    out = model.predict(ids, verbose=0)
    assert_close(out[1, 3:], np.repeat(out[1, 2:3], 3, axis=0))  # length 3: steps 3-5 repeat step 2
    assert_close(out[2, 1:], np.repeat(out[2, :1], 5, axis=0))


def test_a_layer_without_masking_support_drops_the_mask_with_a_warning():
    model = lamina.Sequential(
        [lamina.Input((6,), dtype="int32"), layers.Embedding(9, 3, mask_zero=True), layers.Flatten(), layers.Dense(1)]
    )
    with pytest.warns(UserWarning, match='"flatten".*does not support masking'):
        model.predict(_ids(), verbose=0)


def test_the_rnn_output_mask_follows_return_sequences():
    mask = np.array([[True, False]])
    assert layers.LSTM(2).compute_mask(None, mask) is None
    np.testing.assert_array_equal(layers.LSTM(2, return_sequences=True).compute_mask(None, mask), mask)
    assert layers.GRU(2, return_state=True).compute_mask(None, mask) == [None, None]
    stacked = layers.RNN([layers.LSTMCell(2), layers.GRUCell(2)], return_state=True)
    assert stacked.compute_mask(None, mask) == [None, [None, None], [None]]
