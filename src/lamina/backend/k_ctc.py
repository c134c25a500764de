"""Keras 2's CTC functions: `ctc_batch_cost` (a loss with gradients), `ctc_decode` and `ctc_label_dense_to_sparse`.

As in Keras 2, `y_pred` holds softmax probabilities (batch, time, classes) and the CTC blank
is the LAST class. The loss runs on the engine (`lamina.ops.ctc_loss`, differentiable);
decoding runs on the host in NumPy, since its output lengths depend on the values.

Example:
    >>> from lamina import backend as K
    >>> loss = K.ctc_batch_cost(labels, y_pred, input_length, label_length)  # (batch, 1)
    >>> [decoded], log_prob = K.ctc_decode(y_pred, input_length[:, 0])  # decoded padded with -1
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lamina import ops
from lamina.backend.common import Variable
from lamina.config import epsilon

__all__ = ["ctc_batch_cost", "ctc_decode", "ctc_label_dense_to_sparse"]


def _tensor(x):
    return ops.convert_to_tensor(x.value if isinstance(x, Variable) else x)


def _numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x.value if isinstance(x, Variable) else x))


class SparseLabels(NamedTuple):
    """The entries of a padded label matrix that lie within each row's length (TensorFlow's SparseTensor parts).

    Attributes:
        indices: (entries, 2) int64 array of (row, position).
        values: (entries,) array of the labels there.
        dense_shape: (2,) int64 array, the padded matrix's shape.
    """

    indices: np.ndarray
    values: np.ndarray
    dense_shape: np.ndarray


def ctc_label_dense_to_sparse(labels, label_lengths) -> SparseLabels:
    """The labels within each row's length, as `(indices, values, dense_shape)` NumPy arrays.

    Keras 2 returns a `tf.SparseTensor`; lamina has no sparse tensors, so this returns a
    `SparseLabels` named tuple with the same three parts (`ctc_batch_cost` takes the dense labels).

    Example:
        >>> K.ctc_label_dense_to_sparse(np.array([[1, 2, 0], [3, 0, 0]]), np.array([2, 1])).values
        array([1, 2, 3])
    """
    labels = _numpy(labels)
    lengths = _numpy(label_lengths).reshape(-1).astype("int64")
    if labels.ndim != 2 or lengths.shape[0] != labels.shape[0]:
        raise ValueError(
            f"K.ctc_label_dense_to_sparse: labels must be (batch, max_length) with one length per row, got "
            f"labels of shape {labels.shape} and {lengths.shape[0]} lengths."
        )
    keep = np.arange(labels.shape[1])[None, :] < lengths[:, None]
    indices = np.argwhere(keep).astype("int64")
    return SparseLabels(indices, labels[keep], np.array(labels.shape, dtype="int64"))


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """The CTC loss of each sample: minus the log-probability of its labels under `y_pred`.

    Args:
        y_true: (batch, max_label_length) label indices; entries past `label_length` are ignored.
        y_pred: (batch, time, classes) softmax probabilities; the last class is the blank.
        input_length: (batch, 1) ints, the valid time steps of each sample of `y_pred`.
        label_length: (batch, 1) ints, the length of each label sequence.

    Returns:
        (batch, 1) losses (as Keras 2: probabilities are clipped at `K.epsilon()` before the log).

    Example:
        >>> loss = layers.Lambda(lambda a: K.ctc_batch_cost(*a))([labels, y_pred, input_length, label_length])
    """
    y_pred = _tensor(y_pred)
    if len(y_pred.shape) != 3:
        raise ValueError(f"K.ctc_batch_cost: y_pred must be (batch, time, classes), got shape {tuple(y_pred.shape)}.")
    blank = y_pred.shape[-1] - 1
    logits = ops.log(ops.add(y_pred, epsilon()))
    input_length = ops.reshape(ops.cast(_tensor(input_length), "int32"), (-1,))
    label_length = ops.reshape(ops.cast(_tensor(label_length), "int32"), (-1,))
    losses = ops.ctc_loss(_tensor(y_true), logits, label_length, input_length, blank_index=blank)
    return ops.expand_dims(losses, 1)


def _greedy(log_probs, lengths, blank):
    """Best class per step, repeats merged, blanks dropped; score minus the sum of the best log-probabilities."""
    paths, scores = [], []
    for sample, length in zip(log_probs, lengths):
        steps = sample[:length]
        best = steps.argmax(axis=1)
        merged = [int(c) for i, c in enumerate(best) if c != blank and (i == 0 or c != best[i - 1])]
        paths.append(merged)
        scores.append(-float(steps.max(axis=1).sum()))
    return [paths], np.array(scores, dtype="float32")[:, None]


def _beam_step(prefixes, ends_blank, ends_label, step, blank, beam_width):
    """One step of prefix beam search, vectorized over the kept prefixes and the classes."""
    total = np.logaddexp(ends_blank, ends_label)
    last = np.array([prefix[-1] if prefix else -1 for prefix in prefixes])
    stay_blank = total + step[blank]
    stay_label = np.where(last >= 0, ends_label + step[np.maximum(last, 0)], -np.inf)
    # A repeated label only starts anew after a blank; otherwise the step extends the same label.
    source = np.where(np.arange(step.shape[0])[None, :] == last[:, None], ends_blank[:, None], total[:, None])
    extend = source + step[None, :]
    extend[:, blank] = -np.inf
    position = {prefix: i for i, prefix in enumerate(prefixes)}
    for i, prefix in enumerate(prefixes):
        parent = position.get(prefix[:-1]) if prefix else None
        if parent is not None:  # the extension of a kept prefix that is itself kept adds to it
            stay_label[i] = np.logaddexp(stay_label[i], extend[parent, prefix[-1]])
            extend[parent, prefix[-1]] = -np.inf
    scores = np.concatenate([np.logaddexp(stay_blank, stay_label), extend.ravel()])
    chosen = [n for n in np.argsort(-scores, kind="stable")[:beam_width] if np.isfinite(scores[n])]
    kept, classes = len(prefixes), step.shape[0]
    new_prefixes, new_blank, new_label = [], [], []
    for n in chosen:
        if n < kept:
            new_prefixes.append(prefixes[n])
            new_blank.append(stay_blank[n])
            new_label.append(stay_label[n])
        else:
            parent, label = divmod(n - kept, classes)
            new_prefixes.append(prefixes[parent] + (int(label),))
            new_blank.append(-np.inf)
            new_label.append(extend[parent, label])
    return new_prefixes, np.array(new_blank), np.array(new_label)


def _beam_search_sample(steps, blank, beam_width, top_paths):
    """Prefix beam search on one sample's (time, classes) log-probabilities: the best paths and their scores."""
    prefixes, ends_blank, ends_label = [()], np.array([0.0]), np.array([-np.inf])
    for step in steps:
        prefixes, ends_blank, ends_label = _beam_step(prefixes, ends_blank, ends_label, step, blank, beam_width)
    totals = np.logaddexp(ends_blank, ends_label)
    ranked = np.argsort(-totals, kind="stable")[:top_paths]
    # As Keras 2 (TensorFlow's v1 decoder, merge_repeated=True), repeats in a found path are merged.
    paths = [[c for i, c in enumerate(prefixes[n]) if i == 0 or c != prefixes[n][i - 1]] for n in ranked]
    return paths, [float(totals[n]) for n in ranked]


def _beam_search(log_probs, lengths, blank, beam_width, top_paths):
    # As TensorFlow's beam search decoder, the inputs are normalized to log-probabilities first.
    log_probs = log_probs - np.logaddexp.reduce(log_probs, axis=-1, keepdims=True)
    paths = [[] for _ in range(top_paths)]
    scores = np.full((log_probs.shape[0], top_paths), -np.inf, dtype="float32")
    for b, (sample, length) in enumerate(zip(log_probs, lengths)):
        found, found_scores = _beam_search_sample(sample[:length], blank, beam_width, top_paths)
        for k in range(top_paths):
            paths[k].append(found[k] if k < len(found) else [])
            if k < len(found_scores):
                scores[b, k] = found_scores[k]
    return paths, scores


def _dense(paths, width: int) -> np.ndarray:
    out = np.full((len(paths), width), -1, dtype="int32")
    for row, path in enumerate(paths):
        out[row, : len(path)] = path
    return out


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """The most likely label sequences under `y_pred` (softmax probabilities, the last class the blank).

    Greedy decoding takes the best class at every step, merges repeats and drops blanks; its score
    is minus the sum of the best log-probabilities (as TensorFlow's greedy decoder). Beam search
    (`greedy=False`) is a prefix beam search keeping `beam_width` prefixes, returning the
    `top_paths` best with their log-probabilities.

    Args:
        y_pred: (batch, time, classes) probabilities.
        input_length: (batch,) ints, the valid time steps of each sample.
        greedy: greedy decoding (True) or beam search (False).
        beam_width: how many prefixes beam search keeps at each step.
        top_paths: how many paths beam search returns (greedy returns one).

    Returns:
        `(decoded, log_prob)`: a list of `top_paths` int32 tensors (batch, time), each path padded
        with -1 (as tf.keras; Keras 2.3.1 cut the padding at the longest path), and a (batch, top_paths)
        float32 tensor of scores.

    Example:
        >>> [decoded], log_prob = K.ctc_decode(y_pred, np.full((batch,), time_steps))
    """
    probs = _numpy(y_pred).astype("float64")
    if probs.ndim != 3:
        raise ValueError(f"K.ctc_decode: y_pred must be (batch, time, classes), got shape {probs.shape}.")
    lengths = _numpy(input_length).reshape(-1).astype("int64")
    if lengths.shape[0] != probs.shape[0]:
        raise ValueError(f"K.ctc_decode: input_length needs {probs.shape[0]} entries, got {lengths.shape[0]}.")
    if not greedy and (int(beam_width) < 1 or int(top_paths) < 1 or int(top_paths) > int(beam_width)):
        raise ValueError(
            f"K.ctc_decode: need 1 <= top_paths <= beam_width, got top_paths={top_paths}, beam_width={beam_width}."
        )
    log_probs = np.log(probs + epsilon())
    blank = probs.shape[-1] - 1
    if greedy:
        paths, scores = _greedy(log_probs, lengths, blank)
    else:
        paths, scores = _beam_search(log_probs, lengths, blank, int(beam_width), int(top_paths))
    decoded = [ops.convert_to_tensor(_dense(p, probs.shape[1])) for p in paths]
    return decoded, ops.convert_to_tensor(scores.astype("float32"))
