"""Image files to arrays and back, with Pillow: `load_img`, `img_to_array`, `array_to_img`, `save_img`.

Pillow is imported only when one of these is called, so lamina imports without it.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from lamina import config

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

# Keras's interpolation names, mapped to Pillow's resampling filter names.
_INTERPOLATIONS = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "hamming": "HAMMING",
    "box": "BOX",
    "lanczos": "LANCZOS",
}


def _pil():
    """Pillow's `Image` module, or an ImportError saying how to install it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "lamina.preprocessing.image needs Pillow to read and write images: `pip install pillow` "
            "(or `pip install lamina[image]`)."
        ) from error
    return Image


def _data_format(data_format) -> str:
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'data_format must be "channels_last" or "channels_first", got {data_format!r}.')
    return data_format


def _color_converted(img, color_mode: str):
    if color_mode == "grayscale":
        # 16- and 32-bit grayscale stay as they are, as Keras 2 kept them.
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    wanted = {"rgba": "RGBA", "rgb": "RGB"}.get(color_mode)
    if wanted is None:
        raise ValueError(f'color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}.')
    return img if img.mode == wanted else img.convert(wanted)


def _center_crop_box(size: tuple, target: tuple) -> list:
    """The centered box with the target's aspect ratio (Keras's `keep_aspect_ratio` crop)."""
    width, height = size
    target_width, target_height = target
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return [left, top, left + crop_width, top + crop_height]


def load_img(
    path,
    grayscale: bool = False,
    color_mode: str = "rgb",
    target_size: tuple | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
):
    """Loads an image file into a PIL image.

    Args:
        path: a file path (str or `pathlib.Path`) or a binary file object (`io.BytesIO`).
        grayscale: deprecated; `True` means `color_mode="grayscale"`.
        color_mode: "grayscale", "rgb" or "rgba": the mode the image is converted to.
        target_size: `(height, width)` to resize to, or None to keep the file's size.
        interpolation: the resampling filter when resizing: "nearest", "bilinear", "bicubic",
            "hamming", "box" or "lanczos".
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.

    Returns:
        A PIL Image.

    Example:
        >>> img = load_img("cat.png", target_size=(64, 64))
        >>> x = img_to_array(img)  # (64, 64, 3) float32
    """
    image_module = _pil()
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"', stacklevel=2)
        color_mode = "grayscale"
    if isinstance(path, io.BytesIO):
        img = image_module.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as file:
            img = image_module.open(io.BytesIO(file.read()))
    else:
        raise TypeError(f"load_img: path should be a path (str, pathlib.Path) or io.BytesIO, got {type(path)}.")
    img = _color_converted(img, color_mode)
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))  # PIL speaks (width, height)
    if img.size == size:
        return img
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Invalid interpolation method {interpolation!r} specified. "
            f"Supported methods are {', '.join(_INTERPOLATIONS)}."
        )
    resample = getattr(image_module.Resampling, _INTERPOLATIONS[interpolation])
    if keep_aspect_ratio:
        return img.resize(size, resample, box=_center_crop_box(img.size, size))
    return img.resize(size, resample)


def img_to_array(img, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL image as a 3D NumPy array: `(height, width, channels)` or channels first.

    Args:
        img: a PIL image (or anything `np.asarray` takes).
        data_format: "channels_last" or "channels_first"; defaults to `image_data_format()`.
        dtype: the array's dtype; defaults to `floatx()`.

    Example:
        >>> img_to_array(load_img("cat.png", color_mode="grayscale")).shape
        (32, 32, 1)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim == 2:
        return x[np.newaxis] if data_format == "channels_first" else x[..., np.newaxis]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}: expected (height, width[, channels]).")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format: str | None = None, scale: bool = True, dtype: str | None = None):
    """A 3D NumPy array as a PIL image (1 channel: "L" or "I", 3: "RGB", 4: "RGBA").

    Args:
        x: an array of shape `(height, width, channels)` (or channels first).
        data_format: the array's layout; defaults to `image_data_format()`.
        scale: rescale the values to 0..255 (min to 0, max to 255) first.
        dtype: the dtype the array is read as before conversion; defaults to `floatx()`.

    Example:
        >>> img = array_to_img(np.random.rand(8, 8, 3))
        >>> img.size
        (8, 8)
    """
    image_module = _pil()
    data_format = _data_format(data_format)
    x = np.array(x, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:  # 32-bit integer grayscale
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported channel number {channels}: expected 1, 3 or 4.")


def save_img(path, x, data_format: str | None = None, file_format: str | None = None, scale: bool = True, **kwargs):
    """Saves a 3D NumPy array as an image file (through `array_to_img`).

    Args:
        path: a file path or a binary file object.
        x: the image array.
        data_format: the array's layout; defaults to `image_data_format()`.
        file_format: the format ("png", "jpeg", ...); None infers it from the file name.
        scale: rescale the values to 0..255 first.
        **kwargs: passed to `PIL.Image.save` (e.g. `quality=90`).

    Example:
        >>> save_img("out.png", np.random.rand(8, 8, 3))
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    if file_format == "jpg":
        file_format = "jpeg"  # Pillow's name for it
    img.save(path, format=file_format, **kwargs)
