"""What every ImageNet application shares: input-shape checks, weight files, `preprocess_input`, `decode_predictions`.

Weight files and the class index come through `lamina.utils.get_file` into `~/.keras/models/` (Keras's URLs and
hashes); without a network the error names the URL and the cache path where the file can be placed by hand.

Example:
    >>> x = imagenet_utils.preprocess_input(images, mode="caffe")
    >>> imagenet_utils.decode_predictions(model.predict(x), top=3)
"""

from __future__ import annotations

import inspect
import json
import os
import warnings

import numpy as np

from lamina import config

CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
_class_index: dict = {}

# mode -> (channel means, channel standard deviations or None, scale applied first); caffe also flips RGB to BGR.
_MODES = {
    "caffe": ((103.939, 116.779, 123.68), None, 1.0),
    "torch": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 1.0 / 255.0),
}


def fetch(fname: str, origin: str, file_hash: str, what: str) -> str:
    """The local path of a published Keras file, downloaded once into `~/.keras/models/` and hash-checked.

    Example:
        >>> fetch("vgg16_weights_tf_dim_ordering_tf_kernels.h5", url, md5, "VGG16's ImageNet weights")
    """
    from lamina.utils.file_utils import get_file

    try:
        return get_file(fname, origin=origin, file_hash=file_hash, cache_subdir="models")
    except Exception as error:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        place = os.path.join(home, "models", fname)
        raise type(error)(
            f"Cannot get {what} from {origin} ({error}). Without a network, download that file elsewhere and "
            f"place it at {place}; lamina then uses it without downloading."
        ) from error


def weights_path(weights, name: str, origin: str, top: tuple, no_top: tuple, include_top: bool):
    """The weights file an application loads: None, the user's path, or Keras's ImageNet file fetched now.

    `top` and `no_top` are (file name, md5) of the published files with and without the classifier; the file is
    fetched before the model is built, so without a network the call fails at once.

    Example:
        >>> weights_path("imagenet", "ResNet50", ORIGIN, (TOP, TOP_MD5), (NO_TOP, NO_TOP_MD5), include_top=False)
        '~/.keras/models/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    if weights != "imagenet":
        return weights
    fname, file_hash = top if include_top else no_top
    return fetch(fname, origin + fname, file_hash, f"{name}'s ImageNet weights")


def finish(inputs, outputs, name: str, path):
    """The application's Functional model, with the weights at `path` loaded (Keras's HDF5 layout) if given."""
    from lamina.models.functional import Functional

    model = Functional(inputs, outputs, name=name)
    if path is not None:
        model.load_weights(path)
    return model


# The arguments every application takes, in Keras's order (families add theirs: `name`, `alpha`, ...).
SHARED_ARGUMENTS = (
    ("include_top", True),
    ("weights", "imagenet"),
    ("input_tensor", None),
    ("input_shape", None),
    ("pooling", None),
    ("classes", 1000),
    ("classifier_activation", "softmax"),
)


def model_function(public_name: str, build, doc: str, arguments, module: str):
    """A public model function (`ResNet101`, `EfficientNetB3`) with Keras's exact signature, calling `build`.

    The function takes `arguments` ((name, default) pairs, in Keras's order) positionally or by keyword, shows
    them in `help()` and `inspect.signature`, and calls `build(**all arguments)`. Families with many sizes
    define each size in one line instead of repeating the same eight-argument function.

    Example:
        >>> arguments = (*SHARED_ARGUMENTS, ("name", "resnet101"))
        >>> ResNet101 = model_function("ResNet101", partial(build, (3, 4, 23, 3)), doc, arguments, __name__)
        >>> ResNet101(include_top=False, weights=None).output_shape
        (None, None, None, 2048)
    """
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature([inspect.Parameter(name, kind, default=value) for name, value in arguments])

    def function(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{public_name}(): {error}. Its arguments: {', '.join(signature.parameters)}.") from None
        bound.apply_defaults()
        return build(**bound.arguments)

    function.__name__ = function.__qualname__ = public_name
    function.__signature__ = signature
    function.__doc__ = doc
    function.__module__ = module
    return function


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """The model's input shape from the user's `input_shape`, checked as Keras checks it.

    Example:
        >>> obtain_input_shape(None, 224, 32, "channels_last", require_flatten=True, weights="imagenet")
        (224, 224, 3)
    """
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn(
                f"This model usually expects 1 or 3 input channels. However, it was passed an input_shape with "
                f"{channels} input channels.",
                stacklevel=3,
            )
        default_shape = (channels, default_size, default_size) if first else (default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                f"When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be "
                f"{default_shape}. Received: input_shape={input_shape}"
            )
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        channels, sizes = (input_shape[0], input_shape[1:]) if first else (input_shape[-1], input_shape[:2])
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(size is not None and size < min_size for size in sizes):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: input_shape={input_shape}")
    else:
        input_shape = default_shape if require_flatten else ((3, None, None) if first else (None, None, 3))
    if require_flatten and None in input_shape:
        raise ValueError(
            f"If `include_top` is True, you should specify a static `input_shape`. Received: input_shape={input_shape}"
        )
    return input_shape


def check_arguments(name: str, weights, include_top: bool, classes: int, classifier_activation) -> None:
    """Keras's checks of `weights`, `classes` and `classifier_activation` for application `name`."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(
            f"{name}: the `weights` argument should be either `None` (random initialization), 'imagenet' "
            f"(pre-training on ImageNet), or the path to the weights file to be loaded. Received: weights={weights}"
        )
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{name}: if using `weights='imagenet'` with `include_top=True`, `classes` should be 1000. "
            f"Received: classes={classes}"
        )
    if weights is not None and include_top and classifier_activation not in {None, "softmax"}:
        raise ValueError(
            f"{name}: only `None` and `softmax` activations are allowed for the `classifier_activation` argument "
            f"when using pretrained weights, with `include_top=True`; Received: "
            f"classifier_activation={classifier_activation}"
        )


def model_input(input_tensor, shape):
    """(the tensor the layers start from, the model's inputs): a new `Input`, or the user's `input_tensor`."""
    from lamina.backend import is_keras_tensor
    from lamina.layers import Input
    from lamina.utils.generic_utils import get_source_inputs

    if input_tensor is None:
        start = Input(shape=shape)
        return start, start
    if not is_keras_tensor(input_tensor):
        raise TypeError(
            "`input_tensor` must be a symbolic tensor (from lamina.Input or a layer), "
            f"got {type(input_tensor).__name__}."
        )
    return input_tensor, get_source_inputs(input_tensor)


def correct_pad(x, kernel_size) -> tuple:
    """The ((top, bottom), (left, right)) zero padding before a strided "valid" convolution, as Keras pads.

    Half the kernel on each side, one less on the top/left of an even side, so a stride-2 convolution sees the
    same windows as TF's "same" padding. As Keras: when the height is unknown at build time, both sides are
    padded as even sides (an unknown width alone counts as even too, where Keras fails).

    Example:
        >>> correct_pad(Input(shape=(32, 32, 16)), 3)
        ((0, 1), (0, 1))
    """
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    first = 2 if config.image_data_format() == "channels_first" else 1
    height, width = x.shape[first : first + 2]
    if height is None:
        adjust = (1, 1)
    else:
        adjust = (1 - height % 2, 1 if width is None else 1 - width % 2)
    return tuple((size // 2 - a, size // 2) for size, a in zip(kernel, adjust))


def preprocess_input(x, data_format=None, mode="caffe"):
    """Keras's ImageNet preprocessing of a batch (or one image) of RGB values in [0, 255], as a new float array.

    Modes: "caffe" (RGB to BGR, minus the ImageNet channel means), "tf" (scaled to [-1, 1]), "torch" (scaled to
    [0, 1], minus the means, divided by the standard deviations). Unlike Keras, the caller's array is never
    changed in place.

    Example:
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"preprocess_input: `mode` must be one of 'caffe', 'tf' or 'torch'. Received: mode={mode}")
    data_format = data_format or config.image_data_format()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError(f"preprocess_input: unknown data_format {data_format!r}.")
    x = np.array(x, dtype=config.floatx())  # a copy in floatx, as Keras casts
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else -1
    means, stds, scale = _MODES[mode]
    x = x * scale
    if mode == "caffe":
        x = np.flip(x, axis=axis)  # RGB -> BGR
    shape = [1] * x.ndim
    shape[axis] = 3
    x = x - np.asarray(means, dtype=x.dtype).reshape(shape)
    if stds is not None:
        x = x / np.asarray(stds, dtype=x.dtype).reshape(shape)
    return np.ascontiguousarray(x)


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (batch, 1000): lists of (class id, name, score).

    Example:
        >>> decode_predictions(model.predict(x), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape (samples, 1000)). "
            f"Received array with shape: {preds.shape}"
        )
    if not _class_index:
        path = fetch("imagenet_class_index.json", CLASS_INDEX_PATH, CLASS_INDEX_HASH, "the ImageNet class index")
        with open(path) as file:
            _class_index.update(json.load(file))
    results = []
    for row in preds:
        order = row.argsort()[-top:][::-1]
        results.append([(*_class_index[str(i)], row[i]) for i in order])
    return results
