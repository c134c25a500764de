"""The shared base of the image augmentation layers: arguments, layout, randomness.

Each layer works on float images `(batch, height, width, channels)`: the base turns
single images and `channels_first` batches into that layout and back. Randomness comes
from the layer's SeedGenerator (a state variable), so a jitted train step draws new
parameters every step (DESIGN rule 4). As in Keras 3, a layer called without a
`training` flag augments; `predict`, `evaluate` and `training=False` pass images through.
"""

from __future__ import annotations

import math

from lamina import config, ops
from lamina.backend.common import SeedGenerator
from lamina.layers.layer import Layer, _call_context

_DATA_FORMATS = ("channels_last", "channels_first")


def checked_data_format(layer_name: str, data_format) -> str:
    """`data_format`, or the configured image data format when None."""
    if data_format is None:
        return config.image_data_format()
    if data_format not in _DATA_FORMATS:
        raise ValueError(f'Layer "{layer_name}": data_format must be one of {_DATA_FORMATS}, got {data_format!r}.')
    return data_format


def checked_range(layer_name: str, argument: str, value, bounds=(None, None), symmetric=True) -> tuple:
    """`value` as a sorted `(low, high)` pair; a single number `f` means `(-f, f)` (clamped to `bounds`)."""
    low_bound, high_bound = bounds
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise ValueError(f'Layer "{layer_name}": {argument} must be a number or two numbers, got {value!r}.')
        low, high = sorted(float(v) for v in value)
    elif _is_number(value):
        high = abs(float(value))
        low = -high if symmetric else 0.0
        if low_bound is not None:
            low = max(low, low_bound)
    else:
        raise ValueError(f'Layer "{layer_name}": {argument} must be a number or two numbers, got {value!r}.')
    if (low_bound is not None and low < low_bound) or (high_bound is not None and high > high_bound):
        raise ValueError(f'Layer "{layer_name}": {argument} must lie in [{low_bound}, {high_bound}], got {value!r}.')
    return low, high


def checked_value_range(layer_name: str, value_range) -> tuple:
    """`value_range` as `(low, high)` with low < high."""
    if (
        not isinstance(value_range, (list, tuple))
        or len(value_range) != 2
        or not all(_is_number(v) for v in value_range)
        or value_range[0] >= value_range[1]
    ):
        raise ValueError(
            f'Layer "{layer_name}": value_range must be two numbers (low, high) with low < high, got {value_range!r}.'
        )
    return tuple(value_range)


def augmenting(training) -> bool:
    """Whether a call augments: in training, or with no flag (Keras 3's default), but never while
    a functional model is being traced for shapes (that would draw, and move the seed, for nothing)."""
    if _call_context().symbolic:
        return False
    return training is None or bool(training)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class BaseImageAugmentationLayer(Layer):
    """Turns inputs into float NHWC batches, calls `augment` in training, and restores the layout.

    Subclasses implement `augment(images)` (and `inference(images)` when inference is not the
    identity) on float `(batch, height, width, channels)` arrays.

    Args:
        seed: an int for a fixed stream of random draws.
        data_format: "channels_last" or "channels_first" (None: the configured image data format).
    """

    def __init__(self, seed=None, data_format=None, rng_type=None, **kwargs):
        # rng_type: Keras 2's choice of TF random generator, accepted from its files and ignored.
        super().__init__(**kwargs)
        self.data_format = checked_data_format(self.name, data_format)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.built = True

    # ---------------------------------------------------------------- layout
    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            raise ValueError(
                f'Layer "{self.name}" takes an array of images; dicts of images with labels, bounding boxes or '
                f"segmentation masks are not supported yet (MixUp and CutMix take images and labels). Got keys "
                f"{sorted(inputs)}."
            )
        images = ops.cast(inputs, self.dtype)
        if len(images.shape) not in (3, 4):
            raise ValueError(
                f'Layer "{self.name}" expects images of rank 3 or 4 (one image or a batch), got shape '
                f"{tuple(inputs.shape)}."
            )
        single = len(images.shape) == 3
        if single:
            images = ops.expand_dims(images, 0)
        if self.data_format == "channels_first":
            images = ops.transpose(images, (0, 2, 3, 1))
        outputs = self.augment(images) if augmenting(training) else self.inference(images)
        if self.data_format == "channels_first":
            outputs = ops.transpose(outputs, (0, 3, 1, 2))
        return outputs[0] if single else outputs

    def augment(self, images):
        """The augmented batch (float NHWC)."""
        raise NotImplementedError

    def inference(self, images):
        """The output at inference: the images themselves."""
        return images

    # ------------------------------------------------------------ randomness
    def uniform(self, shape, low=0.0, high=1.0):
        """Uniform draws in [low, high) from this layer's seed state."""
        return low + (high - low) * self._draw(ops.random.uniform, shape)

    def normal(self, shape):
        """Standard normal draws from this layer's seed state."""
        return self._draw(ops.random.normal, shape)

    def _draw(self, sampler, shape):
        # Draws come in power-of-two sizes, then are cut to shape: eager JAX compiles the random
        # kernel once per size, so a few sizes serve every layer and batch.
        shape = tuple(shape)
        count = int(math.prod(shape))
        size = max(8, 2 ** math.ceil(math.log2(max(count, 1))))
        return ops.reshape(sampler((size,), dtype="float32", seed=self.seed_generator)[:count], shape)

    def coin(self, batch: int, probability):
        """A `(batch, 1, 1, 1)` bool array, each entry True with `probability`."""
        return ops.less(self.uniform((batch, 1, 1, 1)), probability)

    # ----------------------------------------------------------------- shape
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed}


def to_unit_range(images, value_range):
    """Images from `value_range` to [0, 1]."""
    low, high = value_range
    return (images - low) / (high - low)


def from_unit_range(images, value_range):
    """Images from [0, 1] back to `value_range`."""
    low, high = value_range
    return images * (high - low) + low
