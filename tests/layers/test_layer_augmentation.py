"""Image augmentation layers: configs from Keras 2 and 3, inference behaviour, and training output
checked against NumPy written here, real Keras 3 with parameter ranges that leave no randomness,
and a committed tf-keras fixture."""

from __future__ import annotations

import colorsys
import json
import pathlib

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import ops
from lamina.saving.serialization import deserialize_layer

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "augmentation"
FIXTURE = FIXTURES / "tf_keras_configs.json"
KERAS3_OUTPUTS = FIXTURES / "keras3_outputs.npz"
RNG = np.random.RandomState(0)
IMAGES = RNG.uniform(0, 255, (2, 8, 8, 3)).astype("float32")  # one shape: JAX compiles each op once


def _np(x):
    return ops.convert_to_numpy(x)


def _keras():
    import keras

    return keras


def test_quarter_turn_equals_numpy_rot90():
    x = np.arange(IMAGES.size, dtype="float32").reshape(IMAGES.shape)
    for interpolation in ("nearest", "bilinear"):
        out = _np(L.RandomRotation((0.25, 0.25), interpolation=interpolation)(x, training=True))
        np.testing.assert_allclose(out, np.rot90(x, 1, axes=(1, 2)), atol=1e-4)
    first = np.transpose(x, (0, 3, 1, 2))
    out = _np(L.RandomRotation((0.25, 0.25), data_format="channels_first")(first, training=True))
    np.testing.assert_allclose(out, np.rot90(first, 1, axes=(2, 3)), atol=1e-4)
    with pytest.raises(ValueError, match="3 channels"):
        L.RandomHue(0.2)(x[..., :1], training=True)


def _keras3_cases(audio: bool) -> list:
    """The committed Keras 3 outputs (see tests/fixtures/augmentation/make_keras3_outputs.py)."""
    with np.load(KERAS3_OUTPUTS) as data:
        cases = [
            (json.loads(str(data[f"args_{k}"])), data[f"x_{k}"], data[f"y_{k}"])
            for k in range(sum(key.startswith("args_") for key in data.files))
        ]
    return [c for c in cases if (c[0]["name"] == "MelSpectrogram") == audio]


@pytest.mark.parametrize("case", _keras3_cases(audio=False), ids=lambda c: c[0]["name"])
def test_fixed_parameter_output_matches_keras3_in_training(case):
    spec, x, expected = case
    layer = getattr(L, spec["name"])(**spec["args"])
    np.testing.assert_allclose(_np(layer(x, training=True)), expected, rtol=1e-4, atol=2e-3)
    if spec["name"] == "ContrastLimitedAdaptiveHistogramEqualization":  # deterministic: on at inference too
        np.testing.assert_allclose(_np(layer(x, training=False)), expected, rtol=1e-4, atol=2e-3)


def _numpy_equalize(channel):
    """PIL-style histogram equalization of one 0-255 channel, as Keras computes it (256 bins)."""
    index = np.clip(channel, 0, 255).astype("int32")
    cdf = np.cumsum(np.bincount(index.ravel(), minlength=256))
    if np.count_nonzero(np.diff(np.concatenate([[0], cdf]))) <= 1:
        return channel
    first = cdf[cdf > 0][0]
    table = np.clip(np.round((cdf - first) * 255.0 / max(cdf[-1] - first, 1)), 0, 255)
    return table[index]


def test_equalization_equalizes_each_image_and_channel():
    image = np.round(IMAGES * 0.6 + 40)
    expected = np.stack([np.stack([_numpy_equalize(image[b, ..., c]) for c in range(3)], axis=-1) for b in range(2)])
    np.testing.assert_allclose(_np(L.Equalization()(image, training=True)), expected, atol=1e-4)
    np.testing.assert_array_equal(_np(L.Equalization()(image, training=False)), image)


def test_colour_formulas_against_numpy():
    x = IMAGES
    solarized = _np(L.Solarization(addition_factor=(0.1, 0.1), threshold_factor=(0.5, 0.5))(x, training=True))
    shifted = np.clip(x + 25.5, 0, 255)
    np.testing.assert_allclose(solarized, np.where(shifted < 127.5, shifted, 255 - shifted), atol=1e-3)
    np.testing.assert_allclose(_np(L.RandomInvert((1.0, 1.0))(x, training=True)), 255 - x, atol=1e-4)
    posterized = _np(L.RandomPosterization((3, 3))(x, training=True))
    np.testing.assert_allclose(posterized, (np.floor(x).astype("uint8") >> 5 << 5).astype("float32"))
    gray = _np(L.RandomGrayscale(1.0)(x, training=True))
    luma = x @ np.array([0.2989, 0.5870, 0.1140], dtype="float32")
    np.testing.assert_allclose(gray, np.repeat(luma[..., None], 3, axis=-1), rtol=1e-5)
    brighter = _np(L.RandomBrightness((0.1, 0.1))(x, training=True))
    np.testing.assert_allclose(brighter, np.clip(x + 25.5, 0, 255), atol=1e-3)
    degenerated = _np(L.RandomColorDegeneration((0.4, 0.4))(x, training=True))
    np.testing.assert_allclose(degenerated, x + 0.4 * (luma[..., None] - x), rtol=1e-5, atol=1e-3)
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    stretched = (x - low) / (high - low) * 255
    np.testing.assert_allclose(_np(L.AutoContrast()(x, training=False)), stretched, rtol=1e-5, atol=1e-3)
    unit = x / 255.0
    saturated = _np(L.RandomSaturation((0.25, 0.25), value_range=(0, 1))(unit, training=True))
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in unit.reshape(-1, 3)])
    hsv[:, 1] = np.clip(hsv[:, 1] * (0.25 / 0.75), 0, 1)
    expected = np.array([colorsys.hsv_to_rgb(*p) for p in hsv]).reshape(unit.shape)
    np.testing.assert_allclose(saturated, expected, atol=1e-5)
    np.testing.assert_allclose(
        _np(L.RandomInvert((1.0, 1.0), value_range=(0, 1))(unit, training=True)), 1 - unit, atol=1e-6
    )


def test_flip_gives_only_flipped_or_unflipped_copies_and_inference_is_identity():
    x = np.concatenate([IMAGES] * 4)
    layer = L.RandomFlip("horizontal_and_vertical", seed=7)
    first, second = _np(layer(x, training=True)), _np(layer(x, training=True))
    both = x[:, ::-1, ::-1]
    kinds = []
    for out in (first, second):
        same = np.all(out == x, axis=(1, 2, 3))
        flipped = np.all(out == both, axis=(1, 2, 3))
        assert np.all(same | flipped)
        kinds.extend(flipped)
    assert any(kinds) and not all(kinds)  # 16 draws of a fair coin
    assert not np.array_equal(first, second)  # the seed state advances between calls
    for layer in (L.RandomFlip(), L.RandomRotation(0.3), L.RandomZoom(0.3), L.RandomContrast(0.5), L.MixUp()):
        np.testing.assert_array_equal(_np(layer(x, training=False)), x)


def test_random_crop_training_window_and_inference_like_tf_keras():
    data = json.loads(FIXTURE.read_text())
    x = np.arange(96, dtype="float32").reshape(data["crop_input_shape"])
    layer = L.RandomCrop(4, 4, seed=2)
    out = _np(layer(x, training=True))
    windows = [x[:, i : i + 4, j : j + 4] for i in range(3) for j in range(5)]
    assert out.shape == (2, 4, 4, 1) and any(np.array_equal(out, w) for w in windows)
    np.testing.assert_allclose(_np(layer(x, training=False)), np.array(data["crop_inference"]), atol=1e-4)


def test_tf_keras_configs_load():
    data = json.loads(FIXTURE.read_text())
    for entry in data["configs"]:
        layer = deserialize_layer(entry)
        assert type(layer).__name__ == entry["class_name"]
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    widths = [deserialize_layer(e) for e in data["configs"] if e["class_name"] == "RandomWidth"][0]
    out = _np(widths(IMAGES, training=True))
    assert out.shape[:2] == (2, 8) and 8 * 1.1 - 1 <= out.shape[2] <= 8 * 1.3


def test_perspective_maps_the_square_onto_the_moved_corners_and_zero_scales_are_identity():
    from lamina.layers.preprocessing.image_augmentation.composite import _square_to_quad

    quad = np.array([[[1, 2], [9, 0], [0, 6], [8, 7]]], dtype="float32")
    a, b, c, d, e, f, g, h = (_np(t)[0] for t in _square_to_quad(ops.convert_to_tensor(quad)))
    for (u, v), corner in zip([(0, 0), (1, 0), (0, 1), (1, 1)], quad[0]):
        scale = g * u + h * v + 1
        np.testing.assert_allclose([(a * u + b * v + c) / scale, (d * u + e * v + f) / scale], corner, atol=1e-5)
    np.testing.assert_allclose(_np(L.RandomPerspective(scale=0.0)(IMAGES, training=True)), IMAGES, atol=1e-3)
    np.testing.assert_array_equal(_np(L.RandomElasticTransform(scale=(0.0, 0.0))(IMAGES, training=True)), IMAGES)


def test_mixup_and_cutmix_mix_labels_consistently():
    labels = np.eye(2, dtype="float32")
    images = np.stack([np.full(IMAGES.shape[1:], float(i)) for i in range(2)]).astype("float32")
    for layer in (L.MixUp(alpha=0.4, seed=3), L.CutMix(seed=3)):
        out = layer({"images": images, "labels": labels}, training=True)
        mixed, mixed_labels = _np(out["images"]), _np(out["labels"])
        assert mixed.shape == images.shape and mixed_labels.shape == (2, 2)
        np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, atol=1e-5)
        # Each image's mean is its label-weighted mean of the class values (images are constant per class).
        np.testing.assert_allclose(mixed.mean(axis=(1, 2, 3)), mixed_labels @ np.arange(2.0), atol=1e-4)


def test_other_layers_train_inside_value_range_and_keep_shape():
    x = IMAGES
    for layer in (
        L.RandomErasing(seed=1),
        L.RandomGaussianBlur(seed=1),
        L.RandomPerspective(scale=0.3, seed=1),
        L.RandomElasticTransform(scale=0.1, seed=1),
        L.RandAugment(seed=1, num_ops=1),
        L.AugMix(seed=1, num_chains=1, chain_depth=1),
        L.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3, saturation_factor=0.2, hue_factor=0.1),
        L.RandomShear(x_factor=0.2, y_factor=0.1, seed=1),
        L.Pipeline([L.RandomFlip(seed=1), L.RandomInvert((1.0, 1.0))]),
    ):
        out = _np(layer(x, training=True))
        assert out.shape == x.shape and np.isfinite(out).all(), type(layer).__name__
        np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    with pytest.raises(ValueError, match="factor"):
        L.RandomRotation("big")
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="bounding boxes"):
        L.RandomFlip()({"images": x, "bounding_boxes": {"boxes": np.zeros((2, 1, 4))}}, training=True)


def _keras3_model(keras):
    K = keras.layers
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            K.RandomFlip(),
            K.RandomRotation(0.1),
            K.RandomZoom(0.1),
            K.RandomTranslation(0.1, 0.1),
            K.RandomContrast(0.2),
            K.RandomBrightness(0.1),
            K.RandomShear(0.1),
            K.RandomPerspective(),
            K.RandomErasing(),
            K.RandomGaussianBlur(),
            K.RandomGrayscale(),
            K.RandomHue(0.1),
            K.RandomSaturation(0.2),
            K.RandomSharpness(0.2),
            K.Solarization(),
            K.RandomColorDegeneration(0.2),
            K.RandomElasticTransform(),
            K.RandomInvert(),
            K.RandomPosterization(4),
            K.RandomColorJitter(brightness_factor=0.1),
            K.MixUp(),
            K.CutMix(),
            K.RandAugment(),
            K.AugMix(),
            K.MaxNumBoundingBoxes(3),
            K.Pipeline([K.RandomFlip(), K.RandomInvert()]),
            K.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2)),
            K.AutoContrast(),
            K.Flatten(),
            K.Dense(2),
        ]
    )


def test_model_saved_by_keras3_loads_and_predicts_the_same(tmp_path):
    keras = _keras()
    model = _keras3_model(keras)
    path = str(tmp_path / "augment.keras")
    model.save(path)
    x = IMAGES
    expected = model.predict(x, verbose=0)
    loaded = lamina.models.load_model(path)
    np.testing.assert_allclose(_np(loaded.predict(x, verbose=0)), expected, rtol=1e-4, atol=1e-3)


def test_functional_keras3_file_follows_the_models_training_flag(tmp_path):
    # Keras 3 writes the `training` it resolved while building into each node (True for augmentation,
    # False for Dropout) and lets the model's own flag win when run: so must lamina.
    keras = _keras()
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Dropout(0.5)(keras.layers.RandomFlip()(inputs))
    model = keras.Model(inputs, [keras.layers.Dense(2)(keras.layers.Flatten()(hidden)), hidden])
    path = str(tmp_path / "functional.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = np.concatenate([IMAGES] * 4)  # 8 images: all 8 left unflipped by chance has odds 1/256
    for got, expected in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(_np(got), expected, rtol=1e-4, atol=1e-3)
    dropped = _np(loaded(x, training=True)[1])
    assert 0.3 < (dropped == 0).mean() < 0.7  # Dropout is on in training


def test_training_step_draws_new_augmentations():
    flip, rotation = L.RandomFlip(seed=1), L.RandomRotation(0.2, seed=2)
    model = lamina.Sequential([lamina.Input((6, 6, 1)), flip, rotation, L.Flatten(), L.Dense(1)])
    model.compile("sgd", "mse")
    before = _np(flip.seed_generator.state.value).copy()
    x, y = RNG.rand(8, 6, 6, 1).astype("float32"), RNG.rand(8, 1).astype("float32")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert not np.array_equal(_np(flip.seed_generator.state.value), before)  # the seed state moved every step
