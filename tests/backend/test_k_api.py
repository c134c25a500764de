"""`from lamina import backend as K`: K.function with the learning phase (the FAQ), and the K.* helpers vs NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import backend as K
from lamina import layers

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 4)).astype("float32")


def dropout_model():
    return lamina.Sequential(
        [layers.Input((4,)), layers.Dense(6, activation="relu"), layers.Dropout(0.5), layers.Dense(3), layers.Dense(2)]
    )


def test_faq_k_function_gives_the_third_layer_output():
    model = dropout_model()
    get_3rd_layer_output = K.function([model.layers[0].input], [model.layers[2].output])
    layer_output = get_3rd_layer_output([X])[0]
    (k1, b1), (k2, b2) = model.layers[0].get_weights(), model.layers[2].get_weights()
    expected = np.maximum(X @ k1 + b1, 0) @ k2 + b2  # Dropout is off: the default phase is test
    np.testing.assert_allclose(layer_output, expected, rtol=1e-5, atol=1e-6)


def test_faq_learning_phase_input_switches_dropout():
    model = dropout_model()
    get_2nd_layer_output = K.function([model.layers[0].input, K.learning_phase()], [model.layers[1].output])
    k1, b1 = model.layers[0].get_weights()
    hidden = np.maximum(X @ k1 + b1, 0)
    test_mode = get_2nd_layer_output([X, 0])[0]
    np.testing.assert_allclose(test_mode, hidden, rtol=1e-5, atol=1e-6)
    train_mode = get_2nd_layer_output([X, 1])[0]
    kept = train_mode != 0
    # Training mode: each unit is either dropped or scaled by 1 / (1 - rate).
    np.testing.assert_allclose(train_mode[kept], 2 * hidden[kept], rtol=1e-5)
    assert (~kept & (hidden > 0)).any()


def test_set_learning_phase_is_the_default_when_the_flag_is_not_an_input():
    model = dropout_model()
    f = K.function([model.input], [model.layers[1].output])
    try:
        K.set_learning_phase(1)
        outputs = np.stack([f([X])[0] for _ in range(4)])
    finally:
        K.set_learning_phase(0)
    assert (outputs == 0).sum() > (f([X])[0] == 0).sum() * 4
    with pytest.raises(ValueError, match="0 \\(test\\) or 1 \\(train\\)"):
        K.set_learning_phase(2)


def test_k_function_over_a_placeholder_and_a_single_output():
    x = K.placeholder(shape=(None, 4))
    dense = layers.Dense(2)
    f = K.function(x, dense(x))
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(f([X])[0], X @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_k_function_errors_name_what_is_wrong():
    model = dropout_model()
    f = K.function([model.input, K.learning_phase()], [model.output])
    with pytest.raises(ValueError, match="takes 2 input value"):
        f([X])
    with pytest.raises(TypeError, match="input 0 is ndarray"):
        K.function([X], [model.output])
    with pytest.raises(TypeError, match="output 0 is ndarray"):
        K.function([model.input], [X])


# ------------------------------------------------------------- K.* helpers
A = RNG.normal(size=(2, 3)).astype("float32")
B = RNG.normal(size=(2, 3)).astype("float32")


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (K.sum, (A,), A.sum()),
        (lambda x: K.mean(x, axis=1, keepdims=True), (A,), A.mean(axis=1, keepdims=True)),
        (lambda x: K.max(x, axis=0), (A,), A.max(axis=0)),
        (lambda x: K.min(x, axis=-1), (A,), A.min(axis=-1)),
        (lambda x: K.std(x, axis=1), (A,), A.std(axis=1)),
        (lambda x: K.var(x), (A,), A.var()),
        (K.argmax, (A,), A.argmax(-1)),
        (K.abs, (A,), np.abs(A)),
        (K.square, (A,), A**2),
        (K.exp, (A,), np.exp(A)),
        (lambda x: K.sqrt(K.abs(x)), (A,), np.sqrt(np.abs(A))),
        (lambda x: K.pow(x, 3), (A,), A**3),
        (lambda x: K.clip(x, -0.5, 0.5), (A,), np.clip(A, -0.5, 0.5)),
        (K.maximum, (A, B), np.maximum(A, B)),
        (K.dot, (A, B.T), A @ B.T),
        (K.batch_dot, (A, B), (A * B).sum(1, keepdims=True)),
        (K.transpose, (A,), A.T),
        (lambda x: K.permute_dimensions(x, (1, 0)), (A,), A.T),
        (lambda x: K.reshape(x, (3, 2)), (A,), A.reshape(3, 2)),
        (K.flatten, (A,), A.reshape(-1)),
        (lambda x: K.expand_dims(x, 0), (A,), A[None]),
        (lambda a, b: K.concatenate([a, b], axis=0), (A, B), np.concatenate([A, B], 0)),
        (lambda a, b: K.stack([a, b], axis=1), (A, B), np.stack([A, B], 1)),
        (lambda x: K.repeat_elements(x, 2, axis=1), (A,), np.repeat(A, 2, axis=1)),
        (lambda x: K.tile(x, (2, 1)), (A,), np.tile(A, (2, 1))),
        (lambda x: K.l2_normalize(x, axis=1), (A,), A / np.linalg.norm(A, axis=1, keepdims=True)),
        (lambda x: K.relu(x, alpha=0.1, max_value=0.5), (A,), np.minimum(np.where(A >= 0, A, 0.1 * A), 0.5)),
        (K.softmax, (A,), np.exp(A) / np.exp(A).sum(-1, keepdims=True)),
        (K.sigmoid, (A,), 1 / (1 + np.exp(-A))),
    ],
)
def test_k_math_matches_numpy(fn, args, expected):
    np.testing.assert_allclose(K.eval(fn(*args)), expected, rtol=1e-5, atol=1e-6)


def test_batch_dot_with_axes_matches_numpy():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    y = RNG.normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_allclose(K.eval(K.batch_dot(x, y, axes=(2, 2))), np.einsum("bij,bkj->bik", x, y), rtol=1e-5)


def test_variables_values_and_shapes():
    v = K.variable(np.arange(6).reshape(2, 3), name="v")
    assert K.is_variable(v) and K.dtype(v) == "float32"
    assert K.int_shape(v) == (2, 3) and K.ndim(v) == 2 and K.count_params(v) == 6
    K.set_value(v, np.ones((2, 3)))
    np.testing.assert_array_equal(K.get_value(v), np.ones((2, 3)))
    K.update_add(v, np.full((2, 3), 2.0, "float32"))
    K.batch_set_value([(v, K.get_value(v) * 2)])
    np.testing.assert_array_equal(K.batch_get_value([v])[0], np.full((2, 3), 6.0))
    np.testing.assert_array_equal(K.eval(K.constant(2.0, shape=(2, 2))), np.full((2, 2), 2.0))
    np.testing.assert_array_equal(K.eval(K.zeros((2,))), [0, 0])
    np.testing.assert_array_equal(K.eval(K.ones_like(v)), np.ones((2, 3)))
    np.testing.assert_array_equal(K.eval(K.eye(2)), np.eye(2))
    with pytest.raises(TypeError, match="expects a Variable"):
        K.set_value(np.ones(2), np.zeros(2))


def test_eval_of_a_symbolic_tensor_says_to_use_function():
    with pytest.raises(ValueError, match="K.function"):
        K.eval(lamina.Input((3,)))


def test_clear_session_restarts_layer_names():
    layers.Dense(1)
    K.clear_session()
    assert layers.Dense(1).name == "dense"


# ------------------------------------------------------------ more Keras 2 helpers
def test_elu_hard_sigmoid_gather_and_switch_match_numpy():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], "float32")
    np.testing.assert_allclose(np.asarray(K.elu(x, 0.5)), np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(K.hard_sigmoid(x * 4)), np.clip(0.8 * x + 0.5, 0, 1), rtol=1e-6)
    table = np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_array_equal(np.asarray(K.gather(table, np.array([3, 0, 3]))), table[[3, 0, 3]])
    np.testing.assert_array_equal(np.asarray(K.switch(x > 0, x, -x)), np.abs(x))
    np.testing.assert_array_equal(np.asarray(K.switch(True, lambda: x, lambda: -x)), x)


def test_in_train_phase_follows_the_argument_then_the_learning_phase():
    assert K.in_train_phase("train", "test", training=1) == "train"
    assert K.in_train_phase(lambda: "train", lambda: "test", training=0) == "test"
    assert K.in_test_phase("test", "train", training=0) == "test"
    assert K.in_train_phase("train", "test") == "test"  # default phase: 0
    K.set_learning_phase(1)
    try:
        assert K.in_train_phase("train", "test") == "train"
    finally:
        K.set_learning_phase(0)


def test_crossentropies_take_keras2_argument_order():
    target = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32")
    logits = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]], "float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -(target * log_probs).sum(-1)
    np.testing.assert_allclose(np.asarray(K.categorical_crossentropy(target, logits, from_logits=True)), expected,
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(K.sparse_categorical_crossentropy(np.array([1, 0]), np.exp(log_probs))), expected, rtol=1e-5
    )
    p = np.array([[0.9], [0.2]], "float32")
    bce = -(np.array([[1.0], [0.0]]) * np.log(p) + np.array([[0.0], [1.0]]) * np.log(1 - p)).mean(-1)
    np.testing.assert_allclose(np.asarray(K.binary_crossentropy(np.array([[1.0], [0.0]]), p)), bce, rtol=1e-5)


def test_moving_average_update_and_seeded_random_draws():
    v = K.variable(np.array([1.0, 2.0], "float32"))
    K.moving_average_update(v, np.array([3.0, 0.0], "float32"), 0.9)
    np.testing.assert_allclose(K.get_value(v), [0.9 + 0.3, 1.8], rtol=1e-6)
    a = np.asarray(K.random_uniform((200,), -1.0, 3.0, seed=5))
    np.testing.assert_array_equal(a, np.asarray(K.random_uniform((200,), -1.0, 3.0, seed=5)))
    assert a.min() >= -1.0 and a.max() < 3.0 and abs(a.mean() - 1.0) < 0.25
    n = np.asarray(K.random_normal((2000,), 2.0, 0.5))
    assert n.dtype == np.float32 and abs(n.mean() - 2.0) < 0.05 and abs(n.std() - 0.5) < 0.05
