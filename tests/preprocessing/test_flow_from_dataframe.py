"""ImageDataGenerator.flow_from_dataframe (Keras 2.3, keras_preprocessing 1.1) on small PNGs written here.

Image `k` is a flat 4x4 RGB picture whose red value is 10 * k, so each batch's pixels say which files it
holds; every expected value (class indices, labels, filenames, batches) is written out in the test.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pandas = pytest.importorskip("pandas")
from PIL import Image  # noqa: E402

import lamina  # noqa: E402
from lamina.preprocessing.image import DataFrameIterator, ImageDataGenerator  # noqa: E402

NAMES = [f"img{k}.png" for k in range(8)]
ANIMALS = ["dog", "cat", "bird", "cat", "dog", "bird", "cat", "dog"]
BIRD, CAT, DOG = [1, 0, 0], [0, 1, 0], [0, 0, 1]


@pytest.fixture
def folder(tmp_path):
    for k, name in enumerate(NAMES):
        pixels = np.zeros((4, 4, 3), "uint8") + np.array([10 * k, 20, 30], "uint8")
        Image.fromarray(pixels).save(tmp_path / name)
    return tmp_path


def _red(batch_x) -> list:
    """The red value of each image in a batch, i.e. 10 * its file number."""
    return batch_x[:, 0, 0, 0].round().astype(int).tolist()


def _flow(frame, folder, **kwargs):
    kwargs = {"target_size": (4, 4), "shuffle": False, **kwargs}
    return ImageDataGenerator().flow_from_dataframe(frame, str(folder), **kwargs)


def test_categorical_labels_classes_filenames_and_batches(folder):
    frame = pandas.DataFrame({"filename": NAMES, "class": ANIMALS})
    it = _flow(frame, folder, batch_size=3)
    assert it.class_indices == {"bird": 0, "cat": 1, "dog": 2}  # sorted, whatever the row order
    assert it.classes == it.labels == [2, 1, 0, 1, 2, 0, 1, 2]
    assert it.filenames == NAMES and it.samples == 8 and len(it) == 3
    assert it.filepaths == [os.path.join(str(folder), name) for name in NAMES]
    batch_x, batch_y = it[1]
    assert batch_x.shape == (3, 4, 4, 3) and batch_x.dtype == np.float32
    assert _red(batch_x) == [30, 40, 50]
    np.testing.assert_array_equal(batch_x[0, 2, 1], [30.0, 20.0, 30.0])
    np.testing.assert_array_equal(batch_y, [CAT, DOG, BIRD])
    assert batch_y.dtype == np.float32
    last_x, last_y = it[2]  # the short last batch
    assert _red(last_x) == [60, 70]
    np.testing.assert_array_equal(last_y, [CAT, DOG])


def test_multi_label_rows_and_chosen_classes(folder):
    labels = [["cat", "dog"], ["bird"], ("dog",), ["cat"], ["bird", "fish"]]
    frame = pandas.DataFrame({"file": NAMES[:5], "tags": labels})
    it = _flow(frame, folder, x_col="file", y_col="tags")
    assert it.class_indices == {"bird": 0, "cat": 1, "dog": 2, "fish": 3}
    assert it.classes == [[1, 2], [0], [2], [1], [0, 3]]
    np.testing.assert_array_equal(it[0][1], [[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1]])
    # Only the chosen classes stay (indexed in sorted order, as Keras 2.3 did); rows left with none go.
    it = _flow(frame, folder, x_col="file", y_col="tags", classes=["dog", "bird"])
    assert it.class_indices == {"bird": 0, "dog": 1}
    assert it.filenames == ["img0.png", "img1.png", "img2.png", "img4.png"]
    assert it.classes == [[1], [0], [1], [0]]
    batch_x, batch_y = it[0]
    assert _red(batch_x) == [0, 10, 20, 40]
    np.testing.assert_array_equal(batch_y, [[0, 1], [1, 0], [0, 1], [1, 0]])


def test_binary_sparse_input_and_none(folder):
    frame = pandas.DataFrame({"filename": NAMES, "class": ["yes", "no"] * 4, "kind": ANIMALS})
    binary = _flow(frame, folder, class_mode="binary")
    assert binary.class_indices == {"no": 0, "yes": 1}
    np.testing.assert_array_equal(binary[0][1], [1, 0, 1, 0, 1, 0, 1, 0])
    assert binary[0][1].dtype == np.float32
    sparse = _flow(frame, folder, y_col="kind", class_mode="sparse", batch_size=4)
    np.testing.assert_array_equal(sparse[1][1], [2, 0, 1, 2])
    batch_x, batch_y = _flow(frame, folder, class_mode="input", batch_size=2)[3]
    assert _red(batch_x) == [60, 70]
    np.testing.assert_array_equal(batch_y, batch_x)
    images_only = _flow(frame, folder, class_mode=None, batch_size=5, color_mode="grayscale")[0]
    assert images_only.shape == (5, 4, 4, 1)
    # Pillow's ITU-R 601-2 luma of (10k, 20, 30), rounded: L = (299 R + 587 G + 114 B) / 1000.
    expected = [round((299 * 10 * k + 587 * 20 + 114 * 30) / 1000) for k in range(5)]
    np.testing.assert_array_equal(images_only[:, 0, 0, 0], expected)


def test_raw_multi_output_and_weight_column(folder):
    frame = pandas.DataFrame(
        {
            "filename": NAMES,
            "age": np.arange(8, dtype="float64") * 1.5,
            "size": np.arange(8, dtype="int64") + 100,
            "weight": np.linspace(0.5, 2.25, 8),
        }
    )
    raw = _flow(frame, folder, y_col="age", class_mode="raw", batch_size=3, weight_col="weight")
    batch_x, batch_y, weights = raw[1]
    assert _red(batch_x) == [30, 40, 50]
    np.testing.assert_array_equal(batch_y, [4.5, 6.0, 7.5])
    np.testing.assert_array_equal(weights, [1.25, 1.5, 1.75])
    np.testing.assert_array_equal(raw.labels, np.arange(8) * 1.5)
    np.testing.assert_array_equal(raw.sample_weight, np.linspace(0.5, 2.25, 8))
    columns = _flow(frame, folder, y_col=["age", "size"], class_mode="raw", batch_size=2)[0][1]
    np.testing.assert_array_equal(columns, [[0.0, 100.0], [1.5, 101.0]])
    multi = _flow(frame, folder, y_col=["age", "size"], class_mode="multi_output", batch_size=2)
    ages, sizes = multi[2][1]
    np.testing.assert_array_equal(ages, [6.0, 7.5])
    np.testing.assert_array_equal(sizes, [104, 105])
    assert sizes.dtype == np.int64


def test_absolute_paths_missing_files_and_validate_filenames(folder):
    paths = [str(folder / name) for name in NAMES[:4]]
    paths[1] = str(folder / "gone.png")
    (folder / "notes.txt").write_text("not an image")
    paths[2] = str(folder / "notes.txt")
    frame = pandas.DataFrame({"filename": paths, "class": ["a", "b", "c", "a"]})
    with pytest.warns(UserWarning, match=r'Found 2 invalid image filename\(s\) in x_col="filename"'):
        it = ImageDataGenerator().flow_from_dataframe(frame, target_size=(4, 4), shuffle=False)
    assert it.filenames == [paths[0], paths[3]] and it.filepaths == it.filenames
    assert it.class_indices == {"a": 0}  # classes are read from the rows that are left
    assert _red(it[0][0]) == [0, 30]
    unchecked = ImageDataGenerator().flow_from_dataframe(frame, validate_filenames=False, target_size=(4, 4))
    assert unchecked.samples == 4 and unchecked.class_indices == {"a": 0, "b": 1, "c": 2}


def test_validation_split_subsets(folder):
    frame = pandas.DataFrame({"filename": NAMES, "class": ANIMALS})
    datagen = ImageDataGenerator(validation_split=0.25)
    val = datagen.flow_from_dataframe(frame, str(folder), target_size=(4, 4), subset="validation", shuffle=False)
    train = datagen.flow_from_dataframe(frame, str(folder), target_size=(4, 4), subset="training", shuffle=False)
    assert val.filenames == NAMES[:2] and train.filenames == NAMES[2:]
    assert val.class_indices == train.class_indices == {"bird": 0, "cat": 1, "dog": 2}
    assert val.classes == [2, 1] and train.classes == [0, 1, 2, 0, 1, 2]
    assert _red(train[0][0]) == [20, 30, 40, 50, 60, 70]


def test_bad_arguments_and_keras2_retired_ones(folder):
    frame = pandas.DataFrame({"filename": NAMES[:3], "class": ["a", "b", "c"], "n": [1, 2, 3]})
    with pytest.raises(ValueError, match='class_mode="binary" there must be 2 classes, 3'):
        _flow(frame, folder, class_mode="binary")
    with pytest.raises(TypeError, match='y_col="n" column values must be type string, list or tuple'):
        _flow(frame, folder, y_col="n")
    with pytest.raises(TypeError, match="y_col must be a list"):
        _flow(frame, folder, y_col="n", class_mode="multi_output")
    with pytest.raises(ValueError, match=r"column\(s\) \['label'\] not in the DataFrame"):
        _flow(frame, folder, y_col="label")
    with pytest.raises(TypeError, match="weight_col=class must be numeric"):
        _flow(frame, folder, weight_col="class")
    with pytest.raises(ValueError, match="Invalid class_mode"):
        _flow(frame, folder, class_mode="onehot")
    with pytest.raises(TypeError, match="must be a pandas DataFrame, got dict"):
        _flow({"filename": NAMES}, folder)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['colour'\]"):
        _flow(frame, folder, colour="red")
    with pytest.warns(DeprecationWarning, match="has_ext is deprecated"):
        _flow(frame, folder, has_ext=True)
    with pytest.warns(DeprecationWarning, match='"other" is deprecated'):
        it = _flow(frame, folder, y_col="n", class_mode="other")
    assert it.class_mode == "raw"
    np.testing.assert_array_equal(it[0][1], [1, 2, 3])
    with pytest.warns(UserWarning, match="`classes` will be ignored"):
        _flow(frame, folder, class_mode=None, classes=["a"])
    assert isinstance(it, DataFrameIterator)


def test_model_fits_and_evaluates_on_the_iterator_as_on_the_same_arrays(folder):
    frame = pandas.DataFrame({"filename": NAMES, "class": ANIMALS, "w": np.linspace(0.5, 2.0, 8)})
    it = ImageDataGenerator(rescale=1 / 255).flow_from_dataframe(
        frame, str(folder), weight_col="w", target_size=(4, 4), batch_size=4, shuffle=False
    )
    red = np.arange(8, dtype="float32") * 10 / 255
    x = np.stack([np.broadcast_to([r, 20 / 255, 30 / 255], (4, 4, 3)) for r in red]).astype("float32")
    y = np.eye(3, dtype="float32")[[2, 1, 0, 1, 2, 0, 1, 2]]
    model = lamina.Sequential([lamina.layers.Flatten(input_shape=(4, 4, 3)), lamina.layers.Dense(3, "softmax")])
    model.set_weights([np.linspace(-1, 1, 144, dtype="float32").reshape(48, 3), np.zeros(3, "float32")])
    model.compile(lamina.optimizers.SGD(0.1), "categorical_crossentropy", weighted_metrics=["accuracy"])
    before = model.evaluate(x, y, sample_weight=frame["w"].to_numpy(), batch_size=4, verbose=0)
    history = model.fit(it, epochs=1, shuffle=False, verbose=0).history
    after = model.evaluate(x, y, sample_weight=frame["w"].to_numpy(), batch_size=4, verbose=0)
    assert after[0] < before[0] and np.isfinite(history["loss"][0])
    np.testing.assert_allclose(model.evaluate(it, verbose=0), after, rtol=1e-6)
