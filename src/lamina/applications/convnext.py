"""ConvNeXt (Liu et al., 2022, "A ConvNet for the 2020s") as Keras 3 builds it: the same layers, names and weights.

Keras 3 defines two layers of its own for these models, `StochasticDepth` and `LayerScale`; lamina's have the same
class names, weights and configs, and load without `custom_objects`. The models normalize their inputs themselves
(`include_preprocessing=True`): give them RGB pixels in [0, 255]; `preprocess_input` passes its input through.

Example:
    >>> model = ConvNeXtTiny(weights="imagenet")
    >>> decode_predictions(model.predict(images))  # images: (batch, 224, 224, 3), values in [0, 255]
"""

from __future__ import annotations

from functools import partial

import numpy as np

from lamina import config, initializers, layers, ops
from lamina.applications import imagenet_utils
from lamina.applications._heads import global_pool
from lamina.backend.common import SeedGenerator, unique_name
from lamina.layers.layer import Layer

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
# weights name -> (sha256 of `<name>.h5`, sha256 of `<name>_notop.h5`), as Keras 3 checks them.
WEIGHTS_HASHES = {
    "convnext_tiny": (
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
    ),
    "convnext_small": (
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab",
    ),
    "convnext_base": (
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45",
    ),
    "convnext_large": (
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd",
    ),
    "convnext_xlarge": (
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05",
    ),
}

_STAGE_DEPTHS = [3, 3, 27, 3]
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": _STAGE_DEPTHS, "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": _STAGE_DEPTHS, "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": _STAGE_DEPTHS, "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": _STAGE_DEPTHS, "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}

# The ImageNet-1k channel statistics of the pixels in [0, 255] that the prestem Normalization removes.
_PIXEL_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_PIXEL_VARIANCE = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]


class StochasticDepth(Layer):
    """Drops a residual branch per sample in training (Huang et al., 2016), as Keras 3's ConvNeXt layer.

    In training each sample's input is kept with probability `1 - drop_path_rate` and then scaled by
    `1 / (1 - drop_path_rate)`, or replaced by zeros; at inference the input passes through unchanged.

    Args:
        drop_path_rate: the probability of dropping a sample's branch, in [0, 1).

    Example:
        >>> StochasticDepth(0.5)(np.ones((4, 2)), training=True)  # each row all 0 or all 2
    """

    keras3_module = "keras.src.applications.convnext"  # where Keras 3 looks for the class in .keras files

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(drop_path_rate) < 1.0:
            raise ValueError(
                f'Layer "{self.name}": drop_path_rate must be in [0, 1), got drop_path_rate={drop_path_rate}.'
            )
        self.drop_path_rate = drop_path_rate
        self.seed_generator = SeedGenerator(None)  # the seed state threads through jitted training steps
        self.built = True

    def call(self, x, training=None):
        if not training or not self.drop_path_rate:
            return x
        keep = 1.0 - float(self.drop_path_rate)
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        # keep + U[0, 1) floors to 1 with probability `keep`, else to 0: one draw per sample.
        kept = ops.floor(keep + ops.random.uniform(shape, 0.0, 1.0, dtype=x.dtype, seed=self.seed_generator))
        return (x / keep) * kept

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(Layer):
    """Multiplies its input by a learned per-channel scale (Touvron et al., 2021), as Keras 3's ConvNeXt layer.

    Args:
        init_values: the scale's initial value in every channel.
        projection_dim: the number of channels (the input's last axis).

    Example:
        >>> LayerScale(0.5, 3)(np.ones((1, 3)))  # [[0.5, 0.5, 0.5]]
    """

    keras3_module = "keras.src.applications.convnext"  # where Keras 3 looks for the class in .keras files

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        channels = input_shape[-1] if input_shape else None
        if channels is not None and channels != self.projection_dim:
            raise ValueError(
                f'Layer "{self.name}" expects inputs with {self.projection_dim} channels (projection_dim) on the '
                f"last axis, got input shape {tuple(input_shape)}."
            )
        # Keras 3 leaves this weight unnamed, so it is called variable, variable_1, ... in the order of creation.
        self.gamma = self.add_weight(
            name=unique_name("variable"),
            shape=(self.projection_dim,),
            initializer=initializers.Constant(self.init_values),
            trainable=True,
        )
        self.built = True

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):  # noqa: N802
    """A function applying one ConvNeXt block: 7x7 depthwise conv, LayerNorm, MLP (GELU), scale, residual add.

    Example:
        >>> y = ConvNeXtBlock(96, name="stage_0_block_0")(x)  # x: (batch, h, w, 96)
    """
    if name is None:
        from lamina.backend import get_uid

        name = f"prestem{get_uid('prestem')}"  # Keras's default name for an unnamed block

    def apply(inputs):
        x = layers.Conv2D(
            projection_dim, kernel_size=7, padding="same", groups=projection_dim, name=f"{name}_depthwise_conv"
        )(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            branch = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            branch = layers.Activation("linear", name=f"{name}_identity")
        return inputs + branch(x)

    return apply


def _downsampling_layers(name: str, projection_dims) -> list:
    """The stem (4x4 patches, LayerNorm) and the three LayerNorm + 2x2 strided conv steps between stages."""
    from lamina.models import Sequential

    stem = Sequential(
        [
            layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
        ],
        name=f"{name}_stem",
    )
    steps = [
        Sequential(
            [
                layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
                layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
            ],
            name=f"{name}_downsampling_block_{i}",
        )
        for i in range(3)
    ]
    return [stem, *steps]


def _check_imagenet_variant(name: str, weights_name, depths, projection_dims) -> None:
    """Keras's checks that a model given `weights="imagenet"` is the variant the published file holds."""
    variant = (weights_name or "").split("convnext_")[-1]
    if variant not in MODEL_CONFIGS:
        raise ValueError(
            f"ConvNeXt: `weights='imagenet'` needs `weights_name`, one of {sorted(WEIGHTS_HASHES)}. "
            f"Received: weights_name={weights_name}"
        )
    expected = MODEL_CONFIGS[variant]
    if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
        raise ValueError(
            f"Architecture configuration does not match {weights_name} variant. When using pre-trained weights, "
            f"the model architecture must match the pre-trained configuration exactly. Expected depths: "
            f"{expected['depths']}, got: {list(depths)}. Expected projection_dims: {expected['projection_dims']}, "
            f"got: {list(projection_dims)}."
        )
    if weights_name not in name:
        raise ValueError(
            f'Model name "{name}" does not match weights variant "{weights_name}". When using imagenet weights, '
            f'model name must contain the weights variant (e.g., "convnext_{variant}").'
        )


def _weights_file(weights, name: str, weights_name, depths, projection_dims, include_top: bool):
    """The weights file to load: None, the user's path, or the published `<weights_name>[_notop].h5`."""
    if weights != "imagenet":
        return weights
    _check_imagenet_variant(name, weights_name, depths, projection_dims)
    top_hash, no_top_hash = WEIGHTS_HASHES[weights_name]
    return imagenet_utils.weights_path(
        weights,
        name,
        WEIGHTS_ORIGIN,
        (f"{weights_name}.h5", top_hash),
        (f"{weights_name}_notop.h5", no_top_hash),
        include_top,
    )


def _head(x, name: str, include_top: bool, pooling, classes: int, classifier_activation):
    """The classifier (pool, LayerNorm, Dense) or, without it, the optional pooling and a final LayerNorm."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    return layers.LayerNormalization(epsilon=1e-6)(global_pool(x, pooling))


def ConvNeXt(  # noqa: N802 - Keras's name
    depths,
    projection_dims,
    drop_path_rate=0.0,
    layer_scale_init_value=1e-6,
    default_size=224,
    name="convnext",
    include_preprocessing=True,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    weights_name=None,
):
    """A ConvNeXt network of four stages of `depths[i]` blocks with `projection_dims[i]` channels.

    Args:
        depths: the number of blocks in each of the four stages.
        projection_dims: the channels of each stage.
        drop_path_rate: the stochastic depth rate of the last block; it rises linearly from 0 at the first
            (0 leaves stochastic depth out).
        layer_scale_init_value: the initial LayerScale value (None leaves LayerScale out).
        default_size: the input side with the classifier when `input_shape` is not given.
        name: the model's name (with ImageNet weights it must contain `weights_name`).
        include_preprocessing: whether the model starts by normalizing RGB pixels in [0, 255].
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation: as
            `ConvNeXtTiny`'s.
        weights_name: which published variant `weights="imagenet"` loads ("convnext_tiny", ...).

    Example:
        >>> ConvNeXt([1, 1, 1, 1], [8, 16, 24, 32], include_top=False, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 32)
    """
    if config.image_data_format() == "channels_first":
        raise ValueError(
            "ConvNeXt does not support the `channels_first` image data format. Switch to `channels_last` by "
            "editing your local config file at ~/.keras/keras.json"
        )
    imagenet_utils.check_arguments("ConvNeXt", weights, include_top, classes, classifier_activation)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size, 32, "channels_last", include_top, weights)
    path = _weights_file(weights, name, weights_name, depths, projection_dims, include_top)
    x, inputs = imagenet_utils.model_input(input_tensor, shape)
    if include_preprocessing and shape[-1] == 3:
        x = layers.Normalization(mean=_PIXEL_MEAN, variance=_PIXEL_VARIANCE, name=f"{name}_prestem_normalization")(x)
    # The stochastic depth rate grows linearly over all blocks, as in the original ConvNeXt.
    rates = [float(rate) for rate in np.linspace(0.0, drop_path_rate, sum(depths))]
    first = 0
    for stage, downsample in enumerate(_downsampling_layers(name, projection_dims)):
        x = downsample(x)
        for index in range(depths[stage]):
            x = ConvNeXtBlock(
                projection_dims[stage],
                drop_path_rate=rates[first + index],
                layer_scale_init_value=layer_scale_init_value,
                name=f"{name}_stage_{stage}_block_{index}",
            )(x)
        first += depths[stage]
    x = _head(x, name, include_top, pooling, classes, classifier_activation)
    return imagenet_utils.finish(inputs, x, name, path)


def _variant(size: str, name: str, **arguments):
    """The ConvNeXt of `MODEL_CONFIGS[size]` with Keras's fixed rates and the user's `arguments`."""
    settings = MODEL_CONFIGS[size]
    return ConvNeXt(
        depths=settings["depths"],
        projection_dims=settings["projection_dims"],
        drop_path_rate=0.0,
        layer_scale_init_value=1e-6,
        default_size=settings["default_size"],
        name=name,
        weights_name=f"convnext_{size}",
        **arguments,
    )


_VARIANT_DOC = """The ConvNeXt{size} model, optionally with Keras's ImageNet weights ({params} parameters with the top).

    The model normalizes its inputs itself: give it RGB pixels in [0, 255] (float or uint8).

    Args:
        include_top: whether to end with the classifier (pooling, LayerNorm, Dense); then the input is 224x224
            unless `weights` is None and `input_shape` says otherwise.
        include_preprocessing: whether the model starts by normalizing pixels with the ImageNet statistics
            (keep True with the ImageNet weights).
        weights: None, "imagenet" (Keras's published file, fetched into ~/.keras/models/) or a weights file.
        input_tensor: a symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 32.
        pooling: without the top, None (4-D output), "avg" or "max" (global pooling to 2-D); a LayerNorm follows.
        classes: the number of classes with the top and no pretrained weights.
        classifier_activation: the last layer's activation (None or "softmax" with pretrained weights).
        name: the model's name.

    Example:
        >>> ConvNeXt{size}(weights=None, include_top=False, input_shape=(64, 64, 3), pooling="avg").output_shape
        (None, {channels})
    """


# Keras's order: include_preprocessing second, then the other shared arguments and the name.
_ARGUMENTS = (
    imagenet_utils.SHARED_ARGUMENTS[0],
    ("include_preprocessing", True),
    *imagenet_utils.SHARED_ARGUMENTS[1:],
)


def _public(size: str, public_size: str, params: str, channels: int):
    """The public function `ConvNeXt<public_size>`: the `MODEL_CONFIGS[size]` variant, with Keras's signature."""
    doc = _VARIANT_DOC.format(size=public_size, params=params, channels=channels)
    arguments = (*_ARGUMENTS, ("name", f"convnext_{size}"))
    return imagenet_utils.model_function(f"ConvNeXt{public_size}", partial(_variant, size), doc, arguments, __name__)


ConvNeXtTiny = _public("tiny", "Tiny", "28,589,128", 768)
ConvNeXtSmall = _public("small", "Small", "50,223,688", 768)
ConvNeXtBase = _public("base", "Base", "88,591,464", 1024)
ConvNeXtLarge = _public("large", "Large", "197,767,336", 1536)
ConvNeXtXLarge = _public("xlarge", "XLarge", "350,196,968", 2048)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: ConvNeXt models normalize their inputs themselves (kept for Keras's API).

    Args:
        x: images, RGB pixels in [0, 255].
        data_format: ignored (as in Keras).

    Example:
        >>> preprocess_input(images) is images
        True
    """
    return x


decode_predictions = imagenet_utils.decode_predictions
