"""Keras 2.3.1's `keras.legacy.interfaces`: decorators that let a Keras 2 signature take Keras 1 arguments.

Keras 2 put them on its layers, its generator methods and its optimizers' `get_updates`, and custom layers
and optimizers written for Keras 2 put them on their own `__init__` and `get_updates`:

    from keras.legacy import interfaces

    class MyDense(Layer):
        @interfaces.legacy_dense_support
        def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs): ...

    MyDense(output_dim=3, init="he_normal")  # UserWarning: Update your `MyDense` call to the Keras 2 API: ...

Each decorator renames Keras 1's arguments (`output_dim` → `units`), converts the values whose meaning moved
(`dim_ordering="th"` → `data_format="channels_first"`) and warns as Keras 2 did. lamina's own layers take
Keras 1 arguments without a decorator (`lamina.layers.keras1_arguments` holds the conversions for both).

Example:
    >>> class Scale(lamina.layers.Layer):
    ...     @legacy_dropout_support
    ...     def __init__(self, rate, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.rate = rate
    >>> Scale(p=0.5).rate  # warns: Update your `Scale` call to the Keras 2 API: `Scale(rate=0.5)`
    0.5
"""

from __future__ import annotations

import functools

from lamina.layers import keras1_arguments as _k1
from lamina.layers.keras1_arguments import Keras1Interface, warn_caller


def generate_legacy_interface(
    allowed_positional_args=None, conversions=None, preprocessor=None, value_conversions=None, object_type="class"
):
    """A decorator that converts Keras 1 arguments of a constructor (or method) to Keras 2's before calling it.

    Args:
        allowed_positional_args: names of the positional arguments the Keras 2 signature takes; more raise a
            TypeError. None: not checked.
        conversions: `(Keras 1 name, Keras 2 name)` pairs; both given is a TypeError.
        preprocessor: `f(args, kwargs) -> (args, kwargs, converted)` run first (`args[0]` is `self`).
        value_conversions: `{Keras 1 name: {old value: new value}}`.
        object_type: "class" names the object's class in the warning, "method" the function.

    Example:
        >>> legacy_units = generate_legacy_interface(["units"], [("output_dim", "units")])
    """
    interface = Keras1Interface(allowed_positional_args, conversions, value_conversions, preprocessor)
    return _decorator(interface, object_type)


def _decorator(interface: Keras1Interface, object_type: str = "class", strict: bool = True):
    def legacy_support(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            name = type(args[0]).__name__ if object_type == "class" else func.__name__
            args, kwargs = interface.convert(name, args, kwargs, strict=strict)
            return func(*args, **kwargs)

        wrapper._original_function = func
        return wrapper

    return legacy_support


generate_legacy_method_interface = functools.partial(generate_legacy_interface, object_type="method")


def raise_duplicate_arg_error(old_arg, new_arg):
    """Keras 2's error for a call that gave both a Keras 1 argument and its Keras 2 name.

    Example:
        >>> raise_duplicate_arg_error("output_dim", "units")
        Traceback (most recent call last):
        TypeError: For the `units` argument, the layer received both ...
    """
    raise TypeError(
        f"For the `{new_arg}` argument, the layer received both the legacy keyword argument `{old_arg}` and "
        f"the Keras 2 keyword argument `{new_arg}`. Stick to the latter!"
    )


# ---------------------------------------------------------------------------------------------- layers
_STRICT_CONV = _k1.conv_interfaces(strict=True)
legacy_dense_support = _decorator(_k1.DENSE)
legacy_dropout_support = _decorator(_k1.DROPOUT)
legacy_embedding_support = _decorator(_k1.EMBEDDING)
legacy_pooling1d_support = _decorator(_k1.POOLING1D)
legacy_prelu_support = _decorator(_k1.PRELU)
legacy_gaussiannoise_support = _decorator(_k1.GAUSSIAN_NOISE)
legacy_recurrent_support = _decorator(_k1.RECURRENT)
legacy_gaussiandropout_support = _decorator(_k1.GAUSSIAN_DROPOUT)
legacy_pooling2d_support = _decorator(_k1.POOLING2D)
legacy_pooling3d_support = _decorator(_k1.POOLING3D)
legacy_global_pooling_support = _decorator(_k1.GLOBAL_POOLING)
legacy_upsampling1d_support = _decorator(_k1.UPSAMPLING1D)
legacy_upsampling2d_support = _decorator(_k1.UPSAMPLING2D)
legacy_upsampling3d_support = _decorator(_k1.UPSAMPLING3D)
legacy_conv1d_support = _decorator(_k1.CONV1D)
legacy_conv2d_support = _decorator(_STRICT_CONV["conv2d"])
legacy_separable_conv2d_support = _decorator(_STRICT_CONV["separable_conv2d"])
legacy_deconv2d_support = _decorator(_STRICT_CONV["deconv2d"])
legacy_conv3d_support = _decorator(_STRICT_CONV["conv3d"])
legacy_convlstm2d_support = _decorator(_STRICT_CONV["convlstm2d"])
legacy_batchnorm_support = _decorator(_k1.batchnorm_interface(strict=True))
legacy_zeropadding2d_support = _decorator(_k1.ZEROPADDING2D)
legacy_zeropadding3d_support = _decorator(_k1.ZEROPADDING3D)
legacy_cropping2d_support = _decorator(_k1.CROPPING2D)
legacy_cropping3d_support = _decorator(_k1.CROPPING3D)
legacy_spatialdropout1d_support = _decorator(_k1.SPATIALDROPOUT1D)
legacy_spatialdropoutNd_support = _decorator(_k1.SPATIALDROPOUT_ND)  # noqa: N816 - Keras 2's name
legacy_lambda_support = _decorator(_k1.LAMBDA)
legacy_model_constructor_support = _decorator(_k1.MODEL_CONSTRUCTOR)
legacy_input_support = _decorator(_k1.INPUT)

# Keras 2's preprocessors, under its names, for decorators built with `generate_legacy_interface`.
embedding_kwargs_preprocessor = _k1.EMBEDDING.preprocessor
recurrent_args_preprocessor = _k1.recurrent_preprocessor
conv1d_args_preprocessor = _k1.CONV1D.preprocessor
conv2d_args_preprocessor = _STRICT_CONV["conv2d"].preprocessor
conv3d_args_preprocessor = _STRICT_CONV["conv3d"].preprocessor
separable_conv2d_args_preprocessor = _STRICT_CONV["separable_conv2d"].preprocessor
deconv2d_args_preprocessor = _STRICT_CONV["deconv2d"].preprocessor
convlstm2d_args_preprocessor = _STRICT_CONV["convlstm2d"].preprocessor
batchnorm_args_preprocessor = _k1.batchnorm_interface(strict=True).preprocessor
zeropadding2d_args_preprocessor = _k1.ZEROPADDING2D.preprocessor


# --------------------------------------------------------------------------------- models and optimizers
def generator_methods_args_preprocessor(args, kwargs):
    """Keras 1's `samples_per_epoch` as `steps_per_epoch` (divided by the generator's `batch_size` if it has one)."""
    converted = []
    if len(args) < 3 and "samples_per_epoch" in kwargs:
        samples_per_epoch = kwargs.pop("samples_per_epoch")
        generator = args[1] if len(args) > 1 else kwargs["generator"]
        batch_size = getattr(generator, "batch_size", None)
        kwargs["steps_per_epoch"] = samples_per_epoch // batch_size if batch_size else samples_per_epoch
        converted.append(("samples_per_epoch", "steps_per_epoch"))
    if {"samples_per_epoch", "val_samples", "nb_epoch", "nb_val_samples", "nb_worker"} & kwargs.keys():
        warn_caller(
            "The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the Keras 1 argument "
            "`samples_per_epoch`. `steps_per_epoch` is the number of batches to draw from the generator at each "
            "epoch. Basically steps_per_epoch = samples_per_epoch/batch_size. Similarly "
            "`nb_val_samples`->`validation_steps` and `val_samples`->`steps` arguments have changed. "
            "Update your method calls accordingly."
        )
    return args, kwargs, converted


_GENERATOR_METHODS = Keras1Interface(
    allowed_positional_args=["generator", "steps_per_epoch", "epochs"],
    conversions=[
        ("samples_per_epoch", "steps_per_epoch"),
        ("val_samples", "steps"),
        ("nb_epoch", "epochs"),
        ("nb_val_samples", "validation_steps"),
        ("nb_worker", "workers"),
        ("pickle_safe", "use_multiprocessing"),
        ("max_q_size", "max_queue_size"),
    ],
    preprocessor=generator_methods_args_preprocessor,
)
legacy_generator_methods_support = _decorator(_GENERATOR_METHODS, "method")
# On lamina's own fit_generator/evaluate_generator/predict_generator: Keras 1 names converted, but their
# Keras 2 positional arguments past the third (`fit_generator(gen, 10, 2, 0)`) still taken.
builtin_generator_methods_support = _decorator(_GENERATOR_METHODS, "method", strict=False)


def add_weight_args_preprocessing(args, kwargs):
    """Keras 1's `add_weight(shape, name, ...)` order as keywords."""
    if len(args) > 1 and isinstance(args[1], (tuple, list)):
        kwargs["shape"] = args[1]
        args = (args[0], *args[2:])
        if len(args) > 1 and isinstance(args[1], str):
            kwargs["name"] = args[1]
            args = (args[0], *args[2:])
    return args, kwargs, []


legacy_add_weight_support = generate_legacy_interface(
    allowed_positional_args=["name", "shape"], preprocessor=add_weight_args_preprocessing
)


def get_updates_arg_preprocessing(args, kwargs):
    """Keras 1's `get_updates(params, constraints, loss)` as Keras 2's `get_updates(loss=..., params=...)`."""
    if len(args) > 4:
        raise TypeError("`get_update` call received more arguments than expected.")
    if len(args) == 4:
        optimizer, params, _, loss = args
        kwargs["loss"], kwargs["params"] = loss, params
        return [optimizer], kwargs, []
    if len(args) == 3 and isinstance(args[1], (list, tuple)):
        if not isinstance(args[2], dict) or "loss" not in kwargs:
            raise TypeError(
                "get_updates(params, constraints, loss=...): Keras 1's order takes a dict of constraints and "
                f"`loss` as a keyword; got {type(args[2]).__name__} and keywords {sorted(kwargs)}."
            )
        optimizer, params, _ = args
        kwargs["params"] = params
        return [optimizer], kwargs, []
    return args, kwargs, []


legacy_get_updates_support = generate_legacy_interface(
    allowed_positional_args=None, conversions=[], preprocessor=get_updates_arg_preprocessing
)
