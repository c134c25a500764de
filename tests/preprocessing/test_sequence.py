"""lamina.preprocessing.sequence against tf-keras 2.21's outputs (fixtures/preprocessing) and NumPy written out here."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

import lamina
from lamina.preprocessing import sequence

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "preprocessing", "cases.json")


@pytest.fixture(scope="module")
def cases():
    with open(FIXTURE, encoding="utf-8") as file:
        return json.load(file)


def _error_word(message: str) -> str:
    """The word of tf-keras's message that lamina's message must name too."""
    for word in ("Padding", "Truncating", "dtype", "Shape of sample", "non-iterable", "same length", "start_index"):
        if word in message:
            return word.lower()
    raise AssertionError(f"no known word in {message!r}")


def test_pad_sequences_matches_tf_keras(cases):
    for case in cases["pad_sequences"]:
        kwargs = dict(case["kwargs"])
        if kwargs.get("dtype") == "object":
            kwargs["dtype"] = object
        if "error" in case:
            with pytest.raises(ValueError) as caught:
                sequence.pad_sequences(case["sequences"], **kwargs)
            assert _error_word(case["message"]) in str(caught.value).lower(), (case, caught.value)
            continue
        padded = sequence.pad_sequences(case["sequences"], **kwargs)
        assert str(padded.dtype) == case["dtype"], case
        np.testing.assert_array_equal(padded, np.array(case["ok"], dtype=padded.dtype))


def _pad_reference(sequences, maxlen, padding, truncating, value):
    """pad_sequences written out with plain loops."""
    rows = []
    for items in sequences:
        items = list(items)
        if len(items) > maxlen:
            items = items[len(items) - maxlen :] if truncating == "pre" else items[:maxlen]
        fill = [value] * (maxlen - len(items))
        rows.append(fill + items if padding == "pre" else items + fill)
    return np.array(rows, dtype="int64")


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_numpy_reference(padding, truncating):
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 50, size=rng.integers(0, 9)).tolist() for _ in range(12)]
    for maxlen in (None, 1, 4, 11):
        want = _pad_reference(sequences, maxlen or max(map(len, sequences)), padding, truncating, 7)
        got = sequence.pad_sequences(sequences, maxlen, "int64", padding, truncating, value=7)
        np.testing.assert_array_equal(got, want)
    # Keras 3's path is the same function; NumPy arrays in, too.
    arrays = [np.asarray(s) for s in sequences]
    np.testing.assert_array_equal(lamina.utils.pad_sequences(arrays, maxlen=4), sequence.pad_sequences(sequences, 4))
    assert sequence.pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    with pytest.raises(ValueError, match="maxlen"):
        sequence.pad_sequences([])
    with pytest.raises(ValueError, match="list of sequences"):
        sequence.pad_sequences(5)


def test_skipgrams_matches_tf_keras(cases):
    fixture = cases["skipgrams"]
    for case in fixture["cases"]:
        kwargs = dict(case["kwargs"])
        if kwargs.get("sampling_table"):
            kwargs["sampling_table"] = np.array(fixture["sampling_table"])
        random.seed(case["python_seed"])
        couples, labels = sequence.skipgrams(fixture["sentence"], 10, **kwargs)
        assert couples == case["couples"], case["kwargs"]
        assert labels == case["labels"], case["kwargs"]


def test_skipgrams_numpy_reference():
    sentence = [4, 0, 2, 7, 2, 5]
    couples, labels = sequence.skipgrams(sentence, 8, window_size=2, negative_samples=0.0, shuffle=False)
    want = [
        [sentence[i], sentence[j]]
        for i in range(len(sentence))
        for j in range(max(0, i - 2), min(len(sentence), i + 3))
        if i != j and sentence[i] and sentence[j]
    ]
    assert couples == want and labels == [1] * len(want)
    couples, labels = sequence.skipgrams(sentence, 8, window_size=1, negative_samples=2.0, seed=5)
    negatives = [pair for pair, label in zip(couples, labels) if label == 0]
    assert labels.count(1) == 6 and len(negatives) == 12  # pairs touching the 0 (padding) are skipped
    assert all(1 <= context <= 7 and word in sentence for word, context in negatives)
    # The same seed shuffles identically once the global state is fixed.
    random.seed(1)
    first = sequence.skipgrams(sentence, 8, seed=9)
    random.seed(1)
    assert sequence.skipgrams(sentence, 8, seed=9) == first


def test_make_sampling_table(cases):
    for size, want in cases["skipgrams"]["sampling_tables"].items():
        np.testing.assert_allclose(sequence.make_sampling_table(int(size)), want, rtol=1e-12)
    rank = np.maximum(np.arange(30), 1).astype("float64")  # rank 0 counts as rank 1
    frequency = 1.0 / (rank * (np.log(rank) + 0.577) + 0.5 - 1.0 / (12.0 * rank))
    want = np.minimum(1.0, np.sqrt(1e-3 / frequency))
    np.testing.assert_allclose(sequence.make_sampling_table(30, 1e-3), want, rtol=1e-9)


def test_timeseries_generator_matches_tf_keras(cases):
    fixture = cases["timeseries"]
    data, targets = np.array(fixture["data"], dtype="float32"), np.array(fixture["targets"])
    for case in fixture["cases"]:
        np.random.seed(0)
        generator = sequence.TimeseriesGenerator(data, targets, **case["kwargs"])
        assert isinstance(generator, lamina.utils.Sequence)
        assert len(generator) == case["len"], case["kwargs"]
        for index, (want_x, want_y) in enumerate(case["batches"]):
            x, y = generator[index]
            np.testing.assert_array_equal(x, np.array(want_x, dtype="float32").reshape(x.shape))
            np.testing.assert_array_equal(y, want_y)
            assert x.shape[0] == len(want_y)
        assert generator.get_config() == case["config"]
    listed = sequence.TimeseriesGenerator([[1], [2], [3], [4]], [1, 0, 1, 0], length=2, batch_size=1)
    assert json.loads(listed.to_json()) == json.loads(fixture["list_json"])
    bad_targets, bad_length = fixture["errors"]
    with pytest.raises(ValueError, match="same length"):
        sequence.TimeseriesGenerator(data, targets[:5], length=2)
    with pytest.raises(ValueError, match="start_index"):
        sequence.TimeseriesGenerator(data, targets, length=10, start_index=12)
    assert "same length" in bad_targets["message"] and "22 > end_index=19" in bad_length["message"]


def test_timeseries_generator_numpy_reference():
    data = np.arange(30).reshape(15, 2)
    generator = sequence.TimeseriesGenerator(
        data, data[:, 0], length=4, sampling_rate=2, stride=2, start_index=1, end_index=12, reverse=True, batch_size=2
    )
    rows = list(range(1 + 4, 12 + 1, 2))  # the target steps
    assert len(generator) == -(-len(rows) // 2)
    for index in range(len(generator)):
        x, y = generator[index]
        batch_rows = rows[index * 2 : index * 2 + 2]
        np.testing.assert_array_equal(y, data[batch_rows, 0])
        np.testing.assert_array_equal(x, np.stack([data[row - 4 : row : 2][::-1] for row in batch_rows]))
    with pytest.raises(TypeError, match="JSON"):
        sequence.TimeseriesGenerator([object()] * 3, [0, 1, 2], length=1).get_config()


def test_timeseries_generator_feeds_fit():
    # Keras 2 programs pass the generator straight to fit: predict the next value of a ramp from the last 3.
    series = (np.arange(40, dtype="float32") / 40.0).reshape(-1, 1)
    batches = sequence.TimeseriesGenerator(series, series, length=3, batch_size=8)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.layers.Flatten(), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
    losses = model.fit(batches, epochs=6, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert model.predict(batches, verbose=0).shape == (37, 1)
