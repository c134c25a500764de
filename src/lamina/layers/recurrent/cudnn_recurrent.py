"""CuDNNLSTM and CuDNNGRU: Keras 2's cuDNN-only recurrent layers, as the portable LSTM / GRU they equal.

Keras 2's cuDNN layers fixed what cuDNN computes: tanh cells, a true sigmoid for the gates, a bias, no
dropout, and for the GRU the reset gate applied after the recurrent matmul (`reset_after=True`). These
classes take Keras 2's constructor arguments and build that LSTM / GRU, on any device and engine. They
save as "LSTM" / "GRU" with the equivalent config (tf.keras 2.x has no cuDNN classes left), so their
files load in lamina, Keras 3 and tf-keras alike.
"""

from __future__ import annotations

from lamina.layers.recurrent.gru import GRU
from lamina.layers.recurrent.lstm import LSTM

# What cuDNN computes; a config (from get_config, or a Keras 2 file) may repeat these values, not others.
_CUDNN_FIXED = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "unroll": False,
}
_IGNORED = ("seed", "use_cudnn", "implementation", "time_major", "zero_output_for_mask")


def _cudnn_kwargs(cls, config: dict) -> dict:
    """`config` without the keys cuDNN fixes; a ValueError when one holds another value."""
    config = dict(config)
    fixed = dict(_CUDNN_FIXED, **({"reset_after": True} if issubclass(cls, GRU) else {}))
    for key, expected in fixed.items():
        if key not in config:
            continue
        value = config.pop(key)
        value = value.get("config", value) if isinstance(value, dict) else value  # a serialized activation
        if value != expected and not (isinstance(expected, float) and value == 0):
            raise ValueError(f"{cls.__name__}: {key} is fixed to {expected!r} by cuDNN, got {value!r}.")
    for key in _IGNORED:
        config.pop(key, None)
    return config


class CuDNNLSTM(LSTM):
    """Keras 2's `CuDNNLSTM`: an LSTM with tanh, sigmoid gates, a bias and no dropout, on any device.

    Args:
        units: the size of the output and of the states.
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        unit_forget_bias: the forget gate's bias starts at 1 (default True).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer: optional.
        kernel_constraint, recurrent_constraint, bias_constraint: optional.
        return_sequences, return_state, go_backwards, stateful: as RNN's.
        **kwargs: the base layer's (`name`, `dtype`, `trainable`, `input_shape`, ...).

    Saved, it is an "LSTM" with the equivalent config.

    Example:
        >>> CuDNNLSTM(4, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    _saved_class_name = "LSTM"

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        kwargs = _cudnn_kwargs(type(self), kwargs)
        super().__init__(
            units, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, **_CUDNN_FIXED, **kwargs,
        )  # fmt: skip


class CuDNNGRU(GRU):
    """Keras 2's `CuDNNGRU`: a GRU with tanh, sigmoid gates, `reset_after=True`, a bias and no dropout.

    Args:
        units: the size of the output and of the state.
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform, orthogonal, zeros.
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer: optional.
        kernel_constraint, recurrent_constraint, bias_constraint: optional.
        return_sequences, return_state, go_backwards, stateful: as RNN's.
        **kwargs: the base layer's (`name`, `dtype`, `trainable`, `input_shape`, ...).

    Saved, it is a "GRU" with the equivalent config.

    Example:
        >>> CuDNNGRU(4)(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    _saved_class_name = "GRU"

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        kwargs = _cudnn_kwargs(type(self), kwargs)
        super().__init__(
            units, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, reset_after=True, **_CUDNN_FIXED, **kwargs,
        )  # fmt: skip
