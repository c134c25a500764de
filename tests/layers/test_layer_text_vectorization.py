"""TextVectorization against Python written here and against Keras 3.15 / tf-keras 2.21 (tests/fixtures/lookup/)."""

from __future__ import annotations

import json
import os
import string

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close
from test_layer_lookup import HERE, _string_input, check_case, keras_cases

import lamina
from lamina import layers

TEXT_CASES = [n for n in keras_cases() if n.startswith("tv_")]


@lamina.saving.register_keras_serializable(package="lamina_test")
def bar_split(texts):
    """The NumPy twin of make_lookup.py's `lamina_test>bar_split` (Keras's splits a tf string tensor at "|")."""
    return [text.split("|") for text in texts]


@pytest.mark.parametrize("name", TEXT_CASES)
def test_text_vectorization_matches_keras(name):
    check_case(name)


def test_standardize_and_split_rules():
    """Keras's rules, written out: ASCII-only lowercasing, its 32 punctuation marks, ASCII whitespace."""
    text = "ÀB Ça-va? " + string.punctuation + " «x» ¿y… Z\u00a0W\tq\x0bR"
    layer = layers.TextVectorization(vocabulary=["Àb", "Çava", "«x»", "¿y…", "z\u00a0w", "q", "r"])
    # "À" and "Ç" stay upper; the non-ASCII marks and the no-break space are kept; \t and \x0b split.
    assert as_numpy(layer(np.array([text]))).tolist() == [[2, 3, 4, 5, 6, 7, 8]]
    lower = layers.TextVectorization(standardize="lower", split="character", vocabulary=list("ab-"))
    assert as_numpy(lower(["AB-ÀC"])).tolist() == [[2, 3, 4, 1, 1]]
    custom = layers.TextVectorization(
        standardize=lambda texts: np.char.upper(texts),
        split=lambda texts: [t.split("|") for t in texts],
        vocabulary=["A", "B C"],
        output_sequence_length=3,
    )
    assert as_numpy(custom(np.array([b"a|b c|x|a"]))).tolist() == [[2, 3, 1]]  # cut to 3


def test_ngrams_sequence_length_and_tf_idf_against_python():
    texts = ["a b c d", "b a", ""]
    grams = layers.TextVectorization(ngrams=(1, 3), standardize=None)
    grams.adapt(texts)
    want = {"a b c d": ["a", "b", "c", "d", "a b c", "b c d"], "b a": ["b", "a"], "": []}
    vocabulary = grams.get_vocabulary()
    rows = [[vocabulary.index(t) for t in want[s]] for s in texts]
    longest = max(map(len, rows))
    assert as_numpy(grams(texts)).tolist() == [r + [0] * (longest - len(r)) for r in rows]
    fixed = layers.TextVectorization(vocabulary=["a", "b"], output_sequence_length=2)
    assert as_numpy(fixed(np.array([["b a a"], ["a"]]))).tolist() == [[3, 2], [2, 0]]
    tf_idf = layers.TextVectorization(output_mode="tf_idf")
    tf_idf.adapt(iter([np.array(texts[:2]), np.array(texts[2:])]))  # batches from an iterable
    # Terms a, b (in 2 of 3 documents), c, d (in 1): idf = log(1 + 3 / (1 + df)); OOV gets the terms' mean.
    assert tf_idf.get_vocabulary() == ["[UNK]", "b", "a", "d", "c"]
    idf = np.log(1 + 3 / (1 + np.array([2, 2, 1, 1.0])))
    weights = np.concatenate([[idf.astype("float32").mean()], idf])
    counts = np.array([[0, 1, 1, 1, 1], [2, 0, 1, 0, 0]], "float32")  # "x" and "y" are OOV
    assert_close(as_numpy(tf_idf(["a b c d", "x y a"])), counts * weights, atol=1e-6)


def test_config_round_trip_and_keras_configs():
    layer = layers.TextVectorization(
        max_tokens=9, ngrams=2, output_mode="count", vocabulary=["a", "b"], standardize="lower", split="whitespace"
    )
    config = json.loads(json.dumps(layer.get_config()))
    assert config["ngrams"] == 2 and config["vocabulary"] == ["a", "b"] and config["vocabulary_size"] == 3
    again = layers.TextVectorization.from_config(config)
    # Counts of [UNK] ("a b" and "b a"), "a", "b".
    assert as_numpy(again(["A b a"])).tolist() == as_numpy(layer(["A b a"])).tolist() == [[2, 2, 1]]
    for name in ("tv_nosplit", "tv_vocab_seq", "tv_strip_ngrams"):  # configs as Keras 3 wrote them
        case = keras_cases()[name]
        restored = layers.TextVectorization.from_config(case["config"])
        if case["adapt"] is None:
            assert restored.get_vocabulary() == case["vocabulary"]
            assert_close(as_numpy(restored(np.array(case["input"]))), np.array(case["output"]), what=name)
        else:  # adapted: the config keeps no vocabulary but its size, so the output shape is known
            assert restored.compute_output_shape((None, 1)) == (None, len(case["vocabulary"]))


def test_callable_config_as_keras3_writes_it(tmp_path):
    """A registered `split` is saved by its registered name in Keras 3's form and found again; a lambda is
    saved as bytecode that loads only with safe_mode=False (as Keras 3 does)."""
    case = keras_cases()["tv_registered_split"]
    layer = layers.TextVectorization(**{**case["kwargs"], "split": bar_split})
    assert json.loads(json.dumps(layer.get_config()))["split"] == case["config"]["split"]
    restored = layers.TextVectorization.from_config(case["config"])  # Keras 3's own config
    assert as_numpy(restored(np.array(case["input"]))).tolist() == case["output"]
    inputs = lamina.Input((1,), dtype="string")
    path = str(tmp_path / "split.keras")
    lamina.Model(inputs, layer(inputs)).save(path)
    loaded = lamina.models.load_model(path)
    assert loaded.predict(np.array(case["input"]), verbose=0).tolist() == case["output"]
    anonymous = layers.TextVectorization(standardize=lambda texts: [t.upper() for t in texts], vocabulary=["A"])
    config = json.loads(json.dumps(anonymous.get_config()))
    assert config["standardize"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.TextVectorization.from_config(config)
    with lamina.saving.safe_mode_scope(False):
        unsafe = layers.TextVectorization.from_config(config)
    assert as_numpy(unsafe(np.array(["a q"]))).tolist() == [[2, 1]]


def test_call_on_host_contract_and_errors():
    layer = layers.TextVectorization(vocabulary=["a"], output_sequence_length=4)
    out = layer.call_on_host(np.array([["a b"], ["a"]], dtype=object))
    assert out.dtype == layer.compute_output_dtype("string") and out.shape == (2, 4)
    assert layer.compute_output_shape((None, 1)) == (None, 4) and layer.accepts_strings
    with pytest.raises(ValueError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="sparse"):
        layers.TextVectorization(output_mode="multi_hot", sparse=True)
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="multi_hot", output_sequence_length=3)
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="last axis"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="strings"):
        layers.TextVectorization(vocabulary=["a"])(np.array([1.5]))


@pytest.mark.parametrize("name", ["k3_text_int", "k3_text_tfidf", "tfk_text_int", "tfk_text_tfidf"])
def test_keras_text_models_predict(name, tmp_path):
    """Keras 3 `.keras` (adapted: vocabulary in assets, idf_weights in the weights) and tf-keras `.h5` (the
    vocabulary in the config, tf_idf weights as a layer weight)."""
    suffix = ".keras" if name.startswith("k3") else ".h5"
    model = lamina.models.load_model(os.path.join(HERE, name + suffix))
    with open(os.path.join(HERE, name + ".json"), encoding="utf-8") as f:
        data = json.load(f)
    inputs = _string_input(data["x"])
    assert_close(model.predict(inputs, verbose=0), np.array(data["y"]), atol=1e-5, what=name)
    if name == "k3_text_tfidf":  # written back in Keras 3's layout, `_lookup_layer` groups included
        path = str(tmp_path / "again.keras")
        model.save(path)
        loaded = lamina.models.load_model(path)
        assert_close(loaded.predict(inputs, verbose=0), np.array(data["y"]), atol=1e-5, what="saved again")
