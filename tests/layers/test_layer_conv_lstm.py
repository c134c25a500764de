"""ConvLSTM1D/2D/3D against Keras 3 (given the same weights) and a NumPy ConvLSTM written out here.

Covers both data formats, strides and dilation, return_sequences/return_state, go_backwards, initial
states, masks, dropout, one SGD step (gradients), stateful carry across predict calls and files both ways
(HDF5, .keras, JSON) with real Keras 3.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer
from recurrent_reference import cell_weights, compare_sgd_step

import lamina
from lamina import layers

RNN_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")
CONV_LSTM_KEYS = RNN_KEYS + (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
    "recurrent_activation", "use_bias", "unit_forget_bias", "dropout", "recurrent_dropout", "seed",
)  # fmt: skip
NAMES = ["kernel", "recurrent_kernel", "bias"]
TOL = {"rtol": 1e-4, "atol": 1e-5}  # four gates in one convolution sum in another order than Keras's four


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ------------------------------------------------------------------ NumPy reference (channels_last, 2-D)
def _conv2d(x, kernel, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """x (batch, rows, cols, in), kernel (kr, kc, in, out): a plain cross-correlation, as Keras's conv."""
    kr, kc = kernel.shape[:2]
    span = [dilation[0] * (kr - 1) + 1, dilation[1] * (kc - 1) + 1]
    if padding == "same":
        pads = []
        for axis in range(2):
            n = x.shape[1 + axis]
            out = -(-n // strides[axis])
            total = max((out - 1) * strides[axis] + span[axis] - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    rows = (x.shape[1] - span[0]) // strides[0] + 1
    cols = (x.shape[2] - span[1]) // strides[1] + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[3]))
    for i in range(kr):
        for j in range(kc):
            r0, c0 = i * dilation[0], j * dilation[1]
            patch = x[
                :,
                r0 : r0 + strides[0] * (rows - 1) + 1 : strides[0],
                c0 : c0 + strides[1] * (cols - 1) + 1 : strides[1],
            ]
            out += patch @ kernel[i, j]
    return out


def conv_lstm_step(w, filters, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """One ConvLSTM2D step in NumPy: gates i, f, c, o; the recurrent conv has stride 1 and "same" padding."""

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def step(x_t, states):
        h, c = states
        z = _conv2d(x_t, w["kernel"], strides, padding, dilation) + _conv2d(h, w["recurrent_kernel"], padding="same")
        z = z + w.get("bias", 0.0)
        i, f, g, o = (z[..., k * filters : (k + 1) * filters] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, [h, c]

    return step


def _numpy_conv_lstm(
    x,
    w,
    filters,
    return_sequences=False,
    go_backwards=False,
    mask=None,
    zero_output_for_mask=False,
    **conv,
):
    """ConvLSTM2D over (batch, time, rows, cols, channels) with Keras's masking: a masked step keeps the
    states and repeats the previous output (or outputs zeros with `zero_output_for_mask`)."""
    step = conv_lstm_step(w, filters, **conv)
    h = np.zeros_like(_conv2d(x[:, 0], w["kernel"][..., :filters], **conv))  # one step's output shape
    states, previous, outputs = [h, h.copy()], h, []
    for t in range(x.shape[1])[::-1] if go_backwards else range(x.shape[1]):
        output, new_states = step(x[:, t].astype("float64"), states)
        keep = np.ones(len(x), bool) if mask is None else np.asarray(mask[:, t], bool)
        keep = keep.reshape(-1, 1, 1, 1)
        states = [np.where(keep, n, o) for n, o in zip(new_states, states)]
        previous = np.where(keep, output, previous)
        outputs.append(np.where(keep, output, 0.0) if zero_output_for_mask else previous)
    outputs = np.stack(outputs, axis=1)
    return outputs if return_sequences else outputs[:, -1]


# --------------------------------------------------------------------------- the harness
CASES = {
    "same_sequences": ({"padding": "same", "return_sequences": True}, (2, 3, 5, 6, 2)),
    "strides_backwards": ({"strides": 2, "go_backwards": True}, (2, 4, 7, 8, 3)),
    "dilation_same": ({"dilation_rate": 2, "padding": "same", "return_sequences": True}, (2, 3, 7, 6, 2)),
    "first_strides_same": (
        {"data_format": "channels_first", "strides": (2, 1), "padding": "same", "go_backwards": True},
        (2, 3, 2, 7, 6),
    ),
    "relu_no_bias": (
        {"activation": "relu", "use_bias": False, "recurrent_activation": "keras3_hard_sigmoid"},
        (2, 3, 6, 6, 2),
    ),
}


def _keras3_names(kwargs):
    return {key: "hard_sigmoid" for key, value in kwargs.items() if value == "keras3_hard_sigmoid"}


NUMPY_CASES = {"same_sequences", "strides_backwards", "dilation_same"}  # (a CI-time trim: 5 cases)


@pytest.mark.parametrize("case", list(CASES))
def test_conv_lstm2d_matches_keras(case, keras3):
    kwargs, shape = CASES[case]
    names = NAMES if kwargs.get("use_bias", True) else NAMES[:2]
    reference = None
    if case in NUMPY_CASES:

        def reference(x, w, training):
            strides = (kwargs.get("strides", 1),) * 2
            dilation = (kwargs.get("dilation_rate", 1),) * 2
            padding = kwargs.get("padding", "valid")
            return _numpy_conv_lstm(
                x, w, 3, kwargs.get("return_sequences", False),
                kwargs.get("go_backwards", False), strides=strides, padding=padding, dilation=dilation,
            )  # fmt: skip

    layer = check_layer(
        lambda: layers.ConvLSTM2D(3, 3, **kwargs),
        _x(*shape),
        # Keras 3's "hard_sigmoid" is lamina's keras3_hard_sigmoid (lamina's hard_sigmoid is Keras 2's).
        make_keras=lambda: keras3.layers.ConvLSTM2D(3, 3, **{**kwargs, **_keras3_names(kwargs)}),
        reference=reference,
        weight_names=cell_weights("conv_lstm_cell", names),
        keras_config_keys=tuple(key for key in CONV_LSTM_KEYS if key not in _keras3_names(kwargs)),
        save_load=case == "same_sequences",  # saving is tested once here and in the file tests below (CI time)
        **TOL,
    )
    assert [w.path for w in layer.weights] == [f"{layer.name}/conv_lstm_cell/{n}" for n in names]
    assert layer.name.startswith("conv_lstm2d")


@pytest.mark.parametrize(
    "kind, kwargs, shape",
    [
        ("ConvLSTM1D", {"padding": "same", "return_sequences": True}, (2, 4, 9, 3)),
        ("ConvLSTM1D", {"strides": 2, "data_format": "channels_first"}, (2, 4, 3, 9)),
        ("ConvLSTM3D", {"padding": "same"}, (1, 3, 4, 5, 4, 2)),
    ],
)
def test_conv_lstm1d_and_3d_match_keras(kind, kwargs, shape, keras3):
    check_layer(
        lambda: getattr(layers, kind)(2, 3, **kwargs),
        _x(*shape),
        make_keras=lambda: getattr(keras3.layers, kind)(2, 3, **kwargs),
        weight_names=cell_weights("conv_lstm_cell", NAMES),
        keras_config_keys=CONV_LSTM_KEYS,
        save_load=kind == "ConvLSTM3D",
        **TOL,
    )


def _paired(keras3, x, **kwargs):
    """A lamina and a Keras 3 ConvLSTM2D with the same (random) weights, both built on `x`."""
    ours, theirs = layers.ConvLSTM2D(3, 3, **kwargs), keras3.layers.ConvLSTM2D(3, 3, **kwargs)
    ours(x)
    theirs(x)
    rng = np.random.default_rng(1)
    values = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in ours.weights]
    ours.set_weights(values)
    theirs.set_weights(values)
    return ours, theirs


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_return_state_and_initial_state_match_keras(data_format, keras3):
    x = _x(2, 4, 6, 6, 2) if data_format == "channels_last" else _x(2, 4, 2, 6, 6)
    ours, theirs = _paired(keras3, x, padding="same", return_state=True, data_format=data_format)
    out, h, c = as_numpy(ours(x))
    want = [np.asarray(v) for v in theirs(x)]
    for got, expected, what in zip((out, h, c), want, ("output", "h", "c")):
        assert_close(got, expected, what=what, **TOL)
    np.testing.assert_array_equal(out, h)
    assert h.shape == (2, 6, 6, 3) if data_format == "channels_last" else (2, 3, 6, 6)
    # The final states, given back as initial states, continue the sequence.
    x2 = _x(*x.shape, seed=5)
    got = as_numpy(ours(x2, initial_state=[h, c]))
    expected = [np.asarray(v) for v in theirs(x2, initial_state=[want[1], want[2]])]
    for g, e, what in zip(got, expected, ("output", "h", "c")):
        assert_close(g, e, what=f"{what} from initial_state", **TOL)
    # ... and equal one run over the two sequences joined.
    whole = as_numpy(ours(np.concatenate([x, x2], axis=1)))
    assert_close(got[0], whole[0], what="two halves vs one sequence", **TOL)


def test_mask_matches_numpy(keras3):
    """Keras 3's ConvLSTM fails on a mask (it broadcasts a (batch, 1) mask against 4-D states), so the
    masked steps are checked against the NumPy loop: Keras's RNN masking, as Keras 2's ConvLSTM2D did it."""
    x = _x(3, 5, 6, 6, 2)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 0]], bool)
    for kwargs in (
        {"return_sequences": True},
        {"return_sequences": True, "zero_output_for_mask": True},
        {"go_backwards": True},
    ):
        ours, _ = _paired(keras3, x, padding="same", **kwargs)
        weights = dict(zip(NAMES, ours.get_weights()))
        want = _numpy_conv_lstm(
            x, weights, 3, kwargs.get("return_sequences", False), kwargs.get("go_backwards", False),
            mask=mask, zero_output_for_mask=kwargs.get("zero_output_for_mask", False), padding="same",
        )  # fmt: skip
        assert_close(as_numpy(ours(x, mask=mask)), want, what=f"masked {kwargs}", **TOL)
    ours, _ = _paired(keras3, x, padding="same", return_sequences=True)
    got = as_numpy(ours(x, mask=mask))
    np.testing.assert_array_equal(got[1, 3], got[1, 2])  # a masked step repeats the previous output
    np.testing.assert_array_equal(got[2, 0], np.zeros((6, 6, 3)))  # ... which is h = 0 before any step


def test_masking_layer_feeds_the_mask_in_a_model():
    x = _x(2, 4, 5, 5, 1)
    x[1, 2:] = 0.0
    inputs = lamina.Input((4, 5, 5, 1))
    conv_lstm = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    model = lamina.Model(inputs, conv_lstm(layers.Masking(0.0)(inputs)))
    got = model.predict(x, verbose=0)
    want = _numpy_conv_lstm(
        x, dict(zip(NAMES, conv_lstm.get_weights())), 2, True, mask=np.any(x != 0, axis=(2, 3, 4)),
        padding="same",
    )  # fmt: skip
    assert_close(got, want, **TOL)
    np.testing.assert_array_equal(got[1, 3], got[1, 1])
    # The mask passed on is per time step, as Keras's RNN masks are.
    step_mask = as_numpy(conv_lstm.compute_mask(x, np.abs(x[..., 0]) > 0))
    np.testing.assert_array_equal(step_mask, [[True] * 4, [True, True, False, False]])


def test_bidirectional_conv_lstm2d_matches_keras(keras3):
    x = _x(2, 3, 5, 5, 2)
    ours = layers.Bidirectional(layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, name="clstm"))
    theirs = keras3.layers.Bidirectional(
        keras3.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, name="clstm")
    )
    out = as_numpy(ours(x))
    theirs(x)
    theirs.set_weights(ours.get_weights())
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [w.path.split("/", 1)[1] for w in theirs.weights]
    assert ours.weights[0].path.endswith("forward_clstm/conv_lstm_cell/kernel")
    assert out.shape == (2, 3, 5, 5, 4)
    assert_close(out, np.asarray(theirs(x)), **TOL)


# --------------------------------------------------------------------------- training
def test_unit_forget_bias_and_initial_weights():
    layer = layers.ConvLSTM2D(4, (3, 2))
    layer(_x(2, 3, 6, 6, 5))
    assert [tuple(w.shape) for w in layer.weights] == [(3, 2, 5, 16), (3, 2, 4, 16), (16,)]
    np.testing.assert_array_equal(as_numpy(layer.cell.bias), np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    plain = layers.ConvLSTM2D(4, 3, unit_forget_bias=False, bias_initializer="ones")
    plain(_x(2, 3, 6, 6, 5))
    np.testing.assert_array_equal(as_numpy(plain.cell.bias), np.ones(16))


@pytest.mark.parametrize("functional", [False, True])
def test_one_sgd_step_matches_keras(functional, keras3):
    """The loss and every weight after one SGD(0.1) step on mse: the gradients through the recurrent convolutions."""

    def sequential(mod):
        L = mod.layers
        return mod.Sequential([mod.Input((4, 6, 6, 2)), L.ConvLSTM2D(3, 3, padding="same"), L.Flatten(), L.Dense(2)])

    def functional_model(mod):
        L = mod.layers
        inputs = mod.Input((3, 2, 7, 6))
        seq, h, c = L.ConvLSTM2D(
            2, 3, strides=2, data_format="channels_first", return_sequences=True, return_state=True
        )(inputs)
        merged = L.Concatenate()([L.Flatten()(seq), L.Flatten()(c)])
        return mod.Model(inputs, L.Dense(1)(merged))

    make = functional_model if functional else sequential
    x = _x(3, 4, 6, 6, 2) if not functional else _x(3, 3, 2, 7, 6)
    y = _x(3, 2 if not functional else 1, seed=3)
    compare_sgd_step(make, keras3, x, y, learning_rate=0.1)


def test_fit_lowers_the_loss_with_dropout():
    model = lamina.Sequential(
        [
            lamina.Input((3, 5, 5, 1)),
            layers.ConvLSTM2D(2, 3, padding="same", dropout=0.2, recurrent_dropout=0.2, seed=1),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )
    x, y = _x(8, 3, 5, 5, 1), _x(8, 1, seed=1)
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_dropout_only_in_training(keras3):
    x = np.abs(_x(4, 3, 5, 5, 2)) + 0.5
    ours, theirs = _paired(keras3, x, padding="same", dropout=0.5, recurrent_dropout=0.3, seed=2)
    inference = as_numpy(ours(x))
    assert_close(inference, np.asarray(theirs(x)), what="inference with dropout configured", **TOL)
    np.testing.assert_array_equal(as_numpy(ours(x, training=False)), inference)
    training = as_numpy(ours(x, training=True))
    assert training.shape == inference.shape and np.isfinite(training).all()
    assert not np.allclose(training, inference)


def test_the_cell_alone_is_one_numpy_step():
    layer = layers.ConvLSTM2D(3, 3, strides=(1, 2))
    x = _x(2, 1, 7, 8, 2)
    layer(x)
    weights = dict(zip(NAMES, layer.get_weights()))
    h, c = _x(2, 5, 3, 3, seed=1), _x(2, 5, 3, 3, seed=2)
    output, (new_h, new_c) = layer.cell(x[:, 0], [h, c])
    _, (want_h, want_c) = conv_lstm_step(weights, 3, strides=(1, 2))(x[:, 0].astype("float64"), [h, c])
    assert_close(as_numpy(new_h), want_h, what="h", **TOL)
    assert_close(as_numpy(new_c), want_c, what="c", **TOL)
    np.testing.assert_array_equal(as_numpy(output), as_numpy(new_h))


def test_regularizers_and_constraints():
    layer = layers.ConvLSTM2D(
        2, 3, kernel_regularizer=lamina.regularizers.l2(0.01), recurrent_regularizer=lamina.regularizers.l1(0.1),
        bias_regularizer=lamina.regularizers.l2(0.5), activity_regularizer=lamina.regularizers.l1(0.001),
    )  # fmt: skip
    x = _x(2, 3, 5, 5, 1)
    out = as_numpy(layer(x))
    kernel, recurrent, bias = layer.get_weights()
    want = 0.01 * np.sum(kernel**2) + 0.1 * np.sum(np.abs(recurrent)) + 0.5 * np.sum(bias**2)
    assert_close(sum(float(as_numpy(loss)) for loss in layer.losses), want + 0.001 * np.abs(out).sum() / 2, rtol=1e-5)
    model = lamina.Sequential(
        [lamina.Input((3, 5, 5, 1)), layers.ConvLSTM2D(2, 3, kernel_constraint="non_neg", bias_constraint="non_neg")]
    )
    model.compile(optimizer=lamina.optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(x, _x(2, 3, 3, 2, seed=4) * 10)
    kernel, recurrent, bias = model.get_weights()
    assert kernel.min() >= 0 and bias.min() >= 0 and recurrent.min() < 0


def test_dropout_masks_one_per_gate_and_per_sequence(monkeypatch):
    """With the random draws replaced by known masks: each gate's input and recurrent convolution sees its own
    mask, the same at every time step (Keras 3's ConvLSTMCell), checked against NumPy."""
    rng = np.random.default_rng(3)
    drawn = []

    def known_mask(ones, rate, seed=None, noise_shape=None):
        mask = (rng.random(tuple(ones.shape)) > rate).astype("float32") / (1.0 - rate)
        drawn.append(mask)
        return lamina.ops.convert_to_tensor(mask)

    layer = layers.ConvLSTM2D(3, 3, padding="same", dropout=0.4, recurrent_dropout=0.3, return_sequences=True)
    x = _x(2, 3, 5, 5, 2)
    layer(x)
    monkeypatch.setattr(lamina.ops.random, "dropout", known_mask)
    got = as_numpy(layer(x, training=True))
    assert [m.shape for m in drawn] == [(2, 5, 5, 2)] * 4 + [(2, 5, 5, 3)] * 4
    w = dict(zip(NAMES, layer.get_weights()))

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    h = c = np.zeros((2, 5, 5, 3))
    want = []
    for t in range(3):
        z = [
            _conv2d(x[:, t] * drawn[g], w["kernel"][..., 3 * g : 3 * g + 3], padding="same")
            + _conv2d(h * drawn[4 + g], w["recurrent_kernel"][..., 3 * g : 3 * g + 3], padding="same")
            + w["bias"][3 * g : 3 * g + 3]
            for g in range(4)
        ]
        c = sigmoid(z[1]) * c + sigmoid(z[0]) * np.tanh(z[2])
        h = sigmoid(z[3]) * np.tanh(c)
        want.append(h)
    assert_close(got, np.stack(want, axis=1), **TOL)


# --------------------------------------------------------------------------- stateful
def test_stateful_carries_states_across_predict_calls_as_keras(keras3):
    x = _x(2, 6, 5, 5, 2)

    def build(mod, stateful, steps):
        layer = mod.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, stateful=stateful)
        shape = (2, steps, 5, 5, 2) if stateful else (None, steps, 5, 5, 2)
        return mod.Sequential([mod.Input(batch_shape=shape), layer])

    ours, theirs = build(lamina, True, 3), build(keras3, True, 3)
    theirs.set_weights(ours.get_weights())
    first = ours.predict(x[:, :3], batch_size=2, verbose=0)
    second = ours.predict(x[:, 3:], batch_size=2, verbose=0)
    plain = build(lamina, False, 6)
    plain.set_weights(ours.get_weights())
    assert_close(np.concatenate([first, second], axis=1), plain.predict(x, verbose=0), what="vs one pass", **TOL)
    # Keras 3 (JAX) drops a stateful ConvLSTM2D's new states inside predict(), so it is called directly,
    # where it carries them.
    assert_close(first, np.asarray(theirs(x[:, :3])), what="first batch vs Keras", **TOL)
    assert_close(second, np.asarray(theirs(x[:, 3:])), what="second batch (carried states) vs Keras", **TOL)
    assert_close(as_numpy(ours(x[:, :3])), np.asarray(theirs(x[:, :3])), what="third call vs Keras", **TOL)
    h, c = ours.layers[0].states
    assert tuple(h.shape) == tuple(c.shape) == (2, 5, 5, 3)
    ours.reset_states()
    np.testing.assert_array_equal(as_numpy(ours.layers[0].states[0]), np.zeros((2, 5, 5, 3)))
    assert_close(ours.predict(x[:, :3], batch_size=2, verbose=0), first, what="after reset_states", **TOL)


def test_stateful_needs_a_batch_size():
    model_input = lamina.Input((3, 5, 5, 2))
    with pytest.raises(ValueError, match="fixed batch size"):
        layers.ConvLSTM2D(2, 3, stateful=True)(model_input)


# --------------------------------------------------------------------------- files both ways
def _file_model(mod):
    L = mod.layers
    inputs = mod.Input((3, 6, 5, 2))
    h = L.ConvLSTM2D(3, (3, 2), padding="same", return_sequences=True, name="clstm_a")(inputs)
    h = L.ConvLSTM2D(2, 3, strides=2, go_backwards=True, unit_forget_bias=False, name="clstm_b")(h)
    return mod.Model(inputs, L.Dense(2)(L.Flatten()(h)))


def _random_weights(model):
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_lamina_loads_a_keras3_conv_lstm_file(suffix, keras3, tmp_path):
    theirs = _file_model(keras3)
    _random_weights(theirs)
    path = os.path.join(tmp_path, "keras3" + suffix)
    theirs.save(path)
    ours = lamina.models.load_model(path, compile=False)
    layer = ours.get_layer("clstm_b")
    assert type(layer) is layers.ConvLSTM2D and layer.strides == (2, 2) and layer.go_backwards
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    x = _x(2, 3, 6, 5, 2)
    assert_close(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), **TOL)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras3_loads_a_lamina_conv_lstm_file(suffix, keras3, tmp_path):
    ours = _file_model(lamina)
    _random_weights(ours)
    path = os.path.join(tmp_path, "lamina" + suffix)
    ours.save(path)
    theirs = keras3.models.load_model(path, compile=False)
    x = _x(2, 3, 6, 5, 2)
    assert_close(np.asarray(theirs.predict(x, verbose=0)), ours.predict(x, verbose=0), **TOL)
    again = lamina.models.load_model(path, compile=False)
    np.testing.assert_array_equal(again.predict(x, verbose=0), ours.predict(x, verbose=0))


def test_json_both_ways(keras3):
    """lamina reads Keras 3's `to_json`, and its own (Keras 2 form, which Keras 3's model_from_json refuses
    for any model: it looks for a 'Functional' class; Keras 3 reads lamina's files, tested above)."""
    theirs = _file_model(keras3)
    _random_weights(theirs)
    x = _x(2, 3, 6, 5, 2)
    ours = lamina.models.model_from_json(theirs.to_json())
    ours.set_weights(theirs.get_weights())
    assert ours.get_layer("clstm_a").get_config()["kernel_size"] == [3, 2]
    assert_close(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), **TOL)
    again = lamina.models.model_from_json(ours.to_json())
    again.set_weights(ours.get_weights())
    assert again.get_config() == ours.get_config()
    np.testing.assert_array_equal(again.predict(x, verbose=0), ours.predict(x, verbose=0))


# --------------------------------------------------------------------------- errors
def test_wrong_input_rank_is_a_clear_error():
    layer = layers.ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match=r'layer "clstm" expects 5-D sequences .*got shape \(2, 4, 6, 3\)'):
        layer(_x(2, 4, 6, 3))
    with pytest.raises(ValueError, match=r'"conv_lstm1d.*expects 4-D sequences \(batch, time, steps, channels\)'):
        layers.ConvLSTM1D(2, 3)(lamina.Input((4, 6, 6, 3)))
    built = layers.ConvLSTM2D(2, 3, name="built")
    built(_x(2, 4, 6, 6, 3))
    with pytest.raises(ValueError, match='"built" expects 5 dimensions'):
        built(_x(2, 6, 6, 3))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": 0}, "filters must be a positive integer"),
        ({"padding": "causal"}, 'padding must be "valid" or "same"'),
        ({"strides": 2, "dilation_rate": 2}, "strides > 1 cannot be combined"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size must be an int or 2 ints"),
        ({"dropout": 1.5}, "dropout must be a number in"),
        ({"data_format": "channels_middle"}, "data_format must be one of"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    arguments = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        layers.ConvLSTM2D(**arguments)
