"""Composite and warping augmentations: RandAugment, AugMix, RandomPerspective,
RandomElasticTransform, Pipeline and MaxNumBoundingBoxes.
"""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.image_augmentation import _image_ops, color, geometric
from lamina.layers.preprocessing.image_augmentation._base import (
    BaseImageAugmentationLayer,
    checked_range,
    checked_value_range,
)
from lamina.layers.preprocessing.image_augmentation.mixing import random_beta, random_gamma


def _operations(strength: float, value_range, interpolation: str, seed):
    """The RandAugment/AugMix operation set at one strength in [0, 1]."""
    s = max(float(strength), 1e-6)
    common = {"seed": seed, "data_format": "channels_last"}
    fill = {"fill_mode": "constant", "interpolation": interpolation, **common}
    return [
        geometric.RandomRotation((-s / 12, s / 12), **fill),  # up to 30 degrees
        geometric.RandomShear(x_factor=s * 0.3, **fill),
        geometric.RandomShear(y_factor=s * 0.3, **fill),
        geometric.RandomTranslation((-s * 0.3, s * 0.3), (0.0, 0.0), **fill),
        geometric.RandomTranslation((0.0, 0.0), (-s * 0.3, s * 0.3), **fill),
        color.AutoContrast(value_range=value_range, data_format="channels_last"),
        color.Equalization(value_range=value_range, data_format="channels_last"),
        color.Solarization(threshold_factor=(1.0 - s, 1.0), value_range=value_range, **common),
        color.RandomPosterization((max(1, int(8 - 4 * s)), 8), value_range=value_range, **common),
        color.RandomColorDegeneration((-s, s), value_range=value_range, **common),
        color.RandomContrast((min(s, 1.0), min(s, 1.0)), value_range=value_range, **common),
        color.RandomBrightness((-s * 0.5, s * 0.5), value_range=value_range, **common),
        color.RandomSharpness((0.5 - s / 2, 0.5 + s / 2), value_range=value_range, **common),
    ]


def _apply_one(layer, operations, images):
    """Each image through one operation picked at random (all are computed; one is kept per image)."""
    batch = images.shape[0]
    choice = ops.floor(layer.uniform((batch, 1, 1, 1), 0.0, float(len(operations))))
    out = images
    for index, operation in enumerate(operations):
        out = ops.where(ops.equal(choice, float(index)), operation.augment(images), out)
    return out


class RandAugment(BaseImageAugmentationLayer):
    """Applies `num_ops` operations, each picked at random per image, at a strength drawn from `factor`.

    The strength is drawn once, when the layer is made, from `factor` (a range in [0, 1]).

    Example:
        >>> RandAugment(value_range=(0, 255), num_ops=2, seed=1)(images, training=True)
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_ops=2,
        factor=0.5,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f'Layer "{self.name}": num_ops must be an int >= 0, got {num_ops!r}.')
        self.num_ops, self.interpolation = num_ops, interpolation
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        self._operations = _operations(sum(self.factor) / 2, self.value_range, interpolation, seed)

    def augment(self, images):
        for _ in range(self.num_ops):
            images = _apply_one(self, self._operations, images)
        return images

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_ops": self.num_ops,
            "factor": self.factor,
            "interpolation": self.interpolation,
        }


class AugMix(BaseImageAugmentationLayer):
    """Mixes `num_chains` chains of random operations (Dirichlet weights), then with the image (Beta weight).

    Example:
        >>> AugMix(value_range=(0, 255), seed=1)(images, training=True)
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_chains=3,
        chain_depth=3,
        factor=0.3,
        alpha=1.0,
        all_ops=True,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)
        self.num_chains, self.alpha, self.all_ops, self.interpolation = num_chains, float(alpha), all_ops, interpolation
        self.chain_depth = chain_depth
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        operations = _operations(sum(self.factor) / 2, self.value_range, interpolation, seed)
        self._operations = operations if all_ops else operations[:-4]

    def augment(self, images):
        batch = images.shape[0]
        weights = random_gamma(self, (batch, self.num_chains), self.alpha)
        weights = weights / ops.sum(weights, axis=1, keepdims=True)
        depths = self.chain_depth if isinstance(self.chain_depth, (list, tuple)) else (1, self.chain_depth)
        mixed = ops.zeros_like(images)
        for chain in range(self.num_chains):
            out = images
            for _ in range(int(max(depths))):
                out = _apply_one(self, self._operations, out)
            mixed = mixed + ops.reshape(weights[:, chain], (batch, 1, 1, 1)) * out
        keep = ops.reshape(random_beta(self, (batch,), self.alpha), (batch, 1, 1, 1))
        return ops.clip(keep * images + (1.0 - keep) * mixed, *self.value_range)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": self.factor,
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
        }


def _square_to_quad(corners):
    """The projective map from the unit square onto quadrilaterals `corners` (N, 4, 2), as 8 (N,) arrays.

    Corners are ordered (0, 0), (1, 0), (0, 1), (1, 1) in (u, v); the closed form is Heckbert's.
    """
    (x0, y0), (x1, y1), (x3, y3), (x2, y2) = [(corners[:, k, 0], corners[:, k, 1]) for k in range(4)]
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    det = dx1 * dy2 - dx2 * dy1
    det = ops.where(ops.equal(det, 0.0), ops.ones_like(det), det)
    g = (dx3 * dy2 - dx2 * dy3) / det
    h = (dx1 * dy3 - dx3 * dy1) / det
    return (x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h)


class RandomPerspective(BaseImageAugmentationLayer):
    """Warps each image (with a probability drawn from `factor`) by a random perspective transform.

    Each corner at pixel position `p` moves to `p * (1 + d)`, `d` drawn per coordinate from
    `[-scale / 2, scale / 2]` (so the top-left corner stays), as Keras draws them; the output
    shows the input's quadrilateral spanned by the moved corners, outside filled with `fill_value`.

    Example:
        >>> RandomPerspective(factor=1.0, scale=0.3, seed=1)(images, training=True)
    """

    def __init__(
        self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None, data_format=None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 1:
            raise ValueError(f'Layer "{self.name}": scale must be a number in [0, 1], got {scale!r}.')
        self.scale, self.interpolation, self.fill_value = scale, interpolation, float(fill_value)

    def augment(self, images):
        batch, height, width, _ = images.shape
        apply = ops.less(self.uniform((batch, 1, 1, 1)), self.uniform((batch, 1, 1, 1), *self.factor))
        corners = ops.convert_to_tensor(
            [[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0], [width - 1.0, height - 1.0]]
        )
        moved = corners * (1.0 + self.uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale))
        a, b, c, d, e, f, g, h = (ops.reshape(t, (batch, 1, 1)) for t in _square_to_quad(moved))
        u = ops.reshape(ops.arange(width, dtype="float32") / max(width - 1, 1), (1, 1, width))
        v = ops.reshape(ops.arange(height, dtype="float32") / max(height - 1, 1), (1, height, 1))
        scale = g * u + h * v + 1.0
        cols = (a * u + b * v + c) / scale
        rows = (d * u + e * v + f) / scale
        warped = _image_ops.sample(images, rows, cols, self.interpolation, "constant", self.fill_value)
        return ops.where(apply, warped, images)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomElasticTransform(BaseImageAugmentationLayer):
    """Displaces pixels by a smooth random field (Gaussian-smoothed noise), with a probability.

    A distortion `s` is drawn from `scale` per call; the field is Gaussian noise smoothed with
    sigma `0.05 * s * min(height, width)` and scaled by `0.1 * s * max(height, width)`, as in Keras.

    Args:
        factor: the probability range of transforming an image.
        scale: the range of the distortion `s` in [0, 1].

    Example:
        >>> RandomElasticTransform(factor=1.0, scale=0.5, seed=1)(images, training=True)
    """

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = checked_range(self.name, "factor", factor, (0.0, 1.0), symmetric=False)
        self.scale = checked_range(self.name, "scale", scale, (0.0, 1.0), symmetric=False)
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, float(fill_value)
        self.value_range = checked_value_range(self.name, value_range)

    def augment(self, images):
        batch, height, width, _ = images.shape
        if self.scale[1] == 0 or self.factor[1] == 0:
            return images
        apply = ops.less(self.uniform((batch, 1, 1, 1)), self.uniform((batch, 1, 1, 1), *self.factor))
        distortion = self.uniform((), *self.scale)
        sigma = ops.maximum(0.05 * min(height, width) * distortion, 1e-3)
        size = int(6 * 0.05 * min(height, width) * self.scale[1]) | 1  # the support for the largest sigma
        x = ops.arange(size, dtype="float32") - size // 2
        weights = ops.exp(-0.5 * (x / sigma) ** 2)
        weights = weights / ops.sum(weights)
        kernel = ops.expand_dims(weights, 1) * ops.expand_dims(weights, 0)
        field = _image_ops.depthwise_filter(self.normal((batch, height, width, 2)), kernel)
        field = field * (0.1 * max(height, width) * distortion)
        rows = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1)) + field[..., 0]
        cols = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width)) + field[..., 1]
        out = _image_ops.sample(images, rows, cols, self.interpolation, self.fill_mode, self.fill_value)
        return ops.clip(ops.where(apply, out, images), *self.value_range)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
        }


class MaxNumBoundingBoxes(Layer):
    """Pads or trims bounding boxes to `max_number` per image; images pass through.

    Bounding-box inputs (dicts) are not supported yet and raise a ValueError.

    Example:
        >>> MaxNumBoundingBoxes(max_number=4)(images) is images
    """

    def __init__(self, max_number, fill_value=-1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_number, bool) or not isinstance(max_number, int) or max_number < 1:
            raise ValueError(f'Layer "{self.name}": max_number must be a positive int, got {max_number!r}.')
        self.max_number, self.fill_value, self.data_format = max_number, fill_value, data_format or "channels_last"
        self.built = True

    def call(self, inputs):
        if isinstance(inputs, dict):
            raise ValueError(f'Layer "{self.name}": bounding-box inputs (dicts) are not supported by lamina yet.')
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "max_number": self.max_number, "data_format": self.data_format}


class Pipeline(Layer):
    """Applies `layers` in turn (to images, or to a dict of images and labels).

    Example:
        >>> Pipeline([RandomFlip(), RandomRotation(0.1)])(images, training=True)
    """

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.layers = list(layers)
        self.built = True

    def call(self, inputs, training=None):
        for layer in self.layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        from lamina.saving.serialization import serialize_layer

        return {**super().get_config(), "layers": [serialize_layer(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config_dict: dict):
        from lamina.saving.serialization import deserialize_layer

        config_dict = dict(config_dict)
        layers = [deserialize_layer(c) if isinstance(c, dict) else c for c in config_dict.pop("layers", [])]
        return super().from_config({**config_dict, "layers": layers})
