"""K.ctc_batch_cost, K.ctc_decode, K.ctc_label_dense_to_sparse and ops.ctc_loss against NumPy and tf-keras.

`tests/fixtures/k_backend/k_backend.npz` holds tf-keras 2.21's outputs (written by make_k_backend.py).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import lamina
from lamina import backend as K
from lamina import layers, ops

FIXTURE = dict(np.load(pathlib.Path(__file__).parents[1] / "fixtures" / "k_backend" / "k_backend.npz"))


def numpy_ctc_loss(labels, log_probs, label_length, logit_length, blank):
    """Minus the log of the summed probability of every alignment, by the forward recursion in probability space."""
    losses = []
    for b in range(len(labels)):
        extended = [blank]
        for label in labels[b][: label_length[b]]:
            extended += [int(label), blank]
        probs = np.exp(log_probs[b].astype("float64"))
        alpha = np.zeros(len(extended))
        alpha[0] = probs[0, extended[0]]
        if len(extended) > 1:
            alpha[1] = probs[0, extended[1]]
        for t in range(1, logit_length[b]):
            new = np.zeros_like(alpha)
            for s, label in enumerate(extended):
                total = alpha[s] + (alpha[s - 1] if s > 0 else 0.0)
                if s > 1 and label != blank and label != extended[s - 2]:
                    total += alpha[s - 2]
                new[s] = total * probs[t, label]
            alpha = new
        end = alpha[-1] + (alpha[-2] if len(extended) > 1 else 0.0)
        losses.append(-np.log(end) if end > 0 else np.inf)
    return np.array(losses)


def log_softmax(x):
    return x - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) - x.max(-1, keepdims=True)


def test_ctc_loss_op_matches_numpy_forward_algorithm():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 6, 4)).astype("float32")
    labels = np.array([[1, 2, 2], [3, 1, 9], [1, 1, 9]])  # 9: padding past the label's length; blank 0
    label_length, logit_length = np.array([3, 1, 2]), np.array([6, 4, 5])
    got = ops.convert_to_numpy(ops.ctc_loss(labels, logits, label_length, logit_length, blank_index=0))
    np.testing.assert_allclose(
        got, numpy_ctc_loss(labels, log_softmax(logits), label_length, logit_length, 0), rtol=1e-5
    )
    # [1, 1, 2] needs four steps (1, blank, 1, 2) and [1, 1] three: fewer steps give an infinite loss.
    short = ops.ctc_loss(np.array([[1, 1, 2]] * 3), logits, np.array([3, 3, 2]), np.array([3, 4, 3]), blank_index=0)
    assert np.isinf(ops.convert_to_numpy(short)).tolist() == [True, False, False]


def test_ctc_batch_cost_matches_tf_keras_and_numpy():
    y_pred, labels = FIXTURE["ctc_y_pred"], FIXTURE["ctc_labels"]
    input_length, label_length = FIXTURE["ctc_input_length"], FIXTURE["ctc_label_length"]
    cost = K.eval(K.ctc_batch_cost(labels, y_pred, input_length, label_length))
    assert cost.shape == (3, 1)
    np.testing.assert_allclose(cost, FIXTURE["ctc_cost"], rtol=1e-5)
    log_probs = log_softmax(np.log(y_pred.astype("float64") + K.epsilon()))
    expected = numpy_ctc_loss(labels, log_probs, label_length[:, 0], input_length[:, 0], blank=4)
    np.testing.assert_allclose(cost[:, 0], expected, rtol=1e-5)


def test_ctc_decode_greedy_and_beam_search_match_tf_keras():
    [decoded], log_prob = K.ctc_decode(FIXTURE["ctc_y_pred"], FIXTURE["ctc_input_length"][:, 0])
    np.testing.assert_array_equal(K.eval(decoded), FIXTURE["ctc_greedy_decoded"])
    np.testing.assert_allclose(K.eval(log_prob), FIXTURE["ctc_greedy_log_prob"], rtol=1e-5)
    paths, log_prob = K.ctc_decode(
        FIXTURE["ctc_beam_y_pred"], FIXTURE["ctc_beam_length"], greedy=False, beam_width=100, top_paths=3
    )
    assert len(paths) == 3
    for k, path in enumerate(paths):
        np.testing.assert_array_equal(K.eval(path), FIXTURE[f"ctc_beam_decoded{k}"])
    np.testing.assert_allclose(K.eval(log_prob), FIXTURE["ctc_beam_log_prob"], rtol=1e-5)
    with pytest.raises(ValueError, match="top_paths <= beam_width"):
        K.ctc_decode(FIXTURE["ctc_beam_y_pred"], FIXTURE["ctc_beam_length"], greedy=False, beam_width=2, top_paths=3)


def test_ctc_label_dense_to_sparse_keeps_entries_within_each_length():
    sparse = K.ctc_label_dense_to_sparse(np.array([[1, 2, 0], [3, 0, 0]]), np.array([2, 1]))
    np.testing.assert_array_equal(sparse.indices, [[0, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(sparse.values, [1, 2, 3])
    np.testing.assert_array_equal(sparse.dense_shape, [2, 3])


def test_a_model_with_a_ctc_loss_in_a_lambda_trains():
    rng = np.random.default_rng(0)
    steps, classes, max_label, batch = 8, 5, 3, 4
    features = layers.Input((steps, 6))
    labels = layers.Input((max_label,))
    input_length = layers.Input((1,), dtype="int32")
    label_length = layers.Input((1,), dtype="int32")
    y_pred = layers.Dense(classes, activation="softmax")(features)
    loss = layers.Lambda(lambda a: K.ctc_batch_cost(a[1], a[0], a[2], a[3]), output_shape=(1,), name="ctc")(
        [y_pred, labels, input_length, label_length]
    )
    model = lamina.Model([features, labels, input_length, label_length], loss)
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss={"ctc": lambda y_true, y_pred: y_pred})
    data = [
        rng.normal(size=(batch, steps, 6)).astype("float32"),
        rng.integers(0, classes - 1, size=(batch, max_label)).astype("float32"),
        np.full((batch, 1), steps, "int32"),
        np.array([[3], [2], [1], [3]], "int32"),
    ]
    losses = [model.train_on_batch(data, np.zeros((batch, 1))) for _ in range(6)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0] - 1.0
    assert all(np.isfinite(w).all() for w in model.get_weights())
