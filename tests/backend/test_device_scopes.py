"""Device scopes (the FAQ's device parallelism): `with lamina.backend.device(name):` places layers' work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import lamina
from lamina.backend.common.device import parse_device_name

# The FAQ's two-branch example with one shared encoder. A shared Dense over flattened sequences stands in for the
# FAQ's shared LSTM until recurrent layers land (issue 4). On JAX, two host devices are forced so that the two
# branches really use different devices; torch has one CPU device, so both branches use cpu:0 there.
EXAMPLE = textwrap.dedent(
    """
    import json
    import numpy as np
    import lamina as keras
    from lamina import layers

    second = "cpu:1" if keras.backend.backend() == "jax" else "cpu:0"
    tweet_a = keras.Input(shape=(14, 8))
    tweet_b = keras.Input(shape=(14, 8))
    flat = layers.Flatten()
    shared_encoder = layers.Dense(6, activation="tanh")

    with keras.backend.device("/cpu:0"):
        encoded_a = shared_encoder(flat(tweet_a))
    with keras.backend.device(second):
        encoded_b = shared_encoder(flat(tweet_b))
    with keras.backend.device("/cpu:0"):
        merged_vector = layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = layers.Dense(1, activation="sigmoid")(merged_vector)
    model = keras.Model(inputs=[tweet_a, tweet_b], outputs=predictions)

    rng = np.random.default_rng(0)
    xa = rng.random((8, 14, 8)).astype("float32")
    xb = rng.random((8, 14, 8)).astype("float32")
    kernel, bias, out_kernel, out_bias = model.get_weights()
    encode = lambda x: np.tanh(x.reshape(len(x), -1) @ kernel + bias)
    expected = 1 / (1 + np.exp(-(np.concatenate([encode(xa), encode(xb)], -1) @ out_kernel + out_bias)))
    predicted = model.predict([xa, xb], verbose=0)
    eager = keras.ops.convert_to_numpy(model([xa, xb]))

    with keras.backend.device(second):
        placed = layers.Dense(3)
        placed(np.ones((1, 2), "float32"))
    model.compile("sgd", "binary_crossentropy")
    history = model.fit([xa, xb], np.ones((8, 1), "float32"), epochs=2, verbose=0)
    print(json.dumps({
        "max_error": float(np.abs(predicted - expected).max()),
        "eager_error": float(np.abs(eager - expected).max()),
        "placed_device": str(keras.ops.convert_to_numpy(placed.kernel.value).shape) + "@" + (
            str(sorted(d.id for d in placed.kernel.value.devices())) if hasattr(placed.kernel.value, "devices")
            else str(placed.kernel.value.device)
        ),
        "losses": history.history["loss"],
    }))
    """
)


def test_faq_two_branch_example_with_device_scopes(tmp_path):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", KERAS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", EXAMPLE], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["max_error"] < 1e-5
    assert report["eager_error"] < 1e-5
    expected_device = "[1]" if lamina.backend.backend() == "jax" else "cpu"
    assert report["placed_device"] == f"(2, 3)@{expected_device}"
    assert len(report["losses"]) == 2 and report["losses"][1] < report["losses"][0]


@pytest.mark.parametrize(
    "name, parsed",
    [("cpu", ("cpu", 0)), ("cpu:0", ("cpu", 0)), ("/cpu:0", ("cpu", 0)), ("gpu:1", ("gpu", 1)),
     ("/gpu:0", ("gpu", 0)), ("/device:GPU:2", ("gpu", 2)), ("cuda:1", ("gpu", 1)),
     ("/job:localhost/replica:0/task:0/device:CPU:0", ("cpu", 0))],
)  # fmt: skip
def test_device_names(name, parsed):
    assert parse_device_name(name) == parsed


@pytest.mark.parametrize("name", ["tpu:0", "gpu-1", "", "cpu:x"])
def test_unknown_device_names_are_clear_errors(name):
    with pytest.raises(ValueError, match="Unknown device name"):
        with lamina.backend.device(name):
            pass


def test_a_device_this_machine_lacks_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'gpu:7' is not visible"):
        with lamina.backend.device("gpu:7"):
            pass


def test_cpu_scope_runs_layers_and_restores_the_default():
    import numpy as np

    layer = lamina.layers.Dense(2, kernel_initializer="ones")
    with lamina.backend.device("cpu:0"):
        out = lamina.ops.convert_to_numpy(layer(np.ones((1, 3), "float32")))
    np.testing.assert_allclose(out, [[3.0, 3.0]])
    from lamina.backend.common import device as device_stack

    assert device_stack.current() is None
