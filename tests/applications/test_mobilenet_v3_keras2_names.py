"""tf.keras (Keras 2) MobileNetV3 weight files in lamina's MobileNetV3, by layer name and by order.

tf-keras named MobileNetV3's layers `Conv/BatchNorm`, `expanded_conv_1/squeeze_excite/Conv`, `Logits` where lamina
(as Keras 3) names them `conv_bn`, `expanded_conv_1_squeeze_excite_conv`, `logits`; lamina's models carry a table
of the Keras 2 names that loading by name consults. The oracle is tf-keras 2.21's record
(tests/fixtures/applications/MobileNetV3Small_tfkeras.json, written by make_mobilenet_v3_tfkeras.py): its layer
names and weights, and its logits given app_oracle's seeded weights. The files are written from that record in
Keras 2's HDF5 layout (app_oracle.write_keras_h5), not by lamina.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, load_record, seeded_images, seeded_weights, write_keras_h5

from lamina import layers
from lamina.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small, keras2_layer_name
from lamina.backend import clear_session
from lamina.models import Sequential

RECORD = load_record("MobileNetV3Small_tfkeras")


@pytest.fixture(scope="module")
def small():
    """MobileNetV3Small built once as the record's (32x32, top, no classifier activation); tests reset its weights."""
    clear_session()
    return MobileNetV3Small(weights=None, **RECORD["kwargs"])


def record_values() -> list:
    """The seeded weights tf-keras was given, in its layers' order."""
    return seeded_weights([weight for row in RECORD["layers"] for weight in row[2]])


def zero_weights(model) -> None:
    model.set_weights([np.zeros(tuple(w.shape), dtype="float32") for w in model.weights])


def assert_tf_keras_logits(model) -> None:
    expected = np.asarray(RECORD["logits"], dtype="float32")
    got = model.predict(seeded_images(RECORD["kwargs"]["input_shape"]), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_keras2_names_follow_tf_keras():
    """The rule gives tf-keras's names (from its record) for every layer with weights, in every variant recorded."""
    assert keras2_layer_name("conv_bn") == "Conv/BatchNorm"
    assert keras2_layer_name("expanded_conv_squeeze_excite_conv_1") == "expanded_conv/squeeze_excite/Conv_1"
    assert keras2_layer_name("expanded_conv_10_depthwise_bn") == "expanded_conv_10/depthwise/BatchNorm"
    assert keras2_layer_name("expanded_conv_1_depthwise_pad") == "expanded_conv_1/depthwise/pad"
    assert keras2_layer_name("logits") == "Logits"
    clear_session()
    bare = MobileNetV3Small(weights=None, input_shape=(32, 32, 3), minimalistic=True, include_top=False)
    assert list(bare._keras2_layer_names) == RECORD["small_minimalistic_no_top_weighted_layers"]


def test_table_covers_every_weighted_layer(small):
    table = small._keras2_layer_names
    assert list(table) == [row[0] for row in RECORD["layers"] if row[2]]
    assert list(table.values()) == [layer.name for layer in small.layers if layer.weights]


def test_tf_keras_file_loads_by_name_shuffled(small, tmp_path):
    """A tf.keras user's weights file (tf-keras's names, layers in any order) loads by name: tf-keras's logits."""
    path = tmp_path / "tf_keras_names.h5"
    order = np.random.default_rng(3).permutation(len(RECORD["layers"])).tolist()
    write_keras_h5(RECORD, record_values(), path, order=order)
    zero_weights(small)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every weighted layer matches: no skipped-layer or nothing-loaded warning
        small.load_weights(str(path), by_name=True)
    assert_tf_keras_logits(small)


def test_tf_keras_file_loads_by_order(small, tmp_path):
    path = tmp_path / "tf_keras_order.h5"
    write_keras_h5(RECORD, record_values(), path)
    zero_weights(small)
    small.load_weights(str(path))
    assert_tf_keras_logits(small)


def test_own_names_win_over_keras2_names(small, tmp_path):
    """A file may mix names: a layer under lamina's name loads from there, not from the Keras 2 alias beside it,
    and a layer only under its Keras 2 name loads from that."""
    kernel = np.full((3, 3, 3, 16), 0.5, dtype="float32")
    gamma, beta, mean, variance = (np.full(16, v, dtype="float32") for v in (2.0, 0.1, 0.2, 3.0))
    rows = [
        ["Conv", "Conv2D", [["kernel", [3, 3, 3, 16]]]],
        ["conv", "Conv2D", [["kernel", [3, 3, 3, 16]]]],
        [
            "Conv/BatchNorm",
            "BatchNormalization",
            [[n, [16]] for n in ("gamma", "beta", "moving_mean", "moving_variance")],
        ],
    ]
    path = tmp_path / "mixed.h5"
    write_keras_h5({"layers": rows}, [-kernel, kernel, gamma, beta, mean, variance], path)
    zero_weights(small)
    small.load_weights(str(path), by_name=True)
    np.testing.assert_array_equal(small.get_layer("conv").get_weights()[0], kernel)
    for got, want in zip(small.get_layer("conv_bn").get_weights(), (gamma, beta, mean, variance)):
        np.testing.assert_array_equal(got, want)


@LARGE_MODELS
def test_large_keras2_names_follow_tf_keras():
    clear_session()
    large = MobileNetV3Large(weights=None, input_shape=(32, 32, 3))
    assert list(large._keras2_layer_names) == RECORD["large_weighted_layers"]


def test_by_name_warns_when_nothing_matches(tmp_path):
    """Keras 2 skipped unmatched names silently; lamina warns when no layer with weights matched at all."""
    clear_session()
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="dense_a")])
    path = tmp_path / "other_names.h5"
    rows = [["Dense_A", "Dense", [["kernel", [3, 2]], ["bias", [2]]]], ["Dense_B", "Dense", [["bias", [2]]]]]
    write_keras_h5({"layers": rows}, [np.ones((3, 2)), np.ones(2), np.ones(2)], path)
    before = model.get_weights()
    with pytest.warns(UserWarning, match="loaded no weights") as caught:
        model.load_weights(str(path), by_name=True)
    message = str(caught[0].message)
    assert "other_names.h5" in message and "'Dense_A'" in message and "'dense_a'" in message
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
