"""Device parallelism inside compiled steps: the FAQ's two-branch model, its branches scoped to two devices.

On JAX (8 host devices, set by the conftest) a model whose nodes are scoped to devices other than the home one
trains, evaluates and predicts with one compiled program per node on the node's device
(backend/jax/placement.py); the numbers must equal the same model trained without scopes, and each node's outputs
must be on the device its scope names. On torch the scoped layers run eagerly where their scopes say; torch has one
CPU device, so there the branches share it and the numbers are checked the same way.
"""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers

JAX = lamina.backend.backend() == "jax"
BRANCH_DEVICES = ("cpu:1", "cpu:2") if JAX else ("cpu:0", "cpu:0")


def _two_branch_model(scoped: bool):
    """The FAQ's example: one shared encoder for two tweets on two devices, merged on the CPU.

    A shared Dense over the flattened tweet stands in for the FAQ's shared LSTM: the placement does not depend on
    the layer, and an LSTM's compilation would make the test several times longer.
    """
    lamina.utils.set_random_seed(3)
    tweet_a = lamina.Input(shape=(5, 3), name="tweet_a")
    tweet_b = lamina.Input(shape=(5, 3), name="tweet_b")
    flatten = layers.Flatten(name="flatten")
    shared_encoder = layers.Dense(4, activation="tanh", name="shared_encoder")
    dropout = layers.Dropout(0.3, name="drop")  # seed state threaded through the per-node programs
    norm = layers.BatchNormalization(name="norm")  # moving statistics updated inside a node's program

    def encode(tweet, device):
        if not scoped:
            return norm(dropout(shared_encoder(flatten(tweet))))
        with lamina.backend.device(device):
            return norm(dropout(shared_encoder(flatten(tweet))))

    encoded_a = encode(tweet_a, BRANCH_DEVICES[0])
    encoded_b = encode(tweet_b, BRANCH_DEVICES[1])
    if scoped:
        with lamina.backend.device("/cpu:0"):
            merged = layers.concatenate([encoded_a, encoded_b], axis=-1, name="merged")
    else:
        merged = layers.concatenate([encoded_a, encoded_b], axis=-1, name="merged")
    predictions = layers.Dense(1, activation="sigmoid", kernel_regularizer="l2", name="predictions")(merged)
    model = lamina.Model([tweet_a, tweet_b], predictions)
    model.compile(lamina.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model


def _run(model, xs, y) -> dict:
    history = model.fit(xs, y, batch_size=16, epochs=2, verbose=0, shuffle=False).history
    return {
        "history": history,
        "weights": model.get_weights(),
        "predict": model.predict(xs, batch_size=16, verbose=0),
        "evaluate": model.evaluate(xs, y, batch_size=16, verbose=0),
    }


def test_scoped_branches_run_on_their_devices_and_train_as_one_device_does():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(32, 5, 3)).astype("float32") for _ in range(2)]
    y = (rng.random((32, 1)) > 0.5).astype("float32")
    reference = _two_branch_model(scoped=False)
    expected = _run(reference, xs, y)
    model = _two_branch_model(scoped=True)
    got = _run(model, xs, y)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(got["history"][key], expected["history"][key], rtol=1e-5, err_msg=key)
    for a, b in zip(got["weights"], expected["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["predict"], expected["predict"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["evaluate"], expected["evaluate"], rtol=1e-5)
    # Each node's outputs were made on its scope's device (the shared encoder once on each).
    placement = lamina.backend.engine.placement
    ran_on = {}
    for node in model._nodes:
        ran_on.setdefault(node.layer.name, []).append(placement.devices_ran_on(node))
    for name in ("flatten", "shared_encoder", "drop", "norm"):
        assert ran_on[name] == [{device} for device in BRANCH_DEVICES], (name, ran_on)
    assert ran_on["merged"] == [{"cpu:0"}]
    if JAX:  # one compiled step without scopes; with them the output layer ran on the home device, where the state is
        assert reference._runner.home is None and model._runner.home is not None
        assert ran_on["predictions"] == [{"cpu:0"}]
        assert all({d.id for d in v.value.devices()} == {0} for v in model.weights)
    # Called eagerly, outside any step, the model gives the same numbers.
    eager = lamina.ops.convert_to_numpy(model(xs))
    np.testing.assert_allclose(eager, expected["predict"], rtol=1e-5, atol=1e-6)


def test_a_layer_built_in_a_scope_keeps_its_weights_on_that_device():
    with lamina.backend.device(BRANCH_DEVICES[1]):
        placed = layers.Dense(3)
        out = placed(np.ones((1, 2), "float32"))
    value = placed.kernel.value
    devices = {f"cpu:{d.id}" for d in value.devices()} if JAX else {f"{value.device.type}:{value.device.index or 0}"}
    assert devices == {BRANCH_DEVICES[1]}
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(out), np.ones((1, 2)) @ placed.get_weights()[0], rtol=1e-6)
