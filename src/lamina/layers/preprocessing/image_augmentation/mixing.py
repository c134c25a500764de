"""Augmentations that mix images or paint over them: MixUp, CutMix, RandomErasing, RandomGaussianBlur.

MixUp and CutMix take `{"images": ..., "labels": ...}` to mix one-hot labels with the same
weights (a plain array of images mixes images only).
"""

from __future__ import annotations

from lamina import ops
from lamina.layers.preprocessing.image_augmentation import _image_ops
from lamina.layers.preprocessing.image_augmentation._base import (
    BaseImageAugmentationLayer,
    augmenting,
    checked_range,
    checked_value_range,
)

_GAMMA_TRIES = 12  # Marsaglia-Tsang accepts each try with probability > 0.95: 12 tries all fail < 1e-15


def random_gamma(layer, shape, alpha):
    """Gamma(alpha, 1) draws, jit-friendly: Marsaglia-Tsang with a fixed number of tries.

    For alpha < 1, Gamma(alpha) = Gamma(alpha + 1) * U ** (1 / alpha).
    """
    alpha = ops.broadcast_to(ops.cast(ops.convert_to_tensor(alpha), "float32"), shape)
    boost = ops.less(alpha, 1.0)
    d = ops.where(boost, alpha + 1.0, alpha) - 1.0 / 3.0
    c = 1.0 / ops.sqrt(9.0 * d)
    result = ops.zeros(shape)
    done = ops.zeros(shape, dtype="bool")
    for _ in range(_GAMMA_TRIES):
        normal = layer.normal(shape)
        u = layer.uniform(shape, 1e-12, 1.0)
        v = (1.0 + c * normal) ** 3
        safe_v = ops.where(ops.greater(v, 0.0), v, ops.ones_like(v))
        accept = ops.logical_and(
            ops.greater(v, 0.0), ops.less(ops.log(u), 0.5 * normal**2 + d - d * safe_v + d * ops.log(safe_v))
        )
        result = ops.where(ops.logical_and(accept, ops.logical_not(done)), d * safe_v, result)
        done = ops.logical_or(done, accept)
    scale = layer.uniform(shape, 1e-12, 1.0) ** (1.0 / alpha)
    return ops.where(boost, result * scale, result)


def random_beta(layer, shape, alpha):
    """Beta(alpha, alpha) draws from two Gamma draws."""
    first, second = random_gamma(layer, shape, alpha), random_gamma(layer, shape, alpha)
    return first / (first + second)


def random_permutation(layer, size: int):
    """A random order of `range(size)`: the ranks of `size` uniform draws."""
    draws = layer.uniform((size,))
    ranks = ops.sum(ops.cast(ops.less(ops.expand_dims(draws, 0), ops.expand_dims(draws, 1)), "int32"), axis=1)
    return ranks


class _PairMixingLayer(BaseImageAugmentationLayer):
    """MixUp/CutMix: a per-image weight and mask against a shuffled partner, for images and labels."""

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            if "images" not in inputs:
                raise ValueError(
                    f'Layer "{self.name}" takes a dict with key "images" (and "labels"), got {sorted(inputs)}.'
                )
            if not augmenting(training):
                return dict(inputs)
            images = ops.cast(inputs["images"], self.dtype)
            mixed, weight, order = self._mix(images)
            out = dict(inputs, images=mixed)
            if inputs.get("labels") is not None:
                labels = ops.cast(inputs["labels"], "float32")
                weight = ops.reshape(weight, (-1, 1))
                out["labels"] = weight * labels + (1.0 - weight) * ops.take(labels, order, axis=0)
            return out
        return super().call(inputs, training=training)

    def augment(self, images):
        return self._mix(images)[0]

    def compute_output_shape(self, input_shape):
        return input_shape


class MixUp(_PairMixingLayer):
    """Blends each image (and label) with another of the batch, weight drawn from Beta(alpha, alpha).

    Example:
        >>> out = MixUp(alpha=0.2)({"images": images, "labels": one_hot_labels}, training=True)
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f'Layer "{self.name}": alpha must be a number > 0, got {alpha!r}.')
        self.alpha = float(alpha)

    def _mix(self, images):
        batch = images.shape[0]
        order = random_permutation(self, batch)
        weight = random_beta(self, (batch,), self.alpha)
        w = ops.reshape(weight, (batch, 1, 1, 1))
        return w * images + (1.0 - w) * ops.take(images, order, axis=0), weight, order

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


def _boxes(layer, batch: int, height: int, width: int, ratio_y, ratio_x):
    """A (N, H, W, 1) bool mask of one box per image, of sides `ratio * size`, at a random place."""
    grid_y = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1, 1))
    grid_x = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width, 1))
    corners = []
    for ratio, length in ((ratio_x, width), (ratio_y, height)):
        side = ratio * length
        start = layer.uniform((batch,)) * (length - side)
        corners.append((ops.reshape(start, (batch, 1, 1, 1)), ops.reshape(start + side, (batch, 1, 1, 1))))
    (x0, x1), (y0, y1) = corners
    inside_x = ops.logical_and(ops.greater_equal(grid_x, x0), ops.less(grid_x, x1))
    inside_y = ops.logical_and(ops.greater_equal(grid_y, y0), ops.less(grid_y, y1))
    return ops.logical_and(inside_x, inside_y)


class CutMix(_PairMixingLayer):
    """Pastes a random box from another image of the batch; labels mix by the box's area.

    The box's area fraction is `1 - w`, with `w` from Beta(a, a) and `a` drawn from `factor`.

    Example:
        >>> out = CutMix(seed=1)({"images": images, "labels": one_hot_labels}, training=True)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, (0.0, None), symmetric=False)

    def _mix(self, images):
        batch, height, width, _ = images.shape
        alpha = self.uniform((batch,), *self.factor) + 1e-6
        ratio = ops.sqrt(1.0 - random_beta(self, (batch,), alpha))
        mask = _boxes(self, batch, height, width, ratio, ratio)
        order = random_permutation(self, batch)
        mixed = ops.where(mask, ops.take(images, order, axis=0), images)
        weight = 1.0 - ops.mean(ops.cast(mask, "float32"), axis=(1, 2, 3))
        return mixed, weight, order

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomErasing(BaseImageAugmentationLayer):
    """Fills a random box of each image (with a probability drawn from `factor`).

    Args:
        factor: the probability range of erasing an image.
        scale: the range of each side's fraction squared (area-like), as in Keras.
        fill_value: a number, three numbers (per channel), or None for Gaussian noise scaled by the range's top.
        value_range: the images' range.

    Example:
        >>> RandomErasing(factor=1.0, fill_value=0.0, seed=1)(images, training=True)
    """

    def __init__(
        self,
        factor=1.0,
        scale=(0.02, 0.33),
        fill_value=None,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        self.scale = checked_range(self.name, "scale", scale, (0.0, 1.0), symmetric=False)
        if fill_value is not None and not isinstance(fill_value, (int, float, list, tuple)):
            raise ValueError(
                f'Layer "{self.name}": fill_value must be None, a number or 3 numbers, got {fill_value!r}.'
            )
        self.fill_value = fill_value
        self.value_range = checked_value_range(self.name, value_range)

    def augment(self, images):
        batch, height, width, _ = images.shape
        sides = ops.sqrt(self.uniform((batch, 2), *self.scale))
        mask = _boxes(self, batch, height, width, sides[:, 1], sides[:, 0])
        probability = self.uniform((batch, 1, 1, 1), *self.factor)
        apply = ops.less(self.uniform((batch, 1, 1, 1)), probability)
        if self.fill_value is None:
            fill = self.normal(images.shape) * self.value_range[1]
        else:
            fill = ops.convert_to_tensor(self.fill_value, dtype="float32")
        return ops.where(ops.logical_and(mask, apply), fill, images)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
        }


class RandomGaussianBlur(BaseImageAugmentationLayer):
    """Blurs each image (with a probability drawn from `factor`) by a Gaussian of random sigma.

    Example:
        >>> RandomGaussianBlur(factor=1.0, sigma=(1.0, 1.0))(images, training=True)
    """

    def __init__(
        self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if len(size) != 2 or not all(isinstance(k, int) and k > 0 for k in size):
            raise ValueError(f'Layer "{self.name}": kernel_size must be an int or two ints > 0, got {kernel_size!r}.')
        self.kernel_size = size
        self.sigma = checked_range(self.name, "sigma", sigma, (0.0, None), symmetric=False)
        self.value_range = checked_value_range(self.name, value_range)

    def _kernel_1d(self, size: int, sigma):
        x = ops.arange(size, dtype="float32") - (size - 1) / 2.0
        weights = ops.exp(-0.5 * (x / sigma) ** 2)
        return weights / ops.sum(weights)

    def augment(self, images):
        batch = images.shape[0]
        probability = self.uniform((batch, 1, 1, 1), *self.factor)
        apply = ops.less(self.uniform((batch, 1, 1, 1)), probability)
        sigma = self.uniform((2,), *self.sigma) + 1e-6
        kernel_x = self._kernel_1d(self.kernel_size[0], sigma[0])
        kernel_y = self._kernel_1d(self.kernel_size[1], sigma[1])
        kernel = ops.expand_dims(kernel_y, 1) * ops.expand_dims(kernel_x, 0)
        blurred = _image_ops.depthwise_filter(images, kernel)
        return ops.clip(ops.where(apply, blurred, images), *self.value_range)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "kernel_size": self.kernel_size,
            "sigma": self.sigma,
            "value_range": self.value_range,
        }
