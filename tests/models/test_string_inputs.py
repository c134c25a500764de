"""Models with string inputs: `Input(dtype="string")` -> layers that take strings (run on the host) -> the rest.

References: Keras 3's and tf-keras's own predictions (tests/fixtures/string_inputs, written by
make_string_inputs.py) and, for training, the numeric part of the same model fed the hashed integers.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

import lamina
from lamina import layers, ops

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "string_inputs"
WORDS = np.array(["cat", "dog", "a", "the", "fish", "bird", "x y", "ünï"])


def _fixture_inputs(data, name):
    return [data["crossing_a"], data["crossing_b"]] if name == "crossing" else data[name]


@pytest.mark.parametrize(
    "filename",
    ["keras3_hashing.keras", "keras3_hashing_flat.h5", "tfkeras_crossing.h5"],  # every writer, format and layer
)
def test_keras_written_string_models_predict_as_keras(filename):
    data = np.load(FIXTURES / "string_inputs.npz")
    writer, name = filename.split(".")[0].split("_", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the files load cleanly
        model = lamina.models.load_model(FIXTURES / filename)
    assert model.inputs[0].dtype == "string"
    got = model.predict(_fixture_inputs(data, name), verbose=0)
    np.testing.assert_allclose(got, data[f"{writer}_{name}"], rtol=1e-5, atol=1e-6)
    # Strings as str (not bytes), object arrays and, for one (batch, 1) input, a plain list of str.
    arrays = _fixture_inputs(data, name) if name == "crossing" else [_fixture_inputs(data, name)]
    as_text = [np.char.decode(a, "utf-8").astype(object) for a in arrays]
    text = as_text if name == "crossing" else as_text[0]
    if name == "hashing_flat":
        text = list(text[:, 0])
    np.testing.assert_allclose(model.predict(text, verbose=0), data[f"{writer}_{name}"], rtol=1e-5, atol=1e-6)


def test_every_fixture_file_calls_as_keras_predicts():
    """All nine files (each model by each writer, every format), called eagerly on bytes."""
    data = np.load(FIXTURES / "string_inputs.npz")
    files = sorted(FIXTURES.glob("*_*.*[sh5]"))
    assert len(files) == 9
    for path in files:
        writer, name = path.name.split(".")[0].split("_", 1)
        model = lamina.models.load_model(path)
        got = ops.convert_to_numpy(model(_fixture_inputs(data, name)))
        np.testing.assert_allclose(got, data[f"{writer}_{name}"], rtol=1e-5, atol=1e-6, err_msg=path.name)


def _text_model(num_bins=8, name="text"):
    """text (1,) -> Hashing -> Embedding(4) -> Flatten -> Dense(1), and its numeric part as a separate model."""
    lamina.utils.set_random_seed(3)
    text = lamina.Input(shape=(1,), dtype="string", name=name)
    hashing = layers.Hashing(num_bins=num_bins, salt=2)
    embedding, dense = layers.Embedding(num_bins, 4), layers.Dense(1)
    model = lamina.Model(text, dense(layers.Flatten()(embedding(hashing(text)))))
    ids = lamina.Input(shape=(1,), dtype="int32")
    numeric = lamina.Model(ids, layers.Dense(1)(layers.Flatten()(layers.Embedding(num_bins, 4)(ids))))
    numeric.set_weights(model.get_weights())
    return model, numeric, hashing


def test_training_on_strings_matches_the_numeric_part_fed_hashed_ids():
    rng = np.random.default_rng(0)
    x = rng.choice(WORDS, (24, 1))
    y = rng.normal(size=(24, 1)).astype("float32")
    model, numeric, hashing = _text_model()
    ids = ops.convert_to_numpy(hashing(x))
    assert ids.shape == (24, 1) and len(np.unique(ids)) >= 5
    for m in (model, numeric):
        # Fused steps (4 per call) on the string model, one step per call on the reference.
        m.compile(lamina.optimizers.SGD(0.5), "mse", steps_per_execution=4 if m is model else 1)
    got = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    want = numeric.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got[1] < got[0]
    for a, b in zip(model.get_weights(), numeric.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The batch methods, evaluate, predict and a plain call, against the same reference.
    # Batches of 4 throughout: one compiled shape per step kind.
    np.testing.assert_allclose(model.train_on_batch(x[:4], y[:4]), numeric.train_on_batch(ids[:4], y[:4]), rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(x[4:8], y[4:8]), numeric.test_on_batch(ids[4:8], y[4:8]), rtol=1e-5)
    got = model.evaluate(x, y, batch_size=4, verbose=0)
    np.testing.assert_allclose(got, numeric.evaluate(ids, y, batch_size=4, verbose=0), rtol=1e-5)
    want_pred = numeric.predict(ids, batch_size=4, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), want_pred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), want_pred[:4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x)), want_pred, rtol=1e-5, atol=1e-6)


def test_generators_and_mixed_inputs():
    """A string and a numeric input into one model, fed from a generator of batches."""
    lamina.utils.set_random_seed(4)
    text = lamina.Input(shape=(2,), dtype="string", name="tokens")
    number = lamina.Input(shape=(3,), name="number")
    hashing = layers.Hashing(num_bins=6, output_mode="multi_hot")
    dense = layers.Dense(1)
    model = lamina.Model([text, number], dense(layers.Concatenate()([hashing(text), number])))
    rng = np.random.default_rng(1)
    x_text = np.char.encode(rng.choice(WORDS, (12, 2)), "utf-8")  # bytes, as tf.string gives them
    x_number = rng.normal(size=(12, 3)).astype("float32")
    kernel, bias = dense.get_weights()
    multi_hot = ops.convert_to_numpy(hashing(x_text))
    want = np.concatenate([multi_hot, x_number], axis=1) @ kernel + bias
    assert multi_hot.shape == (12, 6) and multi_hot.sum() >= 12

    def batches():
        for start in range(0, 12, 4):
            yield {"tokens": x_text[start : start + 4], "number": x_number[start : start + 4]}

    np.testing.assert_allclose(model.predict(batches(), steps=3, verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict([x_text, x_number], verbose=0), want, rtol=1e-5, atol=1e-6)


def test_sequential_starting_with_a_layer_on_strings_builds_from_string_data():
    hashing, dense = layers.Hashing(num_bins=6, salt=2, output_mode="one_hot"), layers.Dense(1)
    model = lamina.Sequential([hashing, dense])
    x = WORDS[:, None]
    got = model.predict(x, verbose=0)
    assert model.inputs[0].dtype == "string" and model.inputs[0].shape == (None, 1)
    one_hot = np.eye(6, dtype="float32")[ops.convert_to_numpy(layers.Hashing(num_bins=6, salt=2)(x))[:, 0]]
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(got, one_hot @ kernel + bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", [".h5", ".keras", "json"])
def test_string_models_save_and_load(tmp_path, fmt):
    functional = _text_model()[0]
    sequential = lamina.Sequential(
        [lamina.Input(shape=(3,), dtype="string"), layers.Hashing(num_bins=5, output_mode="count"), layers.Dense(2)]
    )
    x = np.random.default_rng(2).choice(WORDS, (5, 3))
    for model in (functional, sequential):
        inputs = x if model is sequential else x[:, :1]
        want = ops.convert_to_numpy(model(inputs))  # eager calls: predict's compiled path is tested above
        if fmt == "json":
            config = model.to_json()
            assert '"dtype": "string"' in config
            loaded = lamina.models.model_from_json(config)
            loaded.set_weights(model.get_weights())
        else:
            model.save(tmp_path / f"model{fmt}")
            loaded = lamina.models.load_model(tmp_path / f"model{fmt}")
        assert type(loaded) is type(model) and loaded.inputs[0].dtype == "string"
        got = ops.convert_to_numpy(loaded(inputs))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_string_dtype_spellings_and_symbolic_outputs():
    for spelling in ("string", "str", "tf.string", np.str_):
        assert lamina.Input(shape=(1,), dtype=spelling).dtype == "string"
    layer = lamina.layers.InputLayer.from_config({"batch_input_shape": [None, 2], "dtype": "string", "name": "s"})
    assert layer.output.dtype == "string" and layer.get_config()["dtype"] == "string"
    text = lamina.Input(shape=(4,), dtype="string")
    ids = layers.Hashing(num_bins=7)(text)
    one_hot = layers.Hashing(num_bins=7, output_mode="multi_hot")(text)
    assert (ids.shape, ids.dtype) == ((None, 4), "int32")
    assert (one_hot.shape, one_hot.dtype) == ((None, 7), "float32")


def test_errors_name_the_layer_and_what_it_expects():
    text = lamina.Input(shape=(1,), dtype="string", name="words")
    with pytest.raises(TypeError, match=r'Layer "the_dense" \(Dense\) needs numbers.*\'words\'.*Hashing'):
        layers.Dense(2, name="the_dense")(text)
    model = _text_model(name="words")[0]
    for bad in (np.zeros((3, 1)), np.arange(3).reshape(3, 1)):
        with pytest.raises(TypeError, match=r'Input 0 \("words"\) of model .* takes strings.*got an array of dtype'):
            model.predict(bad, verbose=0)
        with pytest.raises(TypeError, match="takes strings"):
            model(bad)
    with pytest.raises(ValueError, match=r"expects shape \(None, 1\), got \(3, 2\)"):
        model.predict(np.array([["a", "b"]] * 3), verbose=0)
    numeric = lamina.Sequential([lamina.Input(shape=(1,)), layers.Dense(1)])
    numeric.compile("sgd", "mse")
    with pytest.raises(TypeError, match=r'must hold numbers.*dtype <U1\. .*Input\(\.\.\., dtype="string"\)'):
        numeric.fit(np.array([["a"], ["b"]]), np.zeros((2, 1)), verbose=0)
