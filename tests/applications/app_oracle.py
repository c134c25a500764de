"""What the application tests share: Keras 3's record of each model (tests/fixtures/applications/<Model>.json,
written by make_applications.py) and the seeded weights both Keras 3 and lamina are given for the prediction check.

Example:
    >>> record = load_record("ResNet50")
    >>> check_against_record(ResNet50, record)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from lamina.backend import clear_session

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "applications"
LARGE_MODELS = pytest.mark.skipif(
    not os.environ.get("LAMINA_LARGE_MODELS"),
    reason="the big application models run with LAMINA_LARGE_MODELS=1 (scripts or benchmarks), not in CI",
)


def load_record(name: str) -> dict:
    """Keras 3's record of application `name`: its build arguments, layers, weights, count and predictions."""
    with open(FIXTURES / f"{name}.json") as file:
        return json.load(file)


def seeded_weights(weights, seed: int = 0) -> list:
    """Deterministic values for a model's weights, in order, scaled so a deep network's activations stay finite.

    `weights` is a list of (name, shape). Variances are in [0.5, 1.5], scales (gamma) in [0.8, 1.2], counts 0,
    vectors small, kernels normal with standard deviation 1/sqrt(fan-in).
    """
    rng = np.random.default_rng(seed)
    values = []
    for name, shape in weights:
        shape = tuple(shape)
        if name.endswith("variance"):
            value = rng.uniform(0.5, 1.5, size=shape)
        elif name.endswith("gamma"):
            value = rng.uniform(0.8, 1.2, size=shape)
        elif name.endswith("count"):
            value = np.zeros(shape)
        elif len(shape) <= 1:
            value = rng.normal(0.0, 0.05, size=shape)
        else:
            value = rng.normal(0.0, 1.0 / np.sqrt(max(1, int(np.prod(shape[:-1])))), size=shape)
        values.append(np.asarray(value, dtype="float32" if not name.endswith("count") else None))
    return values


def seeded_images(shape, seed: int = 1) -> np.ndarray:
    """Two images of `shape` with values in [-1, 1] (each model's own preprocessing is not part of the check)."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(2, *shape)).astype("float32")


def model_layers(model) -> list:
    """[layer name, class name, [[weight name, shape], ...]] for each layer, as the records hold them."""
    return [
        [layer.name, type(layer).__name__, [[w.name, list(w.shape)] for w in layer.weights]] for layer in model.layers
    ]


def _auto_named(name: str, class_name: str) -> bool:
    """Whether Keras gave this layer a counter name (`re_lu_3`, `input_layer`) rather than the application's own."""
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)).lower()
    return bool(re.fullmatch(rf"({snake}|{class_name.lower()}|input_layer|input)(_\d+)?", name))


def _keras2_weight_names(class_name: str, weights: list) -> list:
    """A record's weights under Keras 2's names, which lamina keeps (the published HDF5 files hold them):
    Keras 3 renamed DepthwiseConv2D's `depthwise_kernel` to `kernel`."""
    if class_name != "DepthwiseConv2D":
        return weights
    return [["depthwise_kernel" if name == "kernel" else name, shape] for name, shape in weights]


def check_against_record(build, record: dict, predictions: bool = True, op_classes: tuple = ()) -> None:
    """Builds the model as Keras 3 did; checks its layers (class, order, names Keras chose, weights), its
    parameter count and, when recorded and `predictions`, its logits given the same seeded weights.

    `op_classes`: lamina layer classes left out of the comparison because Keras 3's `model.layers` does not
    list them: its op nodes (ConvNeXt's `inputs + x` is lamina's `OpLambda`, as in tf.keras's model.layers)."""
    clear_session()  # the records hold a fresh session's automatic names (`normalization`, not `normalization_3`)
    model = build(weights=None, **record["kwargs"])
    got, want = [row for row in model_layers(model) if row[1] not in op_classes], record["layers"]
    assert [row[1] for row in got] == [row[1] for row in want], "layer classes or order differ from Keras's"
    for mine, theirs in zip(got, want):
        if theirs[2] or not _auto_named(theirs[0], theirs[1]):
            assert mine[0] == theirs[0], f"layer {mine[0]!r} is {theirs[0]!r} in Keras"
        theirs_2 = _keras2_weight_names(theirs[1], theirs[2])
        assert mine[2] == theirs_2, f"layer {mine[0]!r}: weights {mine[2]} but Keras has {theirs_2}"
    assert model.count_params() == record["count"]
    if predictions and "logits" in record:
        model.set_weights(seeded_weights([(w.name, w.shape) for w in model.weights]))
        expected = np.asarray(record["logits"], dtype="float32")
        # predict, not an eager call: on JAX an eager call compiles each op apart (MobileNet: 12-17 s against
        # 1.7 s), and on torch an eager call's output still needs a detach before NumPy.
        got = model.predict(seeded_images(record["kwargs"]["input_shape"]), verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    return model


def write_keras_h5(record: dict, values: list, path, order=None) -> None:
    """A weights file in Keras 2's HDF5 layout (as the published files), written from Keras's record, not lamina.

    `values` are the model's weights in order; `order` lists the layers' positions in the file (default: the
    model's order), so a by-name load can be checked against a file whose layers are shuffled.
    """
    rows = record["layers"]
    values = iter(values)
    arrays = [[next(values) for _ in row[2]] for row in rows]
    order = range(len(rows)) if order is None else order
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = np.array([rows[i][0].encode() for i in order])
        file.attrs["backend"] = b"tensorflow"
        file.attrs["keras_version"] = b"2.4.0"
        for i in order:
            name, _, weights = rows[i]
            group = file.require_group(name)  # Keras 2's `Conv/BatchNorm` may come before (and create) `Conv`
            names = [f"{name}/{weight}:0" for weight, _ in weights]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for weight_name, array in zip(names, arrays[i]):
                group.create_dataset(weight_name, data=array)
