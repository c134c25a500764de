"""Data parallelism in one process: `multi_gpu_model` (Keras 2) and `DataParallel` (Keras 3's API).

On JAX the suite runs with eight host devices (tests/conftest.py), standing in for eight GPUs. Each check trains
the same model from the same seed once on one device and once split over devices, and compares the loss
trajectory, the metrics, the weights and the predictions: data parallelism must not change the numbers (1e-5 in
float32). The template model and the parallel one share their weights. The torch engine has no data parallelism
yet: it refuses with an error that says so.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import distribution, layers, utils

JAX = lamina.backend.backend() == "jax"
needs_devices = pytest.mark.skipif(
    len(distribution.list_devices()) < 4, reason="needs 4 devices (tests/conftest.py gives JAX 8 host devices)"
)


def _model(seed: int = 1, dropout: float = 0.0, outputs: int = 1):
    lamina.utils.set_random_seed(seed)
    inputs = layers.Input((6,), name="features")
    hidden = layers.Dense(12, activation="relu", name="hidden")(inputs)
    hidden = layers.Dropout(dropout, name="drop")(hidden)
    heads = [layers.Dense(3, activation="softmax", name="probs")(hidden)]
    if outputs == 2:
        heads.append(layers.Dense(1, name="value")(hidden))
    return lamina.Model(inputs, heads if outputs == 2 else heads[0], name="template")


def _data(n: int = 70):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n)


def _fit(model, x, y, **kwargs):
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False, **kwargs).history


def _assert_same_training(single, parallel, history_single, history_parallel):
    for key in history_single:
        np.testing.assert_allclose(history_parallel[key], history_single[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for mine, theirs in zip(parallel.get_weights(), single.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@needs_devices
def test_multi_gpu_model_trains_as_one_device_does():
    # 70 samples in batches of 16: the last batch (6) does not split over 4 devices and runs whole on each. Dropout
    # draws the mask of the whole batch from the seed, so each replica's slice has its own, as on one device.
    x, y = _data()
    single = _model(dropout=0.5)
    history_single = _fit(single, x, y)
    template = _model(dropout=0.5)
    parallel = utils.multi_gpu_model(template, gpus=4)
    history_parallel = _fit(parallel, x, y)
    _assert_same_training(single, template, history_single, history_parallel)
    assert len(template.weights[0].value.sharding.device_set) == 4  # the weights were replicated on 4 devices
    np.testing.assert_allclose(parallel.predict(x, verbose=0), single.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        parallel.evaluate(x, y, verbose=0), single.evaluate(x, y, verbose=0), rtol=1e-5, atol=1e-6
    )


@needs_devices
def test_the_template_shares_the_weights_and_saves(tmp_path):
    x, y = _data(64)
    template = _model()
    parallel = utils.multi_gpu_model(template, gpus=[0, 2, 3])
    _fit(parallel, x, y)
    expected = parallel.predict(x, batch_size=30, verbose=0)  # batches of 30, 30 and 4: the last runs whole
    np.testing.assert_allclose(template.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    template.save(tmp_path / "template.h5")  # the FAQ's advice: save the template
    reloaded = lamina.models.load_model(tmp_path / "template.h5")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert len(reloaded.weights[0].value.sharding.device_set) == 1


@needs_devices
def test_outputs_keep_the_template_s_names():
    x, y = _data(32)
    targets = {"probs": y, "value": x[:, :1]}
    losses = {"probs": "sparse_categorical_crossentropy", "value": "mse"}
    results = []
    for wrap in (False, True):
        template = _model(outputs=2)
        model = utils.multi_gpu_model(template, gpus=2) if wrap else template
        assert model.output_names == ["probs", "value"] and model.input_names == ["features"]
        model.compile("adam", losses, loss_weights={"probs": 1.0, "value": 0.5}, steps_per_execution=1)
        results.append(model.fit({"features": x}, targets, batch_size=8, epochs=1, verbose=0).history)
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-5, atol=1e-6, err_msg=key)


@needs_devices
def test_data_parallel_distribution_for_a_plain_fit():
    x, y = _data(48)
    single = _model()
    history_single = _fit(single, x, y)
    assert distribution.distribution() is None
    with distribution.DataParallel(devices=["cpu:1", "cpu:2"] if JAX else None).scope():
        assert distribution.distribution().num_replicas == 2
        model = _model()
        history = _fit(model, x, y)
    assert distribution.distribution() is None
    _assert_same_training(single, model, history_single, history)
    assert {d.id for d in model.weights[0].value.sharding.device_set} == {1, 2}
    distribution.set_distribution(distribution.DataParallel())
    try:
        everywhere = _model()
        _assert_same_training(single, everywhere, history_single, _fit(everywhere, x, y))
        assert len(everywhere.weights[0].value.sharding.device_set) == len(distribution.list_devices())
    finally:
        distribution.set_distribution(None)


def test_multi_gpu_model_errors_name_what_the_machine_has():
    model = _model()
    available = distribution.list_devices()
    with pytest.raises(ValueError, match=r"gpus >= 2.*Received: `gpus=1`"):
        utils.multi_gpu_model(model, gpus=1)
    with pytest.raises(ValueError, match=r"only has: \[.cpu:0"):
        utils.multi_gpu_model(model, gpus=len(available) + 1)
    with pytest.raises(ValueError, match="distinct device ids"):
        utils.multi_gpu_model(model, gpus=[0, 0])
    with pytest.raises(TypeError, match="`gpus` must be an integer"):
        utils.multi_gpu_model(model, gpus="2")
    with pytest.raises(TypeError, match="`cpu_merge` must be True or False"):
        utils.multi_gpu_model(model, gpus=2, cpu_merge="yes")
    with pytest.raises(ValueError, match="must be a built Keras model"):
        utils.multi_gpu_model(lamina.Sequential([layers.Dense(2)]), gpus=2)


def test_distribution_arguments_are_checked():
    with pytest.raises(ValueError, match="no device 'gpu:7'.*it has: cpu:0"):
        distribution.DataParallel(devices=["gpu:7"])
    with pytest.raises(ValueError, match="listed twice"):
        distribution.DataParallel(devices=["cpu:0", "/cpu:0"])
    with pytest.raises(ValueError, match="holds 4 devices but 1 were given"):
        distribution.DeviceMesh((4,), ["batch"], devices=["cpu:0"])
    with pytest.raises(ValueError, match="'cpu', 'gpu' or None"):
        distribution.list_devices("tpu")
    with pytest.raises(TypeError, match="DataParallel or None"):
        distribution.set_distribution("data")


@pytest.mark.skipif(JAX, reason="the torch engine's refusal")
def test_torch_says_data_parallelism_is_not_there_yet():
    x, y = _data(8)
    with distribution.DataParallel(devices=["cpu:0"]).scope():
        model = _model()
        with pytest.raises(NotImplementedError, match="runs on the JAX engine; the torch engine does not have it"):
            _fit(model, x, y)


def _bn_model(synchronized: bool):
    lamina.utils.set_random_seed(3)
    inputs = layers.Input((5,))
    normalized = layers.BatchNormalization(momentum=0.9, synchronized=synchronized, name="norm")(inputs)
    return lamina.Model(inputs, layers.Dense(2, name="out")(normalized))


@needs_devices
@pytest.mark.parametrize("synchronized", [False, True], ids=["per_replica", "synchronized"])
def test_batch_normalization_statistics_per_replica_as_keras(synchronized):
    # One SGD step on 16 samples over 4 devices, against NumPy: each replica normalizes its 4 samples with their own
    # mean and variance (Keras's multi_gpu_model and MirroredStrategy), the moving statistics follow the replicas'
    # mean; `synchronized=True` normalizes with the whole batch's statistics, as one device does.
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(16, 5)) * [1, 2, 3, 4, 5] + 2).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    template = _bn_model(synchronized)
    kernel, bias = [w.copy() for w in template.get_layer("out").get_weights()]
    parallel = utils.multi_gpu_model(template, gpus=4)
    parallel.compile(lamina.optimizers.SGD(0.1), "mse")
    parallel.train_on_batch(x, y)

    slices = x.reshape(1 if synchronized else 4, -1, 5)
    mean, variance = slices.mean(axis=1, keepdims=True), slices.var(axis=1, keepdims=True)
    x_hat = ((slices - mean) / np.sqrt(variance + 1e-3)).reshape(16, 5)
    grad_kernel = x_hat.T @ (2 * (x_hat @ kernel + bias - y) / y.size)
    np.testing.assert_allclose(template.get_layer("out").get_weights()[0], kernel - 0.1 * grad_kernel, atol=1e-5)
    moving_mean, moving_variance = template.get_layer("norm").get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0.1 * mean.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * variance.mean(axis=(0, 1)), rtol=1e-5)
