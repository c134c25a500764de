"""Device parallelism inside compiled steps: the FAQ's two-branch model, its branches scoped to two devices.

On JAX (8 host devices, set by the conftest) a model whose nodes are scoped to devices other than the home one
trains, evaluates and predicts with one compiled program per run of same-scope nodes, on their device
(backend/jax/placement.py); the numbers must equal the same model trained without scopes, and each node's outputs
must be on the device its scope names. On torch the scoped layers run eagerly where their scopes say; torch has one
CPU device, so there the branches share it and the numbers are checked the same way.
"""

from __future__ import annotations

import contextlib

import numpy as np

import lamina
from lamina import layers

JAX = lamina.backend.backend() == "jax"
BRANCH_DEVICES = ("cpu:1", "cpu:2") if JAX else ("cpu:0", "cpu:0")
ENCODER = ("embedding", "pool", "shared_encoder", "drop", "norm")


def _two_branch_model(scoped: bool):
    """The FAQ's example: one shared encoder for two tweets on two devices, merged on the CPU.

    A shared Embedding + pooling + Dense stands in for the FAQ's shared LSTM (the placement does not depend on the
    layer; an LSTM's compilation would make the test several times longer). Besides: a mask made and used on the
    branch devices, Dropout's seed state and BatchNormalization's moving statistics updated there, and a side
    branch on the second device with an activity penalty and an output of its own.
    """
    lamina.utils.set_random_seed(3)
    tweet_a = lamina.Input(shape=(6,), dtype="int32", name="tweet_a")
    tweet_b = lamina.Input(shape=(6,), dtype="int32", name="tweet_b")
    numbers = lamina.Input(shape=(4,), name="numbers")
    embedding = layers.Embedding(9, 3, mask_zero=True, name="embedding")
    pool = layers.GlobalAveragePooling1D(name="pool")  # averages the unmasked steps only
    shared_encoder = layers.Dense(4, activation="tanh", name="shared_encoder")
    dropout = layers.Dropout(0.3, name="drop")
    norm = layers.BatchNormalization(name="norm")

    def scope(device):
        return lamina.backend.device(device) if scoped else contextlib.nullcontext()

    encoded = []
    for tweet, device in zip((tweet_a, tweet_b), BRANCH_DEVICES):
        with scope(device):
            encoded.append(norm(dropout(shared_encoder(pool(embedding(tweet))))))
    with scope(BRANCH_DEVICES[1]):
        hidden = layers.Dense(5, activation="relu", activity_regularizer="l2", kernel_regularizer="l1")(numbers)
        side = layers.Dense(2, name="side")(hidden)
    with scope("/cpu:0"):
        merged = layers.concatenate([*encoded, hidden], axis=-1, name="merged")
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(merged)
    model = lamina.Model([tweet_a, tweet_b, numbers], [predictions, side])
    model.compile(
        lamina.optimizers.Adam(0.01),
        ["binary_crossentropy", "mse"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], []],
    )
    return model


def _run(model, xs, ys) -> dict:
    history = model.fit(xs, ys, batch_size=16, epochs=2, verbose=0, shuffle=False).history
    return {
        "history": history,
        "weights": model.get_weights(),
        "predict": model.predict(xs, batch_size=16, verbose=0),
        "evaluate": model.evaluate(xs, ys, batch_size=16, verbose=0),
    }


def test_scoped_branches_run_on_their_devices_and_train_as_one_device_does():
    rng = np.random.default_rng(0)
    tweets = [rng.integers(1, 9, (32, 6)).astype("int32") for _ in range(2)]
    tweets[0][:, 4:] = 0
    tweets[1][:, 2:] = 0
    xs = [*tweets, rng.normal(size=(32, 4)).astype("float32")]
    ys = [(rng.random((32, 1)) > 0.5).astype("float32"), rng.normal(size=(32, 2)).astype("float32")]
    reference = _two_branch_model(scoped=False)
    expected = _run(reference, xs, ys)
    model = _two_branch_model(scoped=True)
    got = _run(model, xs, ys)
    for key in expected["history"]:
        np.testing.assert_allclose(got["history"][key], expected["history"][key], rtol=1e-5, err_msg=key)
    for a, b in zip(got["weights"], expected["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(got["predict"], expected["predict"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["evaluate"], expected["evaluate"], rtol=1e-5)
    # Each node's outputs were made on its scope's device (the shared encoder once on each).
    placement = lamina.backend.engine.placement
    ran_on = {}
    for node in model._nodes:
        ran_on.setdefault(node.layer.name, []).append(placement.devices_ran_on(node))
    for name in ENCODER:
        assert ran_on[name] == [{device} for device in BRANCH_DEVICES], (name, ran_on)
    assert ran_on["side"] == [{BRANCH_DEVICES[1]}]
    assert ran_on["merged"] == [{"cpu:0"}]
    if JAX:  # one compiled step without scopes; with them the output layer ran on the home device, where the state is
        assert reference._runner.home is None and model._runner.home is not None
        assert ran_on["predictions"] == [{"cpu:0"}]
        assert all({d.id for d in v.value.devices()} == {0} for v in model.weights)
    # Called eagerly, outside any step, the model gives the same numbers.
    eager = [lamina.ops.convert_to_numpy(output) for output in model(xs)]
    for a, b in zip(eager, expected["predict"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_layer_built_in_a_scope_keeps_its_weights_on_that_device():
    with lamina.backend.device(BRANCH_DEVICES[1]):
        placed = layers.Dense(3)
        out = placed(np.ones((1, 2), "float32"))
    value = placed.kernel.value
    devices = {f"cpu:{d.id}" for d in value.devices()} if JAX else {f"{value.device.type}:{value.device.index or 0}"}
    assert devices == {BRANCH_DEVICES[1]}
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(out), np.ones((1, 2)) @ placed.get_weights()[0], rtol=1e-6)
