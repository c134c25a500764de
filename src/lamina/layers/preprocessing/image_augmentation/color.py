"""Colour and intensity augmentation layers.

`value_range` says what range the images' values use (`(0, 255)` or `(0, 1)`, ...);
results are clipped to it. All but AutoContrast pass images through at inference.
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.layers.preprocessing.image_augmentation import _image_ops
from lamina.layers.preprocessing.image_augmentation._base import (
    BaseImageAugmentationLayer,
    checked_range,
    checked_value_range,
    from_unit_range,
    to_unit_range,
)


class _RangedLayer(BaseImageAugmentationLayer):
    """A layer with a `factor` range and a `value_range`."""

    _BOUNDS = (-1.0, 1.0)
    _SYMMETRIC = True

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, self._BOUNDS, self._SYMMETRIC)
        self.value_range = checked_value_range(self.name, value_range)

    def per_image(self, batch: int):
        """One draw from `factor` per image, shaped (batch, 1, 1, 1)."""
        return self.uniform((batch, 1, 1, 1), *self.factor)

    def clip(self, images):
        return ops.clip(images, *self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomContrast(_RangedLayer):
    """Scales each image's deviation from its per-channel mean by a factor in [1 - low, 1 + high].

    Args:
        factor: `f` means [1 - f, 1 + f]; a pair `(low, high)` means [1 - low, 1 + high].
        value_range: the images' range; results are clipped to it.

    Example:
        >>> RandomContrast(0.5, seed=1)(np.full((1, 4, 4, 3), 100.0), training=True)  # a flat image stays flat
    """

    _BOUNDS = (0.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def augment(self, images):
        low, high = self.factor
        scale = self.uniform((images.shape[0], 1, 1, 1), 1.0 - low, 1.0 + high)
        mean = ops.mean(images, axis=(1, 2), keepdims=True)
        return self.clip((images - mean) * scale + mean)


class RandomBrightness(_RangedLayer):
    """Adds to each image a random delta: a fraction in `factor` of the value range's width.

    Example:
        >>> RandomBrightness(0.2, seed=1)(np.full((1, 4, 4, 3), 100.0), training=True)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def augment(self, images):
        low, high = self.value_range
        return self.clip(images + self.per_image(images.shape[0]) * (high - low))


class AutoContrast(BaseImageAugmentationLayer):
    """Stretches each image's channels so their minimum and maximum span the value range (always on).

    Example:
        >>> AutoContrast(value_range=(0, 255))(np.array([[[[50.0], [100.0]]]]))  # -> [[[[0.], [255.]]]]
    """

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)

    def augment(self, images):
        low = ops.min(images, axis=(1, 2), keepdims=True)
        high = ops.max(images, axis=(1, 2), keepdims=True)
        spread = high - low
        stretched = (images - low) / ops.where(ops.greater(spread, 0), spread, ops.ones_like(spread))
        stretched = from_unit_range(ops.clip(stretched, 0.0, 1.0), self.value_range)
        return ops.where(ops.greater(spread, 0), stretched, images)

    inference = augment

    def get_config(self) -> dict:
        config = {**super().get_config(), "value_range": self.value_range}
        config.pop("seed")
        return config


class Solarization(BaseImageAugmentationLayer):
    """Adds a random amount to each image, then inverts the values above a random threshold.

    On the 0-255 scale: `x + addition`, clipped, then `255 - v` where `v >= threshold`.

    Args:
        addition_factor: the fraction of 255 added: `f` means [0, f], or a pair.
        threshold_factor: the threshold as a fraction of 255: `f` means [0, f], or a pair.
        value_range: the images' range.

    Example:
        >>> Solarization(threshold_factor=(0.5, 0.5))(np.array([[[[10.0], [200.0]]]]))  # -> 10, 55
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = checked_range(self.name, "addition_factor", addition_factor, (0.0, 1.0), False)
        self.threshold_factor = checked_range(self.name, "threshold_factor", threshold_factor, (0.0, 1.0), False)
        self.value_range = checked_value_range(self.name, value_range)

    def augment(self, images):
        batch = images.shape[0]
        additions = self.uniform((batch, 1, 1, 1), *self.addition_factor) * 255.0
        thresholds = self.uniform((batch, 1, 1, 1), *self.threshold_factor) * 255.0
        scaled = ops.clip(to_unit_range(images, self.value_range) * 255.0 + additions, 0.0, 255.0)
        solarized = ops.where(ops.less(scaled, thresholds), scaled, 255.0 - scaled)
        return from_unit_range(solarized / 255.0, self.value_range)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "addition_factor": self.addition_factor,
            "threshold_factor": self.threshold_factor,
        }


class RandomColorDegeneration(_RangedLayer):
    """Blends each image with its grayscale version: `x + f * (gray - x)`, `f` drawn from `factor`.

    Example:
        >>> RandomColorDegeneration((1.0, 1.0))(images)  # fully gray
    """

    def augment(self, images):
        factor = self.per_image(images.shape[0])
        return self.clip(images + factor * (_image_ops.grayscale(images) - images))


class RandomInvert(_RangedLayer):
    """Inverts each image (`low + high - x`) with a probability drawn from `factor`.

    Example:
        >>> RandomInvert((1.0, 1.0))(np.array([[[[0.0], [55.0]]]]))  # -> 255, 200
    """

    _BOUNDS = (0.0, 1.0)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def augment(self, images):
        probability = self.per_image(images.shape[0])
        invert = ops.less(self.uniform(probability.shape), probability)
        low, high = self.value_range
        return ops.where(invert, low + high - images, images)


class RandomPosterization(_RangedLayer):
    """Keeps only the top `bits` bits of each 8-bit value, `bits` drawn from [low, high) per image.

    Args:
        factor: `b` means bits in [1, b]; a pair `(low, high)` of ints in [1, 8].

    Example:
        >>> RandomPosterization((4, 4))(np.array([[[[255.0], [17.0]]]]))  # -> 240, 16
    """

    _BOUNDS = (1.0, 8.0)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            factor = (1, factor)
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)
        self.factor = tuple(int(f) for f in self.factor)

    def augment(self, images):
        low, high = self.factor
        bits = float(low) if low == high else ops.floor(self.uniform((images.shape[0], 1, 1, 1), low, high))
        step = ops.power(2.0, 8.0 - bits)
        levels = ops.floor(ops.clip(to_unit_range(images, self.value_range) * 255.0, 0.0, 255.0))
        return from_unit_range(ops.floor(levels / step) * step / 255.0, self.value_range)


class RandomGrayscale(BaseImageAugmentationLayer):
    """Turns each image to grayscale (kept in 3 channels) with probability `factor`.

    Example:
        >>> RandomGrayscale(1.0)(np.ones((1, 2, 2, 3)), training=True).shape
        (1, 2, 2, 3)
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ValueError(f'Layer "{self.name}": factor must be a number in [0, 1], got {factor!r}.')
        self.factor = factor

    def augment(self, images):
        gray = ops.broadcast_to(_image_ops.grayscale(images), tuple(images.shape))
        return ops.where(self.coin(images.shape[0], self.factor), gray, images)

    def get_config(self) -> dict:
        config = {**super().get_config(), "factor": self.factor}
        config.pop("seed")
        return config


class RandomSaturation(_RangedLayer):
    """Scales each image's HSV saturation by `f / (1 - f)`, `f` drawn from `factor` (0.5: unchanged).

    Example:
        >>> RandomSaturation((0.0, 0.0))(images)  # grayscale
    """

    def augment(self, images):
        factor = self.uniform((images.shape[0], 1, 1), *self.factor)
        factor = factor / (1.0 - factor + 1e-7)
        hsv = _image_ops.rgb_to_hsv(images)
        saturation = ops.clip(hsv[..., 1] * factor, 0.0, 1.0)
        return _image_ops.hsv_to_rgb(ops.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1))


class RandomHue(_RangedLayer):
    """Turns each image's hue by a random fraction (up to half a turn) in a random direction.

    Example:
        >>> RandomHue((0.5, 0.5), value_range=(0, 1))(images)
    """

    _BOUNDS = (0.0, 1.0)

    def augment(self, images):
        batch = images.shape[0]
        sign = ops.where(ops.greater(self.uniform((batch, 1, 1)), 0.5), -1.0, 1.0)
        shift = sign * self.uniform((batch, 1, 1), *self.factor) * 0.5
        hsv = _image_ops.rgb_to_hsv(to_unit_range(images, self.value_range))
        hue = hsv[..., 0] + shift
        hue = hue - ops.floor(hue)
        rgb = _image_ops.hsv_to_rgb(ops.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
        return from_unit_range(ops.clip(rgb, 0.0, 1.0), self.value_range)


class RandomSharpness(_RangedLayer):
    """Blends each image with a smoothed copy: sharper for factors above 0.5, softer below.

    Example:
        >>> RandomSharpness((0.5, 0.5))(images)  # unchanged
    """

    _BOUNDS = (0.0, 1.0)

    def augment(self, images):
        strength = self.per_image(images.shape[0]) * 2.0
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.array([[a, a, a], [a, b, a], [a, a, a]], dtype="float32")
        smoothed = _image_ops.depthwise_filter(images, kernel)
        return self.clip(images + (1.0 - strength) * (smoothed - images))


class RandomColorJitter(BaseImageAugmentationLayer):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in turn (those given).

    Example:
        >>> RandomColorJitter(brightness_factor=0.2, hue_factor=0.1)(images, training=True)
    """

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        steps = [
            (RandomBrightness, brightness_factor),
            (RandomContrast, contrast_factor),
            (RandomSaturation, saturation_factor),
            (RandomHue, hue_factor),
        ]
        self._steps = [
            cls(factor, value_range=self.value_range, seed=seed, data_format="channels_last")
            for cls, factor in steps
            if factor is not None
        ]

    def augment(self, images):
        for step in self._steps:
            images = step.augment(images)
        return images

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
        }


class Equalization(BaseImageAugmentationLayer):
    """Equalizes each image's channels' histograms in training (`bins` bins over the value range).

    Example:
        >>> Equalization()(images, training=True)
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f'Layer "{self.name}": bins must be an int >= 2, got {bins!r}.')
        self.bins = bins

    def augment(self, images):
        batch, height, width, channels = images.shape
        scaled = to_unit_range(images, self.value_range) * 255.0
        index = ops.cast(ops.clip(scaled * ((self.bins - 1) / 255.0), 0, self.bins - 1), "int32")
        index = ops.reshape(index, (batch, height * width, channels))
        out = []
        for channel in range(channels):
            out.append(self._equalize(ops.reshape(scaled[..., channel], (batch, -1)), index[..., channel]))
        equalized = ops.reshape(ops.stack(out, axis=-1), (batch, height, width, channels))
        return from_unit_range(equalized / 255.0, self.value_range)

    def _equalize(self, values, index):
        """One channel of each image, flat (N, P), equalized on the 0-255 scale."""
        # One comparison against every bin edge: (N, P, bins) booleans, summed over pixels.
        edges = ops.reshape(ops.arange(self.bins, dtype="int32"), (1, 1, self.bins))
        cdf = ops.sum(ops.cast(ops.less_equal(ops.expand_dims(index, -1), edges), "float32"), axis=1)
        counts = cdf - ops.concatenate([ops.zeros_like(cdf[:, :1]), cdf[:, :-1]], axis=1)
        occupied = ops.sum(ops.cast(ops.greater(counts, 0), "float32"), axis=1, keepdims=True)
        cdf_min = ops.min(ops.where(ops.greater(cdf, 0), cdf, cdf[:, -1:]), axis=1, keepdims=True)
        denominator = cdf[:, -1:] - cdf_min
        denominator = ops.where(ops.equal(denominator, 0), ops.ones_like(denominator), denominator)
        table = ops.clip(ops.round((cdf - cdf_min) * 255.0 / denominator), 0.0, 255.0)
        mapped = ops.take_along_axis(table, index, axis=1)
        return ops.where(ops.greater(occupied, 1), mapped, values)

    def get_config(self) -> dict:
        config = {**super().get_config(), "bins": self.bins, "value_range": self.value_range}
        config.pop("seed")
        return config
