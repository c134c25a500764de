"""Keras 2's symbolic freedom: K.*, losses and arithmetic on symbolic tensors outside layers, `model.add_loss` of
them (the VAE), and K.gradients / updates inside K.function — each against NumPy written out here."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lamina
from lamina import Input, Model, layers
from lamina import backend as K
from lamina.losses import binary_crossentropy, mse

RNG = np.random.default_rng(11)
X = RNG.uniform(0.05, 0.95, size=(6, 4)).astype("float32")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)


def vae_like():
    """The Keras 2 VAE's loss on a deterministic encoder/decoder (no sampling, so the numbers are checkable)."""
    x = Input(shape=(4,), name="x")
    h = layers.Dense(3, activation="tanh", name="enc")(x)
    z_mean = layers.Dense(2, name="z_mean")(h)
    z_log_var = layers.Dense(2, name="z_log_var")(h)
    out = layers.Dense(4, activation="sigmoid", name="dec")(z_mean)
    model = Model(x, out)
    reconstruction = binary_crossentropy(x, out) * 4
    kl = 1 + z_log_var - K.square(z_mean) - K.exp(z_log_var)
    kl = K.sum(kl, axis=-1)
    kl *= -0.5
    model.add_loss(K.mean(reconstruction + kl))
    return model


def vae_loss_numpy(model, x):
    w = {layer.name: layer.get_weights() for layer in model.layers if layer.get_weights()}
    h = np.tanh(x @ w["enc"][0] + w["enc"][1])
    z_mean, z_log_var = h @ w["z_mean"][0] + w["z_mean"][1], h @ w["z_log_var"][0] + w["z_log_var"][1]
    out = sigmoid(z_mean @ w["dec"][0] + w["dec"][1])
    kl = -0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var)).sum(axis=-1)
    return float(np.mean(np_bce(x, out) * 4 + kl))


def test_vae_add_loss_trains_evaluates_and_round_trips(tmp_path):
    model = vae_like()
    model.compile(optimizer=lamina.optimizers.SGD(0.1))
    assert model.evaluate(X, verbose=0) == pytest.approx(vae_loss_numpy(model, X), rel=1e-5)
    history = model.fit(X, epochs=3, batch_size=6, verbose=0, validation_data=(X, None))
    assert history.history["loss"][-1] < history.history["loss"][0]
    expected = vae_loss_numpy(model, X)
    for path in (tmp_path / "vae.h5", tmp_path / "vae.keras"):
        model.save(path)
        loaded = lamina.models.load_model(path)
        assert loaded.evaluate(X, verbose=0) == pytest.approx(expected, rel=1e-5), path.suffix
        loaded.fit(X, epochs=1, batch_size=6, verbose=0)  # trains on the reloaded graph loss
    rebuilt = lamina.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    rebuilt.compile(optimizer="sgd")
    assert rebuilt.evaluate(X, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert any(layer["class_name"] == "OpLambda" for layer in json.loads(model.to_json())["config"]["layers"])


def test_operators_and_k_functions_on_symbolic_tensors_match_numpy():
    a = Input(shape=(4,))
    b = Input(shape=(4,))
    weight = RNG.normal(size=(4, 2)).astype("float32")
    outputs = [
        1 - a * 2 + b / 4,
        -(a**2) + abs(b - 0.5),
        np.float32(3) * a // 0.25 % 2,
        a[:, 1:3] @ weight[1:3],
        a[..., ::-1][:, :2],
        K.sum(K.exp(a), axis=-1, keepdims=True),
        K.concatenate([a, K.square(b)], axis=-1),
        K.clip(K.expand_dims(a, 1), 0.2, 0.6),
        mse(a, b),
        K.cast(a > b, "float32") + K.cast(a <= 0.5, "float32"),
    ]
    model = Model([a, b], outputs)
    y = X[::-1].copy()
    got = model.predict([X, y], verbose=0)
    expected = [
        1 - X * 2 + y / 4,
        -(X**2) + np.abs(y - 0.5),
        np.float32(3) * X // 0.25 % 2,
        X[:, 1:3] @ weight[1:3],
        X[..., ::-1][:, :2],
        np.exp(X).sum(-1, keepdims=True),
        np.concatenate([X, y**2], -1),
        np.clip(X[:, None], 0.2, 0.6),
        ((X - y) ** 2).mean(-1),
        (X > y).astype("float32") + (X <= 0.5).astype("float32"),
    ]
    for index, (value, want) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-5, err_msg=f"output {index}")
    clone = lamina.models.model_from_json(model.to_json())  # slices, tuples and arrays survive the config
    for value, want in zip(clone.predict([X, y], verbose=0), expected):
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-5)


def test_add_loss_from_outside_the_model_and_variable_arguments_are_refused():
    x, other = Input(shape=(4,)), Input(shape=(4,))
    model = Model(x, layers.Dense(2)(x))
    with pytest.raises(ValueError, match="add_loss: the loss must be computed from the model's inputs"):
        model.add_loss(K.mean(other))
    assert model.evaluate is not None and len(model.layers) == 2  # the refused loss left the graph as it was
    scale = K.variable(np.ones((4, 2), "float32"))
    product = Model(x, K.dot(x, scale))
    np.testing.assert_allclose(product.predict(X, verbose=0), X @ np.ones((4, 2)), rtol=1e-6)
    with pytest.raises(ValueError, match="takes a Variable as an argument"):
        product.to_json()
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(x)


def dense_tanh():
    inputs = Input(shape=(3,))
    dense = layers.Dense(2, activation="tanh")
    hidden = dense(inputs)
    outputs = layers.Dense(1)(hidden)
    return inputs, dense, hidden, outputs


def test_k_gradients_wrt_input_intermediate_tensor_and_weights():
    inputs, dense, hidden, outputs = dense_tanh()
    model = Model(inputs, outputs)
    loss = K.mean(hidden[:, 0])
    grad_x, grad_hidden, grad_kernel = K.gradients(loss, [inputs, hidden, dense.kernel])
    function = K.function([inputs], [loss, grad_x, grad_hidden, grad_kernel])
    x = RNG.normal(size=(5, 3)).astype("float32")
    value, gx, gh, gk = function([x])
    kernel, bias = dense.get_weights()
    t = np.tanh(x @ kernel + bias)
    upstream = np.zeros_like(t)
    upstream[:, 0] = 1 / 5
    assert value == pytest.approx(t[:, 0].mean(), rel=1e-5)
    np.testing.assert_allclose(gh, upstream, atol=1e-7)
    np.testing.assert_allclose(gx, (upstream * (1 - t**2)) @ kernel.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gk, x.T @ (upstream * (1 - t**2)), rtol=1e-4, atol=1e-6)
    assert model.layers[1] is dense
    with pytest.raises(ValueError, match="the loss does not depend on"):
        K.gradients(loss, outputs)
    with pytest.raises(TypeError, match="expects a symbolic loss"):
        K.gradients(1.0, inputs)


def test_k_function_updates_and_optimizer_get_updates_train_as_numpy():
    inputs, dense, hidden, outputs = dense_tanh()
    model = Model(inputs, outputs)
    target = Input(shape=(1,))
    loss = K.mean(K.square(model.output - target))
    optimizer = lamina.optimizers.SGD(learning_rate=0.1)
    counter = K.variable(0.0)
    updates = optimizer.get_updates(loss=loss, params=model.trainable_weights) + [
        K.update_add(counter, K.sum(target)),
        (K.variable(0.0), loss),
    ]
    train = K.function([inputs, target], [loss], updates=updates)
    x, y = RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(4, 1)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    h = np.tanh(x @ k1 + b1)
    error = h @ k2 + b2 - y
    d_out = 2 * error / 4
    d_h = d_out @ k2.T * (1 - h**2)
    (loss_value,) = train([x, y])
    assert loss_value == pytest.approx(float((error**2).mean()), rel=1e-5)
    expected = [k1 - 0.1 * x.T @ d_h, b1 - 0.1 * d_h.sum(0), k2 - 0.1 * h.T @ d_out, b2 - 0.1 * d_out.sum(0)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert K.get_value(counter) == pytest.approx(float(y.sum()), rel=1e-5)
    assert K.get_value(updates[-1][0]) == pytest.approx(loss_value)


def test_in_train_phase_inside_a_lambda_follows_fit_and_predict():
    inputs = Input(shape=(2,))
    outputs = layers.Lambda(lambda t: K.in_train_phase(t * 0.0 + 1.0, t * 0.0))(inputs)
    model = Model(inputs, outputs)
    np.testing.assert_allclose(model.predict(X[:, :2], verbose=0), 0.0)
    np.testing.assert_allclose(model(X[:, :2], training=True), 1.0)


FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "vae"


def classic_vae():
    """Keras 2's variational_autoencoder.py at the fixture's sizes (6 -> 4 -> 2), as tests/fixtures/vae/make_vae.py."""

    def sampling(args):
        z_mean, z_log_var = args
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
        return z_mean + K.exp(0.5 * z_log_var) * epsilon

    inputs = Input(shape=(6,), name="encoder_input")
    x = layers.Dense(4, activation="relu")(inputs)
    z_mean = layers.Dense(2, name="z_mean")(x)
    z_log_var = layers.Dense(2, name="z_log_var")(x)
    z = layers.Lambda(sampling, output_shape=(2,), name="z")([z_mean, z_log_var])
    encoder = Model(inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = Input(shape=(2,), name="z_sampling")
    x = layers.Dense(4, activation="relu")(latent_inputs)
    decoder = Model(latent_inputs, layers.Dense(6, activation="sigmoid")(x), name="decoder")
    outputs = decoder(encoder(inputs)[2])
    vae = Model(inputs, outputs, name="vae_mlp")
    reconstruction_loss = mse(inputs, outputs)
    reconstruction_loss *= 6
    kl_loss = 1 + z_log_var - K.square(z_mean) - K.exp(z_log_var)
    kl_loss = K.sum(kl_loss, axis=-1)
    kl_loss *= -0.5
    vae.add_loss(K.mean(reconstruction_loss + kl_loss))
    vae.compile(optimizer="adam")
    return vae, encoder, decoder


@pytest.mark.parametrize("weights", ["vae_weights.h5", "vae_keras23_weights.h5"])
def test_classic_vae_loads_tf_keras_and_keras23_weight_files(weights):
    vae, encoder, decoder = classic_vae()
    own = [layer.name for layer in vae.layers if layer.weights]
    assert own == ["encoder", "decoder", "dense", "z_log_var", "z_mean"]  # tf-keras's order (the fixture's file)
    assert len(vae.trainable_weights) == 10  # the loss graph's Dense layers are the encoder's, counted once
    vae.load_weights(str(FIXTURES / weights))
    expected = np.load(FIXTURES / "vae.npz")
    z_mean, z_log_var, _ = encoder.predict(expected["x"], verbose=0)
    np.testing.assert_allclose(z_mean, expected["z_mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z_log_var, expected["z_log_var"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(decoder.predict(z_mean, verbose=0), expected["decoded"], rtol=1e-5, atol=1e-6)
    history = vae.fit(expected["x"], epochs=2, batch_size=5, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_style_transfer_pattern_differentiates_a_placeholder_beside_variables():
    base = K.variable(RNG.uniform(size=(1, 4, 4, 3)).astype("float32"))
    combination = K.placeholder((1, 4, 4, 3))
    input_tensor = K.concatenate([base, combination], axis=0)  # a Variable and a placeholder, as neural_style did
    features = layers.Conv2D(2, 1, name="block1_conv1")(input_tensor)
    model = Model(lamina.utils.get_source_inputs(input_tensor), features)
    loss = K.variable(0.0)
    loss = loss + K.sum(K.square(features[0, :, :, :] - features[1, :, :, :]))
    grads = K.gradients(loss, combination)
    fetch = K.function([combination], [loss] + grads)
    x = RNG.uniform(size=(1, 4, 4, 3)).astype("float32")
    value, grad = fetch([x])
    kernel = model.get_layer("block1_conv1").get_weights()[0][0, 0]  # (3, 2)
    difference = (K.get_value(base)[0] - x[0]) @ kernel
    assert value == pytest.approx(float((difference**2).sum()), rel=1e-5)
    np.testing.assert_allclose(grad[0], -2 * difference @ kernel.T, rtol=1e-4, atol=1e-6)
    K.set_value(base, np.zeros((1, 4, 4, 3), "float32"))  # the graph reads the variable when it runs
    assert fetch([x])[0] == pytest.approx(float(((x[0] @ kernel) ** 2).sum()), rel=1e-5)


def test_unseeded_k_random_in_a_lambda_draws_anew_every_step():
    inputs = Input(shape=(3,))
    model = Model(inputs, layers.Lambda(lambda t: t + K.random_normal(K.shape(t)))(inputs))
    first = model.predict(np.zeros((4, 3), "float32"), batch_size=2, verbose=0)
    second = model.predict(np.zeros((4, 3), "float32"), batch_size=2, verbose=0)
    assert not np.allclose(first[:2], first[2:]) and not np.allclose(first, second)  # compiled steps too
    assert abs(float(np.concatenate([first, second]).std()) - 1.0) < 0.6


def test_k_zeros_ones_and_eye_are_variables_as_in_keras_2():
    zeros, ones, eye = K.zeros((2, 3)), K.ones((2,), dtype="int32"), K.eye((2, 3))
    assert all(K.is_variable(v) for v in (zeros, ones, eye))
    K.set_value(zeros, np.full((2, 3), 4.0))
    np.testing.assert_array_equal(K.get_value(zeros), np.full((2, 3), 4.0))
    assert K.dtype(ones) == "int32" and K.get_value(ones).tolist() == [1, 1]
    np.testing.assert_array_equal(K.get_value(eye), np.eye(2, 3))


def test_tf_sessions_are_ignored_or_refused_with_what_to_use(monkeypatch):
    from lamina.backend import k_control

    monkeypatch.setitem(k_control._session_warned, "done", False)  # one warning per process
    with pytest.warns(UserWarning, match="lamina runs no TensorFlow session, so the session"):
        K.set_session(object())
    with pytest.raises(RuntimeError, match=r"K.get_session\(\): lamina runs no TensorFlow session"):
        K.get_session()


def test_keras2_cosine_proximity_names_as_loss_and_metric(tmp_path):
    model = lamina.Sequential([Input(shape=(4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="cosine_proximity", metrics=["cosine_proximity", "cosine"])
    y = RNG.normal(size=(6, 3)).astype("float32")
    prediction = model.predict(X, verbose=0)

    def unit(a):
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    expected = float(-(unit(y) * unit(prediction)).sum(-1).mean())  # Keras 2: the cosine loss, -1 when parallel
    loss, proximity, cosine = model.evaluate(X, y, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5) and proximity == pytest.approx(expected, rel=1e-5)
    assert cosine == pytest.approx(expected, rel=1e-5)
    model.save(tmp_path / "cosine.h5")
    assert lamina.models.load_model(tmp_path / "cosine.h5").evaluate(X, y, verbose=0)[1] == pytest.approx(
        expected, rel=1e-5
    )
