"""`relu_in_place` and `add_in_place`: the values of relu and +, written over the first argument only where torch
allows it with nothing lost (no autograd graph through it); under XLA they are relu and +."""

from __future__ import annotations

import numpy as np
import pytest

from lamina import ops
from lamina.backend import backend, engine

X = np.array([[-1.5, 0.0, 2.0], [3.0, -0.25, 1.0]], "float32")
Y = np.array([0.5, -4.0, 1.0], "float32")


def test_values_are_relu_and_sum():
    # Copies: on torch a tensor made from an array shares its memory, and these write over their first argument.
    np.testing.assert_array_equal(
        ops.convert_to_numpy(engine.nn.relu_in_place(ops.convert_to_tensor(X.copy()))), np.maximum(X, 0)
    )
    out = engine.nn.add_in_place(ops.convert_to_tensor(X.copy()), ops.convert_to_tensor(Y.copy()))
    np.testing.assert_array_equal(ops.convert_to_numpy(out), X + Y)
    # A sum with a larger shape than the first argument cannot go into it: a new array.
    out = engine.nn.add_in_place(ops.convert_to_tensor(Y.copy()), ops.convert_to_tensor(X.copy()))
    np.testing.assert_array_equal(ops.convert_to_numpy(out), X + Y)


@pytest.mark.skipif(backend() != "torch", reason="torch writes over its argument")
def test_torch_writes_over_the_argument_only_outside_autograd():
    import torch

    x = torch.tensor(X)
    with torch.no_grad():
        assert engine.nn.relu_in_place(x) is x
        assert engine.nn.add_in_place(x, torch.tensor(Y)) is x
    np.testing.assert_array_equal(x.numpy(), np.maximum(X, 0) + Y)
    leaf = torch.tensor(X, requires_grad=True)
    made = leaf * 1.0  # part of a graph: autograd may need it, so it is left alone
    out = engine.nn.relu_in_place(made)
    assert out is not made
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), (X > 0).astype("float32"))
    with torch.inference_mode():
        frozen = torch.tensor(X)
    assert engine.nn.relu_in_place(frozen) is not frozen  # an inference tensor outside inference mode: read only
