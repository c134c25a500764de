"""image/text_dataset_from_directory, timeseries_dataset_from_array and split_dataset against Keras 3.15.

The expected file orders, labels and pixel values were written by Keras 3.15.1 on TensorFlow
(tests/fixtures/dataset_utils/make_dataset_utils.py) from the small files committed next to them.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import lamina
from lamina.utils import (
    Sequence,
    image_dataset_from_directory,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "dataset_utils")
IMAGES = os.path.join(FIXTURES, "images")
TEXTS = os.path.join(FIXTURES, "texts")
with open(os.path.join(FIXTURES, "expected.json")) as handle:
    EXPECTED = json.load(handle)
ARRAYS = np.load(os.path.join(FIXTURES, "expected.npz"))
PLAIN = dict(image_size=(4, 5), batch_size=4, verbose=False)


def relative(paths, root):
    return [os.path.relpath(path, root).replace(os.sep, "/") for path in paths]


def all_batches(dataset):
    batches = list(dataset)
    if isinstance(batches[0], tuple):
        return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    return np.concatenate(batches), None


def test_image_dataset_ordered_pixels_labels_and_paths():
    dataset = image_dataset_from_directory(IMAGES, shuffle=False, **PLAIN)
    images, labels = all_batches(dataset)
    expected = EXPECTED["images"]["ordered"]
    assert isinstance(dataset, Sequence) and len(dataset) == 3
    assert relative(dataset.file_paths, IMAGES) == expected["file_paths"]  # notes.txt and .hidden/ left out
    assert dataset.class_names == expected["class_names"]
    assert labels.dtype == np.int32 and labels.tolist() == expected["labels"]
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, ARRAYS["ordered"], atol=1e-3)


@pytest.mark.parametrize(
    "name, options",
    [
        ("nearest", dict(interpolation="nearest")),
        ("bicubic", dict(interpolation="bicubic")),
        ("area", dict(interpolation="area")),
        ("crop", dict(crop_to_aspect_ratio=True)),
        ("pad", dict(pad_to_aspect_ratio=True)),
        ("grayscale", dict(color_mode="grayscale", directory="bee")),
        ("rgba", dict(color_mode="rgba", directory="bee")),
        ("channels_first", dict(data_format="channels_first")),
    ],
)
def test_image_dataset_pixels_match_keras(name, options):
    options = dict(options)
    directory = os.path.join(IMAGES, options.pop("directory", ""))
    dataset = image_dataset_from_directory(directory, shuffle=False, label_mode=None, **PLAIN, **options)
    images, labels = all_batches(dataset)
    assert labels is None
    np.testing.assert_allclose(images, ARRAYS[name].astype("float32"), atol=1e-3)


@pytest.mark.parametrize(
    "name, options",
    [
        ("shuffled", dict(seed=7)),
        ("split_training", dict(seed=7, validation_split=0.3, subset="training")),
        ("split_validation", dict(seed=7, validation_split=0.3, subset="validation")),
        ("class_names", dict(seed=3, class_names=["cat", "ant"], label_mode="categorical")),
        ("binary", dict(seed=5, class_names=["bee", "ant"], label_mode="binary")),
        ("explicit", dict(seed=11, labels=[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])),
        ("unshuffled_split", dict(shuffle=False, validation_split=0.25, subset="validation")),
    ],
)
def test_image_dataset_file_order_and_labels_match_keras(name, options):
    expected = EXPECTED["images"][name]
    dataset = image_dataset_from_directory(IMAGES, **PLAIN, **options)
    paths = relative(dataset.file_paths, IMAGES)
    assert paths == expected["file_paths"]
    assert dataset.class_names == expected["class_names"]
    # Each yielded image is matched to its file through the unshuffled pixels, then its label checked.
    reference = image_dataset_from_directory(IMAGES, shuffle=False, labels=None, **PLAIN)
    by_pixels = {
        arr.tobytes(): path for path, arr in zip(relative(reference.file_paths, IMAGES), all_batches(reference)[0])
    }
    images, labels = all_batches(dataset)
    assert len(images) == len(paths)
    yielded = {by_pixels[image.tobytes()]: label.tolist() for image, label in zip(images, labels)}
    assert yielded == expected["label_of"]


def test_validation_split_both_is_disjoint_and_complete():
    train, val = image_dataset_from_directory(IMAGES, seed=7, validation_split=0.3, subset="both", **PLAIN)
    assert set(train.file_paths).isdisjoint(val.file_paths)
    everything = image_dataset_from_directory(IMAGES, seed=7, **PLAIN)
    assert train.file_paths + val.file_paths == everything.file_paths
    assert relative(val.file_paths, IMAGES) == EXPECTED["images"]["split_validation"]["file_paths"]
    first_epoch = all_batches(train)[1]
    train.on_epoch_end()  # a new order every epoch, the same samples
    assert sorted(all_batches(train)[1].tolist()) == sorted(first_epoch.tolist())


def test_unbatched_follow_links_and_keras2_paths(tmp_path):
    import shutil

    shutil.copytree(os.path.join(IMAGES, "bee"), tmp_path / "bee")
    os.makedirs(tmp_path / "ant")
    os.symlink(os.path.abspath(os.path.join(IMAGES, "ant", "sub")), tmp_path / "ant" / "linked")
    plain = dict(image_size=(4, 5), shuffle=False, verbose=False, batch_size=None)
    assert image_dataset_from_directory(tmp_path, labels=None, **plain).file_paths == [
        os.path.join(tmp_path, "bee", name) for name in ("b0.png", "b1.PNG", "b2.png")
    ]
    followed = image_dataset_from_directory(tmp_path, follow_links=True, **plain)
    assert relative(followed.file_paths, tmp_path)[0] == "ant/linked/a2.png"
    image, label = followed[0]  # batch_size=None: single samples
    assert image.shape == (4, 5, 3) and label == 0
    np.testing.assert_allclose(image, ARRAYS["ordered"][3], atol=1e-3)  # ant/sub/a2.png in the fixture's order
    assert lamina.preprocessing.image_dataset_from_directory is image_dataset_from_directory
    assert lamina.preprocessing.text_dataset_from_directory is text_dataset_from_directory
    assert lamina.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array


def test_image_dataset_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        image_dataset_from_directory(IMAGES, validation_split=0.2, subset="training", **PLAIN)
    with pytest.raises(ValueError, match="color_mode"):
        image_dataset_from_directory(IMAGES, color_mode="cmyk", **PLAIN)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        image_dataset_from_directory(IMAGES, label_mode="binary", **PLAIN)
    with pytest.raises(ValueError, match="class_names"):
        image_dataset_from_directory(IMAGES, class_names=["ant", "dog"], **PLAIN)


def test_tiny_model_fits_on_image_dataset():
    train, val = image_dataset_from_directory(
        IMAGES, seed=1, validation_split=0.3, subset="both", label_mode="categorical", **PLAIN
    )
    model = lamina.Sequential(
        [lamina.Input((4, 5, 3)), lamina.layers.Rescaling(1 / 255), lamina.layers.Flatten(), lamina.layers.Dense(3)]
    )
    model.compile(optimizer="sgd", loss=lamina.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    assert model.predict(val, verbose=0).shape == (len(val.file_paths), 3)
    # evaluate over the dataset equals the loss computed over its batches by hand
    images, labels = all_batches(val)
    logits = model.predict(images, verbose=0)
    log_softmax = (
        logits
        - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
        - logits.max(1, keepdims=True)
    )
    np.testing.assert_allclose(model.evaluate(val, verbose=0), -(labels * log_softmax).sum(1).mean(), rtol=1e-4)


@pytest.mark.parametrize("name", ["ordered", "max_length", "shuffled_both", "categorical"])
def test_text_dataset_matches_keras(name):
    options = {
        "ordered": dict(shuffle=False),
        "max_length": dict(shuffle=False, max_length=6),
        "shuffled_both": dict(seed=9, validation_split=0.4, subset="both"),
        "categorical": dict(seed=2, label_mode="categorical"),
    }[name]
    result = text_dataset_from_directory(TEXTS, batch_size=3, verbose=False, **options)
    datasets = result if isinstance(result, list) else [result]
    for dataset, expected in zip(datasets, EXPECTED["texts"][name], strict=True):
        texts, labels = all_batches(dataset)
        assert sorted(texts.tolist()) == expected["texts"]
        assert sorted([text, label.tolist()] for text, label in zip(texts.tolist(), labels)) == expected["pairs"]
        assert dataset.class_names == expected["class_names"]


def numpy_windows(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, start_index=0, end_index=None):
    """Windows written out directly from the definition."""
    end_index = len(data) if end_index is None else end_index
    windows, labels, start = [], [], start_index
    while start + (sequence_length - 1) * sampling_rate < end_index:
        if targets is not None and start - start_index >= len(targets):
            break
        windows.append(data[start : start + sequence_length * sampling_rate : sampling_rate])
        if targets is not None:
            labels.append(targets[start])
        start += sequence_stride
    return np.stack(windows), (np.asarray(labels) if targets is not None else None)


@pytest.mark.parametrize(
    "name, options",
    [
        (
            "strided",
            dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=4, start_index=1, end_index=17),
        ),
        ("no_targets", dict(sequence_length=5, batch_size=3, use_targets=False)),
        ("short_targets", dict(sequence_length=4, sampling_rate=3, batch_size=None, targets_length=6)),
        ("shuffled", dict(sequence_length=2, sequence_stride=3, batch_size=2, shuffle=True, seed=4)),
    ],
)
def test_timeseries_dataset_matches_keras_and_numpy(name, options):
    options = dict(options)
    data = np.arange(40, dtype="float32").reshape(20, 2)
    use_targets = options.pop("use_targets", True)
    targets = np.arange(100, 100 + options.pop("targets_length", 20)) if use_targets else None
    dataset = timeseries_dataset_from_array(data, targets, **options)
    batches = list(dataset)
    if options["batch_size"] is None:
        batches = [tuple(part[None] for part in batch) for batch in batches]
    windows = np.concatenate([b[0] if use_targets else b for b in batches])
    labels = np.concatenate([b[1] for b in batches]) if use_targets else None
    expected_x, expected_y = ARRAYS[f"timeseries_{name}_x"], ARRAYS.get(f"timeseries_{name}_y")
    if options.get("shuffle"):  # tf.data shuffles again on top of Keras's seeded shuffle: compare as sets
        assert not np.array_equal(windows[:, 0, 0], np.sort(windows[:, 0, 0]))
        keep, want = np.argsort(windows[:, 0, 0]), np.argsort(expected_x[:, 0, 0])
        windows, labels, expected_x, expected_y = windows[keep], labels[keep], expected_x[want], expected_y[want]
    np.testing.assert_array_equal(windows, expected_x)
    if use_targets:
        np.testing.assert_array_equal(labels, expected_y)
    plain = {k: v for k, v in options.items() if k not in ("batch_size", "shuffle", "seed")}
    expected_windows, expected_targets = numpy_windows(data, targets, **plain)
    order = np.argsort(windows[:, 0, 0])  # the shuffled case: the same windows, in another order
    np.testing.assert_array_equal(windows[order], expected_windows)
    if use_targets:
        np.testing.assert_array_equal(labels[order], expected_targets)


def test_split_dataset_sizes_and_shuffle():
    import random

    x, y = np.arange(10), np.arange(10) * 2
    left, right = split_dataset((x, y), left_size=0.8)
    np.testing.assert_array_equal(left[0], np.arange(8))
    np.testing.assert_array_equal(right[1], np.arange(8, 10) * 2)
    left, right = split_dataset(x, left_size=3, right_size=0.5, shuffle=True, seed=5)
    order = list(range(10))
    random.Random(5).shuffle(order)  # Keras: random.seed(seed); random.shuffle(samples)
    np.testing.assert_array_equal(left, order[:3])
    np.testing.assert_array_equal(right, order[5:])
    with pytest.raises(ValueError, match="left_size"):
        split_dataset(x, left_size=1.5)
