"""The shortcuts that keep a training step cheap give the same numbers as the plain way.

Each shortcut (torch's fused Adam and SGD kernels, the one-kernel dense op, the embedding kernel for table lookups,
crossentropy from a softmax's logits, in-place counter updates, the cached layer flattening) is checked against
NumPy, against the general path it stands in for, and at the edges where it must step aside.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from lamina.backend import Variable
from lamina.backend.common import StatelessScope

RNG = np.random.default_rng(7)
EPS = 1e-7


def as_numpy(x):
    return ops.convert_to_numpy(x)


# ------------------------------------------------------------ Adam and SGD
# Shapes with 16+ elements reach the vectorized part of torch's fused CPU kernels, as well as the tails.
SHAPES = [(4, 3), (33,), (8, 17)]


def numpy_adam(params, grads, ms, vs, lr, b1, b2, eps, iterations):
    t = iterations + 1
    out = []
    for p, g, m, v in zip(params, grads, ms, vs):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out.append((p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps), m, v))
    return out


def numpy_sgd(params, grads, momenta, lr, momentum, nesterov):
    if not momentum:
        return [(p - lr * g, None) for p, g in zip(params, grads)]
    out = []
    for p, g, m in zip(params, grads, momenta):
        m = momentum * m - lr * g
        out.append((p + momentum * m - lr * g if nesterov else p + m, m))
    return out


def to_tensors(groups, dtypes):
    # Copies: on torch the update is in place, and a tensor made from a NumPy array shares its memory.
    return [[ops.convert_to_tensor(a.copy(), dtype=d) for a, d in zip(group, dtypes)] for group in groups]


def assert_close(got, expected, dtype):
    tol = {"float16": 5e-3, "bfloat16": 3e-2}.get(dtype, 1e-6)
    np.testing.assert_allclose(as_numpy(got).astype("float32"), expected, rtol=tol, atol=tol)


def check_adam(dtypes):
    params, grads, ms = ([RNG.normal(size=s).astype("float32") for s in SHAPES] for _ in range(3))
    ms = [m * 0.1 for m in ms]
    vs = [np.abs(RNG.normal(size=s)).astype("float32") * 0.01 for s in SHAPES]
    for iterations in (0, 5):
        tensors = to_tensors((params, grads, ms, vs), dtypes)
        new_p, new_m, new_v = ops.adam_step(*tensors, 0.01, 0.9, 0.999, EPS, iterations)
        expected = numpy_adam(params, grads, ms, vs, 0.01, 0.9, 0.999, EPS, iterations)
        for i, (p, m, v) in enumerate(expected):
            for got, want in ((new_p[i], p), (new_m[i], m), (new_v[i], v)):
                assert_close(got, want, dtypes[i])
        params, ms, vs = ([as_numpy(t).astype("float32") for t in new] for new in (new_p, new_m, new_v))


def check_sgd(dtypes, momentum, nesterov):
    params, grads, momenta = ([RNG.normal(size=s).astype("float32") for s in SHAPES] for _ in range(3))
    momenta = [m * 0.1 for m in momenta] if momentum else []
    for lr in (0.1, 0.05, 0.02):  # a learning rate that changes, as under a schedule
        tensors = to_tensors((params, grads, momenta), dtypes)
        new_p, new_m = ops.sgd_step(*tensors, ops.convert_to_tensor(lr), momentum, nesterov)
        expected = numpy_sgd(params, grads, momenta, lr, momentum, nesterov)
        for i, (p, m) in enumerate(expected):
            assert_close(new_p[i], p, dtypes[i])
            if momentum:
                assert_close(new_m[i], m, dtypes[i])
        assert momentum or len(new_m) == 0
        params, momenta = ([as_numpy(t).astype("float32") for t in new] for new in (new_p, new_m))


DTYPE_CASES = {
    "float32": ["float32"] * 3,
    "float16": ["float16"] * 3,
    "bfloat16": ["bfloat16"] * 3,
    "mixed": ["float32", "float16", "float32"],
}
SGD_CASES = {"plain": (0.0, False), "momentum": (0.9, False), "nesterov": (0.9, True)}


@pytest.mark.parametrize("dtypes", DTYPE_CASES.values(), ids=DTYPE_CASES.keys())
def test_adam_step_is_keras_rule(dtypes):
    # On torch: torch's fused Adam with epsilon rescaled per step, one kernel per dtype.
    check_adam(dtypes)


@pytest.mark.parametrize("momentum, nesterov", SGD_CASES.values(), ids=SGD_CASES.keys())
@pytest.mark.parametrize("dtypes", DTYPE_CASES.values(), ids=DTYPE_CASES.keys())
def test_sgd_step_is_keras_rule(dtypes, momentum, nesterov):
    # On torch: torch's SGD with dampening 1 + lr and learning rate -1 (Keras's momentum sign).
    check_sgd(dtypes, momentum, nesterov)


def test_updates_without_the_fused_kernel_are_keras_rule(monkeypatch):
    # Tensors the fused kernels do not take (another device, a gradient of another dtype) go through
    # torch's per-tensor functional optimizers with the same arguments.
    if lamina.backend.backend() != "torch":
        pytest.skip("only the torch engine has a fused and a per-tensor path")
    from lamina.backend.torch import optimizers

    monkeypatch.setattr(optimizers, "_groups", lambda fused_dtypes, *lists: [(False, lists)])
    check_adam(DTYPE_CASES["mixed"])
    for momentum, nesterov in SGD_CASES.values():
        check_sgd(DTYPE_CASES["mixed"], momentum, nesterov)


def record_update_calls(monkeypatch, optimizers) -> list:
    """A list that records `(number of tensors, fused)` for each call of torch's Adam or SGD update."""
    calls = []
    real_adam, real_sgd = optimizers.torch_adam, optimizers.torch_sgd
    monkeypatch.setattr(
        optimizers, "torch_adam", lambda p, *a, **k: calls.append((len(p), k["fused"])) or real_adam(p, *a, **k)
    )
    monkeypatch.setattr(
        optimizers, "torch_sgd", lambda p, *a, **k: calls.append((len(p), k["fused"])) or real_sgd(p, *a, **k)
    )
    return calls


def test_a_strided_weight_takes_the_per_tensor_path_and_the_rest_the_fused_kernel(monkeypatch):
    # An LSTM keeps its recurrent kernel transposed in memory, and a weight used transposed gets a strided
    # gradient: the strided variable is updated per tensor, the others by the fused kernel, all by Keras's rule.
    if lamina.backend.backend() != "torch":
        pytest.skip("only the torch engine has a fused and a per-tensor path")
    import torch

    from lamina.backend.torch import optimizers

    calls = record_update_calls(monkeypatch, optimizers)
    params, grads, ms = ([RNG.normal(size=s).astype("float32") for s in SHAPES] for _ in range(3))
    vs = [np.abs(m) * 0.01 for m in ms]

    def tensors(arrays, strided):  # entry `strided` (a matrix) as a transposed view of a (cols, rows) tensor
        out = [torch.tensor(a) for a in arrays]
        out[strided] = torch.tensor(arrays[strided].T.copy()).t()
        assert not out[strided].is_contiguous() and np.array_equal(out[strided].numpy(), arrays[strided])
        return out

    new_p, new_m, new_v = optimizers.adam_step(
        tensors(params, 0), tensors(grads, 2), [torch.tensor(m) for m in ms], [torch.tensor(v) for v in vs],
        0.01, 0.9, 0.999, EPS, 3,
    )  # fmt: skip
    assert calls == [(2, True), (1, False)]  # params 1 and 2 fused (2 has a strided gradient, copied), 0 alone
    for i, (p, m, v) in enumerate(numpy_adam(params, grads, ms, vs, 0.01, 0.9, 0.999, EPS, 3)):
        for got, want in ((new_p[i], p), (new_m[i], m), (new_v[i], v)):
            assert_close(got, want, "float32")
    calls.clear()
    new_p, new_m = optimizers.sgd_step(
        tensors(params, 0), tensors(grads, 2), [torch.tensor(m) for m in ms], 0.1, 0.9, False
    )
    assert calls == [(2, True), (1, False)]
    for i, (p, m) in enumerate(numpy_sgd(params, grads, ms, 0.1, 0.9, False)):
        assert_close(new_p[i], p, "float32")
        assert_close(new_m[i], m, "float32")


def test_adam_with_a_tiny_second_moment_keeps_keras_epsilon_placement():
    # With v ~ 0 the step is lr * sqrt(1 - b2^t)/(1 - b1^t) * m / eps: where epsilon sits decides it.
    p, g = np.zeros(2, "float32"), np.array([1e-9, -1e-9], "float32")
    m, v = np.zeros(2, "float32"), np.zeros(2, "float32")
    new_p, _, _ = ops.adam_step(
        *([ops.convert_to_tensor(a.copy())] for a in (p, g, m, v)),
        0.001, 0.9, 0.999, EPS, 0,
    )  # fmt: skip
    (expected, _, _) = numpy_adam([p], [g], [m], [v], 0.001, 0.9, 0.999, EPS, 0)[0]
    np.testing.assert_allclose(as_numpy(new_p[0]), expected, rtol=1e-5)


def test_whole_model_updates_of_nothing_return_empty_lists():
    assert [list(x) for x in ops.adam_step([], [], [], [], 0.01, 0.9, 0.999, EPS, 0)] == [[], [], []]
    assert [list(x) for x in ops.sgd_step([], [], [], 0.01, 0.9, True)] == [[], []]


# ------------------------------------------------------------------ dense
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)], ids=["2d", "3d"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_op_matches_numpy(shape, use_bias):
    x = RNG.normal(size=shape).astype("float32")
    kernel = RNG.normal(size=(4, 6)).astype("float32")
    bias = RNG.normal(size=(6,)).astype("float32") if use_bias else None
    expected = x @ kernel + (bias if use_bias else 0.0)
    got = ops.dense(x, Variable(kernel), None if bias is None else Variable(bias))
    np.testing.assert_allclose(as_numpy(got), expected, rtol=1e-5, atol=1e-5)


def test_dense_op_promotes_mixed_dtypes_like_matmul():
    x = RNG.integers(-3, 3, size=(3, 4)).astype("int32")
    kernel = RNG.normal(size=(4, 2)).astype("float32")
    got = ops.dense(x, kernel, np.ones(2, "float32"))
    assert ops.dtype_of(got) == ops.dtype_of(ops.matmul(x, kernel))
    # atol too: a sum that cancels near zero (0.00094 from terms of order 1) differs in its last float32 bits
    np.testing.assert_allclose(as_numpy(got), x @ kernel + 1.0, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------- table lookup
def test_embedding_step_sums_the_gradients_of_repeated_and_negative_ids():
    # torch looks rows up with its embedding kernel: repeated ids add their gradients, and -1 is the last row
    # (NumPy's take); one SGD step (lr 1) on a mean squared error moves each row by minus its summed gradient.
    ids = np.array([[1, 3, 1], [-1, 0, 1]], "int32")
    model = lamina.Sequential([layers.Input((3,), dtype="int32"), layers.Embedding(5, 2)])
    table = RNG.normal(size=(5, 2)).astype("float32")
    model.set_weights([table])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="mse")
    target = RNG.normal(size=(2, 3, 2)).astype("float32")
    out = table[ids]
    np.testing.assert_allclose(as_numpy(model(ids)), out, rtol=1e-6)
    gradient = np.zeros_like(table)
    np.add.at(gradient, ids % 5, 2.0 * (out - target) / out.size)
    model.train_on_batch(ids, target)
    np.testing.assert_allclose(model.get_weights()[0], table - gradient, rtol=1e-5, atol=1e-6)


def test_embedding_ids_out_of_range_name_the_layer():
    model = lamina.Sequential([layers.Input((2,), dtype="int32"), layers.Embedding(5, 2, name="words")])
    ids = np.array([[1, 5]], "int32")
    if lamina.backend.backend() == "jax":  # jnp.take fills rows out of range with NaN, as Keras 3 on JAX does
        assert np.isnan(as_numpy(model(ids))[0, 1]).all()
        return
    with pytest.raises(ValueError, match=r'Layer "words": every input must be an index in \[0, input_dim=5\)'):
        model(ids)


# ------------------------------------------------------ crossentropy from a softmax
def numpy_probs(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


LOGITS = np.array([[2.0, -1.0, 0.5], [30.0, -30.0, 0.0], [0.1, 0.2, 0.3], [-25.0, 25.0, 0.0]], "float32")
LABELS = np.array([0, 0, 2, 0])  # saturated: row 2 has p_target > 1 - eps, row 4 p_target < eps


def keras_sparse_ce(labels, probs):
    picked = probs[np.arange(len(labels)), labels] / probs.sum(-1)
    return -np.log(np.clip(picked, EPS, 1 - EPS))


@pytest.mark.parametrize("sparse", [True, False], ids=["sparse", "categorical"])
def test_crossentropy_of_a_softmax_output_is_keras_clipped_value(sparse):
    probs = ops.softmax(ops.convert_to_tensor(LOGITS))
    target = LABELS if sparse else np.eye(3, dtype="float32")[LABELS]
    fn = ops.sparse_categorical_crossentropy if sparse else ops.categorical_crossentropy
    expected = keras_sparse_ce(LABELS, numpy_probs(LOGITS).astype("float64"))
    np.testing.assert_allclose(as_numpy(fn(target, probs)), expected, rtol=1e-5, atol=1e-6)
    # The same probabilities as a plain tensor (no logits behind them) give the same values.
    plain = ops.convert_to_tensor(as_numpy(probs))
    np.testing.assert_allclose(as_numpy(fn(target, plain)), expected, rtol=1e-5, atol=1e-6)


def test_sparse_crossentropy_of_a_sequence_softmax_is_keras_clipped_value():
    # (batch, time, classes) outputs take the general log-softmax route; (batch, classes) the fused one.
    logits = LOGITS.reshape(2, 2, 3)
    probs = ops.softmax(ops.convert_to_tensor(logits))
    expected = keras_sparse_ce(LABELS, numpy_probs(LOGITS).astype("float64")).reshape(2, 2)
    got = ops.sparse_categorical_crossentropy(LABELS.reshape(2, 2), probs)
    np.testing.assert_allclose(as_numpy(got), expected, rtol=1e-5, atol=1e-6)
    got = ops.sparse_categorical_crossentropy(LABELS.reshape(2, 2, 1), probs)  # labels with a trailing 1
    np.testing.assert_allclose(as_numpy(got), expected, rtol=1e-5, atol=1e-6)


def test_crossentropy_gradient_through_softmax_is_zero_where_keras_clips():
    # One SGD step (lr 1) on Dense(3, softmax): the kernel moves by -x^T dL/dz, and dL/dz is
    # (p - onehot) / n except for samples whose target probability Keras clips, which get none.
    x = np.eye(4, dtype="float32")
    kernel = LOGITS.copy()  # so that x @ kernel == LOGITS
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax", use_bias=False)])
    model.set_weights([kernel])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="sparse_categorical_crossentropy")
    z = x @ kernel
    p = numpy_probs(z.astype("float64"))
    picked = p[np.arange(4), LABELS]
    dz = (p - np.eye(3)[LABELS]) / 4.0
    dz[(picked <= EPS) | (picked >= 1 - EPS)] = 0.0
    loss = model.train_on_batch(x, LABELS)
    np.testing.assert_allclose(loss, keras_sparse_ce(LABELS, p).mean(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], kernel - x.T @ dz, rtol=1e-4, atol=1e-5)
    assert (picked < EPS).any() and (picked > 1 - EPS).any()  # the clipped cases are really exercised


def test_probabilities_changed_after_softmax_are_used_as_given():
    probs = ops.softmax(ops.convert_to_tensor(LOGITS))
    halved = probs * 0.5  # a new tensor: Keras normalizes it back before the log
    expected = keras_sparse_ce(LABELS, numpy_probs(LOGITS).astype("float64") * 0.5)
    np.testing.assert_allclose(
        as_numpy(ops.sparse_categorical_crossentropy(LABELS, halved)), expected, rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------- counters in place
@pytest.mark.parametrize(
    "dtype, delta, expected",
    [
        ("float32", 2, [3.0, 3.0]),
        ("float32", 0.5, [1.5, 1.5]),
        ("int32", 3, [4, 4]),
        ("float32", np.array([1.0, 2.0], "float32"), [2.0, 3.0]),
        ("float32", np.array([1.0], "float32"), [2.0, 2.0]),  # broadcast
        ("int32", 1.5, [2, 2]),  # cast to the variable's dtype, as assign does
    ],
)
def test_assign_add_values_and_dtypes(dtype, delta, expected):
    variable = Variable(np.ones(2, dtype), trainable=False)
    delta = ops.convert_to_tensor(delta) if isinstance(delta, np.ndarray) else delta
    variable.assign_add(delta)
    assert variable.dtype == dtype
    np.testing.assert_array_equal(variable.numpy(), np.array(expected, dtype))


def test_assign_add_in_a_stateless_scope_leaves_the_variable_alone():
    variable = Variable(np.zeros(2, "float32"), trainable=False)
    with StatelessScope() as scope:
        variable.assign_add(1.0)
        np.testing.assert_array_equal(as_numpy(scope.get_current_value(variable)), [1.0, 1.0])
    np.testing.assert_array_equal(variable.numpy(), [0.0, 0.0])


def test_assign_add_of_a_wrong_shape_names_the_variable():
    variable = Variable(np.zeros(2, "float32"), trainable=False, name="counter")
    with pytest.raises(ValueError, match="counter"):
        variable.assign_add(ops.convert_to_tensor(np.ones((3, 2), "float32")))


# --------------------------------------------------------- cached flattening
def test_losses_follow_layers_added_and_popped_after_a_call():
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(2)])
    model(np.ones((1, 2), "float32"))
    assert model.losses == []
    model.add(layers.Dense(1, kernel_regularizer=lamina.regularizers.l2(1.0), kernel_initializer="ones"))
    model(np.ones((1, 2), "float32"))
    np.testing.assert_allclose([float(as_numpy(v)) for v in model.losses], [2.0])
    model.pop()
    assert model.losses == []


def test_a_sub_layer_set_after_a_call_is_seen():
    class Holder(layers.Layer):
        def call(self, inputs):
            return inputs if not hasattr(self, "inner") else self.inner(inputs)

    outer = Holder()
    outer(np.ones((1, 2), "float32"))
    assert outer._flatten_layers() == [outer]
    outer.inner = layers.Dense(1, kernel_regularizer=lamina.regularizers.l1(1.0), kernel_initializer="ones")
    outer(np.ones((1, 2), "float32"))
    assert outer._flatten_layers() == [outer, outer.inner]
    np.testing.assert_allclose([float(as_numpy(v)) for v in outer.losses], [2.0])


def test_call_losses_are_replaced_on_each_outermost_call():
    class Penalized(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs))
            return inputs

    inner = Penalized()
    model = lamina.Sequential([layers.Input((2,)), inner])
    model(np.ones((1, 2), "float32"))
    model(np.full((1, 2), 3.0, "float32"))
    np.testing.assert_allclose([float(as_numpy(v)) for v in model.losses], [6.0])


def test_weights_stored_out_channels_first_with_slots_alike_take_the_fused_kernel(monkeypatch):
    # A convolution kernel (3, 3, in, out) kept in memory as (out, 3, 3, in) (core.store_as_conv_kernel), its
    # gradient and its slots alike: the fused kernel reads them all as flat memory, element for element the same.
    if lamina.backend.backend() != "torch":
        pytest.skip("only the torch engine has a fused and a per-tensor path")
    import torch

    from lamina.backend.torch import optimizers

    calls = record_update_calls(monkeypatch, optimizers)
    shapes = [(3, 3, 2, 4), (4,)]
    params, grads, ms = ([RNG.normal(size=s).astype("float32") for s in shapes] for _ in range(3))
    vs = [np.abs(m) * 0.01 for m in ms]

    def stored(arrays):  # the kernel out-channels first in memory, the bias as it is
        kernel = torch.tensor(np.moveaxis(arrays[0], -1, 0).copy()).permute(1, 2, 3, 0)
        assert not kernel.is_contiguous() and np.array_equal(kernel.numpy(), arrays[0])
        return [kernel, torch.tensor(arrays[1])]

    new_p, new_m, new_v = optimizers.adam_step(
        stored(params), stored(grads), stored(ms), stored(vs), 0.01, 0.9, 0.999, EPS, 3
    )
    assert calls == [(2, True)]
    for i, (p, m, v) in enumerate(numpy_adam(params, grads, ms, vs, 0.01, 0.9, 0.999, EPS, 3)):
        for got, want in ((new_p[i], p), (new_m[i], m), (new_v[i], v)):
            assert_close(got, want, "float32")
    calls.clear()
    # A gradient in the usual order is first copied into the kernel's order.
    contiguous_grads = [torch.tensor(g) for g in grads]
    new_p, new_m = optimizers.sgd_step(stored(params), contiguous_grads, stored(ms), 0.1, 0.9, True)
    assert calls == [(2, True), (2, True)]  # torch's nesterov momentum: two fused calls
    for i, (p, m) in enumerate(numpy_sgd(params, grads, ms, 0.1, 0.9, True)):
        assert_close(new_p[i], p, "float32")
        assert_close(new_m[i], m, "float32")


def test_a_channels_last_conv_kernel_keeps_its_values_and_trains_by_keras_rule():
    # On torch the kernel is stored out-channels first; values, weights files and an SGD-with-momentum step are
    # those of the plain kernel (NumPy: the gradient of mean((conv(x))^2) written out).
    conv = layers.Conv2D(3, 2, use_bias=False)
    model = lamina.Sequential([layers.Input((3, 3, 2)), conv])
    kernel = RNG.normal(size=(2, 2, 2, 3)).astype("float32")
    conv.set_weights([kernel])
    np.testing.assert_array_equal(conv.get_weights()[0], kernel)
    model.compile(lamina.optimizers.SGD(0.1, momentum=0.9), "mse")
    x = RNG.normal(size=(2, 3, 3, 2)).astype("float32")
    windows = np.stack([x[:, i : i + 2, j : j + 2, :] for i in range(2) for j in range(2)], 1)  # (2, 4, 2, 2, 2)
    velocity = np.zeros_like(kernel)
    expected = kernel.astype(np.float64)
    for _ in range(2):
        out = np.einsum("bphwc,hwco->bpo", windows, expected)
        grad = np.einsum("bphwc,bpo->hwco", windows, 2 * out / out.size)
        velocity = 0.9 * velocity - 0.1 * grad
        expected = expected + velocity
        model.train_on_batch(x, np.zeros((2, 2, 2, 3), "float32"))
    np.testing.assert_allclose(conv.get_weights()[0], expected, rtol=1e-5, atol=1e-6)
