"""ResNet (resnet, the older resnet50 path), ResNetV2 and ResNeXt against Keras's records: layer classes, order, names,
weights, counts and, for the smallest model of each module, the logits given seeded weights; the pooling and
channels_first shapes, the weight files asked for, each module's preprocessing and Keras's argument checks.

ResNet and ResNetV2 are checked against Keras 3's records (make_applications.py). Keras 3 has no ResNeXt: its
records come from keras-applications 1.0.8 on tf-keras 2.21 (make_resnext.py), the code behind Keras 2's
`keras.applications.resnext`, so they list what a Keras 2 user got, and lamina matches them layer for layer,
including the `Reshape`/`Lambda`/`Reshape` triple of each grouped convolution and the classifier named `probs`.
The one divergence is inside the Lambda: Keras 2 stored a Python lambda's bytecode, lamina stores the function
`sum` by name with `{"axis": 4}`, which sums the same axis and loads back in safe mode. Layer names Keras chose
by counter (`input_1`, `reshape_1`) are not compared: the counters depend on what was built before.
"""

from __future__ import annotations

import numpy as np
import pytest
from app_oracle import (
    LARGE_MODELS,
    check_against_record,
    load_record,
    seeded_images,
    seeded_weights,
    write_keras_h5,
)

from lamina import config, layers, ops
from lamina.applications import imagenet_utils, resnet, resnet50, resnet_v2, resnext
from lamina.models.functional import Functional

DEFAULT = [resnet.ResNet50, resnet_v2.ResNet50V2, resnext.ResNeXt50]
LARGE = [resnet.ResNet101, resnet.ResNet152, resnet_v2.ResNet101V2, resnet_v2.ResNet152V2, resnext.ResNeXt101]


@pytest.mark.parametrize("build", DEFAULT, ids=lambda build: build.__name__)
def test_smallest_models_match_keras_records(build):
    # JAX compiles each op of an eager call: ResNet50's logits run here, the other two with the big models
    model = check_against_record(build, load_record(build.__name__), predictions=build is resnet.ResNet50)
    assert model.name == build.__name__.lower()


@LARGE_MODELS
@pytest.mark.parametrize("build", DEFAULT[1:] + LARGE, ids=lambda build: build.__name__)
def test_logits_and_deeper_models_match_keras_records(build):
    check_against_record(build, load_record(build.__name__))


@LARGE_MODELS
def test_a_keras2_layout_resnext50_file_loads_by_order_and_by_name(tmp_path):
    # Keras 2's file lists the weightless Reshape and Lambda layers too (reshape_1, ...); only weighted ones count
    record = load_record("ResNeXt50")
    values = seeded_weights([w for row in record["layers"] for w in row[2]])
    expected = np.asarray(record["logits"], dtype="float32")
    images = seeded_images(record["kwargs"]["input_shape"])
    write_keras_h5(record, values, tmp_path / "ordered.h5")
    write_keras_h5(record, values, tmp_path / "shuffled.h5", order=np.random.default_rng(3).permutation(241))
    by_order = resnext.ResNeXt50(weights=str(tmp_path / "ordered.h5"), **record["kwargs"])
    by_name = resnext.ResNeXt50(weights=None, **record["kwargs"])
    by_name.load_weights(str(tmp_path / "shuffled.h5"), by_name=True)
    for model in (by_order, by_name):
        got = ops.convert_to_numpy(model(images, training=False))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_resnet50_module_is_the_resnet_module_s():
    # resnet50.ResNet50 is resnet.ResNet50 but for Keras 2.3's files (test_resnet50_legacy.py)
    assert resnet50.ResNet50.__signature__ == resnet.ResNet50.__signature__
    assert resnet50.preprocess_input is resnet.preprocess_input
    assert resnet50.decode_predictions is resnet.decode_predictions


def test_grouped_convolution_is_a_32_group_convolution():
    # Keras 2's depthwise + reshape + sum must equal a grouped 3x3 convolution (here written out in NumPy)
    inputs = layers.Input((5, 5, 64))
    model = Functional(inputs, resnext.grouped_convolution(inputs, 64, 2, "block"))
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 64, 2)).astype("float32")  # (rows, cols, in, depth multiplier)
    model.get_layer("block_2_conv").set_weights([kernel])
    images = rng.normal(size=(2, 5, 5, 64)).astype("float32")
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((2, 3, 3, 64), dtype="float64")
    for group in range(32):
        for out in range(2):
            for row, col in np.ndindex(3, 3):
                patch = padded[:, 2 * row : 2 * row + 3, 2 * col : 2 * col + 3, 2 * group : 2 * group + 2]
                expected[:, row, col, 2 * group + out] = np.einsum(
                    "bhwi,hwi->b", patch, kernel[:, :, 2 * group : 2 * group + 2, out]
                )
    np.testing.assert_allclose(ops.convert_to_numpy(model(images, training=False)), expected, rtol=1e-4, atol=1e-4)
    reduce = model.get_layer("block_2_reduce")
    restored = type(reduce).from_config(reduce.get_config())  # in safe mode: the function is stored by name
    assert restored.function is ops.sum and restored.arguments == {"axis": 4}


def test_pooling_input_tensor_and_channels_first_shapes():
    # pooling=None returns the last block's output, checked here as the layer feeding the pooling
    pooled = resnext.ResNeXt50(include_top=False, weights=None, input_shape=(32, 40, 3), pooling="avg")
    assert pooled.output_shape == (None, 2048) and pooled.layers[-1].name == "avg_pool"
    assert tuple(pooled.get_layer("conv5_block3_out").output.shape) == (None, 1, 2, 2048)
    assert pooled.count_params() == load_record("ResNeXt50")["count"] - (2048 * 1000 + 1000)
    config.set_image_data_format("channels_first")
    try:
        images = layers.Input((3, 64, 32))
        scaled = layers.Rescaling(2.0)(images)
        model = resnet_v2.ResNet50V2(include_top=False, weights=None, input_tensor=scaled, pooling="max")
        assert model.inputs[0] is images and model.output_shape == (None, 2048)
        assert model.layers[-1].name == "max_pool" and model.get_layer("post_bn").axis in (1, [1])
        assert tuple(model.get_layer("post_relu").output.shape) == (None, 2048, 2, 1)
    finally:
        config.set_image_data_format("channels_last")


def test_imagenet_weight_files_are_keras_s(monkeypatch):
    asked = []

    def fetch(fname, origin, file_hash, what):
        asked.append((fname, origin, file_hash))
        raise OSError("no network in tests")

    monkeypatch.setattr(imagenet_utils, "fetch", fetch)
    calls = [
        (resnet.ResNet152, {}),
        (resnet_v2.ResNet50V2, {"include_top": False}),
        (resnext.ResNeXt101, {"include_top": False, "input_shape": (64, 64, 3)}),
    ]
    for build, kwargs in calls:
        with pytest.raises(OSError):
            build(weights="imagenet", **kwargs)
    keras_applications = "https://github.com/keras-team/keras-applications/releases/download/resnet/"
    keras3 = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
    assert asked == [
        (name, origin + name, md5)
        for name, origin, md5 in [
            ("resnet152_weights_tf_dim_ordering_tf_kernels.h5", keras3, "100835be76be38e30d865e96f2aaae62"),
            ("resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", keras3, "fac2f116257151a9d068a22e544a4917"),
            (
                "resnext101_weights_tf_dim_ordering_tf_kernels_notop.h5",
                keras_applications,
                "0f678c91647380debd923963594981b3",
            ),
        ]
    ]


def test_each_module_s_preprocessing_mode():
    pixels = np.array([[[[0.0, 127.5, 255.0]]]])
    np.testing.assert_allclose(
        resnet.preprocess_input(pixels)[0, 0, 0], [255.0 - 103.939, 127.5 - 116.779, -123.68], rtol=1e-6
    )
    np.testing.assert_allclose(resnet_v2.preprocess_input(pixels)[0, 0, 0], [-1.0, 0.0, 1.0], rtol=1e-6)
    torch_mode = (np.array([0.0, 0.5, 1.0]) - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(resnext.preprocess_input(pixels)[0, 0, 0], torch_mode, rtol=1e-6)
    first = resnext.preprocess_input(pixels.transpose(0, 3, 1, 2), data_format="channels_first")
    np.testing.assert_allclose(first[0, :, 0, 0], torch_mode, rtol=1e-6)


def test_keras_argument_checks():
    with pytest.raises(ValueError, match="ResNet50: the `weights` argument should be either `None`"):
        resnet.ResNet50(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="ResNet50V2: if using.*`classes` should be 1000"):
        resnet_v2.ResNet50V2(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(224, 224, 3\)"):
        resnext.ResNeXt50(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        resnet.ResNet50(include_top=False, weights=None, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="only `None` and `softmax`"):
        resnet.ResNet101(weights="imagenet", classifier_activation="relu")
    with pytest.raises(ValueError, match=r"ResNeXt50 needs a static input size.*\(None, None, 3\)"):
        resnext.ResNeXt50(include_top=False, weights=None)
    config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="ResNeXt101 is built for the channels_last image data format only"):
            resnext.ResNeXt101(include_top=False, weights=None, input_shape=(3, 64, 64))
    finally:
        config.set_image_data_format("channels_last")
