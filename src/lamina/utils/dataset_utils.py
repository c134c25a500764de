"""Datasets from folders and arrays: the pieces behind `*_dataset_from_directory` and `timeseries_dataset_from_array`.

Keras returns `tf.data.Dataset`s from these functions; lamina has no tf.data, so they return a
`BatchDataset`: a `lamina.utils.Sequence` of NumPy batches that `fit`, `evaluate` and `predict` take as they
are (with `workers=` for loading ahead), that a `for` loop walks through, and that carries `class_names` and
`file_paths` as Keras's datasets do. Files are listed, labelled, shuffled and split exactly as Keras lists them
(so `file_paths` and a validation subset are the same files Keras picks for the same `seed`); the order of
samples within an epoch is reshuffled with NumPy every epoch when `shuffle=True` (tf.data's buffered shuffle
order itself is not reproduced).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from lamina.utils.sequence import Sequence


class BatchDataset(Sequence):
    """NumPy batches of samples loaded on demand: what the `*_dataset_from_*` functions return.

    Args:
        items: one entry per sample (file paths, or start positions), handed to `load`.
        load: `load(item) -> array` for one sample.
        labels: per-sample label arrays (already encoded), or None for inputs only.
        batch_size: samples per batch; None yields single samples.
        shuffle: reshuffle the sample order every epoch (`on_epoch_end`).
        seed: seed of that shuffle.

    Example:
        >>> dataset = BatchDataset(list(range(10)), load=lambda i: np.full((2,), i), labels=None, batch_size=4)
        >>> [batch.shape for batch in dataset]
        [(4, 2), (4, 2), (2, 2)]
    """

    def __init__(self, items, load, labels=None, batch_size=32, shuffle=False, seed=None):
        self.items = list(items)
        self.load = load
        self.labels = None if labels is None else np.asarray(labels)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self._rng = np.random.RandomState(seed if seed is not None else np.random.randint(1e6))
        self.order = np.arange(len(self.items))
        if self.shuffle:
            self._rng.shuffle(self.order)
        self.class_names = None
        self.file_paths = None

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.items)
        return -(-len(self.items) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"BatchDataset index {index} is out of range for {len(self)} batches.")
        index = index % len(self)
        if self.batch_size is None:
            chosen = self.order[index]
            sample = self.load(self.items[chosen])
            return sample if self.labels is None else (sample, self.labels[chosen])
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        inputs = np.stack([self.load(self.items[position]) for position in chosen])
        return inputs if self.labels is None else (inputs, self.labels[chosen])

    def on_epoch_end(self) -> None:
        """A new sample order for the next epoch when `shuffle=True`."""
        if self.shuffle:
            self._rng.shuffle(self.order)

    def take(self, count: int):
        """The first `count` batches, as a list (tf.data's `take`, for `for x, y in ds.take(1)`)."""
        return [self[index] for index in range(min(count, len(self)))]

    def cache(self, filename=None):
        """Returns the dataset itself: kept for `ds.cache().prefetch(...)` chains of tf.data code."""
        del filename
        return self

    def prefetch(self, buffer_size=None):
        """Returns the dataset itself (load ahead with `fit(..., workers=N)` instead)."""
        del buffer_size
        return self


def check_validation_split_arg(validation_split, subset, shuffle, seed) -> None:
    """Raises a ValueError when `validation_split`, `subset` and `seed` do not go together."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, got {validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(
            f"`subset` and `validation_split` must be given together, got subset={subset!r} and "
            f"validation_split={validation_split!r}."
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be "training", "validation" or "both", got {subset!r}.')
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "With `validation_split` and `shuffle=True`, pass a `seed`: the training and validation calls must "
            "shuffle the files the same way so that the two subsets do not overlap."
        )


def check_labels_args(labels, label_mode, class_names, what: str) -> None:
    """Raises a ValueError for a `labels`/`label_mode`/`class_names` combination Keras refuses."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                f'`labels` must be "inferred", None, or a list/tuple of integer labels (one per {what} file in '
                f"sorted path order), got {labels!r}."
            )
        if class_names:
            raise ValueError(
                f'`class_names` can only be given with labels="inferred", got labels={labels!r} and '
                f"class_names={class_names!r}."
            )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'`label_mode` must be "int", "categorical", "binary" or None, got {label_mode!r}.')


def _files_under(directory: str, follow_links: bool, formats) -> list:
    """Paths relative to `directory`'s parent folder name, walked in sorted order as Keras walks them."""
    found = []
    name = os.path.basename(directory)
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        for file_name in sorted(files):
            if file_name.lower().endswith(formats):
                found.append(os.path.join(name, os.path.relpath(os.path.join(root, file_name), directory)))
    return found


def _class_folders(directory: str, class_names) -> list:
    folders = [
        entry.rstrip("/")
        for entry in sorted(os.listdir(directory))
        if os.path.isdir(os.path.join(directory, entry)) and not entry.startswith(".")
    ]
    if class_names is not None:
        if not set(class_names).issubset(folders):
            raise ValueError(
                f"`class_names` must name subfolders of {directory!r}: expected some of {folders}, "
                f"got {list(class_names)}."
            )
        return list(class_names)
    return folders


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):  # fmt: skip
    """The file paths, integer labels and class names found under `directory`, as Keras lists them.

    With `labels="inferred"` each non-hidden subfolder is a class (in sorted order, or `class_names`'s);
    otherwise every matching file below `directory` is taken in sorted path order. With `shuffle`, paths and
    labels are shuffled by `np.random.RandomState(seed)`.

    Example:
        >>> paths, labels, names = index_directory("photos", "inferred", (".png",), shuffle=False)
    """
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing folder, got {directory!r}.")
    if labels == "inferred":
        subfolders = _class_folders(directory, class_names)
    else:
        if class_names is not None:
            raise ValueError(
                '`class_names` cannot be given when `labels` is not "inferred" (got labels='
                f"{'None' if labels is None else 'a list'})."
            )
        subfolders = [""]
    file_names, inferred = [], []
    for class_index, subfolder in enumerate(subfolders):
        found = _files_under(os.path.join(directory, subfolder), follow_links, formats)
        file_names += found
        inferred += [class_index] * len(found)
    if labels == "inferred":
        labels, names = np.asarray(inferred, dtype="int32"), subfolders
    elif labels is None:
        names = None
    else:
        if len(labels) != len(file_names):
            raise ValueError(
                f"`labels` has {len(labels)} entries but {len(file_names)} files were found in {directory!r}."
            )
        names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        classes = "" if labels is None else f" belonging to {len(names)} classes"
        print(f"Found {len(file_names)} files{classes}.")
    paths = [os.path.join(directory, file_name) for file_name in file_names]
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def training_or_validation_split(samples, labels, validation_split, subset, verbose=True):
    """The last `int(validation_split * n)` samples for "validation", the others for "training"."""
    if not validation_split:
        return samples, labels
    num_validation = int(validation_split * len(samples))
    cut = len(samples) - num_validation
    if subset == "training":
        part = slice(0, cut)
    elif subset == "validation":
        part = slice(cut, len(samples))
    else:
        raise ValueError(f'`subset` must be "training" or "validation", got {subset!r}.')
    if verbose:
        print(f"Using {part.stop - part.start} files for {subset}.")
    return samples[part], (None if labels is None else labels[part])


def encode_labels(labels, label_mode, num_classes):
    """Integer labels as Keras yields them: int32, float32 one-hot ("categorical"), float32 (n, 1) ("binary")."""
    if labels is None or label_mode is None:
        return None
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels.astype("int64")]
    return labels.astype("int32") if labels.dtype.kind in "iub" else labels


def datasets_from_files(paths, labels, class_names, load, options: dict, what: str):
    """One BatchDataset (or [training, validation] for subset="both") over `paths`, with Keras's split."""
    num_classes = len(class_names) if class_names else 0
    subsets = ["training", "validation"] if options["subset"] == "both" else [options["subset"]]
    datasets = []
    for subset in subsets:
        part_paths, part_labels = training_or_validation_split(
            paths, labels, options["validation_split"], subset, options["verbose"]
        )
        if not part_paths:
            which = f"{subset} " if subset else ""
            raise ValueError(f"No {which}{what} files found in directory {options['directory']!r}.")
        # As in Keras, the validation half of subset="both" keeps its order; everything else reshuffles.
        reshuffle = options["shuffle"] and not (options["subset"] == "both" and subset == "validation")
        labels_out = encode_labels(part_labels, options["label_mode"], num_classes)
        dataset = BatchDataset(part_paths, load, labels_out, options["batch_size"], reshuffle, options["seed"])
        dataset.class_names = class_names
        dataset.file_paths = part_paths
        datasets.append(dataset)
    return datasets if options["subset"] == "both" else datasets[0]


def _read_text(path: str, max_length, encoding: str) -> str:
    """The file's text; `max_length` counts bytes as Keras (tf.strings.substr) does, a cut character dropped."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if max_length is None:
        return raw.decode(encoding)
    return raw[:max_length].decode(encoding, errors="ignore")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True, encoding="utf-8"):  # fmt: skip
    """Batches of texts (NumPy arrays of `str`) and labels from `.txt` files in class subfolders.

    The arguments are Keras's: `labels` ("inferred" from subfolders, a list per file, or None),
    `label_mode` ("int", "categorical", "binary", None), `class_names`, `batch_size` (None: single samples),
    `max_length` (bytes kept per file, as Keras keeps them), `shuffle`, `seed`, `validation_split` with `subset`
    ("training", "validation" or "both"), `follow_links`. `format` is accepted and ignored (the result is a
    `BatchDataset` of NumPy batches); `encoding` is how the files are decoded.

    Example:
        >>> train = text_dataset_from_directory("reviews", batch_size=32, seed=1, validation_split=0.2,
        ...                                     subset="training")
        >>> texts, labels = train[0]
    """
    check_labels_args(labels, label_mode, class_names, "text")
    del format
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    seed = np.random.randint(1e6) if seed is None else seed
    paths, labels, class_names = index_directory(
        directory, labels, (".txt",), class_names, shuffle, seed, follow_links, verbose
    )
    _check_binary(label_mode, class_names)
    load = functools.partial(_read_text, max_length=max_length, encoding=encoding)
    options = dict(directory=directory, subset=subset, validation_split=validation_split, verbose=verbose,
                   label_mode=label_mode, batch_size=batch_size, shuffle=shuffle, seed=seed)  # fmt: skip
    return datasets_from_files(paths, labels, class_names, load, options, "text")


def _check_binary(label_mode, class_names) -> None:
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'label_mode="binary" needs exactly 2 classes, got class_names={class_names}.')
