"""The batch iterators `ImageDataGenerator.flow*` return: lamina Sequences, so `model.fit(iterator)` works.

Randomness (shuffling, augmentation) comes from NumPy's global RNG, as in Keras 2; with a `seed`,
batch `k` seen is drawn after `np.random.seed(seed + k)`, so two runs with one seed match.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from lamina.preprocessing._image_files import array_to_img, img_to_array, load_img
from lamina.utils.sequence import Sequence

__all__ = ["DirectoryIterator", "FilesIterator", "Iterator", "NumpyArrayIterator"]

_IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


class Iterator(Sequence):
    """Base class: `n` samples served in batches of `batch_size`, reshuffled after every epoch.

    Subclasses implement `_get_batches_of_transformed_samples(index_array)`. Usable by index
    (`iterator[i]`, a Sequence) or endlessly with `next(iterator)` as Keras 2's generators.
    """

    white_list_formats = _IMAGE_EXTENSIONS

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed):
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def __getstate__(self) -> dict:
        # fit(..., use_multiprocessing=True) sends the Sequence to spawned workers: a lock and a running
        # generator do not pickle, so they are left out and made anew on the other side.
        state = dict(self.__dict__)
        del state["lock"], state["index_generator"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()
        self.index_generator = self._flow_index()

    def _set_index_array(self) -> None:
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __getitem__(self, idx: int):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length {len(self)}")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        return self._get_batches_of_transformed_samples(
            self.index_array[self.batch_size * idx : self.batch_size * (idx + 1)]
        )

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self) -> None:
        self._set_index_array()

    def reset(self) -> None:
        """Starts the endless `next()` stream at its first batch again."""
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current = (self.batch_index * self.batch_size) % self.n if self.n else 0
            self.batch_index = self.batch_index + 1 if self.n > current + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[current : current + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    next = __next__

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError(f"{type(self).__name__} must implement _get_batches_of_transformed_samples.")

    def _save_batch(self, batch_x, index_array, data_format, highest: int) -> None:
        """Writes each image of the batch to `save_to_dir` (for looking at the augmentation)."""
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], data_format, scale=True)
            name = f"{self.save_prefix}_{j}_{np.random.randint(highest)}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))


class NumpyArrayIterator(Iterator):
    """Batches `(x, y[, sample_weight])` from arrays, each image augmented and standardized by the generator.

    `x` may be `(images, extra)` or `(images, [extra, ...])`: the extra arrays pass through unchanged
    and the batch's input becomes `[images, *extra]`.

    Example:
        >>> it = ImageDataGenerator(rescale=1 / 255).flow(x, y, batch_size=8)
        >>> batch_x, batch_y = it[0]
    """

    def __init__(
        self,
        x,
        y,
        image_data_generator,
        batch_size=32,
        shuffle=False,
        sample_weight=None,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        subset=None,
        ignore_class_split=False,
        dtype=None,
    ):
        from lamina import config

        data_format = config.image_data_format() if data_format is None else data_format
        self.dtype = config.floatx() if dtype is None else dtype
        x, x_misc = _split_misc(x)
        for name, other in (("y (labels)", y), ("sample_weight", sample_weight)):
            if other is not None and len(x) != len(other):
                raise ValueError(
                    f"`x` (images tensor) and `{name}` should have the same length. "
                    f"Found: x.shape = {np.asarray(x).shape}, {name}.shape = {np.asarray(other).shape}"
                )
        if subset is not None:
            x, x_misc, y, sample_weight = _take_subset(
                x, x_misc, y, sample_weight, subset, image_data_generator._validation_split, ignore_class_split
            )
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f"Input data in `NumpyArrayIterator` should have rank 4. You passed shape {self.x.shape}")
        self.x_misc = x_misc
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        generator = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            params = generator.get_random_transform(self.x[j].shape)
            batch_x[i] = generator.standardize(generator.apply_transform(self.x[j].astype(self.dtype), params))
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, self.data_format, 10**4)
        miscs = [extra[index_array] for extra in self.x_misc]
        inputs = [batch_x, *miscs] if miscs else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


def _split_misc(x):
    if not isinstance(x, (tuple, list)):
        return x, []
    extras = x[1] if isinstance(x[1], list) else [x[1]]
    extras = [np.asarray(extra) for extra in extras]
    for extra in extras:
        if len(x[0]) != len(extra):
            raise ValueError(
                f"All of the arrays in `x` should have the same length. Found len(x[0]) = {len(x[0])}, "
                f"len(x[?]) = {len(extra)}"
            )
    return x[0], extras


def _take_subset(x, x_misc, y, sample_weight, subset, validation_split, ignore_class_split):
    """The validation part (the first `validation_split` of the samples) or the training rest."""
    if subset not in ("training", "validation"):
        raise ValueError(f'Invalid subset name: {subset!r}; expected "training" or "validation".')
    split = int(len(x) * validation_split)
    if y is not None and not ignore_class_split:
        y_array = np.asarray(y)
        if not np.array_equal(np.unique(y_array[:split]), np.unique(y_array[split:])):
            raise ValueError(
                "Training and validation subsets have different number of classes after the split. "
                "If your numpy arrays are sorted by the label, you might want to shuffle them."
            )
    part = slice(None, split) if subset == "validation" else slice(split, None)

    def cut(array):
        return None if array is None else np.asarray(array)[part]

    return np.asarray(x)[part], [extra[part] for extra in x_misc], cut(y), cut(sample_weight)


def _list_class_files(directory: str, split, follow_links: bool) -> list[str]:
    """Image files under one class folder (recursively), sorted by folder then name, relative to its parent."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda walk: walk[0]):
        found += [os.path.join(root, name) for name in sorted(files) if name.lower().endswith(_IMAGE_EXTENSIONS)]
    if split:
        found = found[int(split[0] * len(found)) : int(split[1] * len(found))]
    dirname = os.path.basename(directory)
    return [os.path.join(dirname, os.path.relpath(path, directory)) for path in found]


class FilesIterator(Iterator):
    """What the iterators over image files share: the image settings, reading a batch, and its targets.

    Subclasses set `_filepaths`, `class_mode` and, by class mode, `classes` + `class_indices` or the targets
    `labels` gives ("raw", "multi_output"), and may give per-image weights through `sample_weight`.
    """

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def _set_processing_attrs(
        self,
        image_data_generator,
        target_size,
        color_mode,
        class_mode,
        data_format,
        saving,
        subset,
        interpolation,
        keep_aspect_ratio,
        dtype,
    ) -> None:
        """Checks and keeps the settings of reading and transforming; `saving` is `(to_dir, prefix, format)`."""
        from lamina import config

        self.data_format = config.image_data_format() if data_format is None else data_format
        self.dtype = config.floatx() if dtype is None else dtype
        if color_mode not in ("rgb", "rgba", "grayscale"):
            raise ValueError(f'Invalid color_mode: {color_mode!r}; expected "rgb", "rgba" or "grayscale".')
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {class_mode!r}; expected one of {self.allowed_class_modes}")
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.interpolation, self.keep_aspect_ratio = interpolation, keep_aspect_ratio
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
        first = self.data_format == "channels_first"
        self.image_shape = (channels, *self.target_size) if first else (*self.target_size, channels)
        self.save_to_dir, self.save_prefix, self.save_format = saving
        self.subset, self.split = subset, _directory_split(subset, image_data_generator)

    @property
    def filepaths(self) -> list[str]:
        """The path of every image, in sample order."""
        return self._filepaths

    @property
    def labels(self) -> np.ndarray:
        """The class index of every image."""
        return self.classes

    @property
    def sample_weight(self):
        """The weight of every image, or None."""
        return None

    def _get_batches_of_transformed_samples(self, index_array):
        generator = self.image_data_generator
        batch_x = np.zeros((len(index_array), *self.image_shape), dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(
                self._filepaths[j],
                color_mode=self.color_mode,
                target_size=self.target_size,
                interpolation=self.interpolation,
                keep_aspect_ratio=self.keep_aspect_ratio,
            )
            x = img_to_array(img, data_format=self.data_format)
            img.close()
            if generator:
                x = generator.standardize(generator.apply_transform(x, generator.get_random_transform(x.shape)))
            batch_x[i] = x
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, self.data_format, 10**7)
        return self._with_labels(batch_x, index_array)

    def _with_labels(self, batch_x, index_array):
        """`batch_x` with its targets (by `class_mode`) and, when there are any, its sample weights."""
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "input":
            batch_y = batch_x.copy()
        elif self.class_mode in ("binary", "sparse"):
            batch_y = np.array([self.classes[j] for j in index_array], dtype=self.dtype)
        elif self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for i, j in enumerate(index_array):
                batch_y[i, self.classes[j]] = 1.0  # one index, or a list of them (multi-label rows)
        elif self.class_mode == "multi_output":
            batch_y = [target[index_array] for target in self.labels]
        else:  # "raw"
            batch_y = self.labels[index_array]
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]


class DirectoryIterator(FilesIterator):
    """Batches of images read from one sub-folder per class (class indices in sorted folder order).

    Example:
        >>> it = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train", target_size=(64, 64))
        >>> it.class_indices
        {'cats': 0, 'dogs': 1}
    """

    def __init__(
        self,
        directory,
        image_data_generator,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
        dtype=None,
    ):
        self._set_processing_attrs(
            image_data_generator,
            target_size,
            color_mode,
            class_mode,
            data_format,
            (save_to_dir, save_prefix, save_format),
            subset,
            interpolation,
            keep_aspect_ratio,
            dtype,
        )
        self.directory = directory
        if not classes:
            classes = [name for name in sorted(os.listdir(directory)) if os.path.isdir(os.path.join(directory, name))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames, labels = [], []
        for name in classes:
            files = _list_class_files(os.path.join(directory, name), self.split, follow_links)
            self.filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.classes = np.array(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)


def _directory_split(subset, image_data_generator):
    if subset is None:
        return None
    validation_split = image_data_generator._validation_split
    if subset == "validation":
        return (0, validation_split)
    if subset == "training":
        return (validation_split, 1)
    raise ValueError(f'Invalid subset name: {subset!r}; expected "training" or "validation".')
