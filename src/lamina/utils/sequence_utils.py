"""`pad_sequences`: ragged lists of sequences to one NumPy array, as Keras 2 and Keras 3 do it.

Keras 2 had it as `keras.preprocessing.sequence.pad_sequences`; Keras 3 moved it
to `keras.utils.pad_sequences`. lamina has it in both places (this module is the
one implementation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SIDES = ("pre", "post")


def _lengths_and_sample_shape(sequences) -> tuple[list[int], tuple]:
    """Every sequence's length, and the shape of one step, taken from the first non-empty sequence."""
    lengths = []
    sample_shape: tuple = ()
    found_sample = False
    for sequence in sequences:
        try:
            lengths.append(len(sequence))
        except TypeError as error:
            raise ValueError(
                f"pad_sequences: `sequences` must be a list of iterables (lists or arrays); found a "
                f"non-iterable: {sequence!r}."
            ) from error
        if not found_sample and len(sequence):
            sample_shape = np.asarray(sequence).shape[1:]
            found_sample = True
    return lengths, sample_shape


def _check_value_dtype(value: Any, dtype: Any) -> None:
    """Keras 2's rule: a string padding value needs an object or str dtype."""
    if not isinstance(value, str) or dtype is object:
        return
    if np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == np.dtype(object):
        return
    raise ValueError(
        f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
        "You should set `dtype=object` for variable length strings."
    )


def pad_sequences(
    sequences,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pads (or truncates) sequences of different lengths to the same length.

    Each sequence is cut to `maxlen` steps (dropping steps at its start with
    `truncating="pre"`, at its end with `"post"`) and filled up with `value`
    before it (`padding="pre"`) or after it (`"post"`). Steps may themselves be
    arrays (all of one shape); the output has shape
    `(len(sequences), maxlen) + step_shape`. For strings use `dtype=object`
    (or a NumPy str dtype) and a string `value`.

    Args:
        sequences: A list of sequences (lists or arrays, possibly empty).
        maxlen: The length of the output; `None` means the longest sequence's length.
        dtype: The output's dtype. Defaults to `"int32"`.
        padding: `"pre"` or `"post"`: where to put the padding.
        truncating: `"pre"` or `"post"`: which end of a too-long sequence to drop.
        value: The padding value. Defaults to `0.0`.

    Returns:
        A NumPy array of shape `(len(sequences), maxlen) + step_shape`.

    Raises:
        ValueError: For an unknown `padding` or `truncating`, a non-iterable
            sequence, steps of different shapes, or a string `value` with a
            numeric `dtype`.

    Example:
        >>> pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2, padding="post")
        array([[2, 3],
               [4, 5],
               [6, 0]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences, got {type(sequences).__name__}.")
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: `sequences` is empty and no `maxlen` was given.")
        maxlen = int(np.max(lengths))
    _check_value_dtype(value, dtype)
    padded = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for position, sequence in enumerate(sequences):
        if not len(sequence):
            continue
        if truncating not in _SIDES:
            raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood; expected "pre" or "post".')
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        if maxlen == 0:
            kept = sequence[:0]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: shape of sample {kept.shape[1:]} of sequence at position {position} is "
                f"different from expected shape {sample_shape}."
            )
        if padding not in _SIDES:
            raise ValueError(f'pad_sequences: padding type "{padding}" not understood; expected "pre" or "post".')
        if padding == "post":
            padded[position, : len(kept)] = kept
        else:
            padded[position, padded.shape[1] - len(kept) :] = kept
    return padded
