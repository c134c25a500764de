"""Keras 2's K.rnn, map_fn, foldl/foldr, scopes, uids, variable constructors and random draws.

`tests/fixtures/k_backend/k_backend.npz` holds tf-keras 2.21's K.rnn outputs (written by make_k_backend.py).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import lamina
from lamina import backend as K
from lamina import layers

FIXTURE = dict(np.load(pathlib.Path(__file__).parents[1] / "fixtures" / "k_backend" / "k_backend.npz"))


def test_rnn_with_mask_go_backwards_and_constants_matches_tf_keras():
    w, u = FIXTURE["rnn_w"], FIXTURE["rnn_u"]
    seen = []

    def step(x_t, states):
        seen.append(len(states))
        hidden, constant = states
        new = K.tanh(K.dot(x_t, w) + K.dot(hidden, u) + constant)
        return new, [new]

    last, outputs, states = K.rnn(
        step, FIXTURE["rnn_x"], [K.zeros((2, 4))], go_backwards=True, mask=FIXTURE["rnn_mask"],
        constants=[FIXTURE["rnn_const"]],
    )  # fmt: skip
    assert set(seen) == {2}  # the step sees the state, then the constant
    np.testing.assert_allclose(K.eval(last), FIXTURE["rnn_last"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.eval(outputs), FIXTURE["rnn_outputs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.eval(states[0]), FIXTURE["rnn_state"], rtol=1e-5, atol=1e-6)


def test_rnn_unmasked_is_a_running_sum_and_checks_its_states():
    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    last, outputs, (total,) = K.rnn(lambda x_t, s: (x_t + s[0], [x_t + s[0]]), x, [np.zeros((2, 3), "float32")])
    np.testing.assert_allclose(K.eval(outputs), np.cumsum(x, axis=1))
    np.testing.assert_allclose(K.eval(last), x.sum(axis=1))
    np.testing.assert_allclose(K.eval(total), x.sum(axis=1))
    with pytest.raises(ValueError, match="returned 2 states, expected 1"):
        K.rnn(lambda x_t, s: (x_t, [x_t, x_t]), x, [np.zeros((2, 3), "float32")])


def test_map_fn_foldl_foldr():
    rows = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "float32")
    np.testing.assert_allclose(K.eval(K.map_fn(lambda r: K.sum(r) * 2, rows)), [6.0, 14.0, 22.0])
    np.testing.assert_allclose(K.eval(K.map_fn(lambda r: r[0], rows, dtype="int32")), [1, 3, 5])
    digits = np.array([1, 2, 3])
    assert int(K.eval(K.foldl(lambda acc, d: acc * 10 + d, digits))) == 123
    assert int(K.eval(K.foldr(lambda acc, d: acc * 10 + d, digits))) == 321
    np.testing.assert_allclose(K.eval(K.foldl(lambda acc, r: acc - r, rows, initializer=np.zeros(2))), [-9, -12])
    with pytest.raises(ValueError, match="elems is empty"):
        K.foldl(lambda acc, r: acc, np.zeros((0, 2)))


def test_learning_phase_scope_switches_dropout_in_k_function_and_restores():
    model = lamina.Sequential([layers.Input((50,)), layers.Dropout(0.5)])
    f = K.function([model.input], [model.output])
    x = np.ones((4, 50), "float32")
    with K.learning_phase_scope(1):
        training = f([x])[0]
    assert (training == 0).any() and np.isin(training, [0.0, 2.0]).all()
    np.testing.assert_array_equal(f([x])[0], x)  # back to the test phase
    with pytest.raises(ValueError, match="0 \\(test\\) or 1 \\(train\\)"):
        with K.learning_phase_scope(3):
            pass


def test_uids_name_scope_placeholders_and_small_helpers():
    K.reset_uids()
    assert [K.get_uid("dense"), K.get_uid("dense"), K.get_uid("conv")] == [1, 2, 1]
    K.clear_session()
    assert K.get_uid("dense") == 1
    with K.name_scope("outer") as outer, K.name_scope("inner") as inner:
        assert (outer, inner) == ("outer", "outer/inner")
    placeholder = K.placeholder(shape=(None, 3))
    assert K.is_placeholder(placeholder)
    assert not K.is_placeholder(layers.Dense(2)(placeholder)) and not K.is_placeholder(np.zeros(3))
    K.manual_variable_initialization(True)
    K.manual_variable_initialization(False)
    with K.control_dependencies([placeholder]):
        pass
    assert K.symbolic(len) is len and K.eager(len) is len


def test_random_variables_and_draws():
    uniform = K.random_uniform_variable((200, 50), -1.0, 3.0, seed=4)
    assert K.is_variable(uniform) and K.int_shape(uniform) == (200, 50)
    values = K.eval(uniform)
    assert values.min() >= -1.0 and values.max() < 3.0 and abs(values.mean() - 1.0) < 0.05
    np.testing.assert_array_equal(values, K.eval(K.random_uniform_variable((200, 50), -1.0, 3.0, seed=4)))
    normal = K.eval(K.random_normal_variable((200, 50), 2.0, 0.5, seed=5))
    assert abs(normal.mean() - 2.0) < 0.02 and abs(normal.std() - 0.5) < 0.02
    truncated = K.eval(K.truncated_normal((200, 50), mean=1.0, stddev=0.5, seed=6))
    assert truncated.min() >= 0.0 and truncated.max() <= 2.0
    # A normal cut at two standard deviations has a standard deviation of about 0.88 of the uncut one.
    assert abs(truncated.std() - 0.88 * 0.5) < 0.015 and abs(truncated.mean() - 1.0) < 0.02
    coins = K.eval(K.random_binomial((200, 50), p=0.3, seed=7))
    assert set(np.unique(coins)) == {0.0, 1.0} and abs(coins.mean() - 0.3) < 0.02
    assert K.eval(K.random_bernoulli((10,), p=1.0, seed=1)).tolist() == [1.0] * 10
    kept = K.eval(K.dropout(np.ones((100, 100), "float32"), 0.25, seed=3))
    assert (np.isclose(kept, 0.0) | np.isclose(kept, 4.0 / 3.0)).all() and abs((kept == 0).mean() - 0.25) < 0.02
    with pytest.raises(ValueError, match="level must be in"):
        K.dropout(np.ones(3, "float32"), 1.0)
