"""Geometric augmentation layers: flips, rotations, zooms, shifts, shears and crops.

Each draws its parameters per image from the layer's seed state and moves pixels with
`_image_ops.transform`, whose `fill_mode` says what is read outside the image:
"reflect" (d c b a | a b c d | d c b a), "wrap", "nearest" (the edge pixel) or
"constant" (`fill_value`).
"""

from __future__ import annotations

import math

from lamina import ops
from lamina.backend.common.seed import numpy_rng
from lamina.layers.layer import _call_context
from lamina.layers.preprocessing.image_augmentation import _image_ops
from lamina.layers.preprocessing.image_augmentation._base import BaseImageAugmentationLayer, checked_range

_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _checked_choice(layer_name: str, argument: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f'Layer "{layer_name}": {argument} must be one of {choices}, got {value!r}.')
    return value


def _stack_matrix(batch: int, entries) -> object:
    """An (N, 8) transform from eight entries, each a number or an (N,) array."""
    columns = [e if not isinstance(e, (int, float)) else ops.full((batch,), float(e)) for e in entries]
    return ops.stack([ops.reshape(ops.cast(c, "float32"), (batch,)) for c in columns], axis=1)


def affine_matrix(angle, shear_x, shear_y, scale, height: int, width: int):
    """Keras's rotation/shear/scale about the image center, as (N, 8) transforms (angles in radians)."""
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = ops.cos(angle), ops.sin(angle)
    a0 = scale * (cos + shear_x * sin)
    a1 = scale * (-sin + shear_x * cos)
    b0 = scale * (shear_y * cos + sin)
    b1 = scale * (-shear_y * sin + cos)
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    return _stack_matrix(angle.shape[0], (a0, a1, a2, b0, b1, b2, 0.0, 0.0))


class _FillingLayer(BaseImageAugmentationLayer):
    """A layer that reads pixels from outside the image: fill_mode, fill_value and interpolation."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill_mode = _checked_choice(self.name, "fill_mode", fill_mode, _image_ops.FILL_MODES)
        self.interpolation = _checked_choice(self.name, "interpolation", interpolation, _image_ops.INTERPOLATIONS)
        self.fill_value = float(fill_value)

    def _transform(self, images, matrices):
        return _image_ops.transform(images, matrices, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }


class RandomFlip(BaseImageAugmentationLayer):
    """Flips each image, with probability 1/2, left-right and/or top-bottom.

    With "horizontal_and_vertical" one draw decides both flips, as in Keras 3.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical".
        seed: an int for a fixed stream of draws.

    Example:
        >>> RandomFlip("horizontal", seed=1)(np.zeros((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _checked_choice(self.name, "mode", mode, _FLIP_MODES)

    def augment(self, images):
        flipped = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flipped = ops.flip(flipped, axis=2)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flipped = ops.flip(flipped, axis=1)
        return ops.where(self.coin(images.shape[0], 0.5), flipped, images)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_FillingLayer):
    """Rotates each image about its center by a random fraction of a turn in `factor`.

    Args:
        factor: a fraction of 2*pi: `f` means [-f, f], a pair `(low, high)` that range
            (0.25 turns a quarter, counter-clockwise for positive values).
        fill_mode: "reflect", "wrap", "constant" or "nearest".
        interpolation: "bilinear" or "nearest".
        fill_value: the value read outside the image when fill_mode is "constant".

    Example:
        >>> RandomRotation(0.1, seed=3)(np.zeros((1, 8, 8, 1)), training=True).shape
        (1, 8, 8, 1)
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor)

    def augment(self, images):
        batch, height, width, _ = images.shape
        turns = self.uniform((batch,), *self.factor)
        zeros = ops.zeros((batch,))
        angle = turns * (2.0 * math.pi)
        return self._transform(images, affine_matrix(angle, zeros, zeros, ops.ones((batch,)), height, width))

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_FillingLayer):
    """Zooms each image in or out about its center by a random amount.

    Args:
        height_factor: a fraction: `f` means zoom in [-f, f], a pair `(low, high)` that range.
            Positive values zoom out (the image gets smaller), negative values zoom in.
        width_factor: the same for the width; None zooms both axes by the same draw.

    Example:
        >>> RandomZoom(0.2, seed=1)(np.zeros((1, 8, 8, 1)), training=True).shape
        (1, 8, 8, 1)
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = checked_range(self.name, "height_factor", height_factor, (-1.0, None))
        self._width_range = None
        if width_factor is not None:
            self._width_range = checked_range(self.name, "width_factor", width_factor, (-1.0, None))

    def augment(self, images):
        batch, height, width, _ = images.shape
        zoom_y = 1.0 + self.uniform((batch,), *self._height_range)
        zoom_x = zoom_y if self._width_range is None else 1.0 + self.uniform((batch,), *self._width_range)
        offset_x = (width - 1) / 2.0 * (1.0 - zoom_x)
        offset_y = (height - 1) / 2.0 * (1.0 - zoom_y)
        return self._transform(images, _stack_matrix(batch, (zoom_x, 0.0, offset_x, 0.0, zoom_y, offset_y, 0.0, 0.0)))

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_FillingLayer):
    """Shifts each image by a random fraction of its height and width.

    Args:
        height_factor: `f` means a shift in [-f, f] of the height (down for positive values),
            a pair `(low, high)` that range.
        width_factor: the same for the width (right for positive values).

    Example:
        >>> RandomTranslation(0.1, 0.1, seed=1)(np.zeros((1, 8, 8, 1)), training=True).shape
        (1, 8, 8, 1)
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = checked_range(self.name, "height_factor", height_factor, (-1.0, 1.0))
        self._width_range = checked_range(self.name, "width_factor", width_factor, (-1.0, 1.0))

    def augment(self, images):
        batch, height, width, _ = images.shape
        shift_y = self.uniform((batch,), *self._height_range) * height
        shift_x = self.uniform((batch,), *self._width_range) * width
        return self._transform(images, _stack_matrix(batch, (1.0, 0.0, -shift_x, 0.0, 1.0, -shift_y, 0.0, 0.0)))

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomShear(_FillingLayer):
    """Shears each image along x and y by random amounts (in [-1, 1]), in a random direction.

    Args:
        x_factor: `f` means a shear in [0, f] (sign drawn at random), a pair `(low, high)` that range.
        y_factor: the same along y.

    Example:
        >>> RandomShear(x_factor=0.3, seed=1)(np.zeros((1, 8, 8, 1)), training=True).shape
        (1, 8, 8, 1)
    """

    def __init__(
        self,
        x_factor=0.0,
        y_factor=0.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.x_factor = _shear_range(self.name, "x_factor", x_factor)
        self.y_factor = _shear_range(self.name, "y_factor", y_factor)

    def augment(self, images):
        batch = images.shape[0]
        sign = ops.where(ops.greater(self.uniform((batch,)), 0.5), -1.0, 1.0)
        shear_y = self.uniform((batch,), *self.y_factor) * sign
        shear_x = self.uniform((batch,), *self.x_factor) * sign
        return self._transform(images, _stack_matrix(batch, (1.0, shear_x, 0.0, shear_y, 1.0, 0.0, 0.0, 0.0)))

    def get_config(self) -> dict:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


def _shear_range(layer_name: str, argument: str, value) -> tuple:
    return checked_range(layer_name, argument, value, (-1.0, 1.0))


class RandomCrop(BaseImageAugmentationLayer):
    """Crops a random `height` x `width` window in training; at inference the centered window.

    In training one window is drawn for the batch. An image smaller than the window, and every
    image at inference, is cropped to the target aspect ratio about its center and resized
    (bilinear), as Keras 2's `smart_resize` does, so the output always has the target size.

    Keras 3 changed the inference: its RandomCrop returns the images unchanged there (and draws a
    window only when the images are larger than it on both axes). A model file keeps the meaning
    of the Keras that wrote it: read from a Keras 3 file (`.keras`, HDF5 or JSON) the layer gets
    `crop_at_inference=False`; from a Keras 1/2 or tf-keras file, or built in code, True. Saving
    keeps the meaning: a `.keras` config names `crop_at_inference: true` (which Keras 3 refuses
    rather than predict other numbers), a Keras 2-form (HDF5, JSON) config
    `crop_at_inference: false` (which Keras 2 refuses).

    Args:
        height: the output height.
        width: the output width.
        crop_at_inference: True (Keras 2): crop and resize at inference; False (Keras 3): the
            images pass through unchanged at inference.

    Example:
        >>> RandomCrop(4, 4, seed=1)(np.zeros((2, 6, 8, 3)), training=True).shape
        (2, 4, 4, 3)
        >>> RandomCrop(4, 4, crop_at_inference=False)(np.zeros((2, 6, 8, 3)), training=False).shape
        (2, 6, 8, 3)
    """

    def __init__(self, height, width, seed=None, data_format=None, crop_at_inference=True, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for argument, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'Layer "{self.name}": {argument} must be a positive int, got {value!r}.')
        if not isinstance(crop_at_inference, bool):
            raise TypeError(f'Layer "{self.name}": crop_at_inference must be a bool, got {crop_at_inference!r}.')
        self.height, self.width = height, width
        self.crop_at_inference = crop_at_inference

    def augment(self, images):
        _, in_height, in_width, _ = images.shape
        if self.crop_at_inference:  # Keras 2 draws a window whenever one fits
            window_fits = in_height >= self.height and in_width >= self.width
        else:  # Keras 3 only when the images are larger on both axes
            window_fits = in_height > self.height and in_width > self.width
        if not window_fits:
            return self._center_crop_and_resize(images)
        top = ops.cast(ops.floor(self.uniform((), 0.0, float(in_height - self.height + 1))), "int32")
        left = ops.cast(ops.floor(self.uniform((), 0.0, float(in_width - self.width + 1))), "int32")
        rows = ops.minimum(top + ops.arange(self.height, dtype="int32"), in_height - 1)
        cols = ops.minimum(left + ops.arange(self.width, dtype="int32"), in_width - 1)
        return ops.take(ops.take(images, rows, axis=1), cols, axis=2)

    def inference(self, images):
        # Keras 3 declares the cropped shape whatever it returns, and builds the layers after it for
        # that shape: shape inference (a functional model being traced) gets it too.
        if self.crop_at_inference or _call_context().symbolic:
            return self._center_crop_and_resize(images)
        return images

    def _center_crop_and_resize(self, images):
        _, in_height, in_width, _ = images.shape
        crop_height = max(min(in_height, int(in_width * self.height / self.width)), 1)
        crop_width = max(min(in_width, int(in_height * self.width / self.height)), 1)
        top, left = (in_height - crop_height) // 2, (in_width - crop_width) // 2
        images = images[:, top : top + crop_height, left : left + crop_width, :]
        if (crop_height, crop_width) == (self.height, self.width):
            return images
        return _image_ops.resize(images, self.height, self.width)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        rows = len(shape) - 3 if self.data_format == "channels_last" else len(shape) - 2
        shape[rows], shape[rows + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        """The Keras 2-form config; `crop_at_inference` only when False (Keras 3's meaning, see the class)."""
        config = {**super().get_config(), "height": self.height, "width": self.width}
        if not self.crop_at_inference:
            config["crop_at_inference"] = False
        return config

    def keras3_layer_config(self, config: dict) -> dict:
        """The `.keras` form of `config`: `crop_at_inference` only when True (Keras 2's meaning)."""
        config = {key: value for key, value in config.items() if key != "crop_at_inference"}
        if self.crop_at_inference:
            config["crop_at_inference"] = True
        return config

    @classmethod
    def from_config(cls, config_dict: dict):
        """Without `crop_at_inference`, the meaning of the Keras that wrote the config (see the class)."""
        from lamina.saving.serialization import reading_keras3

        config_dict = dict(config_dict)
        config_dict.setdefault("crop_at_inference", not reading_keras3())
        return super().from_config(config_dict)


class _RandomLength(BaseImageAugmentationLayer):
    """RandomHeight / RandomWidth: resizes one axis by a random factor.

    The new length sets the output's shape, so it is drawn in Python for each call; a jitted
    step draws it once, when it is traced.
    """

    _AXIS = 1

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        self._range = checked_range(self.name, "factor", factor, (-1.0, None))
        self.interpolation = _checked_choice(self.name, "interpolation", interpolation, _image_ops.INTERPOLATIONS)
        self._rng = numpy_rng(seed)

    def augment(self, images):
        _, height, width, _ = images.shape
        length = (height, width)[self._AXIS - 1]
        new_length = max(int(length * (1.0 + float(self._rng.uniform(*self._range)))), 1)
        size = (new_length, width) if self._AXIS == 1 else (height, new_length)
        return _image_ops.resize(images, *size, interpolation=self.interpolation)

    def get_config(self) -> dict:
        config = {**super().get_config(), "factor": self.factor, "interpolation": self.interpolation}
        config.pop("data_format")
        return config


class RandomHeight(_RandomLength):
    """Scales each batch's height by a random factor in training (Keras 2's layer).

    Args:
        factor: `f` means a factor in [1 - f, 1 + f], a pair `(low, high)` the range [1 + low, 1 + high].
        interpolation: "bilinear" or "nearest".

    Example:
        >>> RandomHeight(0.5, seed=1)(np.zeros((1, 8, 8, 1)), training=True).shape[2]
        8
    """

    _AXIS = 1


class RandomWidth(_RandomLength):
    """Scales each batch's width by a random factor in training (Keras 2's layer).

    Example:
        >>> RandomWidth(0.5, seed=1)(np.zeros((1, 8, 8, 1)), training=True).shape[1]
        8
    """

    _AXIS = 2


__all__ = [
    "RandomCrop",
    "RandomFlip",
    "RandomHeight",
    "RandomRotation",
    "RandomShear",
    "RandomTranslation",
    "RandomWidth",
    "RandomZoom",
]
