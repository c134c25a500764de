"""CTC (Connectionist Temporal Classification) loss, as Keras 3's `keras.losses.CTC` / `ctc`.

The negative log-likelihood of each label sequence under per-step class logits,
summed over every alignment: the forward algorithm of Graves et al. (2006) in
log space, one `ops.rnn` step per time step, so it runs inside `jit` (a scan on
JAX) and gives gradients on both engines.

Example:
    >>> ctc(np.array([[1, 2, 0]]), np.zeros((1, 5, 4), "float32"))  # one loss per sample
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import LossFunctionWrapper, match_ranks

# Stands in for log(0): finite, so sums over impossible paths stay finite (as Keras's own kernel does).
LOG_ZERO = -1e5
BLANK = 0  # the blank (and padding) class, as in Keras


def _extended_labels(labels):
    """(batch, 2 * max_labels + 1): a blank before, between and after the labels."""
    blanks = ops.zeros_like(labels)
    interleaved = ops.reshape(ops.stack([blanks, labels], axis=-1), (labels.shape[0], 2 * labels.shape[1]))
    return ops.concatenate([interleaved, blanks[:, :1]], axis=1)


def _shift_right(alpha, by: int):
    filler = ops.full((alpha.shape[0], by), LOG_ZERO, dtype=ops.dtype_of(alpha))
    return ops.concatenate([filler, alpha[:, :-by]], axis=1)


def _check_shapes(labels, logits) -> None:
    if labels.ndim != 2:
        raise ValueError(
            f"ctc expects targets of shape (batch_size, max_length) holding class indices, got shape "
            f"{tuple(labels.shape)}."
        )
    if logits.ndim != 3:
        raise ValueError(
            f"ctc expects logits of shape (batch_size, max_length, num_classes), got shape {tuple(logits.shape)}."
        )


def ctc(y_true, y_pred):
    """CTC loss per sample: -log p(labels | logits), summed over all alignments.

    Args:
        y_true: (batch, max_label_length) integer labels; 0 is the blank and pads
            the end of shorter label sequences.
        y_pred: (batch, time, classes) logits (not softmax-normalized); class 0 is the blank.

    Returns:
        (batch,) losses. Every time step of `y_pred` counts (no input lengths).

    Example:
        >>> ctc([[1, 1]], np.random.rand(1, 6, 3).astype("float32")).shape
        (1,)
    """
    logits = ops.convert_to_tensor(y_pred)
    if not ops.dtype_of(logits).startswith(("float", "bfloat")):
        logits = ops.cast(logits, config.floatx())
    labels = ops.cast(y_true, "int32")
    _check_shapes(labels, logits)
    steps = logits.shape[1]
    label_length = ops.sum(ops.cast(ops.not_equal(labels, BLANK), "int32"), axis=-1)
    extended = _extended_labels(labels)  # (batch, S)
    log_probs = ops.log_softmax(logits, axis=-1)
    index = ops.broadcast_to(ops.expand_dims(extended, 1), (*log_probs.shape[:2], extended.shape[1]))
    emit = ops.take_along_axis(log_probs, index, axis=2)  # (batch, time, S): log p of each extended label
    # A path may skip the blank between two labels, unless they are the same label.
    two_back = ops.concatenate([ops.full((labels.shape[0], 2), -1, dtype="int32"), extended[:, :-2]], axis=1)
    skip = ops.logical_and(ops.not_equal(extended, BLANK), ops.not_equal(extended, two_back))
    position = ops.expand_dims(ops.arange(extended.shape[1]), 0)
    alpha = ops.where(position < 2, emit[:, 0, :], LOG_ZERO)  # start on the first blank or the first label

    def step(emit_t, states):
        previous = states[0]
        from_skip = ops.where(skip, _shift_right(previous, 2), LOG_ZERO)
        paths = ops.stack([previous, _shift_right(previous, 1), from_skip], axis=0)
        new = ops.logsumexp(paths, axis=0) + emit_t
        return new, [new]

    if steps > 1:
        _, _, (alpha,) = ops.rnn(step, emit[:, 1:, :], [alpha], return_all_outputs=False)
    # End on the last blank or on the last label (there is none when the sequence is empty).
    end = ops.expand_dims(2 * label_length, 1)
    on_blank = ops.take_along_axis(alpha, end, axis=1)[:, 0]
    on_label = ops.take_along_axis(alpha, ops.maximum(end - 1, 0), axis=1)[:, 0]
    on_label = ops.where(label_length > 0, on_label, LOG_ZERO)
    return -ops.logsumexp(ops.stack([on_blank, on_label], axis=-1), axis=-1)


class CTC(LossFunctionWrapper):
    """CTC loss between integer label sequences (0 = blank/padding) and per-step logits.

    Args:
        reduction: how the per-sample losses are reduced (see `Loss`).
        name: the loss's name.
        dtype: accepted for Keras 3 configs.

    Example:
        >>> model.compile("adam", loss=CTC())  # y: (batch, max_label_length) ints; outputs: (batch, time, classes)
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true, y_pred = match_ranks(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
        return ctc(y_true, y_pred)
