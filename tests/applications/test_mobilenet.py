"""MobileNet, MobileNetV2, MobileNetV3Small and MobileNetV3Large against Keras 3's records (layer classes, order,
names, weights, counts and the logits given the same seeded weights); width variants' counts as Keras 3 computes
them; Keras's ImageNet argument checks and weight file names; pooling and channels_first shapes; preprocessing."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record, seeded_weights, write_keras_h5
from local_http_server import LocalServer

from lamina import config
from lamina.applications import imagenet_utils, mobilenet, mobilenet_v2, mobilenet_v3
from lamina.applications.mobilenet import MobileNet
from lamina.applications.mobilenet_v2 import MobileNetV2
from lamina.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from lamina.backend import clear_session
from lamina.layers import Input

SMALL = (32, 32, 3)


@pytest.mark.parametrize(
    "build, name, predictions",
    [
        (MobileNet, "MobileNet", True),
        (MobileNetV2, "MobileNetV2", True),
        (MobileNetV3Small, "MobileNetV3Small", True),
        # The default run checks Large's structure; its logits (no layer kind Small lacks) run with the big models.
        (MobileNetV3Large, "MobileNetV3Large", False),
    ],
)
def test_matches_keras3_record(build, name, predictions, tmp_path):
    model = check_record(build, name, predictions)
    # Files in Keras's HDF5 layout, written from Keras 3's record (not from lamina), load by order and by name.
    record = load_record(name)
    values = seeded_weights([w for row in record["layers"] for w in row[2]], seed=5)
    write_keras_h5(record, values, tmp_path / "ordered.h5")
    model.load_weights(str(tmp_path / "ordered.h5"))
    assert len(model.get_weights()) == len(values)
    assert all(np.array_equal(got, want) for got, want in zip(model.get_weights(), values))
    shuffled = np.random.default_rng(3).permutation(len(record["layers"]))
    write_keras_h5(record, [-v for v in values], tmp_path / "shuffled.h5", order=shuffled)
    model.load_weights(str(tmp_path / "shuffled.h5"), by_name=True)
    assert all(np.array_equal(got, -want) for got, want in zip(model.get_weights(), values))


@LARGE_MODELS
def test_mobilenet_v3_large_predicts_as_keras3():
    check_record(MobileNetV3Large, "MobileNetV3Large", predictions=True)


def check_record(build, name, predictions):
    clear_session()
    # hard_sigmoid's `x + 3` and `* (1 / 6)` are op nodes, which Keras 3 leaves out of model.layers
    model = check_against_record(build, load_record(name), predictions=predictions, op_classes=("OpLambda",))
    ops = [layer for layer in model.layers if type(layer).__name__ == "OpLambda"]
    excites = [layer for layer in model.layers if layer.name.endswith("squeeze_excite_mul")]
    assert sorted({layer.function for layer in ops}) == (["operator.add", "operator.mul"] if excites else [])
    assert len(ops) == 2 * len(excites)  # one hard sigmoid per squeeze-and-excite block
    assert model.name == {"MobileNet": "mobilenet_1.00_32", "MobileNetV2": "mobilenetv2_1.00_32"}.get(name, name)
    return model


def test_width_variants_count_and_pool_as_keras3():
    # Keras 3.15.1 computed these counts and shapes (weights=None, include_top=False).
    small = MobileNetV3Small(
        weights=None, alpha=1.25, minimalistic=True, include_top=False, input_shape=(64, 48, 3), pooling="max"
    )
    assert small.count_params() == 682_328 and small.output_shape == (None, 720) and len(small.layers) == 104
    assert small.layers[-1].name == "max_pool"
    wide = MobileNetV2(weights=None, alpha=1.4, include_top=False, input_shape=(64, 64, 3), pooling="avg")
    assert wide.count_params() == 4_363_712 and wide.output_shape == (None, 1792)
    assert wide.get_layer("block_1_pad").output.shape == (None, 33, 33, 144)


def test_channels_first_shapes_and_padding():
    before = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        model = MobileNet(weights=None, alpha=0.5, depth_multiplier=2, include_top=False, input_shape=(3, 64, 64))
        pads = imagenet_utils.correct_pad(Input(shape=(8, 33, 64)), 3), imagenet_utils.correct_pad(Input((8, 9, 9)), 5)
    finally:
        config.set_image_data_format(before)
    # Keras 3.15.1 (channels_last): 1,646,672 parameters, output (None, 2, 2, 512), conv_dw_2 (None, 16, 16, 64)
    assert model.count_params() == 1_646_672 and model.output_shape == (None, 512, 2, 2)
    assert model.get_layer("conv_pad_2").output.shape == (None, 32, 33, 33)
    assert model.get_layer("conv_dw_2").output.shape == (None, 64, 16, 16)
    assert pads == (((1, 1), (0, 1)), ((2, 2), (2, 2)))  # an odd side needs no extra row; an even side one less
    assert imagenet_utils.correct_pad(Input(shape=(None, None, 8)), (3, 5)) == ((0, 1), (1, 2))
    # Keras: an unknown height pads both sides as even ones, whatever the width (NASNet on (None, 67, 3) inputs)
    assert imagenet_utils.correct_pad(Input(shape=(None, 67, 8)), 3) == ((0, 1), (0, 1))


def test_imagenet_argument_checks_as_keras():
    with pytest.raises(ValueError, match=r"alpha can be one of`?.*`0.25`, `0.50`, `0.75` or `1.0` only"):
        MobileNet(weights="imagenet", alpha=0.3)
    with pytest.raises(ValueError, match="depth multiplier must be 1. +Received depth_multiplier=2"):
        MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(224, 224, 3\)"):
        MobileNet(weights="imagenet", input_shape=(160, 128, 3))  # not square: Keras's default side, 224
    with pytest.raises(ValueError, match="alpha must be one of `0.35`, `0.50`, `0.75`, `1.0`, `1.3` or `1.4`"):
        MobileNetV2(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="alpha can be one of `0.75`, `1.0` for non minimalistic"):
        MobileNetV3Small(weights="imagenet", alpha=0.5)
    with pytest.raises(ValueError, match="or `1.0` for minimalistic only"):
        MobileNetV3Large(weights="imagenet", alpha=0.75, minimalistic=True)
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        MobileNetV3Small(weights=None, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        MobileNetV2(weights=None, include_top=False, input_shape=(64, 16, 3))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        MobileNetV3Small(weights="imagenet", classes=10)


@pytest.mark.parametrize(
    "build, kwargs, fname",
    [
        (MobileNet, {"alpha": 0.5, "input_shape": (160, 160, 3)}, "mobilenet_5_0_160_tf.h5"),
        (
            MobileNet,
            {"alpha": 0.25, "include_top": False, "input_shape": (96, 96, 3)},
            "mobilenet_2_5_224_tf_no_top.h5",
        ),
        (
            MobileNetV2,
            {"alpha": 0.35, "include_top": False, "input_shape": (96, 96, 3)},
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
        ),
        (MobileNetV2, {"alpha": 1.3}, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.3_224.h5"),
        (
            MobileNetV3Small,
            {"minimalistic": True, "include_top": False},
            "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5",
        ),
        (MobileNetV3Large, {"alpha": 0.75}, "weights_mobilenet_v3_large_224_0.75_float.h5"),
    ],
)
@pytest.mark.filterwarnings("ignore:`input_shape` is undefined or non-square")
def test_imagenet_weight_files_are_named_as_keras_s(build, kwargs, fname, monkeypatch, tmp_path):
    # Offline, the error names the file Keras would fetch for the variant (before any layer is built).
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for module in (mobilenet, mobilenet_v2, mobilenet_v3):
        monkeypatch.setattr(module, "WEIGHTS_ORIGIN", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(Exception, match=f"127.0.0.1:9/{fname}.*place it at {tmp_path / 'models' / fname}"):
        build(weights="imagenet", **kwargs)


def test_imagenet_weights_for_other_sides_fall_back_to_224_with_keras_s_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(mobilenet_v2, "WEIGHTS_ORIGIN", "http://127.0.0.1:9/")
    with pytest.warns(UserWarning, match=r"`rows` is not in \[96, 128, 160, 192, 224\]"):
        with pytest.raises(Exception, match="_1.0_224_no_top.h5"):
            MobileNetV2(weights="imagenet", include_top=False, input_shape=(100, 100, 3))


def test_mobilenet_v3_weights_are_checked_against_keras_s_hash(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fname = "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"
    body = b"not the published file" * 10
    with LocalServer({f"/{fname}": body}) as server:
        monkeypatch.setattr(mobilenet_v3, "WEIGHTS_ORIGIN", server.url + "/")
        with pytest.raises(ValueError, match=f"hash is {hashlib.md5(body).hexdigest()}, expected"):
            MobileNetV3Small(weights="imagenet", alpha=0.75, include_top=False, input_shape=(224, 224, 3))
        assert server.hits == {f"/{fname}": 1}
    assert mobilenet_v3.weights_file("small", False, 0.75, False) == (fname, "ebdb5cc8e0b497cd13a7c275d475c819")


def test_preprocess_input_modes_as_keras():
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(mobilenet.preprocess_input(images), images / 127.5 - 1.0, rtol=1e-6)
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(images[0]), images[0] / 127.5 - 1.0, rtol=1e-6)
    assert mobilenet_v3.preprocess_input(images) is images  # the models rescale inside
    assert mobilenet_v3.decode_predictions is mobilenet.decode_predictions
