"""Keras 2's `keras.preprocessing.image`: image files (Pillow), augmentation (SciPy) and `ImageDataGenerator`.

Pillow and SciPy are imported only when needed (`pip install lamina[image]`); the error says so.

Example:
    >>> from lamina.preprocessing.image import ImageDataGenerator
    >>> datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True)
    >>> train = datagen.flow_from_directory("data/train", target_size=(64, 64), batch_size=32)
    >>> model.fit(train, epochs=5)
"""

from __future__ import annotations

import warnings

import numpy as np

from lamina import config
from lamina.preprocessing._dataframe_iterator import DataFrameIterator as DataFrameIterator
from lamina.preprocessing._dataframe_iterator import retired_arguments
from lamina.preprocessing._image_files import array_to_img as array_to_img
from lamina.preprocessing._image_files import img_to_array as img_to_array
from lamina.preprocessing._image_files import load_img as load_img
from lamina.preprocessing._image_files import save_img as save_img
from lamina.preprocessing._image_iterators import DirectoryIterator as DirectoryIterator
from lamina.preprocessing._image_iterators import Iterator as Iterator
from lamina.preprocessing._image_iterators import NumpyArrayIterator as NumpyArrayIterator
from lamina.preprocessing._image_transforms import apply_affine_transform as apply_affine_transform
from lamina.preprocessing._image_transforms import apply_brightness_shift as apply_brightness_shift
from lamina.preprocessing._image_transforms import apply_channel_shift as apply_channel_shift
from lamina.preprocessing._image_transforms import flip_axis as flip_axis
from lamina.preprocessing._image_transforms import random_brightness as random_brightness
from lamina.preprocessing._image_transforms import random_channel_shift as random_channel_shift
from lamina.preprocessing._image_transforms import random_rotation as random_rotation
from lamina.preprocessing._image_transforms import random_shear as random_shear
from lamina.preprocessing._image_transforms import random_shift as random_shift
from lamina.preprocessing._image_transforms import random_zoom as random_zoom
from lamina.preprocessing._image_transforms import transform_matrix_offset_center as transform_matrix_offset_center

__all__ = [
    "DataFrameIterator",
    "DirectoryIterator",
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "apply_affine_transform",
    "apply_brightness_shift",
    "apply_channel_shift",
    "array_to_img",
    "flip_axis",
    "img_to_array",
    "load_img",
    "random_brightness",
    "random_channel_shift",
    "random_rotation",
    "random_shear",
    "random_shift",
    "random_zoom",
    "save_img",
]


def _zoom_pair(zoom_range) -> list:
    if isinstance(zoom_range, (float, int)):
        return [1 - zoom_range, 1 + zoom_range]
    if len(zoom_range) == 2 and all(isinstance(value, (float, int)) for value in zoom_range):
        return [zoom_range[0], zoom_range[1]]
    raise ValueError(f"`zoom_range` should be a float or a tuple or list of two floats. Received: {zoom_range!r}")


def _shift_draw(shift_range, size: int) -> float:
    """One shift in pixels: a choice (list or int range) with a random sign, or a uniform float draw."""
    try:  # a list or an int: pick one value and a sign
        shift = np.random.choice(shift_range) * np.random.choice([-1, 1])
    except ValueError:  # a float: a uniform draw
        shift = np.random.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:  # fractions of the image
        shift *= size
    return shift


class ImageDataGenerator:
    """Batches of image data with real-time augmentation and normalization, as Keras 2 had it.

    Each sample gets `get_random_transform` → `apply_transform` → `standardize`. Draws come from
    NumPy's global RNG (seed it, or pass `seed` to `flow*`).

    Args:
        featurewise_center / featurewise_std_normalization: subtract the per-channel mean / divide by the
            per-channel std that `fit` computed.
        samplewise_center / samplewise_std_normalization: the same per sample.
        zca_whitening, zca_epsilon: ZCA whitening with the matrix `fit` computed.
        rotation_range: degrees; `width_shift_range` / `height_shift_range`: a fraction (< 1), pixels (>= 1)
            or a list of choices; `shear_range`: degrees; `zoom_range`: a float or `[lower, upper]`;
            `channel_shift_range`; `brightness_range`: `[lower, upper]`; `horizontal_flip`, `vertical_flip`.
        fill_mode, cval, interpolation_order: how the affine warp fills and resamples (SciPy's meaning).
        rescale: a factor applied before the rest of `standardize`.
        preprocessing_function: called on each image first.
        data_format: "channels_last" or "channels_first"; defaults to `image_data_format()`.
        validation_split: the fraction kept for `subset="validation"`.
        dtype: defaults to `floatx()`.

    Example:
        >>> datagen = ImageDataGenerator(featurewise_center=True, width_shift_range=0.1)
        >>> datagen.fit(x_train)
        >>> model.fit(datagen.flow(x_train, y_train, batch_size=32), epochs=3)
    """

    def __init__(
        self,
        featurewise_center=False,
        samplewise_center=False,
        featurewise_std_normalization=False,
        samplewise_std_normalization=False,
        zca_whitening=False,
        zca_epsilon=1e-6,
        rotation_range=0,
        width_shift_range=0.0,
        height_shift_range=0.0,
        brightness_range=None,
        shear_range=0.0,
        zoom_range=0.0,
        channel_shift_range=0.0,
        fill_mode="nearest",
        cval=0.0,
        horizontal_flip=False,
        vertical_flip=False,
        rescale=None,
        preprocessing_function=None,
        data_format=None,
        validation_split=0.0,
        interpolation_order=1,
        dtype=None,
    ):
        data_format = config.image_data_format() if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f'`data_format` should be "channels_last" or "channels_first". Received: {data_format}')
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1. Received: {validation_split}")
        if brightness_range is not None and (
            not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2
        ):
            raise ValueError(
                f"`brightness_range` should be a tuple or list of two floats. Received: {brightness_range}"
            )
        self.featurewise_center = featurewise_center or zca_whitening or featurewise_std_normalization
        self.featurewise_std_normalization = featurewise_std_normalization and not zca_whitening
        self.samplewise_center = samplewise_center or samplewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.shear_range, self.zoom_range = shear_range, _zoom_pair(zoom_range)
        self.channel_shift_range, self.brightness_range = channel_shift_range, brightness_range
        self.fill_mode, self.cval, self.interpolation_order = fill_mode, cval, interpolation_order
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.dtype = config.floatx() if dtype is None else dtype
        self.data_format = data_format
        first = data_format == "channels_first"
        self.channel_axis, self.row_axis, self.col_axis = (1, 2, 3) if first else (3, 1, 2)
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None

    @property
    def principal_components(self):
        """The ZCA whitening matrix `fit` computed (Keras 2.2's name for `zca_whitening_matrix`)."""
        return self.zca_whitening_matrix

    def flow(
        self,
        x,
        y=None,
        batch_size=32,
        shuffle=True,
        sample_weight=None,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        ignore_class_split=False,
        subset=None,
    ) -> NumpyArrayIterator:
        """Batches from arrays `x` (rank 4) and `y`; see `NumpyArrayIterator`."""
        return NumpyArrayIterator(
            x,
            y,
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=sample_weight,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            ignore_class_split=ignore_class_split,
            subset=subset,
            dtype=self.dtype,
        )

    def flow_from_directory(
        self,
        directory,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
    ) -> DirectoryIterator:
        """Batches of images from one sub-folder per class; see `DirectoryIterator`."""
        return DirectoryIterator(
            directory,
            self,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            follow_links=follow_links,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            dtype=self.dtype,
        )

    def flow_from_dataframe(
        self,
        dataframe,
        directory=None,
        x_col="filename",
        y_col="class",
        weight_col=None,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        subset=None,
        interpolation="nearest",
        validate_filenames=True,
        keep_aspect_ratio=False,
        **kwargs,
    ) -> DataFrameIterator:
        """Batches of images that a pandas DataFrame lists (needs `pip install pandas`); see `DataFrameIterator`.

        Keras 2's retired arguments (`has_ext`, `sort`, `drop_duplicates`, class_mode "other") still run,
        with a DeprecationWarning, as they did there.

        Example:
            >>> frame = pandas.DataFrame({"filename": ["a.png", "b.png"], "class": ["cat", "dog"]})
            >>> it = ImageDataGenerator(rescale=1 / 255).flow_from_dataframe(frame, "images", target_size=(64, 64))
        """
        class_mode = retired_arguments(class_mode, kwargs)
        return DataFrameIterator(
            dataframe,
            directory,
            self,
            x_col=x_col,
            y_col=y_col,
            weight_col=weight_col,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            dtype=self.dtype,
            validate_filenames=validate_filenames,
        )

    def _fit_missing(self, what: str) -> None:
        warnings.warn(
            f"This ImageDataGenerator specifies `{what}`, but it hasn't been fit on any training data. "
            "Fit it first by calling `.fit(numpy_data)`.",
            stacklevel=3,
        )

    def standardize(self, x):
        """Normalizes one image (or a batch), in place where it can: the `rescale`/centering/whitening part.

        Example:
            >>> ImageDataGenerator(rescale=0.5).standardize(np.full((2, 2, 1), 4.0))[0, 0]
            array([2.])
        """
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        for enabled, value, what in (
            (self.featurewise_center, self.mean, "featurewise_center"),
            (self.featurewise_std_normalization, self.std, "featurewise_std_normalization"),
            (self.zca_whitening, self.zca_whitening_matrix, "zca_whitening"),
        ):
            if enabled and value is None:
                self._fit_missing(what)
            elif enabled and what == "featurewise_center":
                x -= self.mean
            elif enabled and what == "featurewise_std_normalization":
                x /= self.std + 1e-6
            elif enabled:
                flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
                x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    def get_random_transform(self, img_shape, seed=None) -> dict:
        """Draws the parameters `apply_transform` takes, from NumPy's global RNG (seeded with `seed` if given).

        Example:
            >>> ImageDataGenerator(rotation_range=30).get_random_transform((8, 8, 3), seed=1)["theta"]
        """
        row, col = self.row_axis - 1, self.col_axis - 1
        if seed is not None:
            np.random.seed(seed)
        theta = np.random.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = _shift_draw(self.height_shift_range, img_shape[row]) if self.height_shift_range else 0
        ty = _shift_draw(self.width_shift_range, img_shape[col]) if self.width_shift_range else 0
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = np.random.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {
            "theta": theta,
            "tx": tx,
            "ty": ty,
            "shear": shear,
            "zx": zx,
            "zy": zy,
            "flip_horizontal": flip_horizontal,
            "flip_vertical": flip_vertical,
            "channel_shift_intensity": channel_shift,
            "brightness": brightness,
        }

    def apply_transform(self, x, transform_parameters: dict):
        """Applies the given parameters to one image (rank 3): warp, channel shift, flips, brightness.

        Example:
            >>> ImageDataGenerator().apply_transform(x, {"theta": 90, "flip_horizontal": True})
        """
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        get = transform_parameters.get
        x = apply_affine_transform(
            x,
            get("theta", 0),
            get("tx", 0),
            get("ty", 0),
            get("shear", 0),
            get("zx", 1),
            get("zy", 1),
            row_axis=row,
            col_axis=col,
            channel_axis=channel,
            fill_mode=self.fill_mode,
            cval=self.cval,
            order=self.interpolation_order,
        )
        if get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, transform_parameters["channel_shift_intensity"], channel)
        if get("flip_horizontal", False):
            x = flip_axis(x, col)
        if get("flip_vertical", False):
            x = flip_axis(x, row)
        if get("brightness") is not None:
            x = apply_brightness_shift(x, transform_parameters["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        """`apply_transform(x, get_random_transform(x.shape, seed))`."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment: bool = False, rounds: int = 1, seed=None) -> None:
        """Computes the statistics `standardize` needs (mean, std, ZCA matrix) from sample images `x` (rank 4).

        Example:
            >>> datagen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
            >>> datagen.fit(x_train)
        """
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4. Got array with shape: {x.shape}")
        if seed is not None:
            np.random.seed(seed)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([np.stack([self.random_transform(image) for image in x]) for _ in range(rounds)])
            x = x.astype(self.dtype)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = np.reshape(x, (len(x), -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T
