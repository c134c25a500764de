"""StringLookup and IntegerLookup against NumPy written here and against Keras 3.15 / tf-keras 2.21.

The Keras numbers and files are in tests/fixtures/lookup/ (written by make_lookup.py with TensorFlow):
`cases.json` holds each layer's arguments, adapt data, input, Keras's output and vocabulary; `k3_*.keras`
are Keras 3 models around adapted layers (vocabulary in the zip's assets), `tfk_*.h5` tf-keras models.
"""

from __future__ import annotations

import functools
import json
import os
import zipfile

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

import lamina
from lamina import layers
from lamina.layers.preprocessing import string_hashing
from lamina.layers.preprocessing.text_vectorization import callable_from_config

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "lookup")


@functools.lru_cache(maxsize=1)
def keras_cases() -> dict:
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        return json.load(f)


def build_case(name: str):
    """(lamina layer made and adapted as Keras's was, the case's input as NumPy, the case)."""
    case = keras_cases()[name]
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    for key in ("standardize", "split"):
        if isinstance(kwargs.get(key), dict):  # a registered callable, as Keras 3 serializes it
            kwargs[key] = callable_from_config(kwargs[key], key)
    layer = getattr(layers, case["class_name"])(**kwargs)
    integers = case["class_name"] == "IntegerLookup" or kwargs.get("invert")
    if case["adapt"] is not None:
        layer.adapt(np.array(case["adapt"], dtype="int64" if case["class_name"] == "IntegerLookup" else object))
    return layer, np.array(case["input"], dtype="int64" if integers else None), case


def check_case(name: str) -> None:
    layer, inputs, case = build_case(name)
    out = layer(inputs)
    assert layer.get_vocabulary() == case["vocabulary"], f"{name}: vocabulary"
    if case["output_dtype"] == "string":
        assert out.tolist() == case["output"], f"{name}: inverted strings"
    else:
        assert_close(as_numpy(out), np.array(case["output"]), atol=1e-6, what=name)
    if "idf_weights" in case:
        assert_close(as_numpy(layer.idf_weights), np.array(case["idf_weights"]), atol=1e-6, what=f"{name} idf")


LOOKUP_CASES = [n for n in keras_cases() if not n.startswith("tv_")]


@pytest.mark.parametrize("name", LOOKUP_CASES)
def test_lookup_matches_keras(name):
    check_case(name)


def test_integer_lookup_on_device_and_in_a_model():
    """Tensors take the device path (sorted vocabulary + binary search), also jitted inside predict()."""
    for name in ("il_oov3", "il_invert", "il_multi_hot_rank3", "il_oov3_farmhash", "il_tfidf_adapt"):
        layer, inputs, case = build_case(name)
        inputs = inputs.astype("int32")
        expected = np.array(case["output"])
        # Eager tensors (each new shape costs JAX a compile: keep few).
        if name in ("il_oov3", "il_invert", "il_multi_hot_rank3"):
            assert_close(as_numpy(layer(lamina.ops.convert_to_tensor(inputs))), expected, atol=1e-6, what=name)
            continue
        symbolic = lamina.Input(inputs.shape[1:], dtype="int32")
        model = lamina.Model(symbolic, layer(symbolic))
        assert_close(model.predict(inputs, verbose=0), expected, atol=1e-6, what=f"{name} in a model")


def test_integer_lookup_without_oov_indices_on_device():
    """num_oov_indices=0: an unknown value is an error on the device path too (Keras 3 raises), also in predict."""
    layer = layers.IntegerLookup(vocabulary=[1, 2, 3], num_oov_indices=0, mask_token=0)
    known = lamina.ops.convert_to_tensor(np.array([[1, 3, 0]], "int32"))
    assert as_numpy(layer(known)).tolist() == [[1, 3, 0]]  # [mask] 1 2 3: no OOV index
    with pytest.raises(ValueError, match="num_oov_indices=0.*unknown value 5"):
        layer(lamina.ops.convert_to_tensor(np.array([[1, 5]], "int32")))
    symbolic = lamina.Input((2,), dtype="int32")
    model = lamina.Model(symbolic, layer(symbolic))
    assert model.predict(np.array([[2, 0]], "int32"), verbose=0).tolist() == [[2, 0]]
    with pytest.raises(Exception, match="unknown value 7"):  # jitted: JAX reports it as a runtime error
        model.predict(np.array([[7, 1]], "int32"), verbose=0)


def test_category_encoding_rank3_reduces_axis_1():
    """Keras 3 reduces axis 1 of (batch, steps, features) ids; the declared shape is the values' shape."""
    ids = np.array([[[0, 1], [2, 2], [4, 1]], [[3, 0], [1, 1], [9, 3]]])
    expected = np.zeros((2, 2, 5), "float32")
    for b in range(2):
        for j in range(2):
            for i in ids[b, :, j]:
                if i < 5:
                    expected[b, j, i] += 1
    symbolic = lamina.Input((3, 2), dtype="int32")
    for mode, want in (("count", expected), ("multi_hot", np.minimum(expected, 1))):
        layer = layers.CategoryEncoding(5, output_mode=mode)
        out = layer(symbolic)
        assert tuple(out.shape) == (None, 2, 5) == layer.compute_output_shape((None, 3, 2))
        assert_close(as_numpy(layer(lamina.ops.convert_to_tensor(ids))), want, what=mode)


def test_lookup_against_numpy():
    rng = np.random.default_rng(0)
    vocabulary = ["x", "y", "zz", "é"]
    words = rng.choice(vocabulary + ["?", "unknown"], size=(5, 7))
    index = {w: i + 1 for i, w in enumerate(vocabulary)}  # 0: the OOV index
    expected = np.vectorize(lambda w: index.get(w, 0))(words)
    assert_close(as_numpy(layers.StringLookup(vocabulary=vocabulary)(words)), expected)
    counts = np.stack([np.bincount(row, minlength=5) for row in expected]).astype("float32")
    count = layers.StringLookup(vocabulary=vocabulary, output_mode="count")
    assert_close(as_numpy(count(words)), counts)
    multi = layers.StringLookup(vocabulary=vocabulary, output_mode="multi_hot")
    assert_close(as_numpy(multi(words.tolist())), np.minimum(counts, 1))
    idf = np.array([0.5, 1.0, 1.5, 2.0], "float32")
    tf_idf = layers.StringLookup(vocabulary=vocabulary, idf_weights=idf, output_mode="tf_idf")
    assert_close(as_numpy(tf_idf(words)), counts * np.concatenate([[idf.mean()], idf]), atol=1e-6)
    # Three OOV indices: FarmHash fingerprint of the UTF-8 bytes, modulo 3, after the mask index.
    hashed = layers.StringLookup(vocabulary=vocabulary, num_oov_indices=3, mask_token="")
    oov = ["?", "unknown", "ß", "the"]
    want = [1 + string_hashing.fingerprint64(w.encode()) % 3 for w in oov]
    assert as_numpy(hashed(np.array([oov]))).tolist() == [want]
    salted = layers.StringLookup(vocabulary=vocabulary, num_oov_indices=3, salt=7)
    want = [string_hashing.siphash24(w.encode(), (7, 7)) % 3 for w in oov]
    assert as_numpy(salted(np.array([oov]))).tolist() == [want]


def test_adapt_order_idf_and_iterables():
    batches = [np.array([["b", "a"], ["c", "a"]]), np.array([["c", "b"], ["d", "d"]])]
    layer = layers.StringLookup(output_mode="tf_idf", max_tokens=4)
    layer.adapt(iter(batches))  # an iterable of batches: each row is a document
    # Counts a2 b2 c2 d2: ties go to the highest term first; max_tokens keeps the OOV index and three terms.
    assert layer.get_vocabulary() == ["[UNK]", "d", "c", "b"]
    documents = np.array([1, 2, 2], "float64")  # d, c and b appear in 1, 2 and 2 of the 4 rows
    idf = np.log(1 + 4 / (1 + documents)).astype("float32")
    assert_close(as_numpy(layer.idf_weights), np.concatenate([[idf.mean()], idf]), atol=1e-6)
    integers = layers.IntegerLookup(mask_token=0)
    integers.adapt([5, 5, 0, -3, 7, 7, 7])  # a list: each element is a document; the mask is not counted
    assert integers.get_vocabulary() == [0, -1, 7, 5, -3]
    assert integers.get_vocabulary(include_special_tokens=False) == [7, 5, -3]
    assert integers.vocabulary_size() == 5


def test_vocabulary_files_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocabulary.txt"
    path.write_bytes("[UNK]\r\na\u2028b\r\nc\n\n".encode())  # specials first; a term with a Unicode line break
    layer = layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "a\u2028b", "c"]
    assert layer.get_config()["vocabulary"] is None  # a file path is not kept in the config, as Keras
    layer.set_vocabulary(np.array(["q", "r"]))
    assert as_numpy(layer(np.array([b"r", b"c"]))).tolist() == [2, 0]
    inverse = layers.IntegerLookup(vocabulary=[7, 2**40], invert=True)
    assert inverse(np.array([[2, 1, 0, 5]])).tolist() == [[2**40, 7, -1, -1]]  # int64 on the host


def test_config_round_trip_and_keras_configs():
    layer = layers.StringLookup(vocabulary=["a", "b"], mask_token="", num_oov_indices=2, output_mode="int")
    config = layer.get_config()
    assert config["vocabulary"] == ["a", "b"] and config["mask_token"] == "" and config["vocabulary_size"] == 5
    again = layers.StringLookup.from_config(json.loads(json.dumps(config)))
    words = np.array([["a", "", "q", "b"]])
    assert as_numpy(again(words)).tolist() == as_numpy(layer(words)).tolist()
    for name in ("sl_vocab", "sl_tfidf_given", "il_mask", "il_invert"):  # configs as Keras 3 wrote them
        case = keras_cases()[name]
        restored = getattr(layers, case["class_name"]).from_config(case["config"])
        assert restored.get_vocabulary() == case["vocabulary"], name
        integers = case["class_name"] == "IntegerLookup" or case["kwargs"].get("invert")
        out = restored(np.array(case["input"], dtype="int64" if integers else None))
        assert_close(as_numpy(out), np.array(case["output"]), atol=1e-6, what=f"{name} from Keras's config")


def test_call_on_host_contract():
    """What models rely on for string inputs: NumPy numbers out, shape and dtype known in advance."""
    for layer, inputs in [
        (layers.StringLookup(vocabulary=["a"]), np.array([["a", "b", "c"]])),
        (layers.StringLookup(vocabulary=["a"], output_mode="one_hot"), np.array([["a"], ["b"]])),
        (
            layers.IntegerLookup(vocabulary=[3], output_mode="multi_hot", max_tokens=5, pad_to_max_tokens=True),
            np.array([[3, 4], [4, 4]]),
        ),
    ]:
        assert layer.accepts_strings
        out = layer.call_on_host(inputs)
        assert isinstance(out, np.ndarray) and str(out.dtype) == layer.compute_output_dtype("string")
        expected_shape = layer.compute_output_shape((None, *inputs.shape[1:]))
        assert (None, *out.shape[1:]) == tuple(expected_shape)


def test_errors():
    with pytest.raises(ValueError, match="sparse"):
        layers.StringLookup(vocabulary=["a"], output_mode="multi_hot", sparse=True)
    with pytest.raises(ValueError, match="repeats"):
        layers.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="mask_token"):
        layers.StringLookup(vocabulary=["a", "[M]"], mask_token="[M]")
    with pytest.raises(ValueError, match="oov_token"):
        layers.IntegerLookup(vocabulary=[3, -1], invert=True)
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(vocabulary=["a"], invert=True, output_mode="multi_hot")
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], idf_weights=[1.0])
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="max_tokens"):
        layers.StringLookup(max_tokens=1)
    with pytest.raises(ValueError, match="max_tokens"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="pad_to_max_tokens"):
        layers.IntegerLookup(pad_to_max_tokens=True, output_mode="count")
    with pytest.raises(ValueError, match="vocabulary_dtype"):
        layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(np.array([["a"]]))
    with pytest.raises(ValueError, match="adapted"):
        layers.StringLookup(vocabulary=["a"]).adapt(np.array(["b"]))
    with pytest.raises(TypeError, match="strings"):
        layers.StringLookup(vocabulary=["a"])(np.array([1, 2]))


# ------------------------------------------------------------------------ files written by Keras
def test_keras3_asset_loads_into_the_layer(tmp_path):
    """The layer alone: its config from config.json, its vocabulary from the zip's assets (Keras 3's layout)."""
    with zipfile.ZipFile(os.path.join(HERE, "k3_string_lookup.keras")) as archive:
        config = json.loads(archive.read("config.json"))
        archive.extract("assets/layers/string_lookup/vocabulary.txt", tmp_path)
        vocabulary = archive.read("assets/layers/string_lookup/vocabulary.txt").decode().split("\n")
    (entry,) = [e for e in config["config"]["layers"] if e["class_name"] == "StringLookup"]
    layer = layers.StringLookup.from_config(entry["config"])
    assert layer.get_vocabulary() == ["", "[UNK]"] and layer.compute_output_shape((None, 3)) == (None, 3)
    layer.load_assets(str(tmp_path / "assets" / "layers" / "string_lookup"))
    assert layer.get_vocabulary() == vocabulary == ["", "[UNK]", "b", "a", "zz", "d", "c"]
    out = layer(np.array([["c", "", "new", "b"]]))
    assert as_numpy(out).tolist() == [[6, 0, 1, 2]]


def _string_input(x):
    return np.array(x, dtype="int64") if isinstance(np.array(x).reshape(-1)[0], np.integer) else np.array(x)


@pytest.mark.parametrize("name", ["k3_string_lookup", "k3_integer_lookup", "tfk_string_lookup", "tfk_integer_lookup"])
def test_keras_models_predict(name, tmp_path):
    """Keras 3 `.keras` (adapted, vocabulary in assets) and tf-keras `.h5` (vocabulary in the config)."""
    suffix = ".keras" if name.startswith("k3") else ".h5"
    model = lamina.models.load_model(os.path.join(HERE, name + suffix))
    with open(os.path.join(HERE, name + ".json"), encoding="utf-8") as f:
        data = json.load(f)
    inputs = _string_input(data["x"])
    assert_close(model.predict(inputs, verbose=0), np.array(data["y"]), atol=1e-5, what=name)
    if suffix == ".keras":  # lamina writes Keras 3's layout back (assets included) and reads it again
        path = str(tmp_path / "again.keras")
        model.save(path)
        with zipfile.ZipFile(path) as mine, zipfile.ZipFile(os.path.join(HERE, name + suffix)) as theirs:
            assets = sorted(n for n in theirs.namelist() if n.startswith("assets/"))
            assert sorted(n for n in mine.namelist() if n.startswith("assets/")) == assets
            assert [mine.read(n) for n in assets] == [theirs.read(n) for n in assets]
        assert_close(lamina.models.load_model(path).predict(inputs, verbose=0), np.array(data["y"]), atol=1e-5)
