"""Layer config keys that older Keras versions wrote, turned into what lamina's constructors take.

Three kinds of keys:
- Keras 1 names that Keras 2.0–2.2 still accepted when loading (its "legacy interfaces"):
  `output_dim` → `units`, `nb_filter` → `filters`, `border_mode` → `padding`, `init` →
  `kernel_initializer`, `dropout_W` → `dropout`, ... with the values converted where the meaning
  moved (`dim_ordering="th"` → `data_format="channels_first"`, `nb_row`/`nb_col` → `kernel_size`).
- Keys Keras 2 wrote that change the computation: `input_dtype` (Keras 1's `dtype`); the layers
  themselves take the others (RNN's `time_major` and `unroll`, Attention's `causal`, ...).
- Keys that change nothing in lamina (`implementation`, which only picked a kernel layout; the
  `kernel_*` and `groups` keys tf-keras's SeparableConv inherited from Conv and never used): dropped.

A key none of these lists and the layer does not take stays an error naming the layer and the key.

Example:
    >>> upgrade_layer_config("Dense", {"output_dim": 4, "init": "uniform", "bias": False})
    {'units': 4, 'kernel_initializer': 'uniform', 'use_bias': False}
"""

from __future__ import annotations

import warnings

_WEIGHTS = {
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "init": "kernel_initializer",
    "bias": "use_bias",
}
_DATA_FORMAT = {"dim_ordering": "data_format"}
_CONV = {**_WEIGHTS, **_DATA_FORMAT, "nb_filter": "filters", "border_mode": "padding", "subsample": "strides"}
_CONV1D = {**_CONV, "filter_length": "kernel_size", "subsample_length": "strides"}
_POOL1D = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
_POOL = {"border_mode": "padding", **_DATA_FORMAT}
_RECURRENT = {
    **_WEIGHTS,
    "output_dim": "units",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "U_regularizer": "recurrent_regularizer",
    "U_constraint": "recurrent_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "forget_bias_init": "unit_forget_bias",
    "consume_less": "implementation",
}
_FAMILIES = (
    (("Dense",), {**_WEIGHTS, "output_dim": "units"}),
    (("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout"), {"p": "rate"}),
    (("GaussianNoise",), {"sigma": "stddev"}),
    (("Embedding",), {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                      "W_constraint": "embeddings_constraint"}),
    (("SimpleRNN", "GRU", "LSTM"), _RECURRENT),
    (("Conv1D", "Convolution1D", "AtrousConvolution1D"), {**_CONV1D, "atrous_rate": "dilation_rate"}),
    (("Conv2D", "Convolution2D", "AtrousConvolution2D", "Conv2DTranspose", "Deconvolution2D", "Conv3D",
      "Convolution3D", "SeparableConv2D", "SeparableConvolution2D"), {**_CONV, "atrous_rate": "dilation_rate"}),
    (("MaxPooling1D", "AveragePooling1D"), _POOL1D),
    (("MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D"), _POOL),
    (("GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling3D",
      "UpSampling2D", "UpSampling3D", "ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D"), _DATA_FORMAT),
    (("UpSampling1D",), {"length": "size"}),
    (("BatchNormalization",), {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"}),
    (("PReLU",), {"init": "alpha_initializer"}),
)  # fmt: skip
KERAS1_RENAMES = {name: renames for names, renames in _FAMILIES for name in names}

# Keys that never change lamina's numbers, whatever their value, by layer class ("*": every layer).
INERT_KEYS = {
    "*": ("implementation",),  # Keras 2's choice of kernel layout (1 or 2); Keras 1's consume_less
    "SeparableConv1D": ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"),
    "SeparableConv2D": ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"),
}
_FORMATS = {"tf": "channels_last", "th": "channels_first", "default": None}
# Layers whose `implementation` is the layout of a stored weight, so it must reach the constructor.
_LAYOUT_MATTERS = ("LocallyConnected1D", "LocallyConnected2D")


def _kernel_size(config: dict) -> dict:
    """Keras 1's `nb_row`, `nb_col` (and Conv3D's `kernel_dim1..3`) as one `kernel_size`."""
    for keys in (("kernel_dim1", "kernel_dim2", "kernel_dim3"), ("nb_row", "nb_col")):
        if all(key in config for key in keys) and "kernel_size" not in config:
            config["kernel_size"] = [config.pop(key) for key in keys]
    return config


def _convert(new_key: str, value):
    if new_key == "data_format" and value in _FORMATS:
        return _FORMATS[value]
    if new_key == "unit_forget_bias":  # Keras 2 kept "one" as unit_forget_bias=True, anything else False
        return value in ("one", "ones", "Ones")
    return value


def _drop_embedding_dropout(class_name: str, config: dict) -> None:
    if class_name == "Embedding" and "dropout" in config:
        rate = config.pop("dropout")
        if rate:
            warnings.warn(
                f'Layer "{config.get("name")}": Keras 1\'s Embedding(dropout={rate}) is dropped, as Keras 2 '
                "dropped it; add a SpatialDropout1D layer after the Embedding for the same training behaviour.",
                stacklevel=4,
            )


def _check_batchnorm_mode(config: dict) -> None:
    """Keras 1's BatchNormalization `mode`: 0 (Keras 2's only behaviour) is dropped, 1 and 2 refused as in Keras 2."""
    mode = config.pop("mode")
    if mode != 0:
        raise ValueError(
            f'Layer "{config.get("name")}": Keras 1\'s BatchNormalization(mode={mode!r}) normalized '
            + ("each sample over its features" if mode == 1 else "with the batch's own statistics at inference too")
            + "; Keras 2 dropped modes 1 and 2 and so does lamina (only mode=0, the default, loads)."
        )


def upgrade_layer_config(class_name: str, config: dict) -> dict:
    """`config` with Keras 1's argument names renamed, `input_dtype` as `dtype`, inert keys dropped.

    Example:
        >>> upgrade_layer_config("Conv2D", {"nb_filter": 8, "nb_row": 3, "nb_col": 3, "dim_ordering": "th"})
        {'filters': 8, 'data_format': 'channels_first', 'kernel_size': [3, 3]}
    """
    config = dict(config)
    if "input_dtype" in config:
        dtype = config.pop("input_dtype")
        config.setdefault("dtype", dtype)
    for key in INERT_KEYS["*"] + INERT_KEYS.get(class_name, ()):
        if key == "implementation" and class_name in _LAYOUT_MATTERS:
            continue
        config.pop(key, None)
    if class_name == "BatchNormalization" and "mode" in config:
        _check_batchnorm_mode(config)
    renames = KERAS1_RENAMES.get(class_name, {})
    if not any(key in config for key in (*renames, "nb_row", "kernel_dim1", "dropout")):
        return config
    _drop_embedding_dropout(class_name, config)
    out = {}
    for key, value in config.items():
        new_key = renames.get(key, key)
        if new_key != key and new_key in config:
            continue  # both spellings: the Keras 2 one wins
        out[new_key] = _convert(new_key, value) if new_key != key else value
    for key in INERT_KEYS["*"]:
        out.pop(key, None)
    return _kernel_size(out)


# Keras 2's cuDNN-only recurrent layers compute what these portable ones compute (their weights are
# converted on load by `lamina.saving.legacy_weights`): tanh cells, a true sigmoid for the gates, and for
# the GRU the reset gate applied after the recurrent matmul.
_CUDNN_CLASSES = {
    "CuDNNLSTM": ("LSTM", {"activation": "tanh", "recurrent_activation": "sigmoid"}),
    "CuDNNGRU": ("GRU", {"activation": "tanh", "recurrent_activation": "sigmoid", "reset_after": True}),
}


def upgrade_layer_class(serialized: dict, custom_objects=None) -> dict:
    """A serialized Keras 2 `CuDNNLSTM`/`CuDNNGRU` as the LSTM/GRU that computes the same; others unchanged.

    A class the caller registers under that name (`custom_objects`) is left to the caller.

    Example:
        >>> upgrade_layer_class({"class_name": "CuDNNGRU", "config": {"units": 4}})["config"]["reset_after"]
        True
    """
    name = serialized.get("class_name")
    if name not in _CUDNN_CLASSES or name in (custom_objects or {}):
        return serialized
    class_name, fixed = _CUDNN_CLASSES[name]
    return {**serialized, "class_name": class_name, "config": {**serialized.get("config", {}), **fixed}}


# Keras 1 wrote regularizers and constraints as `{"name": class name, **arguments}`, some under names or
# with arguments Keras 2 renamed (its legacy interfaces converted them the same way).
_KERAS1_OBJECTS = {
    "WeightRegularizer": ("L1L2", {}),  # Keras 1.0-1.1
    "L1L2Regularizer": ("L1L2", {}),  # Keras 1.2
    "ActivityRegularizer": ("L1L2", {}),  # Keras 1's activity_l1/l2/l1l2 (the same penalty, on outputs)
    "MaxNorm": ("MaxNorm", {"m": "max_value"}),
    "MinMaxNorm": ("MinMaxNorm", {"low": "min_value", "high": "max_value"}),
}


def keras1_object(kind: str, config: dict) -> dict:
    """Keras 1's `{"name": ..., **arguments}` regularizer or constraint as Keras 2's `{"class_name", "config"}`.

    Example:
        >>> keras1_object("regularizer", {"name": "L1L2Regularizer", "l1": 0.0, "l2": 0.01})
        {'class_name': 'L1L2', 'config': {'l1': 0.0, 'l2': 0.01}}
    """
    arguments = {key: value for key, value in config.items() if key != "name"}
    class_name, renames = _KERAS1_OBJECTS.get(config["name"], (config["name"], {}))
    if class_name == "L1L2":
        arguments = {key: float(arguments.get(key, 0.0)) for key in ("l1", "l2")}
    return {"class_name": class_name, "config": {renames.get(key, key): value for key, value in arguments.items()}}
