"""Probabilistic losses as per-sample functions: crossentropies (plain and focal), KL divergence, Poisson.

Probabilities are clipped to [epsilon, 1 - epsilon] before the log, as Keras does,
so a confident mistake costs -log(epsilon), not infinity.

Example:
    >>> binary_crossentropy([[1.0]], [[0.5]])  # [log 2]
"""

from __future__ import annotations

from lamina import config, ops
from lamina.losses.loss import float_pair


def _smooth_binary(y_true, label_smoothing):
    if label_smoothing:
        return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def _smooth_categorical(y_true, label_smoothing):
    if label_smoothing:
        return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return y_true


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of -(y log p + (1 - y) log(1 - p)); targets smoothed towards 0.5 by `label_smoothing`.

    Example:
        >>> binary_crossentropy([[1.0, 0.0]], [[0.0, 0.0]], from_logits=True)  # [log 2]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "binary_crossentropy")
    y_true = _smooth_binary(y_true, label_smoothing)
    values = ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits, epsilon=config.epsilon())
    return ops.mean(values, axis=axis)


def binary_focal_crossentropy(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Binary crossentropy scaled by `(1 - p_t) ** gamma` (and by alpha / 1 - alpha with class balancing).

    `p_t` is the probability given to the true label, so well-classified samples count less.

    Example:
        >>> binary_focal_crossentropy([[1.0]], [[0.9]], gamma=2.0)  # [0.01 * -log(0.9)]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "binary_focal_crossentropy")
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False, epsilon=config.epsilon())
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def _check_one_hot(y_true, y_pred, loss_name):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{loss_name} expects one-hot targets of the predictions' shape {tuple(y_pred.shape)}, "
            f"got targets of shape {tuple(y_true.shape)}. For integer class labels use "
            "sparse_categorical_crossentropy."
        )


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p)) with one-hot targets; p is y_pred normalized and clipped to [eps, 1-eps].

    Example:
        >>> categorical_crossentropy([[0.0, 1.0]], [[0.25, 0.75]])  # [-log 0.75]
    """
    if isinstance(axis, bool):
        raise ValueError(f"categorical_crossentropy: axis must be an int, got axis={axis!r}.")
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype_of(y_pred))
    _check_one_hot(y_true, y_pred, "categorical_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis, epsilon=config.epsilon())


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """sum over `axis` of -alpha (1 - p)**gamma y log p, with p normalized and clipped as in crossentropy.

    Example:
        >>> categorical_focal_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])  # [0.25 * 0.25 * log 2]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype_of(y_pred))
    _check_one_hot(y_true, y_pred, "categorical_focal_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    probs = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    values = alpha * ops.power(1.0 - probs, gamma) * (-y_true * ops.log(probs))
    return ops.sum(values, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer class labels as targets.

    With `ignore_class`, samples labelled with it give a loss of 0 (the `SparseCategoricalCrossentropy`
    class also leaves them out of the mean, as Keras does).

    Example:
        >>> sparse_categorical_crossentropy([1], [[0.25, 0.75]])  # [-log 0.75]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] != 1:
        raise ValueError(
            f"sparse_categorical_crossentropy expects integer labels of shape {tuple(y_pred.shape[:-1])} "
            f"(or with a trailing 1), got targets of shape {tuple(y_true.shape)}. "
            "For one-hot targets use categorical_crossentropy."
        )
    if ignore_class is None:
        return ops.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=from_logits, axis=axis, epsilon=config.epsilon()
        )
    if y_true.ndim == y_pred.ndim:
        y_true = ops.squeeze(y_true, -1)
    valid = ops.not_equal(y_true, ignore_class)
    y_true = ops.where(valid, y_true, 0)
    # Ignored rows become uniform scores, which keep every value (and gradient) finite before masking.
    y_pred = ops.where(ops.expand_dims(valid, axis), y_pred, 1.0)
    values = ops.sparse_categorical_crossentropy(
        y_true, y_pred, from_logits=from_logits, axis=axis, epsilon=config.epsilon()
    )
    return ops.where(valid, values, 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [epsilon, 1].

    Example:
        >>> kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])
    """
    y_true, y_pred = float_pair(y_true, y_pred, "kl_divergence")
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon)) over the last axis.

    Example:
        >>> poisson([[1.0]], [[1.0]])  # [1 - log(1 + 1e-7)]
    """
    y_true, y_pred = float_pair(y_true, y_pred, "poisson")
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)
