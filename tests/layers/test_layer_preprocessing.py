"""Preprocessing layers against NumPy, Keras 3 and files/numbers written by Keras 3.15 and tf-keras 2.21.

Rescaling, CenterCrop, Resizing, CategoryEncoding, Discretization, Normalization, Hashing, HashedCrossing.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from layer_harness import as_numpy, assert_close

import lamina
from lamina import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def _images(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=shape).astype("float32")


# ------------------------------------------------------------------ Rescaling, CenterCrop, Resizing
def _keras_resizing():
    """Keras 3.15's Resizing and CenterCrop outputs (tests/fixtures/layers_keras3/make_layers_keras3.py)."""
    return np.load(os.path.join(FIXTURES, "layers_keras3", "resizing.npz"))


def test_rescaling_and_center_crop():
    x = _images(2, 7, 6, 3)
    scaled = as_numpy(layers.Rescaling([1.0, 2.0, 3.0], offset=-1.0)(x))
    assert_close(scaled, x * np.array([1.0, 2.0, 3.0]) - 1.0, what="per-channel Rescaling")
    assert layers.Rescaling(0.5).get_config()["scale"] == 0.5
    cropped = as_numpy(layers.CenterCrop(4, 3)(x))
    np.testing.assert_array_equal(cropped, x[:, 1:5, 1:4, :])
    first = as_numpy(layers.CenterCrop(3, 2, data_format="channels_first")(np.moveaxis(x, -1, 1)))
    np.testing.assert_array_equal(first, np.moveaxis(x, -1, 1)[:, :, 2:5, 2:4])
    # Smaller than the target: cropped to its aspect ratio and resized, as Keras does.
    keras_out = _keras_resizing()
    grown = as_numpy(layers.CenterCrop(9, 4)(keras_out["x"]))
    assert_close(grown, keras_out["center_crop_9x4"], 1e-5, 1e-6, "CenterCrop upwards vs Keras")
    assert layers.CenterCrop(9, 4).compute_output_shape((None, 7, 6, 3)) == (None, 9, 4, 3)
    with pytest.raises(ValueError, match="rank 3"):
        layers.CenterCrop(2, 2)(np.ones((4, 4), "float32"))


def test_resizing_matches_keras():
    keras_out = _keras_resizing()
    x = keras_out["x"]
    for index, (interpolation, (height, width), extra) in enumerate(json.loads(str(keras_out["cases"]))):
        layer = layers.Resizing(height, width, interpolation=interpolation, **extra)
        got = as_numpy(layer(x))
        what = f"Resizing {interpolation} {height}x{width} {extra} vs Keras"
        assert_close(got, keras_out[f"case{index}"], 1e-5, 1e-6, what)
        assert layer.compute_output_shape((None, 7, 6, 3)) == (None, height, width, 3)
        assert layers.Resizing.from_config(layer.get_config()).get_config() == layer.get_config()
    # Nearest copies pixel floor((i + 0.5) * in / out); bilinear of a linear ramp is the ramp.
    rows = np.floor((np.arange(9) + 0.5) * 7 / 9).astype(int)
    np.testing.assert_array_equal(as_numpy(layers.Resizing(9, 6, "nearest")(x)), x[:, rows])
    ramp = np.tile(np.arange(4, dtype="float32")[None, :, None, None], (1, 1, 4, 1))
    upsampled = as_numpy(layers.Resizing(8, 4)(ramp))[0, 1:-1, 0, 0]
    assert_close(upsampled, (np.arange(1, 7) + 0.5) / 2 - 0.5, what="bilinear on a ramp")
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(2, 2, interpolation="area")


# ------------------------------------------------------------------ CategoryEncoding
def test_category_encoding_modes():
    ids = np.array([[0, 1, 3, 3], [2, 2, 5, 0]], "int32")  # 5 is out of range: no hot entry
    hot = np.eye(4, dtype="float32")
    expected_count = np.stack([hot[[i for i in row if i < 4]].sum(0) for row in ids])
    assert_close(as_numpy(layers.CategoryEncoding(4, "count")(ids)), expected_count, what="count")
    assert_close(as_numpy(layers.CategoryEncoding(4)(ids)), np.minimum(expected_count, 1), what="multi_hot")
    assert_close(as_numpy(layers.CategoryEncoding(4, "one_hot")(ids[:, :1])), hot[[0, 2]], what="one_hot")
    weights = np.array([[1.0, 2.0, 0.5, 0.5], [1.0, 1.0, 9.0, 3.0]], "float32")
    weighted = as_numpy(layers.CategoryEncoding(4, "count")(ids, count_weights=weights))
    assert_close(weighted, [[1.0, 2.0, 0.0, 1.0], [3.0, 0.0, 2.0, 0.0]], what="count_weights")
    layer = layers.CategoryEncoding(4, "binary")
    assert layer.output_mode == "multi_hot" and layer.compute_output_shape((None, 4)) == (None, 4)
    assert layer.get_config()["num_tokens"] == 4
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(4, "tf_idf")
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(4, "one_hot")(ids, count_weights=weights)


# ------------------------------------------------------------------ Discretization
def test_discretization_bins_and_adapt(keras3):
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    boundaries = [-0.5, 0.0, 0.5]
    got = as_numpy(layers.Discretization(boundaries)(x))
    np.testing.assert_array_equal(got, np.digitize(x, boundaries))
    assert got.dtype == np.int32
    counts = as_numpy(layers.Discretization(boundaries, output_mode="count")(x))
    np.testing.assert_array_equal(counts, np.stack([np.bincount(np.digitize(r, boundaries), minlength=4) for r in x]))
    data = np.random.default_rng(1).normal(size=300).astype("float32")
    ours = layers.Discretization(num_bins=5, epsilon=0.02)
    ours.adapt([data[:170], data[170:]])
    theirs = keras3.layers.Discretization(num_bins=5, epsilon=0.02)  # its adapt() needs TensorFlow; same steps
    theirs.update_state(data[:170])
    theirs.update_state(data[170:])
    theirs.finalize_state()
    assert_close(ours.bin_boundaries, theirs.bin_boundaries, what="adapted boundaries vs Keras")
    clone = layers.Discretization.from_config(ours.get_config())  # both keys set: Keras's adapted config
    assert clone.bin_boundaries == ours.bin_boundaries and clone.num_bins == 5
    with pytest.raises(ValueError, match="not both"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=3)


# ------------------------------------------------------------------ Normalization
@pytest.mark.parametrize("axis, reduce", [(-1, (0, 1)), ((1, 2), (0,)), (None, (0, 1, 2))])
def test_normalization_adapt_and_invert(axis, reduce):
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(10, 3, 4)).astype("float32")
    layer = layers.Normalization(axis=axis)
    layer.adapt(x)
    mean, variance = x.mean(axis=reduce, keepdims=True), x.var(axis=reduce, keepdims=True)
    assert_close(as_numpy(layer(x)), (x - mean) / np.sqrt(variance), 1e-5, 1e-5, "normalized")
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert [w.name for w in layer.trainable_weights] == []
    inverse = layers.Normalization(axis=axis, mean=np.squeeze(mean), variance=np.squeeze(variance), invert=True)
    assert_close(as_numpy(inverse(as_numpy(layer(x)))), x, 1e-5, 1e-5, "invert undoes it")
    assert inverse.weights == [] and inverse.get_config()["invert"] is True


def test_normalization_config_and_errors():
    layer = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    assert_close(as_numpy(layer(np.array([[3.0, 2.0]], "float32"))), [[1.0, 0.0]], what="zero variance stays finite")
    config = layer.get_config()
    assert config["axis"] == [-1] and config["mean"] == [1.0, 2.0]
    tf_keras_config = {"name": "n", "axis": [-1], "mean": None, "variance": None, "invert": False}
    assert layers.Normalization.from_config(tf_keras_config).axis == (-1,)
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="adapt"):
        adapted = layers.Normalization(axis=-1)
        adapted.adapt(np.ones((4, 3), "float32"))
        adapted.adapt(np.ones((4, 2), "float32"))


# ------------------------------------------------------------------ Hashing, HashedCrossing (tf-keras 2.21's bins)
def _hash_fixture():
    with open(os.path.join(FIXTURES, "layers_tfkeras", "hashing.json")) as handle:
        return json.load(handle)


def test_hashing_matches_tf_keras():
    found = _hash_fixture()
    texts = np.array(found["texts"], dtype=object)[:, None]  # every FarmHash length class, up to 130 bytes
    ints = np.array(found["ints"], "int64")[:, None]
    cases = [
        (layers.Hashing(1000), texts, found["text_bins"]),
        (layers.Hashing(97), ints, found["int_bins"]),
        (layers.Hashing(50, salt=[133, 137]), texts, found["salted_text_bins"]),
        (layers.Hashing(50, salt=7), ints, found["salted_int_bins"]),
        (layers.Hashing(5, mask_value=42), ints, found["masked_int_bins"]),
    ]
    for layer, values, bins in cases:
        np.testing.assert_array_equal(as_numpy(layer(values))[:, 0], bins, err_msg=str(layer.get_config()))
    one_hot = as_numpy(layers.Hashing(97, output_mode="one_hot")(ints))
    np.testing.assert_array_equal(one_hot.argmax(-1), found["int_bins"])
    assert layers.Hashing(3, salt=7).get_config()["salt"] == [7, 7]


def test_hashing_inside_a_compiled_model():
    """Integer inputs through a functional model: the hash runs on the host inside predict's compiled step."""
    found = _hash_fixture()
    small = [v for v in found["ints"] if abs(v) < 2**31]
    bins = [b for v, b in zip(found["ints"], found["int_bins"]) if abs(v) < 2**31]
    inputs = lamina.Input((1,), dtype="int32")
    model = lamina.Model(inputs, layers.Hashing(97)(inputs))
    predicted = model.predict(np.array(small, "int32")[:, None], verbose=0)
    np.testing.assert_array_equal(np.asarray(predicted)[:, 0], bins)


def test_hashed_crossing_matches_tf_keras():
    found = _hash_fixture()
    left, right = np.array(found["ints"], "int64"), np.array(found["cross_right"], "int64")
    np.testing.assert_array_equal(as_numpy(layers.HashedCrossing(101)([left, right])), found["cross_int_bins"])
    words = np.array(found["texts"][: len(left)], dtype=object)
    np.testing.assert_array_equal(as_numpy(layers.HashedCrossing(101)([words, left])), found["cross_text_bins"])
    one_hot = as_numpy(layers.HashedCrossing(101, output_mode="one_hot")([left[:, None], right[:, None]]))
    assert one_hot.shape == (len(left), 101)
    np.testing.assert_array_equal(one_hot.argmax(-1), found["cross_int_bins"])
    with pytest.raises(ValueError, match="at least two"):
        layers.HashedCrossing(3)([left])


# ------------------------------------------------------------------ a Keras 3 file with them
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras3_preprocessing_model_round_trip(keras3, tmp_path, suffix):
    """Rescaling, adapted Normalization, CenterCrop, Resizing, Discretization and CategoryEncoding in one model
    saved by Keras 3.15 (tests/fixtures/layers_keras3/make_layers_keras3.py)."""
    folder = os.path.join(FIXTURES, "layers_keras3")
    expected = np.load(os.path.join(folder, "preprocessing.npz"))
    ours = lamina.models.load_model(os.path.join(folder, "preprocessing" + suffix))
    assert [w.name for w in ours.get_layer("norm").weights] == ["mean", "variance", "count"]
    assert_close(ours.predict(expected["x0"], verbose=0), expected["y_pred0"], what=f"lamina on Keras 3's {suffix}")
    path = str(tmp_path / f"lamina{suffix}")
    ours.save(path)
    back = keras3.models.load_model(path, compile=False) if suffix == ".keras" else lamina.models.load_model(path)
    assert_close(back.predict(expected["x0"], verbose=0), expected["y_pred0"], what=f"reading lamina's {suffix}")


# ------------------------------------------------------------------ configs tf-keras 2.21 writes
def test_tf_keras_configs_load():
    """Each layer config tf-keras 2.21 wrote (fixtures/layers_tfkeras/layer_configs.json) re-creates the layer."""
    from lamina.saving.serialization import deserialize_layer

    with open(os.path.join(FIXTURES, "layers_tfkeras", "layer_configs.json")) as handle:
        entries = json.load(handle)
    made = {
        entry["class_name"]: deserialize_layer(entry) for entry in entries if entry["class_name"] != "Normalization"
    }
    normalizations = [deserialize_layer(e) for e in entries if e["class_name"] == "Normalization"]
    assert made["Rescaling"].scale == [0.5, 2.0, 1.0] and made["Rescaling"].offset == pytest.approx(0.1)
    assert made["Resizing"].crop_to_aspect_ratio and made["Resizing"].interpolation == "bicubic"
    assert made["Hashing"].salt == [1, 2] and made["Hashing"].mask_value == 0
    assert made["Discretization"].num_bins == 3  # tf-keras keeps adapted boundaries out of the config
    assert normalizations[0].axis == (1, 2) and normalizations[1].invert
    assert made["EinsumDense"].get_config()["output_shape"] == [None, 6]
    assert made["SpectralNormalization"].power_iterations == 2
    assert made["LocallyConnected2D"].implementation == 2
    assert made["CategoryEncoding"].output_mode == "count"
    for layer in [*made.values(), *normalizations]:
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config(), type(layer).__name__
    assert_close(
        as_numpy(normalizations[1](np.array([[3.0, 4.0]], "float32"))),
        [[4.0, 10.0]],
        what="inverted: mean + x * sqrt(variance)",
    )
