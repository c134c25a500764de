"""ConvNeXt against Keras 3's records, its own layers (StochasticDepth, LayerScale) against NumPy, and saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_oracle import LARGE_MODELS, check_against_record, load_record

import lamina
from lamina import config
from lamina.applications import convnext

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _numpy(value):
    return np.asarray(lamina.ops.convert_to_numpy(value))


def _mini(**kwargs):
    """A four-block ConvNeXt with 8 channels per stage: every kind of layer the family has, built in a blink."""
    arguments = {"input_shape": (32, 32, 3), "weights": None, "name": "convnext_mini", **kwargs}
    return convnext.ConvNeXt([1, 1, 1, 1], [8, 8, 8, 8], **arguments)


def test_convnext_tiny_matches_keras():
    model = check_against_record(convnext.ConvNeXtTiny, load_record("ConvNeXtTiny"), op_classes=("OpLambda",))
    # Keras 3 does not list its `inputs + x` op nodes in model.layers; lamina lists one add per block.
    assert sum(type(layer).__name__ == "OpLambda" for layer in model.layers) == 3 + 3 + 9 + 3


@LARGE_MODELS
@pytest.mark.parametrize("name", ["ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"])
def test_large_convnext_matches_keras(name):
    check_against_record(getattr(convnext, name), load_record(name), op_classes=("OpLambda",))


@pytest.mark.parametrize(("pooling", "shape"), [(None, (None, 1, 1, 8)), ("avg", (None, 8)), ("max", (None, 8))])
def test_convnext_without_top_pools_then_normalizes(pooling, shape):
    model = _mini(include_top=False, pooling=pooling, include_preprocessing=False)
    assert model.output_shape == shape
    assert type(model.layers[-1]).__name__ == "LayerNormalization"
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    got = _numpy(model(images))
    # Fresh LayerNormalization (gamma 1, beta 0, epsilon 1e-6) over the channels of whatever comes before it.
    features = _numpy(lamina.models.Model(model.input, model.layers[-2].output)(images))
    mean, var = features.mean(-1, keepdims=True), features.var(-1, keepdims=True)
    np.testing.assert_allclose(got, (features - mean) / np.sqrt(var + 1e-6), rtol=1e-4, atol=1e-4)


def test_stochastic_depth_drops_whole_samples_and_rescales_the_rest():
    layer = convnext.StochasticDepth(0.25)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (64, 3, 4)).astype("float32")
    np.testing.assert_array_equal(_numpy(layer(x, training=False)), x)
    first, second = (_numpy(layer(x, training=True)) for _ in range(2))
    for out in (first, second):
        dropped = np.all(out == 0.0, axis=(1, 2))
        np.testing.assert_allclose(out[~dropped], x[~dropped] / 0.75, rtol=1e-6)
        assert 0 < dropped.sum() < 64  # about 16 of 64 dropped; neither none nor all
    assert not np.array_equal(first, second), "each call draws new samples to drop"
    with pytest.raises(ValueError, match="drop_path_rate must be in"):
        convnext.StochasticDepth(1.0)


def test_layer_scale_multiplies_channels_and_saves_its_config():
    layer = convnext.LayerScale(1e-6, 4, name="scale")
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(_numpy(layer(x)), x * 1e-6, rtol=1e-6)
    gamma = np.array([0.5, -2.0, 3.0, 0.0], "float32")
    layer.set_weights([gamma])
    np.testing.assert_allclose(_numpy(layer(x)), x * gamma, rtol=1e-6)
    assert [tuple(w.shape) for w in layer.weights] == [(4,)] and layer.weights[0].trainable
    assert layer.get_config()["init_values"] == 1e-6 and layer.get_config()["projection_dim"] == 4
    clone = convnext.LayerScale.from_config(layer.get_config())
    assert (clone.name, clone.init_values, clone.projection_dim) == ("scale", 1e-6, 4)
    with pytest.raises(ValueError, match="expects inputs with 5 channels"):
        convnext.LayerScale(0.1, 5)(x)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_convnext_saves_and_loads_without_custom_objects(tmp_path, suffix):
    model = _mini(drop_path_rate=0.2, classes=5)
    model.set_weights([np.random.default_rng(i).normal(0, 0.2, w.shape) for i, w in enumerate(model.weights)])
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    path = str(tmp_path / f"mini{suffix}")
    model.save(path)
    loaded = lamina.models.load_model(path)
    classes = {type(layer).__name__ for layer in loaded.layers}
    assert {"StochasticDepth", "LayerScale", "Sequential", "Normalization"} <= classes
    expected = _numpy(model(pixels, training=False))
    np.testing.assert_allclose(_numpy(loaded(pixels, training=False)), expected, rtol=1e-5, atol=1e-6)
    if suffix == ".h5":  # weights=<file> loads a weights file into a fresh model
        model.save_weights(str(tmp_path / "mini.weights.h5"))
        again = _mini(drop_path_rate=0.2, classes=5, weights=str(tmp_path / "mini.weights.h5"))
        np.testing.assert_allclose(_numpy(again(pixels, training=False)), expected, rtol=1e-5, atol=1e-6)


def test_convnext_loads_tf_keras_files():
    """Keras's published ConvNeXt weights were written by tf-keras: its `save_weights` layout, and whole models."""
    folder = FIXTURES / "convnext"
    data = np.load(folder / "mini.npz")
    model = _mini(drop_path_rate=0.2, classes=5, classifier_activation=None, weights=str(folder / "mini_weights.h5"))
    np.testing.assert_allclose(_numpy(model(data["pixels"])), data["logits"], rtol=1e-4, atol=1e-5)
    loaded = lamina.models.load_model(str(folder / "mini_model.h5"), compile=False)
    np.testing.assert_allclose(_numpy(loaded(data["pixels"])), data["logits"], rtol=1e-4, atol=1e-5)
    # The same layers, names and stochastic depth schedule (0, 0.2/3, 0.4/3, 0.2) as Keras built.
    ops = {"OpLambda", "TFOpLambda"}
    ours = [(x.name, type(x).__name__) for x in model.layers if type(x).__name__ not in ops]
    keras = [(x.name, type(x).__name__) for x in loaded.layers if type(x).__name__ not in ops]
    assert ours[1:] == keras[1:]  # the input layers' names differ: tf-keras counts its inputs (input_1)
    rates = [x.get_config()["drop_path_rate"] for x in model.layers if type(x).__name__ == "StochasticDepth"]
    keras_rates = [x.drop_path_rate for x in loaded.layers if type(x).__name__ == "StochasticDepth"]
    np.testing.assert_allclose(rates, keras_rates)
    np.testing.assert_allclose(rates, [0.2 / 3, 0.4 / 3, 0.2])


def test_convnext_loads_a_keras3_file():
    folder = FIXTURES / "convnext"
    loaded = lamina.models.load_model(str(folder / "mini_keras3.keras"), compile=False)
    logits = _numpy(loaded(np.load(folder / "mini.npz")["pixels"]))
    np.testing.assert_allclose(logits, np.load(folder / "mini_keras3.npz")["logits"], rtol=1e-4, atol=1e-5)
    scales = [x for x in loaded.layers if type(x) is convnext.LayerScale]
    assert len(scales) == 4 and scales[0].init_values == 1e-6 and scales[0].projection_dim == 8


def test_keras3_reads_lamina_convnext_layers(tmp_path):
    keras = pytest.importorskip("keras")
    inputs = lamina.layers.Input((2, 3))
    outputs = convnext.StochasticDepth(0.1, name="drop")(convnext.LayerScale(0.5, 3, name="scale")(inputs))
    model = lamina.models.Model(inputs, outputs)
    model.layers[1].set_weights([np.array([1.0, -2.0, 3.0], "float32")])
    model.save(str(tmp_path / "scaled.keras"))
    theirs = keras.models.load_model(str(tmp_path / "scaled.keras"))
    assert [type(x).__module__ for x in theirs.layers[1:]] == ["keras.src.applications.convnext"] * 2
    assert theirs.layers[2].drop_path_rate == 0.1 and theirs.layers[1].projection_dim == 3
    x = np.ones((1, 2, 3), "float32")
    np.testing.assert_allclose(np.asarray(theirs([x])), x * [1.0, -2.0, 3.0])


def test_convnext_argument_errors():
    with pytest.raises(ValueError, match="must contain the weights variant"):
        convnext.ConvNeXtTiny(weights="imagenet", name="my_net")
    with pytest.raises(ValueError, match="Expected depths: \\[3, 3, 9, 3\\], got: \\[1, 1, 1, 1\\]"):
        _mini(weights="imagenet", name="convnext_tiny", weights_name="convnext_tiny", include_top=False)
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        convnext.ConvNeXtTiny(weights="imagenet", classes=10)
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="does not support the `channels_first`"):
            _mini()
    finally:
        config.set_image_data_format(previous)
    images = np.zeros((1, 4, 4, 3))
    assert convnext.preprocess_input(images) is images
