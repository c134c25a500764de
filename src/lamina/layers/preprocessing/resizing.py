"""Resizing and CenterCrop: images to a fixed height and width.

Each spatial axis is resampled on its own, as `jax.image.resize` (Keras 3's JAX backend) does it:
an output pixel `i` samples the input at `(i + 0.5) * in / out - 0.5` through a kernel (triangle for
bilinear, Keys cubic with a = -0.5, Lanczos with 3 or 5 lobes), weights normalized to sum to 1;
"nearest" takes the input pixel `floor((i + 0.5) * in / out)`. The weights are a constant matrix
per axis, built with NumPy from the static shapes, so both engines run the same contraction.
"""

from __future__ import annotations

import numpy as np

from lamina import config, ops
from lamina.layers.layer import Layer

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _kernel(interpolation: str, x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    if interpolation == "bilinear":
        return np.maximum(0.0, 1.0 - x)
    if interpolation == "bicubic":
        near = ((1.5 * x - 2.5) * x) * x + 1.0
        far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
        return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))
    radius = 3 if interpolation == "lanczos3" else 5
    with np.errstate(divide="ignore", invalid="ignore"):
        value = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi**2 * x**2)
    return np.where(x > radius, 0.0, np.where(x > 1e-3, value, 1.0))


def resize_weights(in_size: int, out_size: int, interpolation: str, antialias: bool = False) -> np.ndarray:
    """The `(in_size, out_size)` matrix that resamples one axis.

    Example:
        >>> resize_weights(2, 4, "bilinear")[:, 0]  # output pixel 0 samples input 0 only
        array([1., 0.], dtype=float32)
    """
    scale = out_size / in_size
    kernel_scale = max(1.0 / scale, 1.0) if antialias else 1.0
    samples = (np.arange(out_size) + 0.5) / scale - 0.5
    distance = np.abs(samples[None, :] - np.arange(in_size)[:, None]) / kernel_scale
    weights = _kernel(interpolation, distance)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000.0 * np.finfo(np.float32).eps, weights / np.where(total != 0, total, 1), 0)
    inside = (samples >= -0.5) & (samples <= in_size - 0.5)
    return np.where(inside[None, :], weights, 0.0).astype("float32")


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """The input pixel each output pixel copies with "nearest"."""
    offsets = (np.arange(out_size, dtype="float32") + np.float32(0.5)) * np.float32(in_size) / np.float32(out_size)
    return np.floor(offsets).astype("int32")


def _resample_axis(images, axis: int, out_size: int, interpolation: str, antialias: bool):
    in_size = images.shape[axis]
    if interpolation == "nearest":
        return ops.take(images, ops.convert_to_tensor(nearest_indices(in_size, out_size)), axis=axis)
    weights = ops.convert_to_tensor(resize_weights(in_size, out_size, interpolation, antialias))
    moved = ops.tensordot(images, weights, axes=[[axis], [0]])  # the new axis comes last
    return ops.moveaxis(moved, -1, axis % len(images.shape))


def crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """(top, left, crop_height, crop_width) of the centered box with the target's aspect ratio."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width


def _pad_axis(images, axis: int, before: int, fill_value: float):
    """`before` rows of `fill_value` on both sides of `axis` (as Keras 3 pads to an aspect ratio)."""
    shape = list(images.shape)
    shape[axis] = before
    filler = ops.full(tuple(shape), fill_value, dtype=images.dtype)
    return ops.concatenate([filler, images, filler], axis=axis)


def resize_images(
    images,
    size,
    interpolation="bilinear",
    antialias=False,
    crop=False,
    pad=False,
    fill_value=0.0,
    data_format="channels_last",
):
    """`images` (rank 3 or 4) resized to `size = (height, width)`, optionally cropped or padded to its aspect.

    Example:
        >>> resize_images(np.ones((1, 4, 4, 3), "float32"), (2, 2)).shape
        (1, 2, 2, 3)
    """  # noqa: D417
    height_axis = len(images.shape) - (3 if data_format == "channels_last" else 2)
    width_axis = height_axis + 1
    height, width = images.shape[height_axis], images.shape[width_axis]
    target_height, target_width = size
    if crop:
        top, left, crop_height, crop_width = crop_box(height, width, target_height, target_width)
        index = [slice(None)] * len(images.shape)
        index[height_axis] = slice(top, top + crop_height)
        index[width_axis] = slice(left, left + crop_width)
        images = images[tuple(index)]
    elif pad:
        pad_height = max(height, int(float(width * target_height) / target_width))
        pad_width = max(width, int(float(height * target_width) / target_height))
        top, left = int(float(pad_height - height) / 2), int(float(pad_width - width) / 2)
        if top > 0:
            images = _pad_axis(images, height_axis, top, fill_value)
        elif left > 0:
            images = _pad_axis(images, width_axis, left, fill_value)
    images = _resample_axis(images, height_axis, target_height, interpolation, antialias)
    return _resample_axis(images, width_axis, target_width, interpolation, antialias)


def _data_format(layer_name: str, data_format) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f'Layer "{layer_name}": data_format must be "channels_last" or "channels_first", got {data_format!r}.'
        )
    return data_format


def _check_rank(layer_name: str, shape) -> None:
    if len(shape) not in (3, 4):
        raise ValueError(
            f'Layer "{layer_name}" expects images of rank 3 (height, width, channels) or 4 (with a batch), '
            f"got shape {tuple(shape)}."
        )


def _positive_int(layer_name: str, name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f'Layer "{layer_name}": {name} must be a positive integer, got {value!r}.')
    return value


class Resizing(Layer):
    """Resizes images to `(height, width)`.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic", "lanczos3" or "lanczos5".
        crop_to_aspect_ratio: first crop the largest centered box with the output's aspect ratio.
        pad_to_aspect_ratio: first pad with `fill_value` to the output's aspect ratio.
        fill_mode: only "constant".
        fill_value: the padding value.
        antialias: widen the kernel when downsampling.
        data_format: "channels_last" or "channels_first" (default: the image data format).

    Example:
        >>> Resizing(2, 3)(np.ones((1, 4, 6, 3))).shape
        (1, 2, 3, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.height = _positive_int(self.name, "height", height)
        self.width = _positive_int(self.name, "width", width)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f'Layer "{self.name}": interpolation must be one of {list(INTERPOLATIONS)}, got {interpolation!r}.'
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f'Layer "{self.name}": crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True.')
        if fill_mode != "constant":
            raise ValueError(f'Layer "{self.name}": fill_mode must be "constant", got {fill_mode!r}.')
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.data_format = _data_format(self.name, data_format)

    def call(self, inputs):
        _check_rank(self.name, inputs.shape)
        return resize_images(
            ops.cast(inputs, self.dtype), (self.height, self.width), self.interpolation, self.antialias,
            self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value, self.data_format,
        )  # fmt: skip

    def compute_output_shape(self, input_shape):
        _check_rank(self.name, input_shape)
        shape = list(input_shape)
        first = len(shape) - (3 if self.data_format == "channels_last" else 2)
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": self.data_format,
        }


class CenterCrop(Layer):
    """Crops the central `(height, width)` box of images; smaller images are cropped to that aspect and resized.

    Args:
        height, width: the output size.
        data_format: "channels_last" or "channels_first" (default: the image data format).

    Example:
        >>> CenterCrop(2, 2)(np.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _positive_int(self.name, "height", height)
        self.width = _positive_int(self.name, "width", width)
        self.data_format = _data_format(self.name, data_format)

    def call(self, inputs):
        _check_rank(self.name, inputs.shape)
        inputs = ops.cast(inputs, self.dtype)
        height_axis = len(inputs.shape) - (3 if self.data_format == "channels_last" else 2)
        height, width = inputs.shape[height_axis], inputs.shape[height_axis + 1]
        if height < self.height or width < self.width:
            return resize_images(inputs, (self.height, self.width), crop=True, data_format=self.data_format)
        top, left = (height - self.height) // 2, (width - self.width) // 2
        index = [slice(None)] * len(inputs.shape)
        index[height_axis] = slice(top, top + self.height)
        index[height_axis + 1] = slice(left, left + self.width)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        _check_rank(self.name, input_shape)
        shape = list(input_shape)
        first = len(shape) - (3 if self.data_format == "channels_last" else 2)
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
