"""Attention, AdditiveAttention and MultiHeadAttention against Keras 3 and NumPy.

Attention layers take a list, so they go through the shared harness. MultiHeadAttention is called
with separate tensors (`mha(query, value)`), which the harness cannot express: `check_mha` below runs
the same steps for it (weights and paths, values vs Keras and NumPy, shapes, configs, symbolic use,
weight files).
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close, check_layer
from recurrent_reference import CellWeight
from test_layer_normalization import sgd_step_matches_keras

import lamina
from lamina import layers

ATTENTION_KEYS = ("use_scale", "score_mode", "dropout")
MHA_KEYS = ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes")
MHA_NAMES = ["kernel", "bias"] * 4
MHA_PARTS = ["query", "key", "value", "attention_output"]


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


QUERY, VALUE, KEY = _x(2, 4, 3, seed=1), _x(2, 5, 3, seed=2), _x(2, 5, 3, seed=3)
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
VALUE_MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], bool)


# --------------------------------------------------------------- NumPy reference
def np_softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_dense_attention(scores, value, query_mask=None, value_mask=None, causal=False):
    """Keras's Attention after the scores: masked steps lose 1e9, softmax, weights @ value, masked queries 0."""
    allowed = np.ones(scores.shape, bool)
    if value_mask is not None:
        allowed &= value_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[-2:], bool))[None]
    weights = np_softmax(np.where(allowed, scores, scores - 1e9))
    out = weights @ value
    if query_mask is not None:
        out = np.where(query_mask[..., None], out, 0.0)
    return out, weights


def np_scores(mode, query, key, w):
    pairs = query[:, :, None, :] + key[:, None, :, :]
    if mode == "dot":
        return (query @ key.transpose(0, 2, 1)) * w.get("scale", 1.0)
    if mode == "concat":
        return w["concat_score_weight"] * np.tanh(w.get("scale", 1.0) * pairs).sum(-1)
    return (np.tanh(pairs) * w.get("scale", 1.0)).sum(-1)  # additive


def np_attention_layer(mode):
    def reference(inputs, w, training):
        key = inputs[2] if len(inputs) > 2 else inputs[1]
        return np_dense_attention(np_scores(mode, inputs[0], key, w), inputs[1])[0]

    return reference


# ---------------------------------------------------------------- Attention
@pytest.mark.parametrize(
    "kwargs, names, with_key",
    [
        ({}, [], False),
        ({}, [], True),
        ({"use_scale": True}, ["scale"], True),
        ({"score_mode": "concat"}, ["concat_score_weight"], False),
        ({"score_mode": "concat", "use_scale": True}, ["scale", "concat_score_weight"], True),
    ],
)
def test_attention_matches_keras_and_numpy(keras3, kwargs, names, with_key):
    inputs = [QUERY, VALUE, KEY] if with_key else [QUERY, VALUE]
    check_layer(
        lambda: layers.Attention(**kwargs),
        inputs,
        make_keras=lambda: keras3.layers.Attention(**kwargs),
        reference=np_attention_layer(kwargs.get("score_mode", "dot")),
        weight_names=names,
        keras_config_keys=ATTENTION_KEYS,
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("use_scale, names", [(True, ["scale"]), (False, [])])
def test_additive_attention_matches_keras_and_numpy(keras3, use_scale, names):
    check_layer(
        lambda: layers.AdditiveAttention(use_scale=use_scale),
        [QUERY, VALUE, KEY],
        make_keras=lambda: keras3.layers.AdditiveAttention(use_scale=use_scale),
        reference=np_attention_layer("additive"),
        weight_names=names,
        keras_config_keys=("use_scale", "dropout"),
        rtol=1e-4,
        atol=1e-5,
    )


def _same_layer_pair(keras3, name, kwargs, inputs):
    """A lamina layer and its Keras 3 twin, built on `inputs`, with the same random weights."""
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras3.layers, name)(**kwargs)
    ours(inputs)
    theirs(inputs)
    weights = [_x(*w.shape, seed=10 + i) for i, w in enumerate(ours.weights)]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs, dict(zip([w.name for w in ours.weights], weights))


CALL_OPTIONS = [
    {"mask": [QUERY_MASK, VALUE_MASK]},
    {"mask": [None, VALUE_MASK]},
    {"mask": [QUERY_MASK, None]},
    {"use_causal_mask": True},
    {"use_causal_mask": True, "mask": [QUERY_MASK, VALUE_MASK]},
    {"return_attention_scores": True, "mask": [None, VALUE_MASK]},
    {"return_attention_scores": True, "use_causal_mask": True},
]


@pytest.mark.parametrize("call_kwargs", CALL_OPTIONS)
@pytest.mark.parametrize(
    "name, kwargs, mode",
    [
        ("Attention", {"use_scale": True}, "dot"),
        ("Attention", {"score_mode": "concat"}, "concat"),
        ("AdditiveAttention", {}, "additive"),
    ],
)
def test_attention_call_options_match_keras_and_numpy(keras3, name, kwargs, mode, call_kwargs):
    inputs = [QUERY, VALUE, KEY]
    ours, theirs, w = _same_layer_pair(keras3, name, kwargs, inputs)
    got, want = ours(inputs, **call_kwargs), theirs(inputs, **call_kwargs)
    query_mask, value_mask = call_kwargs.get("mask", [None, None])
    out, weights = np_dense_attention(
        np_scores(mode, QUERY, KEY, w), VALUE, query_mask, value_mask, call_kwargs.get("use_causal_mask", False)
    )
    if call_kwargs.get("return_attention_scores"):
        assert isinstance(got, tuple) and len(got) == 2
        assert_close(as_numpy(got[1]), as_numpy(want[1]), 1e-4, 1e-5, "scores vs Keras")
        assert_close(as_numpy(got[1]), weights, 1e-4, 1e-5, "scores vs NumPy")
        got, want = got[0], want[0]
    assert_close(as_numpy(got), as_numpy(want), 1e-4, 1e-5, "output vs Keras")
    assert_close(as_numpy(got), out, 1e-4, 1e-5, "output vs NumPy")


def test_attention_causal_weights_are_lower_triangular():
    layer = layers.Attention()
    _, weights = layer([QUERY, QUERY], use_causal_mask=True, return_attention_scores=True)
    weights = as_numpy(weights)
    np.testing.assert_array_equal(np.triu(weights[0], k=1), np.zeros((4, 4)))
    assert_close(weights.sum(-1), np.ones((2, 4)), rtol=1e-6)


def test_attention_keras2_causal_flag_is_the_default_causal_mask():
    layer = layers.Attention.from_config({"name": "attention", "causal": True, "use_scale": False})
    assert layer.get_config()["causal"] is True
    causal = as_numpy(layer([QUERY, QUERY]))
    np.testing.assert_allclose(causal, as_numpy(layers.Attention()([QUERY, QUERY], use_causal_mask=True)), rtol=1e-6)


@pytest.mark.parametrize("name", ["Attention", "AdditiveAttention"])
def test_attention_dropout_only_in_training(name):
    layer = getattr(layers, name)(dropout=0.5, seed=3)
    plain = getattr(layers, name)()
    plain([QUERY, VALUE])
    layer([QUERY, VALUE])
    layer.set_weights(plain.get_weights())
    inference, inference_weights = layer([QUERY, VALUE], return_attention_scores=True)
    assert_close(as_numpy(inference), as_numpy(plain([QUERY, VALUE])), rtol=1e-6, what="inference ignores dropout")
    out, weights = layer([QUERY, VALUE], training=True, return_attention_scores=True)
    weights, inference_weights = as_numpy(weights), as_numpy(inference_weights)
    dropped = weights == 0.0
    assert 0 < dropped.sum() < dropped.size  # some weights dropped, some kept
    assert_close(weights[~dropped], 2.0 * inference_weights[~dropped], rtol=1e-5, what="kept weights scaled by 2")
    assert_close(as_numpy(out), weights @ VALUE, rtol=1e-4, atol=1e-5, what="output from the dropped weights")
    again = as_numpy(layer([QUERY, VALUE], training=True, return_attention_scores=True)[1])
    assert not np.array_equal(again == 0.0, dropped)  # a fresh mask each call


@pytest.mark.parametrize(
    "name, kwargs",
    [("Attention", {"use_scale": True}), ("Attention", {"score_mode": "concat"}), ("AdditiveAttention", {})],
)
def test_attention_one_sgd_step_matches_keras(keras3, name, kwargs):
    def build(module):
        return lambda q, v: getattr(module.layers, name)(**kwargs)([module.layers.Dense(3)(q), v])

    sgd_step_matches_keras(keras3, build(lamina), build(keras3), [QUERY, VALUE])


def test_attention_in_a_functional_model_with_masks_and_scores():
    q, v = lamina.Input((4, 3)), lamina.Input((5, 3))
    qm, vm = lamina.Input((4,), dtype="bool"), lamina.Input((5,), dtype="bool")
    layer = layers.Attention(use_scale=True)
    out, scores = layer([q, v], mask=[qm, vm], return_attention_scores=True, use_causal_mask=True)
    assert (out.shape, scores.shape) == ((None, 4, 3), (None, 4, 5))
    model = lamina.Model([q, v, qm, vm], [out, scores])
    predicted = model.predict([QUERY, VALUE, QUERY_MASK, VALUE_MASK], verbose=0)
    eager = layer([QUERY, VALUE], mask=[QUERY_MASK, VALUE_MASK], return_attention_scores=True, use_causal_mask=True)
    for got, want in zip(predicted, eager):
        assert_close(got, as_numpy(want), rtol=1e-6)
    assert as_numpy(layer.compute_mask([QUERY, VALUE], [QUERY_MASK, VALUE_MASK])).tolist() == QUERY_MASK.tolist()


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: layers.Attention(score_mode="add"), ValueError, r'"attention": score_mode must be one of'),
        (lambda: layers.Attention(dropout=1.5), ValueError, r'"attention": dropout must be in \[0, 1\]'),
    ],
)
def test_attention_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_attention_bad_calls_name_the_layer():
    layer = layers.Attention()
    with pytest.raises(ValueError, match=r'"attention" must be called on a list \[query, value\]'):
        layer(QUERY)
    with pytest.raises(ValueError, match=r'"attention" expects a list of 2 or 3 inputs'):
        layer([QUERY, VALUE, KEY, KEY])
    with pytest.raises(ValueError, match=r'"attention_\d+": key and value must have the same number of steps'):
        layers.Attention()([QUERY, VALUE, QUERY])
    with pytest.raises(ValueError, match=r'"attention_\d+": query and key must have the same last dimension'):
        layers.Attention()([QUERY, _x(2, 5, 2)])
    layer([QUERY, VALUE])
    with pytest.raises(ValueError, match=r'"attention": mask must be a list \[query_mask, value_mask\]'):
        layer([QUERY, VALUE], mask=VALUE_MASK)


# ------------------------------------------------------- MultiHeadAttention
def np_mha(query, value, key, w, heads, key_dim, mask=None):
    """Keras's MultiHeadAttention for (batch, steps, dim) inputs, written out with einsum."""

    def project(x, part):
        return np.einsum("btd,dnh->btnh", x, w[f"{part}/kernel"]) + w.get(f"{part}/bias", 0.0)

    q, k, v = project(query, "query") / np.sqrt(key_dim), project(key, "key"), project(value, "value")
    scores = np.einsum("btnh,bsnh->bnts", q, k)
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    probabilities = np_softmax(scores)
    if mask is not None:
        probabilities = np.where(mask[:, None], probabilities, 0.0)
    heads_out = np.einsum("bnts,bsnh->btnh", probabilities, v)
    out = np.einsum("btnh,nho->bto", heads_out, w["attention_output/kernel"]) + w.get("attention_output/bias", 0.0)
    return out, probabilities


def check_mha(keras3, kwargs, args, call_kwargs=None, rtol=1e-4, atol=1e-5):
    """The harness's steps for MultiHeadAttention, called as `mha(*args, **call_kwargs)`; returns (layer, weights)."""
    call_kwargs = dict(call_kwargs or {})
    layer = layers.MultiHeadAttention(**kwargs)
    # Keras's weights are set below: constant initial values spare compiling its random initializer per shape.
    keras_layer = keras3.layers.MultiHeadAttention(**{"kernel_initializer": "ones", **kwargs})
    layer(*args, **call_kwargs)
    keras_layer(*args, **call_kwargs)
    # 1. Weights: Keras's names, paths (`<layer>/query/kernel`, ...), order and shapes.
    assert [w.path.replace(layer.name, "mha") for w in layer.weights] == [
        w.path.replace(keras_layer.name, "mha") for w in keras_layer.weights
    ]
    assert [w.name for w in layer.weights] == [w.name for w in keras_layer.weights]
    assert [w.shape for w in layer.weights] == [tuple(w.shape) for w in keras_layer.weights]
    values = [_x(*w.shape, seed=20 + i) * 0.5 for i, w in enumerate(layer.weights)]
    layer.set_weights(values)
    keras_layer.set_weights(values)
    by_path = {w.path.split("/", 1)[1]: v for w, v in zip(layer.weights, values)}
    # 2. Inference vs Keras; the default call is inference.
    out = layer(*args, training=False, **call_kwargs)
    want = keras_layer(*args, training=False, **call_kwargs)
    default = layer(*args, **call_kwargs)
    for got, expected, again in zip(*(o if isinstance(o, tuple) else (o,) for o in (out, want, default))):
        assert_close(as_numpy(got), as_numpy(expected), rtol, atol, "MultiHeadAttention vs Keras")
        np.testing.assert_array_equal(as_numpy(again), as_numpy(got))
    # 3. Shapes.
    shapes = [(None, *a.shape[1:]) for a in args]
    assert layer.compute_output_shape(*shapes) == tuple(keras_layer.compute_output_shape(*shapes))
    # 4. Config: round trip, and the values Keras writes.
    config = layer.get_config()
    clone = layers.MultiHeadAttention.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    keras_config = keras_layer.get_config()
    for key in MHA_KEYS:
        expected = keras_config[key]
        assert config[key] == (tuple(expected) if isinstance(expected, list) else expected), key
    # 5. Symbolic: a functional model of the clone predicts what the layer computes.
    symbolic = [lamina.Input(a.shape[1:], dtype="bool" if a.dtype == bool else "float32") for a in args]
    masks = {k: v for k, v in call_kwargs.items() if isinstance(v, np.ndarray)}
    mask_inputs = {k: lamina.Input(v.shape[1:], dtype="bool") for k, v in masks.items()}
    options = {k: v for k, v in call_kwargs.items() if k not in masks}
    model = lamina.Model([*symbolic, *mask_inputs.values()], clone(*symbolic, **mask_inputs, **options))
    clone.set_weights(values)
    predicted = model.predict([*args, *masks.values()], verbose=0)
    first = out[0] if isinstance(out, tuple) else out
    assert_close(predicted[0] if isinstance(predicted, list) else predicted, as_numpy(first), 1e-6, 1e-6, "model")
    return layer, by_path


MHA_CONFIGS = [
    ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE)),
    ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE, _x(2, 5, 6, seed=4))),
    ({"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": (2, 3)}, (QUERY, VALUE)),
    ({"num_heads": 1, "key_dim": 4, "use_bias": False, "output_shape": 5}, (QUERY, VALUE)),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)}, (_x(2, 3, 2, 4), _x(2, 2, 4, 4, seed=5))),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": 2}, (_x(2, 3, 2, 4), _x(2, 3, 4, 4, seed=5))),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True}, (QUERY, VALUE)),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (QUERY, VALUE)),
]


@pytest.mark.parametrize("kwargs, args", MHA_CONFIGS)
def test_mha_matches_keras(keras3, kwargs, args):
    # With scores returned Keras takes its explicit path, which works for every config (its fused one fails
    # for value_dim != key_dim on JAX). Its fused path (plain calls) is compared in the masks test below.
    check_mha(keras3, kwargs, args, {"return_attention_scores": True})


@pytest.mark.parametrize(
    "kwargs, args",
    [
        ({"num_heads": 2, "key_dim": 3}, [QUERY, VALUE]),
        ({"num_heads": 3, "key_dim": 2, "output_shape": 4}, [QUERY, VALUE, KEY]),
    ],
)
def test_mha_through_the_harness(keras3, kwargs, args):
    """The shared harness, calling `mha(query, value[, key])`; its step 10 is one SGD step vs Keras."""
    check_layer(
        lambda: layers.MultiHeadAttention(**kwargs),
        args,
        make_keras=lambda: keras3.layers.MultiHeadAttention(**kwargs),
        weight_names=[CellWeight(name, part) for part in MHA_PARTS for name in ("kernel", "bias")],
        keras_config_keys=MHA_KEYS,
        separate_inputs=True,
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "call_kwargs",
    [
        {},
        {"use_causal_mask": True},
        {"value_mask": VALUE_MASK},
        {"value_mask": VALUE_MASK, "key_mask": VALUE_MASK[::-1].copy()},
        {"attention_mask": np.tril(np.ones((2, 4, 5), bool), 1)},
        {"value_mask": VALUE_MASK, "use_causal_mask": True, "return_attention_scores": True},
    ],
)
def test_mha_masks_match_keras_and_numpy(keras3, call_kwargs):
    _, w = check_mha(keras3, {"num_heads": 2, "key_dim": 3}, (QUERY, VALUE), call_kwargs)
    mask = np.ones((2, 4, 5), bool)
    mask &= call_kwargs.get("value_mask", mask[:, :1])[:, None, :] if "value_mask" in call_kwargs else True
    if "key_mask" in call_kwargs:
        mask &= call_kwargs["key_mask"][:, None, :]
    if call_kwargs.get("use_causal_mask"):
        mask &= np.tril(np.ones((4, 5), bool))[None]
    if "attention_mask" in call_kwargs:
        mask &= call_kwargs["attention_mask"]
    layer = layers.MultiHeadAttention(2, 3)
    layer(QUERY, VALUE)
    layer.set_weights([w[f"{part}/{kind}"] for part in MHA_PARTS for kind in ("kernel", "bias")])
    out, scores = layer(QUERY, VALUE, **{**call_kwargs, "return_attention_scores": True})
    want_out, want_scores = np_mha(QUERY, VALUE, VALUE, w, 2, 3, mask)
    assert_close(as_numpy(out), want_out, 1e-4, 1e-5, "output vs NumPy")
    assert_close(as_numpy(scores), want_scores, 1e-4, 1e-5, "scores vs NumPy")


def test_mha_query_mask_matches_a_keras_masking_layer(keras3):
    """Keras 3 takes the query's mask from the tensor (here a Masking layer); lamina takes it as an argument."""
    query = QUERY.copy()
    query[~QUERY_MASK] = 0.0
    q, v = keras3.Input((4, 3)), keras3.Input((5, 3))
    keras_mha = keras3.layers.MultiHeadAttention(2, 3)
    keras_out = keras_mha(keras3.layers.Masking(0.0)(q), v, return_attention_scores=True)
    keras_model = keras3.Model([q, v], keras_out)
    layer = layers.MultiHeadAttention(2, 3)
    layer(query, VALUE)
    layer.set_weights([_x(*w.shape, seed=i) for i, w in enumerate(layer.weights)])
    keras_mha.set_weights(layer.get_weights())
    out, scores = layer(query, VALUE, query_mask=QUERY_MASK, return_attention_scores=True)
    want_out, want_scores = keras_model.predict([query, VALUE], verbose=0)
    assert_close(as_numpy(out), want_out, 1e-4, 1e-5, "output vs Keras")
    assert_close(as_numpy(scores), want_scores, 1e-4, 1e-5, "scores vs Keras")
    np.testing.assert_array_equal(as_numpy(scores)[~QUERY_MASK[:, None, :].repeat(2, 1)], 0.0)  # masked rows


def test_mha_dropout_only_in_training():
    layer = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    plain = layers.MultiHeadAttention(2, 3)
    plain(QUERY, VALUE)
    layer(QUERY, VALUE)
    layer.set_weights(plain.get_weights())
    assert_close(as_numpy(layer(QUERY, VALUE)), as_numpy(plain(QUERY, VALUE)), rtol=1e-6)
    out, scores = layer(QUERY, VALUE, training=True, return_attention_scores=True)
    # The scores are returned before dropout (as Keras does); the output uses the dropped ones.
    assert_close(as_numpy(scores), as_numpy(plain(QUERY, VALUE, return_attention_scores=True)[1]), rtol=1e-6)
    assert not np.allclose(as_numpy(out), as_numpy(plain(QUERY, VALUE)), atol=1e-4)
    assert not np.allclose(as_numpy(layer(QUERY, VALUE, training=True)), as_numpy(out), atol=1e-4)
    everything_dropped = layers.MultiHeadAttention(2, 3, dropout=1.0)
    everything_dropped(QUERY, VALUE)
    everything_dropped.set_weights(plain.get_weights())
    bias = plain.get_weights()[-1]
    assert_close(as_numpy(everything_dropped(QUERY, VALUE, training=True)), np.broadcast_to(bias, (2, 4, 3)))


@pytest.mark.parametrize(
    "kwargs, causal, masked",
    [({"num_heads": 2, "key_dim": 3}, False, False), ({"num_heads": 2, "key_dim": 2, "output_shape": 4}, True, True)],
)
def test_mha_one_sgd_step_matches_keras(keras3, kwargs, causal, masked):
    def build(module):
        def run(q, v, value_mask=None):
            mha = module.layers.MultiHeadAttention(**kwargs)
            return mha(module.layers.Dense(3)(q), v, value_mask=value_mask, use_causal_mask=causal)

        return run

    # Every query step keeps at least one key step: Keras's fused kernel (used in its training step) and its
    # explicit path disagree on a query step that may attend to nothing (see the next test).
    value_mask = VALUE_MASK.copy()
    value_mask[:, 0] = True
    inputs = [QUERY, VALUE, value_mask] if masked else [QUERY, VALUE]
    sgd_step_matches_keras(keras3, build(lamina), build(keras3), inputs)


def test_mha_query_step_that_may_attend_to_nothing_gets_zero_weights(keras3):
    """As Keras 3's explicit path (scores returned, or dropout) computes it; its fused kernel averages instead."""
    layer = layers.MultiHeadAttention(2, 3)
    keras_layer = keras3.layers.MultiHeadAttention(2, 3)
    layer(QUERY, VALUE)
    keras_layer(QUERY, VALUE)
    keras_layer.set_weights(layer.get_weights())
    nothing = np.zeros((2, 5), bool)
    nothing[0] = True  # sample 1 may attend to no step
    out, scores = layer(QUERY, VALUE, value_mask=nothing, return_attention_scores=True)
    np.testing.assert_array_equal(as_numpy(scores)[1], 0.0)
    bias = layer.get_weights()[-1]
    assert_close(as_numpy(out)[1], np.broadcast_to(bias, (4, 3)), what="only the output bias is left")
    keras_out, keras_scores = keras_layer(QUERY, VALUE, value_mask=nothing, return_attention_scores=True)
    assert_close(as_numpy(out), as_numpy(keras_out), 1e-4, 1e-5, "vs Keras's explicit path")
    assert_close(as_numpy(scores), as_numpy(keras_scores), 1e-4, 1e-5, "scores vs Keras's explicit path")


def test_attention_layers_with_dropout_train_in_fit():
    """Dropout's seed state is threaded through the compiled training step: every step draws a new mask."""
    q, v = lamina.Input((4, 3)), lamina.Input((5, 3))
    attended = layers.Attention(dropout=0.3)([layers.Dense(3)(q), v])
    out = layers.MultiHeadAttention(2, 3, dropout=0.3)(attended, v)
    model = lamina.Model([q, v], layers.LayerNormalization()(out))
    model.compile(lamina.optimizers.SGD(learning_rate=0.01), "mse")
    x, y = [np.tile(QUERY, (4, 1, 1)), np.tile(VALUE, (4, 1, 1))], _x(8, 4, 3, seed=9)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    first, second = (as_numpy(model(x, training=True)) for _ in range(2))
    assert not np.allclose(first, second)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_mha_activity_regularizer_applies_to_each_projection():
    """As in Keras, each projection (query, key, value, attention_output) adds its own activity penalty."""
    layer = layers.MultiHeadAttention(2, 3, activity_regularizer=lamina.regularizers.L2(0.1))
    layer(QUERY, VALUE)
    assert len(layer.losses) == 4
    q = np.einsum("btd,dnh->btnh", QUERY, layer.get_weights()[0]) + layer.get_weights()[1]
    assert float(as_numpy(layer.losses[0])) == pytest.approx(0.1 * np.sum(q**2) / 2, rel=1e-5)


def test_mha_loads_a_tf_keras2_config():
    config = {
        "name": "multi_head_attention", "trainable": True, "dtype": "float32", "num_heads": 2, "key_dim": 3,
        "value_dim": 3, "dropout": 0.0, "use_bias": True, "output_shape": None, "attention_axes": [1],
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
        "query_shape": [None, 4, 3], "key_shape": [None, 5, 3], "value_shape": [None, 5, 3],
    }  # fmt: skip
    layer = layers.MultiHeadAttention.from_config(config)
    assert (layer.num_heads, layer.key_dim, layer.attention_axes) == (2, 3, (1,))
    assert layer(QUERY, VALUE).shape == (2, 4, 3)
    written = layer.get_config()
    assert not {"use_gate", "sliding_window", "seed", "query_shape"} & set(written)  # tf.keras 2 reads it back


def test_mha_loads_keras3_files(keras3):
    """Real Keras 3's JSON and HDF5 files of a model with MultiHeadAttention (masks and options as call keywords)."""
    q, v, vm = keras3.Input((4, 3)), keras3.Input((5, 3)), keras3.Input((5,), dtype="bool")
    out = keras3.layers.MultiHeadAttention(2, 3)(q, v, value_mask=vm, use_causal_mask=True)
    out = keras3.layers.Attention(use_scale=True)([out, q], use_causal_mask=True)
    out = keras3.layers.LayerNormalization()(out)
    keras_model = keras3.Model([q, v, vm], out)
    keras_model.set_weights([_x(*w.shape, seed=i) for i, w in enumerate(keras_model.weights)])
    x = [QUERY, VALUE, VALUE_MASK]
    want = keras_model.predict(x, verbose=0)
    from_json = lamina.models.model_from_json(keras_model.to_json())
    from_json.set_weights(keras_model.get_weights())
    assert_close(from_json.predict(x, verbose=0), want, 1e-4, 1e-5, "model_from_json(Keras 3 JSON)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mha.h5")
        keras_model.save(path)
        loaded = lamina.models.load_model(path)
    assert [w.path for w in loaded.weights] == [w.path for w in keras_model.weights]
    assert_close(loaded.predict(x, verbose=0), want, 1e-4, 1e-5, "load_model(Keras 3 HDF5)")


def _mha_model():
    q, v = lamina.Input((4, 3)), lamina.Input((5, 3))
    return lamina.Model([q, v], layers.MultiHeadAttention(2, 3, name="mha")(q, v, use_causal_mask=True))


def test_mha_weight_files_round_trip():
    model = _mha_model()
    model.set_weights([_x(*w.shape, seed=i) for i, w in enumerate(model.weights)])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mha.weights.h5")
        model.save_weights(path)
        rebuilt = _mha_model()
        rebuilt.load_weights(path)
    assert [w.path for w in rebuilt.weights] == [f"mha/{p}/{k}" for p in MHA_PARTS for k in ("kernel", "bias")]
    assert_close(rebuilt.predict([QUERY, VALUE], verbose=0), model.predict([QUERY, VALUE], verbose=0), 1e-6, 0)


def _causal_attention_model():
    q, v = lamina.Input((4, 3)), lamina.Input((5, 3))
    return lamina.Model([q, v], layers.Attention(use_scale=True)([q, v], use_causal_mask=True))


@pytest.mark.parametrize("make_model", [_mha_model, _causal_attention_model])
def test_models_with_call_keywords_save_and_load(make_model):
    model = make_model()
    model.set_weights([_x(*w.shape, seed=i) for i, w in enumerate(model.weights)])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.h5")
        model.save(path)
        loaded = lamina.models.load_model(path)
    assert_close(loaded.predict([QUERY, VALUE], verbose=0), model.predict([QUERY, VALUE], verbose=0), 1e-6, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0, "key_dim": 2}, "num_heads must be a positive integer"),
        ({"num_heads": 2, "key_dim": 2.5}, "key_dim must be a positive integer"),
        ({"num_heads": 2, "key_dim": 2, "value_dim": -1}, "value_dim must be a positive integer or None"),
        ({"num_heads": 2, "key_dim": 2, "dropout": -0.1}, r"dropout must be in \[0, 1\]"),
        ({"num_heads": 2, "key_dim": 2, "output_shape": "wide"}, "output_shape must be an int or a tuple"),
        ({"num_heads": 2, "key_dim": 2, "attention_axes": "time"}, "attention_axes must be an int or a tuple"),
    ],
)
def test_mha_bad_arguments_name_the_layer(kwargs, match):
    with pytest.raises(ValueError, match=rf'"multi_head_attention": {match}'):
        layers.MultiHeadAttention(**kwargs)


def test_mha_bad_calls_name_the_layer():
    layer = layers.MultiHeadAttention(2, 3)
    with pytest.raises(ValueError, match=r'"multi_head_attention" takes query and value as separate arguments'):
        layer([QUERY, VALUE])
    with pytest.raises(ValueError, match=r'"multi_head_attention" takes query and value as separate arguments'):
        layer(QUERY)
    with pytest.raises(ValueError, match=r'"multi_head_attention": value and key must agree on every axis'):
        layer(QUERY, VALUE, _x(2, 6, 3))
    with pytest.raises(ValueError, match=r'"multi_head_attention_1": attention_axes must name axes between'):
        layers.MultiHeadAttention(2, 3, attention_axes=0)(QUERY, VALUE)
