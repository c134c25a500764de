"""Recurrent layers written out in NumPy, and a one-SGD-step comparison against Keras 3.

The NumPy loops follow Keras's semantics: gates in Keras's order (LSTM i, f, c, o; GRU z, r, h), a masked
time step keeps the states and repeats the previous output (the first state before any valid step),
`go_backwards` processes the last step first and returns the outputs in processing order.

The module name is unusual on purpose: tests/ has no __init__.py files, so helper modules share one
namespace across the suite.
"""

from __future__ import annotations

import contextlib
import types

import numpy as np
from layer_harness import assert_close

import lamina

PATHS = ["fused", "loop"] if lamina.backend.backend() == "torch" else ["scan"]


@contextlib.contextmanager
def kernel_path(kind: str):
    """Runs the block with torch's fused kernels counted ("fused") or refused ("loop"); "scan" (JAX) changes nothing.

    `calls` lists the fused kernels that ran, `masked` those that ran with a mask.

    Example:
        >>> with kernel_path("loop") as path:
        ...     layers.LSTM(3)(x)  # the generic loop, on torch too
    """
    calls, masked = [], []
    originals = {name: getattr(lamina.ops, name) for name in ("lstm", "gru", "simple_rnn")}

    def wrap(name, original, mask_index):
        def wrapped(*args, **kwargs):
            if kind == "loop":
                raise NotImplementedError("this test runs the generic loop")
            result = original(*args, **kwargs)
            if getattr(getattr(args[0], "device", None), "type", None) == "meta":
                return result  # torch's shape inference (meta tensors, no data): no kernel ran
            calls.append(name)
            if args[mask_index] is not None:
                masked.append(name)
            return result

        return wrapped

    try:
        for name, original in originals.items():
            setattr(lamina.ops, name, wrap(name, original, 3 if name == "lstm" else 2))
        yield types.SimpleNamespace(kind=kind, calls=calls, masked=masked)
    finally:
        for name, original in originals.items():
            setattr(lamina.ops, name, original)


def expect_fused(path, kernel: str) -> None:
    """On torch: the fused `kernel` ran in a "fused" block, and no fused kernel ran in a "loop" block."""
    if path.kind == "fused":
        assert kernel in path.calls, f"torch's fused {kernel} kernel was not used"
    else:
        assert not path.calls


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(kernel, recurrent_kernel, bias, activation=np.tanh, gate=sigmoid):
    units = recurrent_kernel.shape[0]

    def step(x_t, states):
        h, c = states
        z = x_t @ kernel + h @ recurrent_kernel + (0.0 if bias is None else bias)
        i, f, o = gate(z[:, :units]), gate(z[:, units : 2 * units]), gate(z[:, 3 * units :])
        c = f * c + i * activation(z[:, 2 * units : 3 * units])
        h = o * activation(c)
        return h, [h, c]

    return step


def gru_step(kernel, recurrent_kernel, bias, reset_after=True, activation=np.tanh, gate=sigmoid):
    units = recurrent_kernel.shape[0]
    if bias is None:
        input_bias = recurrent_bias = np.zeros(3 * units)
    elif reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros(3 * units)

    def step(x_t, states):
        (h,) = states
        x = x_t @ kernel + input_bias
        xz, xr, xh = x[:, :units], x[:, units : 2 * units], x[:, 2 * units :]
        if reset_after:
            inner = h @ recurrent_kernel + recurrent_bias
            z, r = gate(xz + inner[:, :units]), gate(xr + inner[:, units : 2 * units])
            candidate = activation(xh + r * inner[:, 2 * units :])
        else:
            z = gate(xz + h @ recurrent_kernel[:, :units])
            r = gate(xr + h @ recurrent_kernel[:, units : 2 * units])
            candidate = activation(xh + (r * h) @ recurrent_kernel[:, 2 * units :])
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    return step


def simple_rnn_step(kernel, recurrent_kernel, bias, activation=np.tanh):
    def step(x_t, states):
        h = activation(x_t @ kernel + states[0] @ recurrent_kernel + (0.0 if bias is None else bias))
        return h, [h]

    return step


def run_rnn(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """(outputs (batch, time, units) in processing order, final states), with Keras's masking."""
    x = np.asarray(x, "float64")
    order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    previous = states[0]
    outputs = []
    for t in order:
        output, new_states = step(x[:, t], states)
        if mask is None:
            states, previous = new_states, output
            outputs.append(output)
            continue
        keep = np.asarray(mask[:, t], bool)[:, None]
        states = [np.where(keep, n, o) for n, o in zip(new_states, states)]
        previous = np.where(keep, output, previous)
        outputs.append(np.where(keep, output, 0.0) if zero_output_for_mask else previous)
    return np.stack(outputs, axis=1), states


def zeros_states(batch: int, units: int, count: int) -> list:
    return [np.zeros((batch, units)) for _ in range(count)]


# ------------------------------------------------------------------ weight names
class CellWeight(str):
    """A weight name whose f-string form is `cell/name`.

    check_layer builds the expected paths as `f"{layer.name}/{name}"`, while Keras's (and lamina's) recurrent
    weights live one level down: `lstm/lstm_cell/kernel`. Compared as a string it is just `name`.
    """

    def __new__(cls, name: str, cell: str):
        obj = super().__new__(cls, name)
        obj.cell = cell
        return obj

    def __format__(self, spec):
        return f"{self.cell}/{str(self)}"


def cell_weights(cell: str, names=("kernel", "recurrent_kernel", "bias")) -> list:
    return [CellWeight(name, cell) for name in names]


# --------------------------------------------------------------- one SGD step
def compare_sgd_step(make_model, keras3, x, y, loss="mse", learning_rate=0.5, rtol=1e-4, atol=1e-5):
    """Builds `make_model(lamina)` and `make_model(keras3)` with the same weights, runs one SGD
    `train_on_batch` on each and checks the loss (the forward pass) and every weight afterwards (the
    gradients); returns the lamina model.

    Example:
        >>> compare_sgd_step(lambda lib: lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4)]), keras3, x, y)
    """
    ours, theirs = make_model(lamina), make_model(keras3)
    theirs.set_weights(ours.get_weights())
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    initial = ours.get_weights()
    ours.compile(optimizer=lamina.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    theirs.compile(optimizer=keras3.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    our_loss = ours.train_on_batch(x, y)
    their_loss = theirs.train_on_batch(x, y)
    assert_close(our_loss, float(their_loss), rtol, atol, "loss")
    for ours_w, theirs_w, variable in zip(ours.get_weights(), theirs.get_weights(), ours.weights):
        assert_close(ours_w, theirs_w, rtol, atol, f"{variable.path} after one SGD step")
    recurrent = [(a, b) for a, b, v in zip(initial, ours.get_weights(), ours.weights) if "recurrent" in v.path]
    assert recurrent and all(not np.allclose(a, b) for a, b in recurrent), "no gradient reached a recurrent kernel"
    return ours
