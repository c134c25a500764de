"""Keras 1 constructor arguments in their Keras 2 form, as Keras 2.3.1's legacy interfaces converted them.

Keras 2 kept accepting Keras 1 calls (`Dense(output_dim=10)`, `Convolution2D(32, 3, 3, border_mode="same")`,
`Dropout(p=0.5)`, `LSTM(output_dim=8, consume_less="gpu")`, ...): it renamed the arguments, converted the
values whose meaning moved (`dim_ordering="th"` → `data_format="channels_first"`), and warned
"Update your `Dense` call to the Keras 2 API: `Dense(units=10)`". Each `Keras1Interface` below is one of
Keras 2.3.1's conversions; `built_in_conversion` picks the one for a lamina layer class by its name, and
`lamina.compat.legacy_interfaces` turns them into Keras 2's decorators for user classes.

Keras 2 arguments pass through unchanged, so a layer built from a Keras 1 call has the config (and saves the
file) the Keras 2 call would have.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     args, kwargs = DENSE.convert("Dense", (None,), {"output_dim": 3})
    >>> kwargs, str(caught[0].message)
    ({'units': 3}, 'Update your `Dense` call to the Keras 2 API: `Dense(units=3)`')
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable

import numpy as np

# Frames a conversion's warning skips: this file, the layer constructor wrapper, Keras 2's decorators and layers.
_CONVERSION_FILES = frozenset({"keras1_arguments.py", "plain_arguments.py", "legacy_interfaces.py", "legacy_layers.py"})
_DATA_FORMATS = {"dim_ordering": {"tf": "channels_last", "th": "channels_first", "default": None}}
_WEIGHT_NAMES = (
    ("init", "kernel_initializer"),
    ("W_regularizer", "kernel_regularizer"),
    ("b_regularizer", "bias_regularizer"),
    ("W_constraint", "kernel_constraint"),
    ("b_constraint", "bias_constraint"),
    ("bias", "use_bias"),
)
_CONV_NAMES = (("nb_filter", "filters"), ("subsample", "strides"), ("border_mode", "padding"))
_DIM_ORDERING = (("dim_ordering", "data_format"),)


class Keras1Interface:
    """One Keras 2.3.1 legacy interface: renamed arguments, converted values and an optional preprocessor.

    Args:
        allowed_positional_args: the positional arguments the Keras 2 call takes (checked by the decorators
            only: lamina's own layers also take Keras 3's positional arguments). None: not checked.
        conversions: `(Keras 1 name, Keras 2 name)` pairs.
        value_conversions: `{Keras 1 name: {old value: new value}}`, applied before renaming.
        preprocessor: `f(args, kwargs) -> (args, kwargs, converted)` for what renaming cannot express;
            `args` starts with the object (`self`), `converted` lists `(new, old)` pairs that call for the warning.

    Example:
        >>> PRELU.convert("PReLU", (None,), {"init": "zeros"}, warn=False)[1]
        {'alpha_initializer': 'zeros'}
    """

    __slots__ = ("allowed_positional_args", "conversions", "value_conversions", "preprocessor", "_names")

    def __init__(self, allowed_positional_args=None, conversions=(), value_conversions=None, preprocessor=None):
        self.allowed_positional_args = None if allowed_positional_args is None else tuple(allowed_positional_args)
        self.conversions = tuple(tuple(pair) for pair in conversions or ())
        self.value_conversions = dict(value_conversions or {})
        self.preprocessor: Callable | None = preprocessor
        self._names = frozenset(old for old, _ in self.conversions) | frozenset(self.value_conversions)

    def convert(self, object_name: str, args, kwargs: dict, strict=True, warn=True):
        """`(args, kwargs)` in Keras 2 form (`args[0]` is the object); warns when it renamed anything.

        `strict` (Keras 2's decorators) checks the positional arguments, and takes a Keras 2 argument given as
        None beside its Keras 1 name as both given; lamina's own layers are lenient (`Input(dtype=None, ...)`).

        Example:
            >>> DROPOUT.convert("Dropout", (None,), {"p": 0.5}, warn=False)
            ((None,), {'rate': 0.5})
        """
        if self.preprocessor is None and self._names.isdisjoint(kwargs) and not strict:
            return args, kwargs  # the common case: a Keras 2 call
        kwargs = dict(kwargs)
        converted = []
        if self.preprocessor is not None:
            args, kwargs, converted = self.preprocessor(args, kwargs)
            converted = list(converted)
        if strict and self.allowed_positional_args is not None:
            _check_positional(object_name, self.allowed_positional_args, args)
        for key, values in self.value_conversions.items():
            if key in kwargs and _hashable(kwargs[key]) and kwargs[key] in values:
                kwargs[key] = values[kwargs[key]]
        for old_name, new_name in self.conversions:
            if old_name in kwargs:
                value = kwargs.pop(old_name)
                if new_name in kwargs and (strict or kwargs[new_name] is not None):
                    raise TypeError(
                        f"{object_name}: for the `{new_name}` argument, the layer received both the legacy keyword "
                        f"argument `{old_name}` and the Keras 2 keyword argument `{new_name}`. Stick to the latter!"
                    )
                kwargs[new_name] = value
                converted.append((new_name, old_name))
        if converted and warn:
            warn_caller(
                f"Update your `{object_name}` call to the Keras 2 API: {keras2_signature(object_name, args, kwargs)}"
            )
        return args, kwargs


def warn_caller(message: str) -> None:
    """A UserWarning that points at the line that called the layer or method, past the conversion's own frames."""
    level, frame = 1, sys._getframe(0)
    while frame is not None and os.path.basename(frame.f_code.co_filename) in _CONVERSION_FILES:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _check_positional(object_name: str, allowed: tuple, args) -> None:
    if len(args) > len(allowed) + 1:
        raise TypeError(
            f"`{object_name}` can accept only {len(allowed)} positional arguments {allowed}, but you passed the "
            f"following positional arguments: {list(args[1:])}"
        )


def _shown(value) -> str:
    """One argument as Keras 2's warning wrote it: strings quoted, anything else cut to 10 characters."""
    if isinstance(value, str):
        return f'"{value}"'
    text = "array" if isinstance(value, np.ndarray) else str(value)
    return text[:10] + "..." if len(text) > 10 else text


def keras2_signature(object_name: str, args, kwargs: dict) -> str:
    """The Keras 2 call that Keras 2's warning suggested, e.g. `` `Dense(units=3)` ``.

    Example:
        >>> keras2_signature("Conv2D", (None, 32, (3, 3)), {"padding": "same"})
        '`Conv2D(32, (3, 3), padding="same")`'
    """
    parts = [_shown(value) for value in args[1:]]
    parts += [f"{name}={_shown(value)}" for name, value in kwargs.items()]
    return f"`{object_name}({', '.join(parts)})`"


# ------------------------------------------------------------------------------------------- preprocessors
def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def conv_kernel_preprocessor(args, kwargs, rank=2, strict=True):
    """Keras 1's kernel sizes as Keras 2's `kernel_size`: positional (`Conv2D(32, 3, 3)`) or `nb_row`/`nb_col`.

    `strict` (Keras 2.3.1's decorators): more positional arguments than `filters` plus the sizes, or a Keras 2
    `padding`/`strides`/`data_format` keyword beside two positional integers, is an error. lamina's own layers
    are not strict: such calls are Keras 2/3 calls (`Conv2D(8, 3, 2, padding="same")`: strides 2) and pass.

    Example:
        >>> conv_kernel_preprocessor((None, 32, 3, 3), {})
        ([None, 32, (3, 3)], {}, [('kernel_size', 'nb_row/nb_col')])
    """
    names = ("nb_row", "nb_col") if rank == 2 else ("kernel_dim1", "kernel_dim2", "kernel_dim3")
    if len(args) > rank + 2:
        if strict:
            raise TypeError(f"Layer can receive at most {rank + 1} positional arguments.")
        return args, kwargs, []
    sizes = tuple(args[2:])
    if not all(_is_int(size) for size in sizes):
        return args, kwargs, []
    if len(sizes) == 2 and any(key in kwargs for key in ("padding", "strides", "data_format")):
        if strict:
            raise ValueError(
                "It seems that you are using the Keras 2 and you are passing both `kernel_size` and `strides` "
                "as integer positional arguments. For safety reasons, this is disallowed. Pass `strides` "
                "as a keyword argument instead."
            )
        return args, kwargs, []  # Keras 2/3's (filters, kernel_size, strides)
    missing = names[len(sizes) :]
    if len(sizes) < rank and not (missing and all(name in kwargs for name in missing)):
        return args, kwargs, []
    kernel_size = sizes + tuple(kwargs.pop(name) for name in missing)
    converted = [("kernel_size", "nb_row/nb_col" if rank == 2 else "kernel_dim*")]
    if len(args) == 1:
        kwargs["kernel_size"] = kernel_size
        return args, kwargs, converted
    return [args[0], args[1], kernel_size], kwargs, converted


def _conv_preprocessor(rank, strict):
    def preprocess(args, kwargs):
        return conv_kernel_preprocessor(args, kwargs, rank, strict)

    return preprocess


def _forget_bias(kwargs, converted):
    if "forget_bias_init" in kwargs:
        value = kwargs.pop("forget_bias_init")
        if value == "one":
            kwargs["unit_forget_bias"] = True
            converted.append(("forget_bias_init", "unit_forget_bias"))
        else:
            warn_caller(
                "The `forget_bias_init` argument has been ignored. Use `unit_forget_bias=True` "
                "instead to initialize with ones."
            )


def recurrent_preprocessor(args, kwargs):
    """Keras 1's `forget_bias_init="one"` as `unit_forget_bias=True`; `input_dim`/`input_length` as `input_shape`."""
    converted = []
    _forget_bias(kwargs, converted)
    if "input_dim" in kwargs:
        input_length = kwargs.pop("input_length", None)
        kwargs["input_shape"] = (input_length, kwargs.pop("input_dim"))
        converted.append(("input_dim", "input_shape"))
        warn_caller(
            "The `input_dim` and `input_length` arguments in recurrent layers are deprecated. "
            "Use `input_shape` instead."
        )
    return args, kwargs, converted


def _embedding_preprocessor(args, kwargs):
    if "dropout" in kwargs:
        kwargs.pop("dropout")
        warn_caller(
            "The `dropout` argument is no longer support in `Embedding`. You can apply a "
            "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get the same behavior."
        )
    return args, kwargs, []


def _conv1d_preprocessor(args, kwargs):
    converted = []
    if "input_dim" in kwargs:
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        converted.append(("input_shape", "input_dim"))
    return args, kwargs, converted


def _separable_preprocessor(strict):
    kernel = _conv_preprocessor(2, strict)

    def preprocess(args, kwargs):
        converted = []
        if "init" in kwargs:
            kwargs["depthwise_initializer"] = kwargs["pointwise_initializer"] = kwargs.pop("init")
            converted.append(("init", "depthwise_initializer/pointwise_initializer"))
        args, kwargs, more = kernel(args, kwargs)
        return args, kwargs, converted + list(more)

    return preprocess


def _deconv_preprocessor(strict):
    kernel = _conv_preprocessor(2, strict)

    def preprocess(args, kwargs):
        converted = []
        if len(args) == 5 and isinstance(args[4], tuple):  # Keras 1's Deconvolution2D(n, rows, cols, output_shape)
            args = args[:-1]
            converted.append(("output_shape", None))
        if "output_shape" in kwargs:
            kwargs.pop("output_shape")
            converted.append(("output_shape", None))
        args, kwargs, more = kernel(args, kwargs)
        return args, kwargs, converted + list(more)

    return preprocess


def _convlstm_preprocessor(strict):
    kernel = _conv_preprocessor(2, strict)

    def preprocess(args, kwargs):
        converted = []
        _forget_bias(kwargs, converted)
        args, kwargs, more = kernel(args, kwargs)
        return args, kwargs, converted + list(more)

    return preprocess


def _batchnorm_preprocessor(strict):
    def preprocess(args, kwargs):
        if strict and len(args) > 1:
            raise TypeError(
                "The `BatchNormalization` layer does not accept positional arguments. Use keyword arguments instead."
            )
        converted = []
        if "mode" in kwargs:
            if kwargs.pop("mode") != 0:
                raise TypeError(
                    "The `mode` argument of `BatchNormalization` no longer exists. `mode=1` and `mode=2` "
                    "are no longer supported."
                )
            converted.append(("mode", None))
        return args, kwargs, converted

    return preprocess


def _dict_padding(padding):
    return (
        (padding.get("top_pad", 0), padding.get("bottom_pad", 0)),
        (padding.get("left_pad", 0), padding.get("right_pad", 0)),
    )


def _zeropadding2d_preprocessor(args, kwargs):
    """Keras 1's `padding={"top_pad": 1, ...}` as `((top, bottom), (left, right))`."""
    keys = {"top_pad", "bottom_pad", "left_pad", "right_pad"}
    if isinstance(kwargs.get("padding"), dict) and set(kwargs["padding"]) <= keys:
        kwargs["padding"] = _dict_padding(kwargs["padding"])
    elif len(args) == 2 and isinstance(args[1], dict) and set(args[1]) <= keys:
        args = (args[0], _dict_padding(args[1]))
    else:
        return args, kwargs, []
    warn_caller(
        "The `padding` argument in the Keras 2 API no longer accepts dict types. You can now input argument as: "
        "`padding=((top_pad, bottom_pad), (left_pad, right_pad))`."
    )
    return args, kwargs, []


# ------------------------------------------------------------------------------------- the interfaces
DENSE = Keras1Interface(["units"], (("output_dim", "units"), *_WEIGHT_NAMES))
DROPOUT = Keras1Interface(["rate", "noise_shape", "seed"], [("p", "rate")])
EMBEDDING = Keras1Interface(
    ["input_dim", "output_dim"],
    [("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
     ("W_constraint", "embeddings_constraint")],
    preprocessor=_embedding_preprocessor,
)  # fmt: skip
POOLING1D = Keras1Interface(
    ["pool_size", "strides", "padding"],
    [("pool_length", "pool_size"), ("stride", "strides"), ("border_mode", "padding")],
)
POOLING2D = Keras1Interface(["pool_size", "strides", "padding"], [("border_mode", "padding"), *_DIM_ORDERING],
                            _DATA_FORMATS)  # fmt: skip
POOLING3D = POOLING2D
GLOBAL_POOLING = Keras1Interface(None, _DIM_ORDERING, _DATA_FORMATS)
PRELU = Keras1Interface(["alpha_initializer"], [("init", "alpha_initializer")])
GAUSSIAN_NOISE = Keras1Interface(["stddev"], [("sigma", "stddev")])
GAUSSIAN_DROPOUT = Keras1Interface(["rate"], [("p", "rate")])
RECURRENT = Keras1Interface(
    ["units"],
    [("output_dim", "units"), ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
     ("inner_activation", "recurrent_activation"), ("W_regularizer", "kernel_regularizer"),
     ("b_regularizer", "bias_regularizer"), ("U_regularizer", "recurrent_regularizer"), ("dropout_W", "dropout"),
     ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation")],
    {"consume_less": {"cpu": 0, "mem": 1, "gpu": 2}},
    recurrent_preprocessor,
)  # fmt: skip
UPSAMPLING1D = Keras1Interface(["size"], [("length", "size")])
UPSAMPLING2D = Keras1Interface(["size"], _DIM_ORDERING, _DATA_FORMATS)
UPSAMPLING3D = UPSAMPLING2D
CONV1D = Keras1Interface(
    ["filters", "kernel_size"],
    [("nb_filter", "filters"), ("filter_length", "kernel_size"), ("subsample_length", "strides"),
     ("border_mode", "padding"), *_WEIGHT_NAMES],
    preprocessor=_conv1d_preprocessor,
)  # fmt: skip
_CONV2D_NAMES = (*_CONV_NAMES, *_DIM_ORDERING, *_WEIGHT_NAMES)
_SEPARABLE_NAMES = (*_CONV_NAMES, *_DIM_ORDERING, ("b_regularizer", "bias_regularizer"),
                    ("b_constraint", "bias_constraint"), ("bias", "use_bias"))  # fmt: skip
_CONVLSTM_NAMES = (
    *_CONV_NAMES, *_DIM_ORDERING, ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
    ("W_regularizer", "kernel_regularizer"), ("U_regularizer", "recurrent_regularizer"),
    ("b_regularizer", "bias_regularizer"), ("inner_activation", "recurrent_activation"), ("dropout_W", "dropout"),
    ("dropout_U", "recurrent_dropout"), ("bias", "use_bias"),
)  # fmt: skip


def _conv_family(names, make_preprocessor, strict):
    return Keras1Interface(["filters", "kernel_size"], names, _DATA_FORMATS, make_preprocessor(strict))


def conv_interfaces(strict: bool) -> dict[str, Keras1Interface]:
    """Keras 2.3.1's Conv2D, Conv3D, SeparableConv2D, Conv2DTranspose and ConvLSTM2D interfaces."""
    return {
        "conv2d": _conv_family(_CONV2D_NAMES, lambda strict: _conv_preprocessor(2, strict), strict),
        "conv3d": _conv_family(_CONV2D_NAMES, lambda strict: _conv_preprocessor(3, strict), strict),
        "separable_conv2d": _conv_family(_SEPARABLE_NAMES, _separable_preprocessor, strict),
        "deconv2d": _conv_family(_CONV2D_NAMES, _deconv_preprocessor, strict),
        "convlstm2d": _conv_family(_CONVLSTM_NAMES, _convlstm_preprocessor, strict),
    }


def batchnorm_interface(strict: bool) -> Keras1Interface:
    """Keras 2.3.1's BatchNormalization interface (`strict`: positional arguments are an error)."""
    names = [("beta_init", "beta_initializer"), ("gamma_init", "gamma_initializer")]
    return Keras1Interface([], names, preprocessor=_batchnorm_preprocessor(strict))


ZEROPADDING2D = Keras1Interface(["padding"], _DIM_ORDERING, _DATA_FORMATS, _zeropadding2d_preprocessor)
ZEROPADDING3D = Keras1Interface(["padding"], _DIM_ORDERING, _DATA_FORMATS)
CROPPING2D = CROPPING3D = Keras1Interface(["cropping"], _DIM_ORDERING, _DATA_FORMATS)
SPATIALDROPOUT1D = Keras1Interface(["rate"], [("p", "rate")])
SPATIALDROPOUT_ND = Keras1Interface(["rate"], [("p", "rate"), *_DIM_ORDERING], _DATA_FORMATS)
LAMBDA = Keras1Interface(["function", "output_shape"])
MODEL_CONSTRUCTOR = Keras1Interface(None, [("input", "inputs"), ("output", "outputs")])
INPUT = Keras1Interface(None, [("input_dtype", "dtype")])

_LOOSE_CONV = conv_interfaces(strict=False)
# lamina's layer classes by name, and the interface Keras 2.3.1 put on the Keras 2 class of that name.
BUILT_IN: dict[str, Keras1Interface] = {
    "Dense": DENSE,
    "Dropout": DROPOUT,
    "Embedding": EMBEDDING,
    **dict.fromkeys(("MaxPooling1D", "AveragePooling1D"), POOLING1D),
    **dict.fromkeys(("MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D"), POOLING2D),
    **dict.fromkeys(
        ("GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling3D"),
        GLOBAL_POOLING,
    ),
    "PReLU": PRELU,
    "GaussianNoise": GAUSSIAN_NOISE,
    "GaussianDropout": GAUSSIAN_DROPOUT,
    **dict.fromkeys(("SimpleRNN", "GRU", "LSTM"), RECURRENT),
    "UpSampling1D": UPSAMPLING1D,
    "UpSampling2D": UPSAMPLING2D,
    "UpSampling3D": UPSAMPLING3D,
    "Conv1D": CONV1D,
    "Conv2D": _LOOSE_CONV["conv2d"],
    "Conv3D": _LOOSE_CONV["conv3d"],
    "SeparableConv2D": _LOOSE_CONV["separable_conv2d"],
    "Conv2DTranspose": _LOOSE_CONV["deconv2d"],
    "ConvLSTM2D": _LOOSE_CONV["convlstm2d"],
    "BatchNormalization": batchnorm_interface(strict=False),
    "ZeroPadding2D": ZEROPADDING2D,
    "ZeroPadding3D": ZEROPADDING3D,
    "Cropping2D": CROPPING2D,
    "Cropping3D": CROPPING3D,
    "SpatialDropout1D": SPATIALDROPOUT1D,
    "SpatialDropout2D": SPATIALDROPOUT_ND,
    "SpatialDropout3D": SPATIALDROPOUT_ND,
    "Functional": MODEL_CONSTRUCTOR,
    "InputLayer": INPUT,
}
_SHOWN_AS = {"Functional": "Model"}  # Keras 2 named the class in its warning; a lamina Model is a Functional


def built_in_conversion(cls) -> Callable | None:
    """For a lamina layer class that Keras 2 gave a legacy interface: `f(layer, args, kwargs) -> (args, kwargs)`.

    None for every other class (user classes included: they opt in with Keras 2's decorators), so a
    layer without one pays nothing; a Keras 2 call to one with an interface costs a set test.

    Example:
        >>> from lamina import layers
        >>> built_in_conversion(layers.Flatten) is None
        True
    """
    if not cls.__module__.startswith("lamina.") or cls.__name__ not in BUILT_IN:
        return None
    interface = BUILT_IN[cls.__name__]

    def keras1_to_keras2(layer, args, kwargs):
        name = type(layer).__name__
        args, kwargs = interface.convert(_SHOWN_AS.get(name, name), (layer, *args), kwargs, strict=False)
        return tuple(args[1:]), kwargs

    return keras1_to_keras2
