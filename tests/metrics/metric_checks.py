"""Shared checks for metric tests: feed the same batches to a lamina metric and a Keras 3 metric, compare."""

from __future__ import annotations

import numpy as np


def feed(metric, batches, weights=None):
    """Updates `metric` with every (y_true, y_pred) batch (and its weights); returns the result as NumPy."""
    weights = weights or [None] * len(batches)
    for (y_true, y_pred), weight in zip(batches, weights):
        metric.update_state(y_true, y_pred, sample_weight=weight)
    return np.asarray(metric.result(), np.float64)


def check_against_keras(metric, oracle, batches, weights=None, expected=None, rtol=1e-5, atol=1e-6):
    """The lamina metric, Keras 3's and (if given) a NumPy value agree; reset_state zeroes the state."""
    got = feed(metric, batches, weights)
    oracle_value = feed(oracle, batches, weights)
    assert got.shape == oracle_value.shape, (got.shape, oracle_value.shape)
    np.testing.assert_allclose(got, oracle_value, rtol=rtol, atol=atol)
    if expected is not None:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    assert metric.variables and all(v.path.startswith(f"{metric.name}/") for v in metric.variables)
    metric.reset_state()
    for variable in metric.variables:
        assert not np.any(np.asarray(variable.numpy()))
    # After a reset only the new batch counts.
    again = feed(metric, batches[:1], None if weights is None else weights[:1])
    oracle.reset_state()
    np.testing.assert_allclose(
        again, feed(oracle, batches[:1], None if weights is None else weights[:1]), rtol=rtol, atol=atol
    )
    return got


def weighted_mean(values, weights=None):
    values = np.asarray(values, np.float64)
    if weights is None:
        return values.mean()
    weights = np.broadcast_to(
        np.asarray(weights, np.float64).reshape(values.shape[0], *([1] * (values.ndim - 1))), values.shape
    )
    return np.sum(values * weights) / np.sum(weights)
