"""SimpleRNN, GRU, LSTM, RNN(cell), stacked cells and the cells themselves, against Keras 3 and NumPy.

On torch every check runs twice: through torch's fused kernels (`torch.lstm`, `torch.gru`, `torch.rnn_tanh`)
and through the generic loop (the fused kernels refused); on JAX the loop is one `lax.scan`.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer, check_one_step, random_weight
from recurrent_reference import (
    PATHS,
    cell_weights,
    expect_fused,
    gru_step,
    kernel_path,
    lstm_step,
    run_rnn,
    simple_rnn_step,
    zeros_states,
)

import lamina
from lamina import layers

ENGINE = lamina.backend.backend()
RNN_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")
LSTM_KEYS = RNN_KEYS + ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "dropout")
GRU_KEYS = RNN_KEYS + ("units", "activation", "recurrent_activation", "use_bias", "reset_after", "dropout")
SIMPLE_KEYS = RNN_KEYS + ("units", "activation", "use_bias", "dropout", "recurrent_dropout")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _last_or_all(outputs, return_sequences):
    return outputs if return_sequences else outputs[:, -1]


# ---------------------------------------------------------------------- LSTM
LSTM_CASES = {
    "default": ({}, True),
    "backwards": ({"return_sequences": True, "go_backwards": True}, True),
    "unroll": ({"unroll": True}, False),
    "relu_no_bias": ({"activation": "relu", "use_bias": False, "return_sequences": True}, False),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(LSTM_CASES))
def test_lstm_matches_keras_and_numpy(case, path, keras3):
    kwargs, fused = LSTM_CASES[case]
    activation = {"relu": lambda v: np.maximum(v, 0.0)}.get(kwargs.get("activation"), np.tanh)
    names = ["kernel", "recurrent_kernel"] + (["bias"] if kwargs.get("use_bias", True) else [])

    def reference(x, w, training):
        step = lstm_step(w["kernel"], w["recurrent_kernel"], w.get("bias"), activation=activation)
        outputs, _ = run_rnn(step, x, zeros_states(len(x), 4, 2), go_backwards=kwargs.get("go_backwards", False))
        return _last_or_all(outputs, kwargs.get("return_sequences", False))

    with kernel_path(path) as rnn:
        layer = check_layer(
            lambda: layers.LSTM(4, **kwargs),
            _x(3, 5, 2),
            make_keras=lambda: keras3.layers.LSTM(4, **kwargs),
            reference=reference,
            weight_names=cell_weights("lstm_cell", names),
            keras_config_keys=LSTM_KEYS,
        )
    assert [w.path for w in layer.weights] == [f"{layer.name}/lstm_cell/{n}" for n in names]
    if ENGINE == "torch" and fused:
        expect_fused(rnn, "lstm")


def test_lstm_forget_bias_starts_at_one_and_recurrent_kernel_is_orthogonal():
    layer = layers.LSTM(3)
    layer(_x(2, 4, 5))
    bias = as_numpy(layer.cell.bias)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    recurrent = as_numpy(layer.cell.recurrent_kernel)  # (3, 12): orthonormal rows
    assert_close(recurrent @ recurrent.T, np.eye(3), atol=1e-5)
    assert layer.units == 3 and layer.recurrent_activation is lamina.activations.sigmoid
    no_forget = layers.LSTM(3, unit_forget_bias=False, bias_initializer="ones")
    no_forget(_x(2, 4, 5))
    np.testing.assert_array_equal(as_numpy(no_forget.cell.bias), np.ones(12))


# ----------------------------------------------------------------------- GRU
GRU_CASES = {
    "default": ({}, True),
    "reset_before": ({"reset_after": False, "return_sequences": True}, False),
    "backwards_no_bias": ({"return_sequences": True, "go_backwards": True, "use_bias": False}, True),
    "unroll": ({"unroll": True, "reset_after": False}, False),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(GRU_CASES))
def test_gru_matches_keras_and_numpy(case, path, keras3):
    kwargs, fused = GRU_CASES[case]
    names = ["kernel", "recurrent_kernel"] + (["bias"] if kwargs.get("use_bias", True) else [])

    def reference(x, w, training):
        step = gru_step(w["kernel"], w["recurrent_kernel"], w.get("bias"), kwargs.get("reset_after", True))
        outputs, _ = run_rnn(step, x, zeros_states(len(x), 4, 1), go_backwards=kwargs.get("go_backwards", False))
        return _last_or_all(outputs, kwargs.get("return_sequences", False))

    with kernel_path(path) as rnn:
        layer = check_layer(
            lambda: layers.GRU(4, **kwargs),
            _x(3, 5, 2),
            make_keras=lambda: keras3.layers.GRU(4, **kwargs),
            reference=reference,
            weight_names=cell_weights("gru_cell", names),
            keras_config_keys=GRU_KEYS,
        )
    if kwargs.get("use_bias", True):
        assert layer.cell.bias.shape == ((2, 12) if kwargs.get("reset_after", True) else (12,))
    if ENGINE == "torch" and fused:
        expect_fused(rnn, "gru")


# ------------------------------------------------- one SGD step, several outputs
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("LSTM", {"return_state": True}),
        ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
        ("GRU", {"return_state": True, "go_backwards": True}),
        ("SimpleRNN", {"return_sequences": True, "return_state": True}),
    ],
)
def test_return_state_layers_step_on_their_first_output_like_keras(name, kwargs, path, keras3):
    """The harness's step 10 for a layer with several outputs: the model is trained on the first one."""
    x = _x(3, 5, 2)
    with kernel_path(path):
        layer = getattr(layers, name)(4, **kwargs)
        assert len(layer(x)) == (3 if name == "LSTM" else 2)
        rng = np.random.default_rng(5)
        values = [random_weight(w.name, tuple(w.shape), rng) for w in layer.weights]
        model = check_one_step(
            lambda: getattr(layers, name)(4, **kwargs), lambda: getattr(keras3.layers, name)(4, **kwargs), x, values
        )
    assert model.output_shape == ((None, 5, 4) if kwargs.get("return_sequences") else (None, 4))


# ----------------------------------------------------------------- SimpleRNN
SIMPLE_CASES = {
    "default": ({}, True),
    "relu_sequences": ({"activation": "relu", "return_sequences": True}, True),
    "backwards_no_bias": ({"go_backwards": True, "use_bias": False, "return_sequences": True}, True),
    "linear_unroll": ({"activation": None, "unroll": True}, False),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(SIMPLE_CASES))
def test_simple_rnn_matches_keras_and_numpy(case, path, keras3):
    kwargs, fused = SIMPLE_CASES[case]
    activation = {"relu": lambda v: np.maximum(v, 0.0), None: lambda v: v}.get(
        kwargs.get("activation", "tanh"), np.tanh
    )
    names = ["kernel", "recurrent_kernel"] + (["bias"] if kwargs.get("use_bias", True) else [])

    def reference(x, w, training):
        step = simple_rnn_step(w["kernel"], w["recurrent_kernel"], w.get("bias"), activation)
        outputs, _ = run_rnn(step, x, zeros_states(len(x), 4, 1), go_backwards=kwargs.get("go_backwards", False))
        return _last_or_all(outputs, kwargs.get("return_sequences", False))

    with kernel_path(path) as rnn:
        check_layer(
            lambda: layers.SimpleRNN(4, **kwargs),
            _x(3, 5, 2) * 0.5,
            make_keras=lambda: keras3.layers.SimpleRNN(4, **kwargs),
            reference=reference,
            weight_names=cell_weights("simple_rnn_cell", names),
            keras_config_keys=SIMPLE_KEYS,
        )
    if ENGINE == "torch" and fused:
        expect_fused(rnn, "simple_rnn")


# ------------------------------------------------------------- RNN(cell)
def test_rnn_of_each_cell_matches_keras(keras3):
    x = _x(2, 4, 3)
    for ours, theirs, cell_name in [
        (lambda: layers.LSTMCell(5), lambda: keras3.layers.LSTMCell(5), "lstm_cell"),
        (lambda: layers.GRUCell(5, reset_after=False), lambda: keras3.layers.GRUCell(5, reset_after=False), "gru_cell"),
        (lambda: layers.SimpleRNNCell(5), lambda: keras3.layers.SimpleRNNCell(5), "simple_rnn_cell"),
    ]:
        lamina.backend.clear_session()
        check_layer(
            lambda ours=ours: layers.RNN(ours(), return_sequences=True),
            x,
            make_keras=lambda theirs=theirs: keras3.layers.RNN(theirs(), return_sequences=True),
            weight_names=cell_weights(cell_name),
            keras_config_keys=RNN_KEYS,
        )


@pytest.mark.parametrize("path", PATHS)
def test_stacked_cells_match_keras_and_numpy(path, keras3):
    x = _x(3, 4, 2)
    names = cell_weights("stacked_rnn_cells/lstm_cell") + cell_weights("stacked_rnn_cells/gru_cell")
    with kernel_path(path):
        layer = check_layer(
            lambda: layers.RNN([layers.LSTMCell(5), layers.GRUCell(3)], return_sequences=True),
            x,
            make_keras=lambda: keras3.layers.RNN(
                [keras3.layers.LSTMCell(5), keras3.layers.GRUCell(3)], return_sequences=True
            ),
            weight_names=names,
        )
    assert isinstance(layer.cell, layers.StackedRNNCells)
    assert layer.state_size == [[5, 5], 3]
    # NumPy: the LSTM cell's output is the GRU cell's input at every step.
    lstm_w, gru_w = layer.get_weights()[:3], layer.get_weights()[3:]
    first, second = lstm_step(*lstm_w), gru_step(*gru_w)

    def step(x_t, states):
        h, first_states = first(x_t, states[:2])
        out, second_states = second(h, states[2:])
        return out, first_states + second_states

    expected, final = run_rnn(step, x, zeros_states(3, 5, 2) + zeros_states(3, 3, 1))
    assert_close(as_numpy(layer(x)), expected, what="stacked cells vs NumPy")
    stateful_view = layers.RNN([layers.LSTMCell(5), layers.GRUCell(3)], return_state=True)
    stateful_view(x)
    stateful_view.set_weights(layer.get_weights())
    output, (h1, c1), (h2,) = stateful_view(x)
    for got, want in zip((output, h1, c1, h2), (expected[:, -1], *final)):
        assert_close(as_numpy(got), want, what="stacked return_state")


def test_stacked_rnn_cells_object_matches_keras(keras3):
    check_layer(
        lambda: layers.RNN(layers.StackedRNNCells([layers.SimpleRNNCell(3), layers.SimpleRNNCell(2)])),
        _x(2, 4, 3),
        make_keras=lambda: keras3.layers.RNN(
            keras3.layers.StackedRNNCells([keras3.layers.SimpleRNNCell(3), keras3.layers.SimpleRNNCell(2)])
        ),
        weight_names=cell_weights("stacked_rnn_cells/simple_rnn_cell")
        + cell_weights("stacked_rnn_cells/simple_rnn_cell_1"),
    )


# ------------------------------------------------------------------- cells
@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_one_cell_step_matches_keras(kind, keras3):
    ours, theirs = getattr(layers, kind)(4), getattr(keras3.layers, kind)(4)
    x = _x(3, 2)
    count = 2 if kind == "LSTMCell" else 1
    states = [_x(3, 4, seed=i + 1) for i in range(count)]
    out, new_states = ours(x, states)
    theirs(x, states)
    theirs.set_weights(ours.get_weights())
    expected_out, expected_states = theirs(x, states)
    assert_close(as_numpy(out), np.asarray(expected_out), what="cell output")
    for got, want in zip(new_states, expected_states):
        assert_close(as_numpy(got), np.asarray(want), what="cell state")
    assert [w.path for w in ours.weights] == [f"{ours.name}/{n}" for n in ("kernel", "recurrent_kernel", "bias")]
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


# -------------------------------------------------------- states and options
@pytest.mark.parametrize("path", PATHS)
def test_return_state_and_initial_state_match_keras(path, keras3):
    x = _x(3, 5, 2)
    h0, c0 = _x(3, 4, seed=1), _x(3, 4, seed=2)
    ours = layers.LSTM(4, return_sequences=True, return_state=True)
    theirs = keras3.layers.LSTM(4, return_sequences=True, return_state=True)
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    with kernel_path(path) as rnn:
        got = ours(x, initial_state=[h0, c0])
        listed = ours([x, h0, c0])  # Keras 2's list form: [inputs, h0, c0]
    want = theirs(x, initial_state=[h0, c0])
    assert len(got) == 3
    for a, b, what in zip(got, want, ("outputs", "h", "c")):
        assert_close(as_numpy(a), np.asarray(b), what=what)
    assert_close(as_numpy(got[1]), as_numpy(got[0])[:, -1], what="h is the last output")
    for a, b in zip(listed, got):
        assert_close(as_numpy(a), as_numpy(b), what="list input")
    if ENGINE == "torch":
        expect_fused(rnn, "lstm")


def test_return_state_symbolic_shapes_and_functional_initial_state(keras3):
    inputs = lamina.Input(shape=(5, 2))
    h_in, c_in = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
    outputs, h, c = layers.LSTM(4, return_state=True)(inputs, initial_state=[h_in, c_in])
    assert outputs.shape == h.shape == c.shape == (None, 4)
    model = lamina.Model([inputs, h_in, c_in], [outputs, c])
    k_in, k_h, k_c = keras3.Input((5, 2)), keras3.Input((4,)), keras3.Input((4,))
    k_out, _, k_cs = keras3.layers.LSTM(4, return_state=True)(k_in, initial_state=[k_h, k_c])
    keras_model = keras3.Model([k_in, k_h, k_c], [k_out, k_cs])
    keras_model.set_weights(model.get_weights())
    data = [_x(3, 5, 2), _x(3, 4, seed=1), _x(3, 4, seed=2)]
    for got, want in zip(model.predict(data, verbose=0), keras_model.predict(data, verbose=0)):
        assert_close(got, want)
    clone = lamina.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    for got, want in zip(clone.predict(data, verbose=0), model.predict(data, verbose=0)):
        assert_close(got, want)


def test_bad_arguments_name_the_layer_and_argument():
    with pytest.raises(ValueError, match="LSTM layer: units must be a positive integer, got 0"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="GRU layer encoder: dropout must be a number in .0, 1., got 1.5"):
        layers.GRU(3, dropout=1.5, name="encoder")
    with pytest.raises(ValueError, match='Layer "simple_rnn_cell.*recurrent_dropout'):
        layers.SimpleRNNCell(3, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match='"simple_rnn" expects 3 dimensions, got shape .2, 3.'):
        layers.SimpleRNN(3)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match='"rnn" expects sequences .batch, time, features., got shape .2, 3.'):
        layers.RNN(layers.GRUCell(3))(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match='"encoder" has 2 state.*initial_state has 1'):
        layers.LSTM(3, name="encoder")(_x(2, 4, 3), initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match="RNN cell needs a `call`"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="RNN cell needs a `state_size`"):
        layers.RNN(layers.Dense(3))
    with pytest.raises(AttributeError, match='"decoder" is not stateful'):
        layers.GRU(2, name="decoder").reset_states()


def test_keras2_config_keys_load():
    # tf.keras 2 writes time_major and implementation; they change nothing here.
    config = {**layers.LSTM(3).get_config(), "time_major": False, "implementation": 2}
    assert layers.LSTM.from_config(config).get_config()["units"] == 3
