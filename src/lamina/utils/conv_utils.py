"""Keras 2.3's public `keras.utils.conv_utils` helpers, with its signatures, results and messages.

Layers use their own internal helpers; these are for user code written against Keras 2 (custom
convolution layers computing their output shapes).

Example:
    >>> normalize_tuple(3, 2, "kernel_size")
    (3, 3)
    >>> conv_output_length(32, 3, "valid", stride=2)
    15
"""

from __future__ import annotations

from lamina.config import image_data_format

_PADDINGS = ("same", "valid", "full")


def normalize_tuple(value, n, name):
    """`value` (an int, or an iterable of `n` ints) as a tuple of `n` ints.

    Args:
        value: an int, or an iterable of ints.
        n: the length of the tuple returned.
        name: the argument's name, used in the error message (e.g. "strides").

    Raises:
        ValueError: when `value` is not an int nor `n` things that `int()` accepts.

    Example:
        >>> normalize_tuple((2, 1), 2, "strides")
        (2, 1)
    """
    if isinstance(value, int):
        return (value,) * n
    message = f"The `{name}` argument must be a tuple of {n} integers. Received: {value}"
    try:
        value_tuple = tuple(value)
    except TypeError:
        raise ValueError(message) from None
    if len(value_tuple) != n:
        raise ValueError(message)
    for element in value_tuple:
        try:
            int(element)
        except (ValueError, TypeError):
            raise ValueError(f"{message} including element {element} of type {type(element)}") from None
    return value_tuple


def normalize_data_format(value):
    """`value` lower-cased, checked to be "channels_first" or "channels_last" (None: the configured default).

    Example:
        >>> normalize_data_format("Channels_First")
        'channels_first'
    """
    if value is None:
        value = image_data_format()
    data_format = value.lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            f'The `data_format` argument must be one of "channels_first", "channels_last". Received: {value}'
        )
    return data_format


def normalize_padding(value):
    """`value` lower-cased, checked to be "valid", "same" or "causal".

    Example:
        >>> normalize_padding("SAME")
        'same'
    """
    padding = value.lower()
    if padding not in ("valid", "same", "causal"):
        raise ValueError(
            f'The `padding` argument must be one of "valid", "same" (or "causal" for Conv1D). Received: {padding}'
        )
    return padding


def _check_padding(padding, allowed, function):
    if padding not in allowed:
        raise ValueError(f"{function}: `padding` must be one of {', '.join(allowed)}. Received: {padding!r}")


def conv_output_length(input_length, filter_size, padding, stride, dilation=1):
    """The length of a convolution's output along one axis (None stays None).

    Args:
        input_length: the input's length.
        filter_size: the kernel's length.
        padding: "same", "valid", "full" or "causal".
        stride: the stride.
        dilation: the dilation rate.

    Example:
        >>> conv_output_length(10, 3, "full", stride=1, dilation=2)
        14
    """
    if input_length is None:
        return None
    _check_padding(padding, (*_PADDINGS, "causal"), "conv_output_length")
    dilated = (filter_size - 1) * dilation + 1
    if padding in ("same", "causal"):
        length = input_length
    elif padding == "valid":
        length = input_length - dilated + 1
    else:
        length = input_length + dilated - 1
    return (length + stride - 1) // stride


def _pad(padding, kernel_size):
    return {"same": kernel_size // 2, "valid": 0, "full": kernel_size - 1}[padding]


def conv_input_length(output_length, filter_size, padding, stride):
    """The input length a convolution needs for `output_length` (None stays None).

    Example:
        >>> conv_input_length(15, 3, "valid", stride=2)
        31
    """
    if output_length is None:
        return None
    _check_padding(padding, _PADDINGS, "conv_input_length")
    return (output_length - 1) * stride - 2 * _pad(padding, filter_size) + filter_size


def deconv_length(dim_size, stride_size, kernel_size, padding, output_padding, dilation=1):
    """The length of a transposed convolution's output along one axis (None stays None).

    Args:
        dim_size: the input's length.
        stride_size: the stride.
        kernel_size: the kernel's length.
        padding: "same", "valid" or "full".
        output_padding: the extra length added to the output, or None to infer it.
        dilation: the dilation rate.

    Example:
        >>> deconv_length(8, 2, 3, "same", None)
        16
    """
    _check_padding(padding, _PADDINGS, "deconv_length")
    if dim_size is None:
        return None
    kernel_size = kernel_size + (kernel_size - 1) * (dilation - 1)
    if output_padding is not None:
        return (dim_size - 1) * stride_size + kernel_size - 2 * _pad(padding, kernel_size) + output_padding
    if padding == "valid":
        return dim_size * stride_size + max(kernel_size - stride_size, 0)
    if padding == "full":
        return dim_size * stride_size - (stride_size + kernel_size - 2)
    return dim_size * stride_size
