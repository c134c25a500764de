"""lamina.preprocessing.image against tf-keras 2.21's outputs (fixtures/image) and NumPy written out here."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import lamina
from lamina.preprocessing import image

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "image")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(HERE, "expected.npz")) as data:
        arrays = dict(data)
    with open(os.path.join(HERE, "expected.json"), encoding="utf-8") as file:
        return arrays, json.load(file)


def _png(name: str) -> str:
    return os.path.join(HERE, f"{name}.png")


def test_load_img_and_img_to_array_match_tf_keras(expected):
    arrays, _ = expected
    for name in ("rgb", "rgba", "gray"):
        for mode in ("grayscale", "rgb", "rgba"):
            got = image.img_to_array(image.load_img(_png(name), color_mode=mode))
            np.testing.assert_array_equal(got, arrays[f"load/{name}/{mode}"], err_msg=f"{name} {mode}")
        for interp in ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos"):
            got = image.img_to_array(image.load_img(_png(name), target_size=(4, 6), interpolation=interp))
            np.testing.assert_array_equal(got, arrays[f"load/{name}/resize/{interp}"], err_msg=f"{name} {interp}")
            img = image.load_img(_png(name), target_size=(5, 3), interpolation=interp, keep_aspect_ratio=True)
            np.testing.assert_array_equal(image.img_to_array(img), arrays[f"load/{name}/aspect/{interp}"])
            img = image.load_img(_png(name), target_size=(2, 6), interpolation=interp, keep_aspect_ratio=True)
            np.testing.assert_array_equal(image.img_to_array(img), arrays[f"load/{name}/aspect_wide/{interp}"])
        with pytest.warns(UserWarning, match="grayscale"):
            img = image.load_img(_png(name), target_size=(5, 3), grayscale=True)
        got = image.img_to_array(img, data_format="channels_first")
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, arrays[f"load/{name}/first"])
    # tf.keras 2.9+ also has them in `keras.utils`.
    assert lamina.utils.load_img is image.load_img and lamina.utils.save_img is image.save_img
    with pytest.raises(ValueError, match="interpolation"):
        image.load_img(_png("rgb"), target_size=(2, 2), interpolation="cubic")
    with pytest.raises(ValueError, match="color_mode"):
        image.load_img(_png("rgb"), color_mode="hsv")


def test_array_to_img_and_save_img_match_tf_keras(expected, tmp_path):
    arrays, meta = expected
    x = arrays["a2i/x"]
    inputs = {
        "scaled": (x, {}),
        "unscaled": (x, {"scale": False}),
        "first": (x.transpose(2, 0, 1), {"data_format": "channels_first"}),
        "gray": (x[:, :, :1], {}),
        "gray_big": (x[:, :, :1] * 10, {"scale": False}),
        "rgba": (np.concatenate([x, x[:, :, :1]], axis=2), {}),
    }
    for key, (value, kwargs) in inputs.items():
        img = image.array_to_img(value, **kwargs)
        assert img.mode == meta[f"a2i/{key}"], key
        np.testing.assert_array_equal(np.asarray(img), arrays[f"a2i/{key}"], err_msg=key)
    # Scaling by hand: min to 0, max to 255, truncated to uint8.
    by_hand = ((x - x.min()) / (x - x.min()).max() * 255).astype("uint8")
    np.testing.assert_array_equal(np.asarray(image.array_to_img(x)), by_hand)
    image.save_img(tmp_path / "a.png", x)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")), arrays["a2i/scaled"])
    with pytest.warns(UserWarning, match="RGBA"):
        image.save_img(tmp_path / "b.jpg", inputs["rgba"][0], file_format="jpg")
    assert Image.open(tmp_path / "b.jpg").mode == "RGB"
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(x[None])
    with pytest.raises(ValueError, match="channel"):
        image.array_to_img(x[:, :, :2])


def test_fit_and_standardize_match_tf_keras(expected):
    arrays, _ = expected
    x = arrays["gen/x"]
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, rescale=1 / 255)
    gen.fit(x)
    np.testing.assert_allclose(gen.mean, arrays["gen/fs/mean"], rtol=1e-5)
    np.testing.assert_allclose(gen.std, arrays["gen/fs/std"], rtol=1e-5)
    np.testing.assert_allclose(gen.standardize(x[0].copy()), arrays["gen/fs/out"], rtol=1e-4, atol=1e-5)
    # The same statistics written out in NumPy.
    scaled = x / 255
    np.testing.assert_allclose(gen.mean.ravel(), scaled.mean(axis=(0, 1, 2)), rtol=1e-5)
    with pytest.warns(UserWarning):
        gen = image.ImageDataGenerator(zca_whitening=True, samplewise_center=True, zca_epsilon=1e-2)
        gen.standardize(x[0].copy())  # not fitted yet: a warning, no change
    gen.fit(x[:, :4, :4, :])
    assert gen.featurewise_center
    np.testing.assert_allclose(gen.mean, arrays["gen/zca/mean"], rtol=1e-5)
    np.testing.assert_allclose(gen.principal_components, arrays["gen/zca/matrix"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(gen.standardize(x[1, :4, :4, :].copy()), arrays["gen/zca/out"], rtol=1e-3, atol=1e-4)
    gen = image.ImageDataGenerator(samplewise_std_normalization=True, preprocessing_function=lambda a: a + 1)
    np.testing.assert_allclose(gen.standardize(x[2].copy()), arrays["gen/sample/out"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="rank 4"):
        gen.fit(x[0])


def test_apply_transform_matches_tf_keras(expected):
    arrays, meta = expected
    x = arrays["gen/x"][3]
    for fill in ("nearest", "constant", "reflect", "wrap"):
        gen = image.ImageDataGenerator(fill_mode=fill, cval=9.0)
        for key, params in meta["params"].items():
            got = gen.apply_transform(x.copy(), params)
            np.testing.assert_allclose(
                got, arrays[f"apply/{fill}/{key}"], rtol=1e-5, atol=1e-3, err_msg=f"{fill} {key}"
            )
    gen = image.ImageDataGenerator(data_format="channels_first", interpolation_order=0)
    got = gen.apply_transform(x.transpose(2, 0, 1).copy(), meta["params"]["all"])
    np.testing.assert_allclose(got, arrays["apply/first/all"], rtol=1e-5, atol=1e-3)
    # By hand: flips reverse rows and columns; a channel shift clips to the image's range.
    np.testing.assert_array_equal(gen.apply_transform(x, {}), x)
    flipped = image.ImageDataGenerator().apply_transform(x, {"flip_horizontal": True, "flip_vertical": True})
    np.testing.assert_array_equal(flipped, x[::-1, ::-1])
    np.testing.assert_allclose(image.apply_channel_shift(x, 40.0, 2), np.clip(x + 40, x.min(), x.max()))


def test_random_transform_and_flow_draw_as_tf_keras(expected, tmp_path):
    arrays, meta = expected
    gen = image.ImageDataGenerator(**meta["full"])
    for seed, want in zip((0, 1, 2), meta["draws"]):
        got = gen.get_random_transform((8, 7, 3), seed=seed)
        for key, value in want.items():
            assert (got[key] is None) == (value is None), key
            if value is not None:
                np.testing.assert_allclose(float(got[key]), value, rtol=1e-7, err_msg=f"seed {seed} {key}")
    x = arrays["gen/x"]
    it = gen.flow(x, np.arange(6), batch_size=4, shuffle=True, seed=5, sample_weight=np.linspace(0, 1, 6))
    assert isinstance(it, lamina.utils.Sequence) and len(it) == 2
    bx, by, bw = it[0]
    np.testing.assert_array_equal(by, arrays["flow/y0"])
    np.testing.assert_allclose(bw, arrays["flow/w0"])
    np.testing.assert_allclose(bx, arrays["flow/x0"], rtol=1e-4, atol=1e-2)
    bx, by, _ = it[1]
    np.testing.assert_array_equal(by, arrays["flow/y1"])
    np.testing.assert_allclose(bx, arrays["flow/x1"], rtol=1e-4, atol=1e-2)
    # Keras 2's endless `next()` stream draws the same way; a pickled copy (spawned workers) serves the same batches.
    stream = gen.flow(x, np.arange(6), batch_size=4, shuffle=True, seed=5)
    for i in (0, 1):
        bx, by = next(stream)
        np.testing.assert_array_equal(by, arrays[f"flow/y{i}"])
        np.testing.assert_allclose(bx, arrays[f"flow/x{i}"], rtol=1e-4, atol=1e-2)
    copy = pickle.loads(pickle.dumps(gen.flow(x, np.arange(6), batch_size=4, shuffle=True, seed=5)))
    np.testing.assert_allclose(copy[0][0], arrays["flow/x0"], rtol=1e-4, atol=1e-2)
    val = image.ImageDataGenerator(validation_split=0.5).flow(
        x, np.arange(6) % 2, batch_size=6, shuffle=False, subset="validation", save_to_dir=tmp_path, save_prefix="aug"
    )
    np.testing.assert_array_equal(val[0][1], arrays["flow/val_y"])
    saved = sorted(os.listdir(tmp_path))
    assert len(saved) == 3 and all(name.startswith("aug_") and name.endswith(".png") for name in saved)
    with pytest.raises(ValueError, match="different number of classes"):
        image.ImageDataGenerator(validation_split=0.5).flow(x, np.arange(6) // 3, subset="training")


def _class_folders(root, layout: dict) -> None:
    for cls, names in layout.items():
        os.makedirs(root / cls)
        for name in names:
            shutil.copy(_png(name), root / cls / f"{name}.png")


def test_flow_from_directory_matches_tf_keras(expected, tmp_path):
    arrays, meta = expected
    _class_folders(tmp_path, {"dogs": ["rgb", "gray"], "cats": ["rgba", "rgb", "gray"]})
    gen = image.ImageDataGenerator(rescale=1 / 255, rotation_range=10)
    it = gen.flow_from_directory(tmp_path, target_size=(6, 5), batch_size=3, seed=11, interpolation="bilinear")
    assert it.filenames == meta["dir"]["filenames"]
    assert it.classes.tolist() == meta["dir"]["classes"]
    assert it.class_indices == meta["dir"]["class_indices"]
    bx, by = it[0]
    np.testing.assert_array_equal(by, arrays["dir/y0"])
    np.testing.assert_allclose(bx, arrays["dir/x0"], rtol=1e-4, atol=1e-4)
    it = gen.flow_from_directory(
        tmp_path, target_size=(6, 5), batch_size=5, shuffle=False, class_mode="sparse", color_mode="grayscale"
    )
    bx, by = it[0]
    np.testing.assert_array_equal(by, arrays["dir/sparse_y"])
    np.testing.assert_allclose(bx, arrays["dir/sparse_x"], rtol=1e-4, atol=1e-4)
    it = image.ImageDataGenerator(validation_split=0.5).flow_from_directory(
        tmp_path, target_size=(4, 4), class_mode=None, subset="validation", shuffle=False
    )
    # Per class, the first half of its sorted files: cats/gray.png (of 3), dogs/gray.png (of 2).
    assert it.filenames == [os.path.join("cats", "gray.png"), os.path.join("dogs", "gray.png")]
    assert it[0].shape == (2, 4, 4, 3)
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(tmp_path, class_mode="other")


def test_keras2_program_trains_from_class_folders(tmp_path):
    rng = np.random.default_rng(0)
    for cls, level in (("bright", 200), ("dark", 40)):
        os.makedirs(tmp_path / cls)
        for i in range(6):
            pixels = np.clip(rng.normal(level, 20, (12, 12, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.png")
    datagen = image.ImageDataGenerator(
        rescale=1.0 / 255, horizontal_flip=True, width_shift_range=0.1, validation_split=1 / 3
    )
    flow_args = {"target_size": (8, 8), "batch_size": 4, "class_mode": "binary", "seed": 1}
    train = datagen.flow_from_directory(str(tmp_path), subset="training", **flow_args)
    val = datagen.flow_from_directory(str(tmp_path), subset="validation", **flow_args)
    assert train.class_indices == val.class_indices == {"bright": 0, "dark": 1}
    assert (train.samples, val.samples) == (8, 4)
    model = lamina.Sequential(
        [
            lamina.layers.Conv2D(2, 3, activation="relu", input_shape=(8, 8, 3)),
            lamina.layers.GlobalAveragePooling2D(),
            lamina.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(train, validation_data=val, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert np.isfinite(history.history["val_loss"][0])


@pytest.mark.engine_neutral
def test_lamina_imports_without_pillow_or_scipy_and_says_how_to_install_them():
    code = (
        "import sys; sys.modules['PIL'] = None; sys.modules['scipy'] = None; sys.modules['pandas'] = None\n"
        "import numpy as np\n"
        "import lamina\n"
        "from lamina.preprocessing import image\n"
        "for call in (lambda: image.load_img('x.png'), lambda: image.apply_affine_transform(np.ones((1, 2, 2)), 9),\n"
        "             lambda: image.ImageDataGenerator().flow_from_dataframe(None)):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as error:\n"
        "        print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "pip install pillow" in result.stdout and "pip install scipy" in result.stdout
    assert "pip install pandas" in result.stdout  # flow_from_dataframe's; lamina itself needs no pandas
