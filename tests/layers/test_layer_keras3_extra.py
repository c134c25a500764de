"""Keras 3's newer layers and tf-keras's LocallyConnected layers, against Keras 3 and tf-keras 2.21 files.

EinsumDense, RMSNormalization, ReversibleEmbedding, GroupQueryAttention, SpectralNormalization,
AdaptiveAverage/MaxPooling1D-3D, Identity, Wrapper, AbstractRNNCell and LocallyConnected1D/2D.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer

import lamina
from lamina import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "layers_tfkeras")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _same_weights(ours, theirs, seed=1):
    """Random values given to both layers, matched by each weight's path inside its layer."""
    rng = np.random.default_rng(seed)
    values = {w.path.split("/", 1)[-1]: rng.normal(size=w.shape).astype("float32") for w in theirs.weights}
    theirs.set_weights([values[w.path.split("/", 1)[-1]] for w in theirs.weights])
    ours.set_weights([values[w.path.split("/", 1)[-1]] for w in ours.weights])


# ------------------------------------------------------------------ EinsumDense, RMSNormalization
def test_einsum_dense_matches_keras(keras3):
    check_layer(
        lambda: layers.EinsumDense("abc,cde->abde", (5, 3, 2), bias_axes="de", activation="tanh"),
        _x(2, 5, 4),
        make_keras=lambda: keras3.layers.EinsumDense("abc,cde->abde", (5, 3, 2), bias_axes="de", activation="tanh"),
        weight_names=["kernel", "bias"],
        keras_config_keys=("equation", "output_shape", "bias_axes", "activation"),
        save_load=False,  # test_keras3_saved_model_loads covers files
    )


@pytest.mark.parametrize(
    "equation, output_shape, bias_axes, shape",
    [
        ("...b,bc->...c", 6, "c", (2, 5, 4)),  # leading axes elided
        ("ab...,bc->ac...", 3, None, (2, 4, 5)),  # trailing axes elided, no bias
    ],
)
def test_einsum_dense_elided_axes(keras3, equation, output_shape, bias_axes, shape):
    x = _x(*shape)
    ours = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    theirs = keras3.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    ours(x), theirs(x)
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    _same_weights(ours, theirs)
    got = as_numpy(ours(x))
    assert_close(got, as_numpy(theirs(x)), what="vs Keras")
    expected = np.einsum(equation, x, ours.get_weights()[0]) + (ours.get_weights()[1] if bias_axes else 0)
    assert_close(got, expected, what="vs NumPy")
    assert ours.compute_output_shape((None, *shape[1:])) == (None, *got.shape[1:])
    assert ours.get_config()["output_shape"] == list(theirs.get_config()["output_shape"])


def test_einsum_dense_rejects_a_bad_equation():
    with pytest.raises(ValueError, match="equation"):
        layers.EinsumDense("ab->b", 3)
    with pytest.raises(ValueError, match="bias axis 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z")(np.ones((2, 4), "float32"))


def test_rms_normalization_matches_keras_and_numpy(keras3):
    def reference(x, weights, training):
        return x / np.sqrt(np.mean(x**2, axis=(1, 2), keepdims=True) + 1e-3) * weights["scale"][None]

    check_layer(
        lambda: layers.RMSNormalization(axis=[1, 2], epsilon=1e-3),
        _x(2, 3, 4),
        make_keras=lambda: keras3.layers.RMSNormalization(axis=[1, 2], epsilon=1e-3),
        reference=reference,
        weight_names=["scale"],
        keras_config_keys=("axis", "epsilon"),
        save_load=False,  # test_keras3_saved_model_loads covers files
    )
    layer = layers.RMSNormalization()
    x = _x(2, 3, 4)
    expected = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-6)
    assert_close(as_numpy(layer(x)), expected, what="axis=-1 vs NumPy")
    assert layer.get_config()["axis"] == [-1]  # a list once built, as Keras writes it


# ------------------------------------------------------------------ ReversibleEmbedding
def test_reversible_embedding_forward_and_reverse(keras3):
    ids = np.array([[1, 2, 0], [5, 4, 4]], "int32")
    check_layer(
        lambda: layers.ReversibleEmbedding(6, 4, tie_weights=False),
        ids,
        make_keras=lambda: keras3.layers.ReversibleEmbedding(6, 4, tie_weights=False),
        weight_names=["embeddings", "reverse_embeddings"],
        keras_config_keys=("input_dim", "output_dim", "tie_weights", "reverse_dtype", "logit_soft_cap"),
        check_step="the reverse weights get no gradient from a forward call",
        save_load=False,  # test_keras3_saved_model_loads covers files
    )
    vectors = _x(2, 3, 4)
    for tie in (True, False):
        ours = layers.ReversibleEmbedding(6, 4, tie_weights=tie, logit_soft_cap=2.0)
        theirs = keras3.layers.ReversibleEmbedding(6, 4, tie_weights=tie, logit_soft_cap=2.0)
        ours(ids), theirs(ids)
        _same_weights(ours, theirs)
        logits = as_numpy(ours(vectors, reverse=True))
        assert_close(logits, as_numpy(theirs(vectors, reverse=True)), what=f"reverse logits, tie_weights={tie}")
        kernel = ours.get_weights()[0].T if tie else ours.get_weights()[1]
        assert_close(logits, np.tanh(vectors @ kernel / 2.0) * 2.0, what="reverse logits vs NumPy")
        assert ours.compute_output_shape((None, 3, 4), reverse=True) == (None, 3, 6)


# ------------------------------------------------------------------ GroupQueryAttention
def _gqa_reference(query, value, weights, window, zero_masked_rows):
    """Grouped-query attention with a sigmoid gate and a sliding window, written out in NumPy."""
    (wq, bq, wk, bk, wg, bg, wv, bv, wo, bo) = weights
    heads, kv_heads = wq.shape[1], wk.shape[1]
    q = np.einsum("bqm,muh->bquh", query, wq) + bq
    k = np.repeat(np.einsum("bkm,mvh->bkvh", value, wk) + bk, heads // kv_heads, axis=2)
    v = np.repeat(np.einsum("bkm,mvh->bkvh", value, wv) + bv, heads // kv_heads, axis=2)
    scores = np.einsum("bquh,bkuh->buqk", q / np.sqrt(q.shape[-1]), k)
    rows, columns = np.arange(query.shape[1])[:, None], np.arange(value.shape[1])[None, :]
    mask = np.abs(rows - columns) < window
    scores = np.where(mask, scores, -1e9)
    weights_ = np.exp(scores - scores.max(-1, keepdims=True))
    weights_ /= weights_.sum(-1, keepdims=True)
    if zero_masked_rows:
        weights_ = np.where(mask, weights_, 0.0)
    gate = 1.0 / (1.0 + np.exp(-(np.einsum("bqm,muh->bquh", query, wg) + bg)))
    heads_out = np.einsum("buqk,bkuh->bquh", weights_, v) * gate
    return np.einsum("bquh,uhm->bqm", heads_out, wo) + bo, weights_


def test_group_query_attention_matches_numpy():
    """Gate, sliding window (the last queries see no key: Keras then averages the values evenly), scores."""
    query, value = _x(2, 5, 8), _x(2, 3, 8, seed=1)
    layer = layers.GroupQueryAttention(3, 6, 3, use_gate=True, sliding_window=2)
    layer(query, value)
    paths = [w.path.split("/", 1)[-1] for w in layer.weights]
    assert paths == [f"{part}/{kind}" for part in ("query", "key", "gate", "value", "attention_output")
                     for kind in ("kernel", "bias")]  # fmt: skip
    weights = [_x(*w.shape, seed=i) * 0.5 for i, w in enumerate(layer.weights)]
    layer.set_weights(weights)
    expected, _ = _gqa_reference(query, value, weights, 2, zero_masked_rows=False)
    assert_close(as_numpy(layer(query, value)), expected, 1e-4, 1e-5, "GQA vs NumPy")
    out, scores = layer(query, value, return_attention_scores=True)
    expected, expected_scores = _gqa_reference(query, value, weights, 2, zero_masked_rows=True)
    assert_close(as_numpy(scores), expected_scores, 1e-4, 1e-5, "scores (Keras zeroes masked rows here)")
    assert_close(as_numpy(out), expected, 1e-4, 1e-5, "GQA returning scores vs NumPy")
    assert layer.compute_output_shape((None, 5, 8), (None, 3, 8)) == (None, 5, 8)
    config = layer.get_config()
    assert (config["head_dim"], config["num_query_heads"], config["num_key_value_heads"]) == (3, 6, 3)
    assert config["sliding_window"] == 2 and config["use_gate"] is True and "num_heads" not in config
    with pytest.raises(ValueError, match="multiple of"):
        layers.GroupQueryAttention(4, num_query_heads=6, num_key_value_heads=4)


# ------------------------------------------------------------------ SpectralNormalization
def test_spectral_normalization_matches_keras(keras3):
    x = _x(4, 5)
    ours = layers.SpectralNormalization(layers.Dense(3), power_iterations=2)
    theirs = keras3.layers.SpectralNormalization(keras3.layers.Dense(3), power_iterations=2)
    ours(x), theirs(x)
    # Keras 3's weights order (the wrapper's own kernel and vector_u, then the Dense's bias) and paths.
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["kernel", "vector_u", "bias"]
    assert [w.path.split("/", 1)[1] for w in ours.weights] == ["dense/kernel", "vector_u", "dense/bias"]
    assert [w.name for w in ours.trainable_weights] == ["kernel", "bias"]
    by_name = {w.name: _x(*w.shape, seed=i) for i, w in enumerate(theirs.weights)}
    theirs.set_weights([by_name[w.name] for w in theirs.weights])
    ours.set_weights([by_name[w.name] for w in ours.weights])
    assert_close(as_numpy(ours(x)), as_numpy(theirs(x)), what="inference (the kernel as it is)")
    # A training call runs on kernel / sigma and moves vector_u (NumPy: two power-iteration steps).
    kernel, u = by_name["kernel"], by_name["vector_u"]
    for _ in range(2):
        v = u @ kernel.T / np.linalg.norm(u @ kernel.T)
        u = v @ kernel / np.linalg.norm(v @ kernel)
    sigma = (v @ kernel @ u.T).item()
    assert_close(as_numpy(ours(x, training=True)), x @ (kernel / sigma) + by_name["bias"], 1e-5, 1e-5, "training")
    assert_close(as_numpy(ours.vector_u), u, 1e-5, 1e-6, "vector_u after one training call")
    assert_close(as_numpy(ours.layer.kernel), kernel, 0, 0, "the stored kernel: never overwritten")
    config = ours.get_config()
    assert config["power_iterations"] == 2 and config["layer"]["class_name"] == "Dense"
    with pytest.raises(ValueError, match="kernel"):
        layers.SpectralNormalization(layers.ReLU())(x)


def test_spectral_normalization_train_steps_match_keras_fit(keras3):
    """Keras 3's step: the loss sees kernel / sigma, the gradient flows through sigma, the optimizer
    moves the stored kernel (the normalized one is not written back), on both engines."""
    x, y = _x(4, 5), _x(4, 3, seed=1)
    ours = lamina.Sequential([lamina.Input((5,)), layers.SpectralNormalization(layers.Dense(3))])
    theirs = keras3.Sequential([keras3.Input((5,)), keras3.layers.SpectralNormalization(keras3.layers.Dense(3))])
    values = {w.name: _x(*w.shape, seed=i + 2) for i, w in enumerate(theirs.weights)}  # kernel, vector_u, bias
    theirs.set_weights([values[w.name] for w in theirs.weights])
    ours.set_weights([values[w.name] for w in ours.weights])
    ours.compile(lamina.optimizers.SGD(0.1), "mse")
    theirs.compile(keras3.optimizers.SGD(0.1), "mse")
    for step in range(2):
        ours.train_on_batch(x, y), theirs.train_on_batch(x, y)
        for mine, want in zip(ours.get_weights(), theirs.get_weights()):
            assert_close(mine, np.asarray(want), 1e-5, 1e-6, f"weights after step {step + 1}")
    assert_close(as_numpy(ours.predict(x, verbose=0)), np.asarray(theirs.predict(x, verbose=0)), 1e-5, 1e-5, "predict")


# ------------------------------------------------------------------ adaptive pooling
ADAPTIVE = [
    ("1D", (2, 7, 3), 3, "channels_last"),
    ("2D", (2, 5, 7, 3), (3, 4), "channels_last"),
    ("2D", (2, 3, 5, 7), (2, 9), "channels_first"),  # upsampling along the width
    ("3D", (1, 4, 5, 6, 2), (2, 3, 4), "channels_last"),
]


def _adaptive_reference(x, output_size, kind, data_format):
    """PyTorch's windows, written out with loops."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    sizes = (output_size,) * len(spatial) if isinstance(output_size, int) else output_size
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]), "float32")
    for index in np.ndindex(*sizes):
        box = tuple(slice(i * n // s, -(-(i + 1) * n // s)) for i, n, s in zip(index, spatial, sizes))
        window = x[(slice(None), *box)]
        axes = tuple(range(1, 1 + len(spatial)))
        out[(slice(None), *index)] = window.mean(axis=axes) if kind == "Average" else window.max(axis=axes)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


@pytest.mark.parametrize("kind", ["Average", "Max"])
def test_adaptive_pooling_matches_numpy(kind):
    """Keras's numbers are checked through tests/fixtures/layers_keras3/extra.* (test_keras3_saved_model_loads)."""
    for rank, shape, size, data_format in ADAPTIVE:
        name = f"Adaptive{kind}Pooling{rank}"
        x = _x(*shape)
        ours = getattr(layers, name)(size, data_format=data_format)
        got = as_numpy(ours(x))
        assert_close(got, _adaptive_reference(x, size, kind, data_format), what=f"{name} vs NumPy")
        assert ours.compute_output_shape((None, *shape[1:])) == (None, *got.shape[1:])
        assert ours.get_config()["output_size"] == list(np.atleast_1d(size))
    with pytest.raises(ValueError, match="output_size"):
        getattr(layers, f"Adaptive{kind}Pooling2D")((2, 0))


# ------------------------------------------------------------------ Identity, Wrapper, AbstractRNNCell
def test_identity_wrapper_and_abstract_rnn_cell():
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(as_numpy(layers.Identity()(x)), x)

    class Twice(layers.Wrapper):
        def call(self, inputs):
            return self.layer(self.layer(inputs))

    twice = Twice(layers.Dense(4, use_bias=False))
    kernel = twice.layer(x) is not None and twice.layer.get_weights()[0]
    assert_close(as_numpy(twice(x)), x @ kernel @ kernel, what="a Wrapper subclass")
    clone = Twice.from_config(twice.get_config())
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 4
    with pytest.raises(TypeError, match="wraps a layer"):
        Twice("dense")

    class Accumulate(layers.AbstractRNNCell):
        @property
        def state_size(self):
            return 4

        def call(self, inputs, states):
            total = states[0] + inputs
            return total, [total]

    out = as_numpy(layers.RNN(Accumulate(), return_sequences=True)(x))
    assert_close(out, np.cumsum(x, axis=1), what="RNN over an AbstractRNNCell")


# ------------------------------------------------------------------ LocallyConnected (tf-keras 2.21 files)
@pytest.mark.parametrize("name", ["lc1d", "lc2d", "lc2d_channels_first", "lc1d_same"])
def test_locally_connected_loads_tf_keras_files(name):
    """Each file stacks one layer per `implementation` (1, 2, 3; "same" padding: 2, 3), as tf-keras 2.21 saved them."""
    model = lamina.models.load_model(os.path.join(FIXTURES, f"{name}.h5"))
    expected = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    assert [layer.implementation for layer in model.layers] == ([2, 3] if name == "lc1d_same" else [1, 2, 3])
    predicted = model.predict(expected["x0"], verbose=0)
    assert_close(predicted, expected["y_pred0"], 1e-5, 1e-5, f"{name}.h5 predictions vs tf-keras's")
    if name == "lc2d":  # lamina's own file of the same model: same config, weights, predictions
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.h5")
            model.save(path)
            loaded = lamina.models.load_model(path)
            assert loaded.get_config() == model.get_config()
            assert_close(loaded.predict(expected["x0"], verbose=0), predicted, what="saved and loaded")


def test_locally_connected_implementations_agree_with_numpy():
    """The three kernel layouts, given the same connection weights, compute the same local convolution."""
    x = _x(2, 6, 3)
    first = layers.LocallyConnected1D(2, 3, strides=1, implementation=1)
    first(x)
    kernel, bias = first.get_weights()  # (4 positions, 3 taps * 3 channels, 2 filters)
    windows = np.stack([x[:, p : p + 3, :].reshape(2, -1) for p in range(4)], axis=1)
    expected = np.einsum("bpk,pkf->bpf", windows, kernel) + bias
    assert_close(as_numpy(first(x)), expected, what="implementation 1 vs NumPy")
    dense = np.zeros((6, 3, 4, 2), "float32")  # implementation 2's layout, zero outside the windows
    for p in range(4):
        dense[p : p + 3, :, p, :] = kernel[p].reshape(3, 3, 2)
    second = layers.LocallyConnected1D(2, 3, implementation=2)
    second(x)
    second.set_weights([dense, bias])
    assert_close(as_numpy(second(x)), expected, what="implementation 2 vs NumPy")
    assert second.get_config()["implementation"] == 2
    with pytest.raises(ValueError, match="implementation"):
        layers.LocallyConnected2D(2, 3, implementation=4)


# ------------------------------------------------------------------ files written by Keras 3, and back
KERAS3_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "layers_keras3")


def check_keras3_file_round_trip(keras3, tmp_path, name: str, suffix: str):
    """Keras 3's file loads in lamina and predicts Keras's numbers; lamina's file of it loads in Keras 3 likewise."""
    expected = np.load(os.path.join(KERAS3_FIXTURES, f"{name}.npz"))
    ours = lamina.models.load_model(os.path.join(KERAS3_FIXTURES, name + suffix))
    assert_close(ours.predict(expected["x0"], verbose=0), expected["y_pred0"], 1e-5, 1e-5, f"lamina on {name}{suffix}")
    path = str(tmp_path / f"lamina{suffix}")
    ours.save(path)
    # Keras 3 reading a file is slow the first time (it compiles every op): once per model, on the .keras file.
    back = keras3.models.load_model(path, compile=False) if suffix == ".keras" else lamina.models.load_model(path)
    predicted = back.predict(expected["x0"], verbose=0)
    assert_close(predicted, expected["y_pred0"], 1e-5, 1e-5, f"{type(back).__module__} on lamina's {suffix}")
    return ours


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras3_saved_model_loads(keras3, tmp_path, suffix):
    """ReversibleEmbedding, RMSNormalization, GroupQueryAttention, EinsumDense, SpectralNormalization, Identity and
    adaptive pooling, saved by Keras 3.15 (tests/fixtures/layers_keras3/make_layers_keras3.py)."""
    ours = check_keras3_file_round_trip(keras3, tmp_path, "extra", suffix)
    assert [type(layer).__name__ for layer in ours.layers][2:4] == ["RMSNormalization", "GroupedQueryAttention"]
