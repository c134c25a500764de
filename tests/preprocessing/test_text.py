"""lamina.preprocessing.text against tf-keras 2.21's outputs (fixtures/preprocessing) and NumPy written out here."""

from __future__ import annotations

import collections
import hashlib
import json
import os

import numpy as np
import pytest

import lamina
from lamina.preprocessing import sequence, text

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "preprocessing", "cases.json")


@pytest.fixture(scope="module")
def cases():
    with open(FIXTURE, encoding="utf-8") as file:
        return json.load(file)


def _fitted(kwargs, corpus):
    tokenizer = text.Tokenizer(**kwargs)
    tokenizer.fit_on_texts(corpus)
    tokenizer.fit_on_texts([["The", "fox", "NEW"], "one more dog"])
    return tokenizer


def _config_dicts(json_text):
    """A to_json() text with its nested JSON dictionaries parsed (Keras 2's word_docs order came from a set)."""
    config = json.loads(json_text)["config"]
    for key in ("word_counts", "word_docs", "index_docs", "index_word", "word_index"):
        config[key] = json.loads(config[key])
    return config


def test_text_to_word_sequence_and_md5_hashing_match_tf_keras(cases):
    corpus = cases["tokenizer"]["corpus"]
    for case in cases["words"]["splits"]:
        assert [text.text_to_word_sequence(t, **case["kwargs"]) for t in corpus] == case["words"], case["kwargs"]
    assert [text.hashing_trick(t, 17, hash_function="md5") for t in corpus] == cases["words"]["md5_17"]


def test_hashing_trick_and_one_hot_numpy_reference():
    sentence = "The cat, the HAT; and the bat!"
    words = ["the", "cat", "the", "hat", "and", "the", "bat"]
    assert text.hashing_trick(sentence, 11) == [hash(w) % 10 + 1 for w in words]
    assert text.one_hot(sentence, 11) == [hash(w) % 10 + 1 for w in words]
    md5 = [int(hashlib.md5(w.encode()).hexdigest(), 16) % 10 + 1 for w in words]
    assert text.hashing_trick(sentence, 11, hash_function="md5") == md5
    assert text.hashing_trick(sentence, 5, hash_function=len) == [len(w) % 4 + 1 for w in words]
    assert text.one_hot("a-b c", 7, analyzer=lambda s: s.split("-")) == [hash(w) % 6 + 1 for w in ["a", "b c"]]
    with pytest.raises(ValueError, match="hash_function"):
        text.hashing_trick(sentence, 5, hash_function="sha1")


def test_tokenizer_matches_tf_keras(cases):
    fixture = cases["tokenizer"]
    for case in fixture["cases"]:
        tokenizer = _fitted(case["kwargs"], fixture["corpus"])
        state = case["state"]
        label = case["kwargs"]
        # Orders matter: word_counts in first-seen order, word_index by count (ties first-seen).
        assert [list(item) for item in tokenizer.word_counts.items()] == state["word_counts"], label
        assert [list(item) for item in tokenizer.word_index.items()] == state["word_index"], label
        assert [list(item) for item in tokenizer.index_word.items()] == state["index_word"], label
        assert dict(tokenizer.word_docs) == state["word_docs"], label
        assert {str(k): v for k, v in tokenizer.index_docs.items()} == state["index_docs"], label
        assert tokenizer.document_count == state["document_count"]
        assert tokenizer.texts_to_sequences(fixture["queries"]) == case["sequences"], label
        assert list(tokenizer.texts_to_sequences_generator(fixture["queries"])) == case["sequences"]
        assert tokenizer.sequences_to_texts(fixture["sequences_back"]) == case["texts"], label
        for mode, want in case["matrices"].items():
            np.testing.assert_allclose(tokenizer.texts_to_matrix(fixture["queries"], mode=mode), want, rtol=1e-12)
        config = tokenizer.get_config()
        assert list(config) == case["config_keys"]
        assert config["word_counts"] == case["word_counts_json"] and config["word_index"] == case["word_index_json"]
        assert _config_dicts(tokenizer.to_json()) == _config_dicts(case["to_json"])


def test_tokenizer_from_json_loads_tf_keras_files(cases):
    fixture = cases["tokenizer"]
    for case in fixture["cases"]:
        restored = text.tokenizer_from_json(case["to_json"])
        assert restored.texts_to_sequences(fixture["queries"]) == case["sequences"], case["kwargs"]
        np.testing.assert_allclose(
            restored.texts_to_matrix(fixture["queries"], mode="tfidf"), case["matrices"]["tfidf"], rtol=1e-12
        )
        again = text.tokenizer_from_json(restored.to_json())
        assert again.word_index == restored.word_index and again.index_word == restored.index_word
    # A restored tokenizer goes on fitting.
    restored = text.tokenizer_from_json(fixture["cases"][0]["to_json"])
    restored.fit_on_texts(["brand new words words"])
    assert restored.word_counts["words"] == 2 and restored.index_docs[restored.word_index["brand"]] == 1
    with pytest.raises(ValueError, match="to_json"):
        text.tokenizer_from_json('{"no": "config"}')


def test_fit_on_sequences_matches_tf_keras(cases):
    want = cases["tokenizer"]["fit_on_sequences"]
    tokenizer = text.Tokenizer(num_words=6)
    tokenizer.fit_on_sequences([[1, 2, 2, 5], [3], [], [5, 5, 5, 1]])
    assert {str(k): v for k, v in tokenizer.index_docs.items()} == want["index_docs"]
    assert tokenizer.document_count == want["document_count"]
    got = tokenizer.sequences_to_matrix([[1, 2, 2, 9], [5], []], mode="tfidf")
    np.testing.assert_allclose(got, want["tfidf"], rtol=1e-12)


def test_sequences_to_matrix_numpy_reference():
    tokenizer = text.Tokenizer(num_words=6)
    tokenizer.fit_on_texts(["a b b c", "c d", "a a e f g"])
    sequences = tokenizer.texts_to_sequences(["a a b z", "g c", ""])
    counts = np.zeros((3, 6))
    for row, items in enumerate(sequences):
        for index, count in collections.Counter(items).items():
            counts[row, index] = count
    lengths = np.array([max(len(s), 1) for s in sequences], dtype="float64")[:, None]
    documents = np.array([tokenizer.index_docs.get(i, 0) for i in range(6)], dtype="float64")
    idf = np.log(1 + 3 / (1 + documents))
    tfidf = np.where(counts > 0, (1 + np.log(np.maximum(counts, 1))) * idf, 0.0)
    matrices = {"count": counts, "binary": (counts > 0).astype("float64"), "freq": counts / lengths, "tfidf": tfidf}
    for mode, want in matrices.items():
        np.testing.assert_allclose(tokenizer.sequences_to_matrix(sequences, mode=mode), want, rtol=1e-12)


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="num_words"):
        text.Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(ValueError, match="tfidf"):
        text.Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    with pytest.raises(ValueError, match="vectorization mode 'onehot'"):
        text.Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="onehot")
    with pytest.raises(TypeError, match="num_tokens"):
        text.Tokenizer(num_tokens=3)
    with pytest.warns(UserWarning, match="num_words"):
        assert text.Tokenizer(nb_words=4).num_words == 4


def test_keras2_text_classification_program_trains():
    # A Keras 2-style program: Tokenizer + pad_sequences -> Embedding -> LSTM -> Dense, as the IMDB examples.
    good = ["a fine film", "great acting and a fine story", "i loved it", "great fun", "fine and great"]
    bad = ["a dull film", "awful acting and a dull story", "i hated it", "boring mess", "dull and awful"]
    tokenizer = text.Tokenizer(num_words=30, oov_token="<unk>")
    tokenizer.fit_on_texts(good + bad)
    x = sequence.pad_sequences(tokenizer.texts_to_sequences(good + bad), maxlen=6)
    y = np.array([1] * len(good) + [0] * len(bad), dtype="float32")
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            lamina.layers.Embedding(30, 8),
            lamina.layers.LSTM(8, return_sequences=True),
            lamina.layers.GlobalAveragePooling1D(),
            lamina.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=20, batch_size=10, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert model.predict(x[:2], verbose=0).shape == (2, 1)
