"""lamina.ops against NumPy: the semantics both engines must share (dtype promotion, reductions,
padding, pooling, one_hot, ...), and Variables that never alias the caller's arrays."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import ops
from lamina.backend import Variable
from lamina.backend.common import SeedGenerator

RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 3, 4)).astype("float32")
B = RNG.normal(size=(2, 3, 4)).astype("float32")
INTS = RNG.integers(-3, 5, size=(2, 3)).astype("int32")
MASK = A > 0


def as_numpy(x):
    return ops.convert_to_numpy(x)


def check(got, expected, dtype=None, rtol=1e-6, atol=1e-6):
    value = as_numpy(got)
    assert value.shape == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)
    if dtype is not None:
        assert ops.dtype_of(got) == dtype


# ------------------------------------------------------------ dtype promotion
@pytest.mark.parametrize(
    "fn, a, b, expected_dtype",
    [
        (ops.add, INTS, 2.5, "float32"),  # a Python float makes an int tensor float ...
        (ops.add, INTS, 2, "int32"),  # ... a Python int leaves it int32
        (ops.subtract, 2.5, INTS, "float32"),
        (ops.multiply, MASK, 2, "int32"),
        (ops.subtract, A, MASK, "float32"),
        (ops.subtract, MASK, 1.5, "float32"),
        (ops.maximum, INTS, 0.5, "float32"),
        (ops.minimum, 0.5, INTS, "float32"),
        (ops.maximum, INTS, np.float32(0.5), "float32"),
        (ops.power, A, 2, "float32"),
        (ops.power, np.abs(A), 0.5, "float32"),
        (ops.power, 2.0, INTS, "float32"),
        (ops.power, np.float32(2.0), A, "float32"),
        (ops.divide, INTS, 2, "float32"),
        (ops.where, MASK, 1, 0),
    ],
)
def test_binary_ops_follow_numpy_values_and_jax_dtypes(fn, a, b, expected_dtype):
    if fn is ops.where:
        check(ops.where(MASK, 1, 0), np.where(MASK, 1, 0), "int32")
        check(ops.where(INTS > 0, INTS, 0.5), np.where(INTS > 0, INTS, 0.5), "float32")
        check(ops.where(MASK, A, 0), np.where(MASK, A, 0), "float32")
        return
    expected = {
        ops.add: np.add,
        ops.subtract: np.subtract,
        ops.multiply: np.multiply,
        ops.maximum: np.maximum,
        ops.minimum: np.minimum,
        ops.power: np.power,
        ops.divide: np.divide,
    }[fn](np.asarray(a, "float64") if np.asarray(a).dtype == bool else a, b)
    check(fn(a, b), np.asarray(expected, "float64"), expected_dtype, rtol=1e-5)


def test_operands_can_be_tensors_variables_arrays_and_scalars_in_any_order():
    tensor, variable = ops.convert_to_tensor(A), Variable(B, trainable=False)
    for x, y in [(tensor, variable), (variable, A), (A, tensor), (2.0, variable), (variable, 2.0)]:
        check(ops.add(x, y), as_numpy(x) + as_numpy(y) if not isinstance(x, float) else x + as_numpy(y))
    check(ops.maximum(MASK, True), np.ones_like(MASK), "bool")


def test_python_scalars_and_lists_convert_to_int32_and_float32():
    assert ops.dtype_of(ops.convert_to_tensor(3)) == "int32"
    assert ops.dtype_of(ops.convert_to_tensor([1, 2])) == "int32"
    assert ops.dtype_of(ops.convert_to_tensor(1.5)) == "float32"
    assert ops.dtype_of(ops.convert_to_tensor(np.ones(2, "float64"))) == "float32"
    assert ops.dtype_of(ops.add(2, 3)) == "int32"
    assert ops.dtype_of(ops.arange(4)) == "int32"
    assert ops.dtype_of(ops.arange(0.0, 1.0, 0.25)) == "float32"
    assert ops.dtype_of(ops.full((2,), 7)) == "int32"
    assert ops.dtype_of(ops.full((2,), 7.0)) == "float32"


# ----------------------------------------------------------------- reductions
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), [1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any"])
def test_reductions_match_numpy(name, axis, keepdims):
    x = MASK if name in ("all", "any") else A
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = getattr(np, name)(x, axis=np_axis, keepdims=keepdims)
    check(getattr(ops, name)(x, axis=axis, keepdims=keepdims), expected, rtol=1e-5)


def test_integer_reductions_accumulate_in_int32_and_average_in_float32():
    for name in ("sum", "prod"):
        got = getattr(ops, name)(INTS, axis=0)
        check(got, getattr(np, name)(INTS, axis=0), "int32")
    check(ops.sum(MASK), MASK.sum(), "int32")
    check(ops.cumsum(INTS, axis=1), np.cumsum(INTS, axis=1), "int32")
    check(ops.mean(INTS, axis=1), INTS.mean(axis=1), "float32")
    check(ops.var(INTS), INTS.var(), "float32", rtol=1e-5)
    check(ops.std(MASK, axis=0), MASK.std(axis=0), "float32", rtol=1e-5)
    check(ops.argmax(A, axis=-1), A.argmax(-1), "int32")
    check(ops.argmin(A, axis=0), A.argmin(0), "int32")


# ------------------------------------------------------------- shape functions
@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge", "wrap"])
def test_pad_matches_numpy_on_every_axis(mode):
    widths = ((1, 0), (2, 1), (0, 3))
    check(ops.pad(A, widths, mode=mode), np.pad(A, widths, mode=mode))
    check(ops.pad(INTS, 1, mode=mode), np.pad(INTS, 1, mode=mode))


def test_expand_dims_squeeze_take_with_several_or_negative_axes():
    check(ops.expand_dims(A, (0, -1)), np.expand_dims(A, (0, -1)))
    check(ops.squeeze(A[:1, :1], (0, 1)), A[0, 0])
    check(ops.take(A, np.array([[2, 0], [1, 1]]), axis=-1), np.take(A, [[2, 0], [1, 1]], axis=-1))
    check(ops.matmul(INTS, A[0]), INTS.astype("float32") @ A[0], "float32", rtol=1e-5)
    check(ops.clip(A, np.full(4, -0.1, "float32"), 0.2), np.clip(A, -0.1, 0.2))


# ------------------------------------------------------------------------- nn
def test_split_is_numpy_split_with_gradients_to_every_part():
    x = np.arange(24, dtype="float32").reshape(2, 12)
    for sections, axis in ((4, -1), (2, 0), ([3, 7], 1), ([], 1)):
        got = ops.split(x, sections, axis=axis)
        expected = np.split(x, sections, axis=axis)
        assert len(got) == len(expected)
        for part, want in zip(got, expected):
            np.testing.assert_array_equal(as_numpy(part), want)
    with pytest.raises(ValueError, match="5 equal parts do not divide axis -1 of size 12"):
        ops.split(x, 5, axis=-1)
    # Each part's gradient lands on its own columns: d/dx of sum(part_k * (k + 1)) is k + 1 there.
    if lamina.backend.backend() == "jax":
        import jax

        grad = jax.grad(lambda t: sum((p * (k + 1)).sum() for k, p in enumerate(ops.split(t, 4, axis=-1))))(x)
    else:
        import torch

        tensor = torch.tensor(x, requires_grad=True)
        sum((p * (k + 1)).sum() for k, p in enumerate(ops.split(tensor, 4, axis=-1))).backward()
        grad = tensor.grad
    np.testing.assert_array_equal(as_numpy(grad), np.repeat(np.arange(1, 5, dtype="float32"), 3)[None].repeat(2, 0))


def test_softmax_over_several_axes_and_one_hot_out_of_range():
    e = np.exp(A - A.max(axis=(1, 2), keepdims=True))
    check(ops.softmax(A, axis=(1, 2)), e / e.sum(axis=(1, 2), keepdims=True))
    check(ops.log_softmax(A, axis=(1, 2)), np.log(e / e.sum(axis=(1, 2), keepdims=True)), atol=1e-5)
    # An index outside [0, num_classes) gives a row of zeros, as Keras's one_hot does.
    check(ops.one_hot(np.array([0, 3, -1, 4]), 4), np.eye(5, 4)[[0, 3, 4, 4]])
    check(ops.moments(INTS, axes=[0, 1])[0], INTS.mean(), "float32")


def test_max_pool_same_padding_never_pads_with_zeros():
    x = -1.0 - np.abs(A[..., None])  # all negative: a zero pad would win every edge window
    got = as_numpy(ops.max_pool(x, 2, 2, "same"))
    expected = np.pad(x, ((0, 0), (0, 1), (0, 0), (0, 0)), constant_values=-np.inf)
    expected = expected.reshape(2, 2, 2, 2, 2, 1).max(axis=(2, 4))
    np.testing.assert_array_equal(got, expected)


def test_dropout_of_everything_or_of_infinities_gives_zeros_not_nan():
    x = np.full((64,), np.inf, "float32")
    out = as_numpy(ops.random.dropout(x, 0.5, seed=SeedGenerator(3)))
    assert set(np.unique(out)) <= {0.0, np.inf} and (out == 0).any() and (out == np.inf).any()


def test_dropout_of_finite_and_of_non_finite_inputs_drops_the_same_entries():
    # On the CPU, torch multiplies finite inputs by the scaled mask and selects where an input is not finite:
    # one seed must drop the same entries either way, and keep the others at x / keep.
    x = np.random.default_rng(5).normal(size=(4, 6, 6, 8)).astype("float32")
    with_inf = x.copy()
    with_inf[0, 0, 0, 0] = np.inf
    finite = as_numpy(ops.random.dropout(x, 0.3, seed=SeedGenerator(11)))
    mixed = as_numpy(ops.random.dropout(with_inf, 0.3, seed=SeedGenerator(11)))
    dropped = finite == 0
    np.testing.assert_array_equal(dropped.ravel()[1:], (mixed == 0).ravel()[1:])
    np.testing.assert_allclose(finite[~dropped], x[~dropped] / 0.7, rtol=1e-6)
    np.testing.assert_allclose(mixed.ravel()[1:], finite.ravel()[1:], rtol=1e-6)
    assert 0.2 < dropped.mean() < 0.4


# ------------------------------------------------------------------ Variables
def test_a_variable_owns_its_value():
    initial = np.zeros(3, "float32")
    variable = Variable(initial)
    variable.assign(np.ones(3, "float32"))
    np.testing.assert_array_equal(initial, np.zeros(3))  # the caller's array is untouched
    tensor = ops.convert_to_tensor(np.zeros(3, "float32"))
    other = Variable(tensor)
    other.assign(np.ones(3, "float32"))
    np.testing.assert_array_equal(as_numpy(tensor), np.zeros(3))


def test_numpy_copies_do_not_follow_later_assignments():
    variable = Variable(np.zeros(2, "float32"), trainable=False)
    before = [variable.numpy(), as_numpy(variable), as_numpy(variable.value), np.asarray(variable)]
    variable.assign(np.ones(2, "float32"))
    for value in before:
        np.testing.assert_array_equal(value, np.zeros(2))


def test_a_seed_generator_hands_out_the_state_before_advancing_it():
    generator = SeedGenerator(5)
    start = as_numpy(generator.state).copy()
    key = as_numpy(generator.next())
    np.testing.assert_array_equal(key, start)
    assert not np.array_equal(as_numpy(generator.state), start)


def test_cast_keeps_float64_when_asked():
    if lamina.backend.backend() == "jax":
        pytest.skip("JAX runs with x64 disabled: float64 is computed in float32 there.")
    x = np.array([1.0 + 1e-12], "float64")
    np.testing.assert_array_equal(as_numpy(ops.cast(x, "float64")), x)
