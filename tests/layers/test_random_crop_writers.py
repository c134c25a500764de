"""RandomCrop at inference follows the Keras that wrote the model: tf-keras 2 crops about the center and
resizes (its `smart_resize`), Keras 3.15 passes the images through unchanged. Checked against a
committed tf-keras 2.21 `.keras` file, real Keras 3 files, and NumPy; lamina's own files keep the meaning."""

from __future__ import annotations

import json
import pathlib
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers as L

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "configs"
X = np.arange(2 * 8 * 8 * 3, dtype="float32").reshape(2, 8, 8, 3) / 100.0


def _crop_layer(model):
    return next(layer for layer in model.layers if isinstance(layer, L.RandomCrop))


def _keras_config(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def test_tf_keras_keras_file_crops_at_inference():
    """A `.keras` archive by tf-keras 2.21 (`configs/make_tfkeras_writer.py`): Keras 3-like `module` keys, and
    metadata naming 2.21.0; RandomCrop → Flatten → Dense, whose predictions need the crop at inference."""
    data = json.loads((FIXTURES / "tf_keras_writer.json").read_text())
    model = lamina.models.load_model(FIXTURES / "tf_keras_writer.keras")
    assert _crop_layer(model).crop_at_inference is True
    model.set_weights([np.array(data["kernel"], "float32"), np.array(data["bias"], "float32")])
    got = np.asarray(model.predict(np.array(data["x"], "float32"), verbose=0))
    np.testing.assert_allclose(got, np.array(data["y_pred"]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["keras", "h5", "json"])
def test_keras3_files_pass_images_through_at_inference(keras3, tmp_path, fmt):
    oracle = keras3.Sequential([keras3.Input((8, 8, 3)), keras3.layers.RandomCrop(6, 6)])
    if fmt == "json":
        model = lamina.models.model_from_json(oracle.to_json())
    else:
        oracle.save(tmp_path / f"crop.{fmt}")
        model = lamina.models.load_model(tmp_path / f"crop.{fmt}")
    assert _crop_layer(model).crop_at_inference is False
    np.testing.assert_array_equal(np.asarray(oracle.predict(X, verbose=0)), X)  # what Keras 3 does
    np.testing.assert_array_equal(np.asarray(model.predict(X, verbose=0)), X)


def test_keras3_models_with_a_head_load_predict_and_train_as_keras3(keras3, tmp_path):
    """Keras 3 builds the layers after RandomCrop for its declared (cropped) shape and crops in training."""
    flat = keras3.Sequential([keras3.Input((8, 8, 3)), keras3.layers.RandomCrop(6, 6), keras3.layers.Flatten()])
    flat.add(keras3.layers.Dense(2))
    flat.save(tmp_path / "flat.keras")  # Keras 3 itself cannot predict with it (8x8 images reach the Dense)
    assert lamina.models.load_model(tmp_path / "flat.keras").layers[-1].kernel.shape == (108, 2)
    pooled = keras3.Sequential([keras3.Input((8, 8, 3)), keras3.layers.RandomCrop(6, 6)])
    pooled.add(keras3.layers.GlobalAveragePooling2D())
    pooled.add(keras3.layers.Dense(2))
    pooled.compile(keras3.optimizers.SGD(0.1), "mse")
    pooled.save(tmp_path / "pooled.keras")
    model = lamina.models.load_model(tmp_path / "pooled.keras")
    x = np.ones((2, 8, 8, 3), "float32") * np.array([0.5, -1.0], "float32")[:, None, None, None]  # any window
    x[:, 0, 0] = 4.0  # outside the centered 6x6 window: changes the uncropped mean only
    expected = np.asarray(pooled.predict(x, verbose=0))
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-6)
    x[:, 0, 0] = x[:, 1, 1]  # constant images: every training window gives the same numbers
    y = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    np.testing.assert_allclose(model.train_on_batch(x, y), pooled.train_on_batch(x, y), rtol=1e-5)


def test_code_crops_and_lamina_files_keep_each_meaning(tmp_path):
    # NumPy: an 8x6 image to a 4x4 window: the centered 6x6 square, then 6 -> 4 bilinear (half-pixel centers).
    x = np.arange(2 * 8 * 6 * 1, dtype="float32").reshape(2, 8, 6, 1)
    square = x[:, 1:7]
    coords = (np.arange(4) + 0.5) * 6 / 4 - 0.5
    low = np.floor(coords).astype(int)
    frac = coords - low
    rows = square[:, low] * (1 - frac)[None, :, None, None] + square[:, low + 1] * frac[None, :, None, None]
    expected = rows[:, :, low] * (1 - frac)[None, None, :, None] + rows[:, :, low + 1] * frac[None, None, :, None]
    crop = L.RandomCrop(4, 4)
    np.testing.assert_allclose(np.asarray(crop(x, training=False)), expected, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(L.RandomCrop(4, 4, crop_at_inference=False)(x, training=False)), x)
    for meaning in (True, False):
        model = lamina.Sequential([lamina.Input((8, 6, 1)), L.RandomCrop(4, 4, crop_at_inference=meaning)])
        for fmt in ("keras", "h5"):
            model.save(tmp_path / f"m.{fmt}")
            again = lamina.models.load_model(tmp_path / f"m.{fmt}")
            assert _crop_layer(again).crop_at_inference is meaning, fmt
        again = lamina.models.model_from_json(model.to_json())
        assert _crop_layer(again).crop_at_inference is meaning, "json"
        # Each file names the meaning only where its own readers would assume the other one.
        written = _keras_config(tmp_path / "m.keras")["config"]["layers"][-1]["config"]
        assert written.get("crop_at_inference") is (True if meaning else None)
        assert json.loads(model.to_json())["config"]["layers"][-1]["config"].get("crop_at_inference") is (
            None if meaning else False
        )
    with pytest.raises(TypeError, match="crop_at_inference must be a bool"):
        L.RandomCrop(4, 4, crop_at_inference="yes")
