"""`image_dataset_from_directory`: batches of images (decoded with Pillow, resized in NumPy) and their labels.

Resizing follows `tf.image.resize` without antialiasing, which is what Keras's default (TensorFlow)
pipeline uses: sample positions at pixel centers, `(i + 0.5) * in / out - 0.5`, a triangle (bilinear),
Keys cubic (bicubic, a = -0.5), Lanczos, Gaussian or Mitchell kernel with weights that sum to 1, the
input pixel `floor((i + 0.5) * in / out)` for "nearest", and the mean over the covered box for "area".
`pad_to_aspect_ratio` resizes to fit and pads with zeros as `tf.image.resize_with_pad` does.
"""

from __future__ import annotations

import functools

import numpy as np

from lamina import config
from lamina.utils.dataset_utils import (
    check_labels_args,
    check_validation_split_arg,
    datasets_from_files,
    index_directory,
)

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _kernel_weights(in_size: int, out_size: int, kernel, radius: float) -> np.ndarray:
    samples = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
    distance = np.abs(samples[None, :] - np.arange(in_size)[:, None])
    weights = np.where(distance < radius, kernel(distance), 0.0)
    return (weights / weights.sum(axis=0, keepdims=True)).astype("float32")


def _gaussian(x):
    return np.exp(-(x**2) / (2.0 * 0.5**2))  # sigma = radius / 3


def _mitchell(x):  # B = C = 1/3
    near = (7.0 * x**3 - 12.0 * x**2 + 16.0 / 3.0) / 6.0
    far = (-7.0 / 3.0 * x**3 + 12.0 * x**2 - 20.0 * x + 32.0 / 3.0) / 6.0
    return np.where(x < 1.0, near, far)


def _bicubic_weights(in_size: int, out_size: int) -> np.ndarray:
    """Keys cubic (a = -0.5) at offsets rounded to 1/1024 (TensorFlow's weight table), taps outside dropped."""
    samples = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
    base = np.floor(samples)
    offset = np.rint((samples - base) * 1024) / 1024
    weights = np.zeros((in_size, out_size))
    for tap in (-1, 0, 1, 2):
        value = _keys_cubic(np.abs(offset - tap))
        pixel = (base + tap).astype("int64")
        inside = (pixel >= 0) & (pixel < in_size)
        weights[pixel[inside], np.arange(out_size)[inside]] += value[inside]
    return (weights / weights.sum(axis=0, keepdims=True)).astype("float32")


def _keys_cubic(distance):
    near = ((1.5 * distance - 2.5) * distance) * distance + 1.0
    far = ((-0.5 * distance + 2.5) * distance - 4.0) * distance + 2.0
    return np.where(distance >= 2.0, 0.0, np.where(distance >= 1.0, far, near))


def _area_weights(in_size: int, out_size: int) -> np.ndarray:
    """Each output pixel is the mean of the input interval [i, i + 1) * in / out it covers."""
    scale = in_size / out_size
    starts, ends = np.arange(out_size) * scale, (np.arange(out_size) + 1) * scale
    pixel = np.arange(in_size)[:, None]
    overlap = np.clip(np.minimum(ends[None, :], pixel + 1) - np.maximum(starts[None, :], pixel), 0.0, None)
    return (overlap / scale).astype("float32")


def axis_weights(in_size: int, out_size: int, interpolation: str) -> np.ndarray:
    """The `(in_size, out_size)` matrix that resamples one image axis with `interpolation`."""
    from lamina.layers.preprocessing.resizing import nearest_indices, resize_weights  # lamina.utils loads first

    if interpolation == "nearest":
        weights = np.zeros((in_size, out_size), "float32")
        weights[np.minimum(nearest_indices(in_size, out_size), in_size - 1), np.arange(out_size)] = 1.0
        return weights
    if interpolation == "bicubic":
        return _bicubic_weights(in_size, out_size)
    if interpolation == "area":
        return _area_weights(in_size, out_size)
    if interpolation == "gaussian":
        return _kernel_weights(in_size, out_size, _gaussian, 1.5)
    if interpolation == "mitchellcubic":
        return _kernel_weights(in_size, out_size, _mitchell, 2.0)
    return resize_weights(in_size, out_size, interpolation)


def resize_image(image: np.ndarray, size, interpolation: str) -> np.ndarray:
    """`image` (height, width, channels) resampled to `size` = (height, width), in float32."""
    rows = axis_weights(image.shape[0], size[0], interpolation)
    columns = axis_weights(image.shape[1], size[1], interpolation)
    return np.einsum("hwc,hi,wj->ijc", image.astype("float32"), rows, columns, optimize=True).astype("float32")


def _resize_with_pad(image: np.ndarray, size, interpolation: str) -> np.ndarray:
    height, width = image.shape[:2]
    ratio = max(width / size[1], height / size[0])
    exact_height, exact_width = height / ratio, width / ratio
    new_height, new_width = int(np.floor(exact_height)), int(np.floor(exact_width))
    # The offsets come from the unrounded sizes, as in tf.image.resize_with_pad.
    top, left = int(max((size[0] - exact_height) / 2, 0)), int(max((size[1] - exact_width) / 2, 0))
    canvas = np.zeros((size[0], size[1], image.shape[2]), "float32")
    canvas[top : top + new_height, left : left + new_width] = resize_image(
        image, (new_height, new_width), interpolation
    )
    return canvas


def decode_image(path: str, num_channels: int) -> np.ndarray:
    """The pixels of the image file at `path` as uint8 (height, width, num_channels); GIFs: the first frame."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(
            "image_dataset_from_directory reads images with Pillow: pip install pillow (or lamina[image])."
        ) from err
    with Image.open(path) as image:
        image.seek(0)
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[num_channels]
        if num_channels == 1 and image.format == "PNG" and image.mode in ("RGB", "RGBA", "P"):
            # libpng's fixed-point Rec. 601 weights, truncated, as TensorFlow's PNG decoder makes one channel
            rgb = np.asarray(image.convert("RGB"), dtype="int64")
            return ((rgb @ np.asarray([9797, 19234, 3737])) >> 15).astype("uint8")[..., None]
        pixels = np.asarray(image.convert(mode) if image.mode != mode else image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def load_image(path: str, image_size, num_channels: int, interpolation: str, data_format: str, crop: bool,
               pad: bool) -> np.ndarray:  # fmt: skip
    """One image file decoded, cropped or padded to the aspect ratio if asked, and resized, in float32."""
    from lamina.layers.preprocessing.resizing import crop_box

    image = decode_image(path, num_channels)
    if crop:
        top, left, crop_height, crop_width = crop_box(image.shape[0], image.shape[1], *image_size)
        image = resize_image(image[top : top + crop_height, left : left + crop_width], image_size, interpolation)
    elif pad:
        image = _resize_with_pad(image, image_size, interpolation)
    else:
        image = resize_image(image, image_size, interpolation)
    return np.transpose(image, (2, 0, 1)) if data_format == "channels_first" else image


def _check_image_args(color_mode, image_size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format):
    if color_mode not in _CHANNELS:
        raise ValueError(f'`color_mode` must be one of "rgb", "rgba", "grayscale", got {color_mode!r}.')
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"`image_size` must be a tuple of 2 integers (height, width), got {image_size!r}.")
    interpolation = str(interpolation).lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {list(INTERPOLATIONS)}, got {interpolation!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'`data_format` must be "channels_last" or "channels_first", got {data_format!r}.')
    return tuple(int(side) for side in image_size), interpolation, data_format


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf", verbose=True):  # fmt: skip
    """Batches of images and labels from image files in class subfolders (Keras's function, NumPy batches).

    With `main/class_a/*.png` and `main/class_b/*.jpg`, `image_dataset_from_directory("main")` yields
    `(images, labels)`: float32 images of shape `(batch, height, width, channels)` and labels 0 for class_a,
    1 for class_b. Formats: .bmp, .gif (first frame), .jpeg, .jpg, .png.

    Args:
        directory: the folder; with `labels="inferred"` each non-hidden subfolder is a class.
        labels: "inferred", a list/tuple of integer labels (one per file, in sorted path order), or None.
        label_mode: "int" (int32), "categorical" (float32 one-hot), "binary" (float32, shape (batch, 1);
            exactly 2 classes) or None (images only).
        class_names: with labels="inferred", the subfolders to use, in this order.
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        batch_size: images per batch; None yields single images.
        image_size: (height, width) every image is resized to.
        shuffle: shuffle the files (with `seed`), and the order again every epoch.
        seed: the shuffle's seed (required with `validation_split` and `shuffle`).
        validation_split: the fraction of files kept for validation (the last ones after the shuffle).
        subset: "training", "validation", or "both" (returns `[training, validation]`).
        interpolation: "bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
            "mitchellcubic".
        follow_links: visit subfolders that are symbolic links.
        crop_to_aspect_ratio: crop the largest centered box with `image_size`'s aspect ratio first.
        pad_to_aspect_ratio: resize to fit and pad with zeros instead of distorting.
        data_format: "channels_last" or "channels_first" (default: the configured image data format).
        format: accepted for Keras's signature; the result is always a `BatchDataset`.
        verbose: print how many files and classes were found.

    Returns:
        A `BatchDataset` (a `lamina.utils.Sequence` that `fit` takes), with `class_names` and `file_paths`;
        or a list of two for `subset="both"`.

    Example:
        >>> train, val = image_dataset_from_directory("photos", image_size=(64, 64), seed=1,
        ...                                           validation_split=0.2, subset="both")
        >>> model.fit(train, validation_data=val, epochs=3)
    """
    check_labels_args(labels, label_mode, class_names, "image")
    del format
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    image_size, interpolation, data_format = _check_image_args(
        color_mode, image_size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format
    )
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    seed = np.random.randint(1e6) if seed is None else seed
    paths, labels, class_names = index_directory(
        directory, labels, ALLOWLIST_FORMATS, class_names, shuffle, seed, follow_links, verbose
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'label_mode="binary" needs exactly 2 classes, got class_names={class_names}.')
    load = functools.partial(
        load_image, image_size=image_size, num_channels=_CHANNELS[color_mode], interpolation=interpolation,
        data_format=data_format, crop=bool(crop_to_aspect_ratio), pad=bool(pad_to_aspect_ratio),
    )  # fmt: skip
    options = dict(directory=directory, subset=subset, validation_split=validation_split, verbose=verbose,
                   label_mode=label_mode, batch_size=batch_size, shuffle=shuffle, seed=seed)  # fmt: skip
    return datasets_from_files(paths, labels, class_names, load, options, "image")
