"""The older module path `keras.applications.resnet50`: ResNet50, Keras 2.2/2.3's ResNet50Legacy, preprocessing.

`ResNet50`, `preprocess_input` and `decode_predictions` are those of `lamina.applications.resnet`, as in Keras 3
and tf.keras, with one exception: in multi-backend Keras 2.2.0 to 2.3.1 this path built another graph
(keras-applications 1.0.8's `resnet50.py`: layers `conv1`, `bn_conv1`, `res2a_branch2a`, ..., `fc1000`, batch
normalization with epsilon 1e-3 instead of 1.001e-5), here `ResNet50Legacy`. Its weight files do not fit the
newer graph, so `ResNet50(weights=path)` reads the HDF5 file's layer names first (`layer_names`, at the root or
under `model_weights` for a whole-model file): when they are that older graph's (`res2a_branch2a`), it returns
`ResNet50Legacy` with the same arguments and the file loaded, predicting what Keras 2.3 predicted.

Example:
    >>> from lamina.applications.resnet50 import ResNet50, preprocess_input, decode_predictions
    >>> model = ResNet50(weights="imagenet")  # tf.keras's graph and weights
    >>> old = ResNet50(weights="resnet50_saved_by_keras_2_3.h5")  # Keras 2.3's graph: an older file
"""

from __future__ import annotations

import os
from functools import partial

from lamina.applications import imagenet_utils, resnet
from lamina.applications._build import build_application, channel_axis, keras_files, model_doc
from lamina.applications.resnet import decode_predictions as decode_predictions
from lamina.applications.resnet import preprocess_input as preprocess_input

# Keras 2.2/2.3's ImageNet weights of ResNet50Legacy (keras-applications 1.0.8's WEIGHTS_PATH and md5 hashes).
LEGACY_WEIGHTS_ORIGIN = "https://github.com/fchollet/deep-learning-models/releases/download/v0.2/"
LEGACY_TOP_HASH = "a7b3fe01876f51b976af0dea6bc144eb"
LEGACY_NO_TOP_HASH = "a268eb855778b3df3c7506639542a6af"
LEGACY_BN_EPSILON = 1e-3  # Keras's BatchNormalization default, which this graph kept
# A layer only the older graph has: a weights file naming it is one of Keras 2.2/2.3's.
LEGACY_MARKER = "res2a_branch2a"
# (filters of the three convolutions, blocks) per stage, stages 2 to 5; blocks are lettered a, b, c, ...
LEGACY_STAGES = (((64, 64, 256), 3), ((128, 128, 512), 4), ((256, 256, 1024), 6), ((512, 512, 2048), 3))


def _conv_bn(x, filters: int, kernel_size: int, stage_block: str, branch: str, strides: int = 1, padding="valid"):
    """`res{stage_block}_branch{branch}` (he_normal kernel, with bias), then `bn{stage_block}_branch{branch}`."""
    from lamina import layers

    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        kernel_initializer="he_normal",
        name=f"res{stage_block}_branch{branch}",
    )(x)
    return layers.BatchNormalization(
        axis=channel_axis(), epsilon=LEGACY_BN_EPSILON, name=f"bn{stage_block}_branch{branch}"
    )(x)


def legacy_block(x, filters: tuple, stage_block: str, strides: int = 1, conv_shortcut: bool = False):
    """Keras 2.2's bottleneck block `stage_block` ("2a"): 1x1, 3x3 and 1x1 branches `2a`, `2b`, `2c`, added to
    the input or (`conv_shortcut`, keras-applications' `conv_block`) to the 1x1 strided branch `1`.

    The branch's sum comes first in the `Add`, the shortcut second; the activations are unnamed, as Keras's.
    """
    from lamina import layers

    shortcut = x
    y = layers.Activation("relu")(_conv_bn(x, filters[0], 1, stage_block, "2a", strides=strides))
    y = layers.Activation("relu")(_conv_bn(y, filters[1], 3, stage_block, "2b", padding="same"))
    y = _conv_bn(y, filters[2], 1, stage_block, "2c")
    if conv_shortcut:
        shortcut = _conv_bn(x, filters[2], 1, stage_block, "1", strides=strides)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def legacy_features(x):
    """Keras 2.2's ResNet50 features: `conv1` (7x7, stride 2) after `conv1_pad`, `bn_conv1`, ReLU, `pool1_pad`
    and 3x3 max pooling, then stages 2 to 5 (`LEGACY_STAGES`), each a `conv_shortcut` block and identity blocks."""
    from lamina import layers

    x = layers.ZeroPadding2D(padding=(3, 3), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, padding="valid", kernel_initializer="he_normal", name="conv1")(x)
    x = layers.BatchNormalization(axis=channel_axis(), epsilon=LEGACY_BN_EPSILON, name="bn_conv1")(x)
    x = layers.Activation("relu")(x)
    x = layers.ZeroPadding2D(padding=(1, 1), name="pool1_pad")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for stage, (filters, blocks) in enumerate(LEGACY_STAGES, start=2):
        for index in range(blocks):
            strides = 2 if index == 0 and stage > 2 else 1
            x = legacy_block(x, filters, f"{stage}{'abcdef'[index]}", strides, conv_shortcut=index == 0)
    return x


_LEGACY_NOTE = """    Keras 2.2.0 to 2.3.1's `keras.applications.resnet50.ResNet50` (keras-applications 1.0.8): layers
    `conv1`, `bn_conv1`, `res2a_branch2a`, `bn2a_branch2a`, ..., `res2a_branch1`, classifier `fc1000`; batch
    normalization with epsilon 1e-3; `weights="imagenet"` is its own file (fchollet/deep-learning-models v0.2).
    Use it for a weights file saved from that ResNet50: the newer `ResNet50` refuses it (or, converted, predicts
    slightly differently). `resnet50.ResNet50(weights=path)` picks it by itself for such a file.

        >>> model = ResNet50Legacy(weights="resnet50_saved_by_keras_2_3.h5")"""

ResNet50Legacy = imagenet_utils.model_function(
    "ResNet50Legacy",
    partial(
        build_application,
        "ResNet50Legacy",
        legacy_features,
        (224, 32),
        keras_files(LEGACY_WEIGHTS_ORIGIN, "resnet50", LEGACY_TOP_HASH, LEGACY_NO_TOP_HASH),
        {"top_name": "fc1000", "default_name": "resnet50"},
    ),
    model_doc(
        "ResNet50Legacy",
        25_636_712,
        (224, 32),
        2048,
        _LEGACY_NOTE,
        source="Keras 2.2's",
        top_name="fc1000",
        example=(64, 64),
    ),
    (*imagenet_utils.SHARED_ARGUMENTS, ("name", "resnet50")),
    __name__,
)


def weights_are_legacy(weights) -> bool:
    """Whether `weights` is the path of an HDF5 file whose layers are Keras 2.2/2.3's ResNet50's (`LEGACY_MARKER`).

    Only the `layer_names` attribute is read, from the file's root (`save_weights`) or its `model_weights` group
    (`save`); anything else (None, "imagenet", another format, an unreadable file) is not legacy.

    Example:
        >>> weights_are_legacy("imagenet")
        False
    """
    if not isinstance(weights, (str, os.PathLike)) or not os.path.isfile(weights):
        return False
    import h5py

    from lamina.saving.hdf5 import load_attributes

    try:
        if not h5py.is_hdf5(weights):
            return False
        with h5py.File(weights, "r") as file:
            group = file["model_weights"] if "model_weights" in file else file
            return LEGACY_MARKER in load_attributes(group, "layer_names")
    except OSError:
        return False


def _build_resnet50(**arguments):
    """`resnet.ResNet50`, or `ResNet50Legacy` when `weights` is a file of Keras 2.2/2.3's graph."""
    if not weights_are_legacy(arguments["weights"]):
        return resnet.ResNet50(**arguments)
    model = ResNet50Legacy(**{**arguments, "weights": None})
    # By name: the file's layer names are the legacy graph's, so no topological-sort difference between the Keras
    # that wrote it and this one can swap two same-shaped layers (res3a_branch2c and res3a_branch1, say). A file
    # that lacks one of the model's weighted layers is read by order instead, which names what does not fit.
    weighted = {layer.name for layer in model.layers if layer.weights}
    model.load_weights(arguments["weights"], by_name=weighted <= _file_layer_names(arguments["weights"]))
    return model


def _file_layer_names(path) -> set:
    """The names of the layers that hold weights in a Keras HDF5 file (root or `model_weights` layout)."""
    import h5py

    from lamina.saving.hdf5 import load_attributes

    with h5py.File(path, "r") as file:
        group = file["model_weights"] if "model_weights" in file else file
        names = load_attributes(group, "layer_names")
        return {name for name in names if load_attributes(group[name], "weight_names")}


_NOTE = """
    A weights file saved from Keras 2.2/2.3's `keras.applications.resnet50.ResNet50` (layer `res2a_branch2a`, ...)
    gives `ResNet50Legacy` with the same arguments and that file loaded, as Keras 2.3 built it.
"""

ResNet50 = imagenet_utils.model_function(
    "ResNet50",
    _build_resnet50,
    (resnet.ResNet50.__doc__ or "").replace("\n    Args:", f"{_NOTE}\n    Args:", 1),
    (*imagenet_utils.SHARED_ARGUMENTS, ("name", "resnet50")),
    __name__,
)
