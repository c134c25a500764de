"""`model.layers` of functional models comes in Keras's order, checked against Keras 3 on the same graphs.

Keras orders a functional model's layers by depth (the longest path to an output, deepest first) and,
within a depth, by the order a walk back from the outputs first reaches them. Saved weights files list
layers in that order, so lamina must reproduce it to load Keras's files by position.

Each graph is built twice by the same function: once with lamina, once with Keras 3 (the oracle).
"""

from __future__ import annotations

import pytest

import lamina


def _api(module):
    """(Input, layers, Model) of lamina or of Keras 3, so one builder makes the same graph in both."""
    return module.Input, module.layers, module.Model


def seq2seq(module, encoder_first: bool):
    """Keras's seq2seq example: two embeddings, the decoder LSTM starting from the encoder's states."""
    Input, L, Model = _api(module)

    def encoder():
        inputs = Input(shape=(None,), name="encoder_in")
        embedded = L.Embedding(9, 4, name="embedding_1")(inputs)
        _, h, c = L.LSTM(3, return_state=True, name="encoder_lstm")(embedded)
        return inputs, [h, c]

    def decoder_inputs():
        inputs = Input(shape=(None,), name="decoder_in")
        return inputs, L.Embedding(7, 4, name="embedding_2")(inputs)

    if encoder_first:
        enc_in, states = encoder()
        dec_in, dec_embedded = decoder_inputs()
    else:
        dec_in, dec_embedded = decoder_inputs()
        enc_in, states = encoder()
    decoded = L.LSTM(3, return_sequences=True, name="decoder_lstm")(dec_embedded, initial_state=states)
    outputs = L.Dense(7, activation="softmax", name="probabilities")(decoded)
    return Model([enc_in, dec_in], outputs)


def shared_at_two_depths(module):
    """One Dense called on a shallow and on a deep branch: it takes the deeper call's depth."""
    Input, L, Model = _api(module)
    a = Input(shape=(4,), name="a")
    b = Input(shape=(4,), name="b")
    shared = L.Dense(4, name="shared")
    deep = L.Dense(4, name="deep_2")(L.Dense(4, name="deep_1")(b))
    merged = L.Add(name="add")([shared(a), shared(deep)])
    return Model([a, b], L.Dense(1, name="head")(merged))


def nested_multi_output(module):
    """An inner functional model used as a layer, two outputs of different depths, an unused input."""
    Input, L, Model = _api(module)
    inner_in = Input(shape=(3,), name="inner_in")
    inner = Model(inner_in, L.Dense(3, name="inner_dense")(inner_in), name="inner")
    x = Input(shape=(3,), name="x")
    side = Input(shape=(2,), name="side")
    unused = Input(shape=(1,), name="unused")
    features = inner(L.Dense(3, name="pre")(x))
    out_a = L.Dense(1, name="out_a")(L.Concatenate(name="cat")([features, L.Dense(3, name="side_dense")(side)]))
    out_b = L.Dense(2, name="out_b")(side)
    return Model([x, side, unused], [out_b, out_a])


def _names(model) -> list:
    return [layer.name for layer in model.layers]


@pytest.mark.parametrize("encoder_first", [True, False], ids=["encoder-built-first", "decoder-built-first"])
def test_seq2seq_layers_in_keras_order(keras3, encoder_first):
    expected = _names(seq2seq(keras3, encoder_first))
    assert expected[:3] == ["encoder_in", "decoder_in", "embedding_1"]  # the order a Keras 2.2.4 file holds
    assert _names(seq2seq(lamina, encoder_first)) == expected


@pytest.mark.parametrize("builder", [shared_at_two_depths, nested_multi_output])
def test_layers_in_keras_order(keras3, builder):
    assert _names(builder(lamina)) == _names(builder(keras3))


def test_from_config_keeps_keras_order(keras3):
    """A model re-created from its config orders its layers as Keras orders the same graph."""
    model = seq2seq(lamina, encoder_first=False)
    clone = lamina.Model.from_config(model.get_config())
    assert _names(clone) == _names(seq2seq(keras3, encoder_first=False))
