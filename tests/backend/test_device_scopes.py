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

# The FAQ's two-branch example trained with its branches on two devices: tests/backend/test_device_parallel_steps.py.


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


# ---------------------------------------------------------------- soft placement (tf.device's fallback)
@pytest.fixture
def fresh_placement(monkeypatch):
    """Soft placement on and no device warned about yet, whatever earlier tests did; restored afterwards."""
    monkeypatch.setattr(lamina.backend, "_warned_devices", set())
    monkeypatch.setattr(lamina.backend, "_placement", {"soft": True})


def _missing_gpu(prefix="/gpu:") -> str:
    """A GPU this machine lacks: "/gpu:0" on a CPU-only machine, else the first index past the last GPU."""
    count = sum(name.startswith("gpu:") for name in lamina.backend.engine.core.list_devices())
    return f"{prefix}{count}"


def _device_warnings(record) -> list:
    return [str(w.message) for w in record if "lamina.backend.device(" in str(w.message)]


def test_list_devices_names_the_cpu_first():
    names = lamina.backend.engine.core.list_devices()
    assert names[0] == "cpu:0"
    assert all(kind in ("cpu", "gpu") and index.isdigit() for kind, index in (n.split(":") for n in names))


def test_soft_device_placement_is_on_by_default():
    assert lamina.backend.get_soft_device_placement() is True


def test_a_missing_gpu_warns_once_and_runs_on_an_available_device(fresh_placement):
    import numpy as np

    missing = _missing_gpu()
    fallback = "gpu:0" if missing != "/gpu:0" else "cpu:0"
    layer = lamina.layers.Dense(2, kernel_initializer="ones", bias_initializer="ones")
    with pytest.warns(UserWarning) as record:
        with lamina.backend.device(missing) as handle:
            out = lamina.ops.convert_to_numpy(layer(np.ones((1, 3), "float32")))
    np.testing.assert_allclose(out, [[4.0, 4.0]])
    kind, index = fallback.split(":")
    assert handle == lamina.backend.engine.core.resolve_device(kind, int(index))
    messages = _device_warnings(record)
    listed = ", ".join(lamina.backend.engine.core.list_devices())
    assert messages == [
        f"lamina.backend.device({missing!r}): no such device (this machine has: {listed}); "
        f"running on {fallback} instead."
    ]
    placement_warning = next(w for w in record if "no such device" in str(w.message))
    assert placement_warning.filename == __file__  # it points at the user's `with` line


def test_the_same_missing_device_warns_only_the_first_time(fresh_placement):
    import warnings

    missing = _missing_gpu()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for spelling in (missing, missing, _missing_gpu("/device:GPU:"), _missing_gpu("cuda:")):
            with lamina.backend.device(spelling):
                pass
    assert len(_device_warnings(record)) == 1
    assert repr(missing) in _device_warnings(record)[0]


def test_each_missing_device_warns_once(fresh_placement):
    import warnings

    first = _missing_gpu()
    second = f"/gpu:{int(first.split(':')[1]) + 1}"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for name in (first, second, first, second):
            with lamina.backend.device(name):
                pass
    messages = _device_warnings(record)
    assert len(messages) == 2 and repr(first) in messages[0] and repr(second) in messages[1]


@pytest.mark.parametrize("name", ["/cpu:0", "cpu", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0"])
def test_an_available_device_does_not_warn(name, fresh_placement):
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with lamina.backend.device(name):
            pass
    assert _device_warnings(record) == []


@pytest.mark.parametrize(
    "spelling",
    ["/gpu:{}", "gpu:{}", "/device:GPU:{}", "cuda:{}", "/GPU:{}", "/job:localhost/replica:0/task:0/device:GPU:{}"],
)
def test_tensorflow_style_names_of_a_missing_gpu_fall_back(spelling, fresh_placement):
    name = spelling.format(_missing_gpu(prefix=""))
    with pytest.warns(UserWarning, match=r"no such device .*running on (cpu|gpu):0 instead"):
        with lamina.backend.device(name):
            pass


def test_strict_argument_raises_naming_the_device_and_the_available_ones(fresh_placement):
    missing = _missing_gpu()
    listed = ", ".join(lamina.backend.engine.core.list_devices())
    with pytest.raises(ValueError, match=rf"device\('{missing}'\): no such device \(this machine has: {listed}\)"):
        with lamina.backend.device(missing, strict=True):
            pass
    with lamina.backend.device("/cpu:0", strict=True):
        pass


def test_soft_placement_off_raises_and_strict_false_overrides_it(fresh_placement):
    missing = _missing_gpu()
    lamina.backend.set_soft_device_placement(False)
    assert lamina.backend.get_soft_device_placement() is False
    with pytest.raises(ValueError, match=r"no such device .*soft device placement is off"):
        with lamina.backend.device(missing):
            pass
    with pytest.warns(UserWarning, match="no such device"):
        with lamina.backend.device(missing, strict=False):
            pass
    lamina.backend.set_soft_device_placement(True)
    with lamina.backend.device(missing):  # already warned about: silent now
        pass


@pytest.mark.parametrize("value", ["false", None, 2])
def test_set_soft_device_placement_takes_a_bool(value, fresh_placement):
    with pytest.raises(TypeError, match=r"`enabled` must be True or False"):
        lamina.backend.set_soft_device_placement(value)


@pytest.mark.parametrize("strict", [None, True, False])
@pytest.mark.parametrize("name", ["/banana:0", "/gpu:x", "tpu:0"])
def test_a_malformed_name_always_raises(name, strict, fresh_placement):
    with pytest.raises(ValueError, match=r"Unknown device name"):
        with lamina.backend.device(name, strict=strict):
            pass


def test_dense_call_and_fit_in_a_missing_gpu_scope_match_numpy(fresh_placement):
    import numpy as np

    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    kernel = rng.normal(size=(4, 1)).astype("float32")
    bias = np.array([0.5], "float32")
    with pytest.warns(UserWarning, match="no such device"):
        with lamina.backend.device(_missing_gpu()):
            model = lamina.Sequential([lamina.layers.Dense(1, input_shape=(4,))])
            model.set_weights([kernel, bias])
            called = lamina.ops.convert_to_numpy(model(x))
            model.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
            history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(called, x @ kernel + bias, rtol=1e-5, atol=1e-6)

    # Full-batch SGD on the mean squared error, written out.
    w, b, losses = kernel.astype("float64"), bias.astype("float64"), []
    for _ in range(3):
        error = x @ w + b - y
        losses.append(float(np.mean(error**2)))
        w, b = w - 0.1 * 2 * x.T @ error / len(x), b - 0.1 * 2 * error.mean(0)
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(new_kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_bias, b, rtol=1e-5, atol=1e-6)


# The FAQ's device-parallelism example as written (a shared LSTM, '/gpu:0' and '/gpu:1' branches, the merge on
# '/cpu:0'), made small. On a machine without those GPUs it must run, with one warning per missing device, and give
# the numbers of the same model built without scopes.
FAQ_GPU_EXAMPLE = textwrap.dedent(
    """
    import json
    import numpy as np
    import lamina as keras

    tweet_a = keras.Input(shape=(14, 8))
    tweet_b = keras.Input(shape=(14, 8))
    shared_lstm = keras.layers.LSTM(6)
    with keras.backend.device('/gpu:0'):
        encoded_a = shared_lstm(tweet_a)
    with keras.backend.device('/gpu:1'):
        encoded_b = shared_lstm(tweet_b)
    with keras.backend.device('/cpu:0'):
        merged_vector = keras.layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = keras.layers.Dense(1, activation='sigmoid')(merged_vector)
    model = keras.Model(inputs=[tweet_a, tweet_b], outputs=predictions)

    a, b = keras.Input(shape=(14, 8)), keras.Input(shape=(14, 8))
    lstm = keras.layers.LSTM(6)
    merged = keras.layers.concatenate([lstm(a), lstm(b)], axis=-1)
    twin = keras.Model(inputs=[a, b], outputs=keras.layers.Dense(1, activation='sigmoid')(merged))
    twin.set_weights(model.get_weights())

    rng = np.random.default_rng(0)
    xa, xb = rng.random((8, 14, 8)).astype('float32'), rng.random((8, 14, 8)).astype('float32')
    y = (rng.random((8, 1)) > 0.5).astype('float32')
    with keras.backend.device('/gpu:0'):  # the same missing device again: no second warning
        predicted = model.predict([xa, xb], verbose=0)
    expected = twin.predict([xa, xb], verbose=0)
    histories = []
    for m in (model, twin):
        m.compile('sgd', 'binary_crossentropy')
        histories.append(m.fit([xa, xb], y, epochs=2, batch_size=4, shuffle=False, verbose=0).history['loss'])
    print(json.dumps({
        'devices': keras.backend.engine.core.list_devices(),
        'max_error': float(np.abs(predicted - expected).max()),
        'losses': histories[0],
        'twin_losses': histories[1],
    }))
    """
)


def test_faq_gpu_example_runs_on_a_machine_without_those_gpus(tmp_path):
    env = dict(os.environ, KERAS_HOME=str(tmp_path), PYTHONWARNINGS="always")
    env.pop("XLA_FLAGS", None)
    result = subprocess.run(
        [sys.executable, "-c", FAQ_GPU_EXAMPLE], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["max_error"] < 1e-6
    assert report["losses"] == pytest.approx(report["twin_losses"], rel=1e-5)
    for gpu in ("/gpu:0", "/gpu:1"):
        expected_warnings = 0 if gpu.strip("/") in report["devices"] else 1
        assert result.stderr.count(f"lamina.backend.device({gpu!r}): no such device") == expected_warnings
    assert "lamina.backend.device('/cpu:0')" not in result.stderr


def test_cpu_scope_runs_layers_and_restores_the_default():
    import numpy as np

    layer = lamina.layers.Dense(2, kernel_initializer="ones")
    with lamina.backend.device("cpu:0"):
        out = lamina.ops.convert_to_numpy(layer(np.ones((1, 3), "float32")))
    np.testing.assert_allclose(out, [[3.0, 3.0]])
    from lamina.backend.common import device as device_stack

    assert device_stack.current() is None
