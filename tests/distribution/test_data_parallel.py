"""Data parallelism on one machine: `multi_gpu_model` (Keras 2) and `DataParallel` (Keras 3's API).

On JAX the suite runs with eight host devices (tests/conftest.py), standing in for eight GPUs; on torch with four
CPU devices (LAMINA_CPU_DEVICES), each replica but the first a gloo worker process that lamina starts once for the
whole run. Each check trains the same model from the same seed once on one device and once split over devices, and
compares the loss trajectory, the metrics, the weights and the predictions: data parallelism must not change the
numbers (1e-5 in float32). The template model and the parallel one share their weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import distribution, layers, utils
from lamina.utils import nest

JAX = lamina.backend.backend() == "jax"
needs_devices = pytest.mark.skipif(
    len(distribution.list_devices()) < 4, reason="needs 4 devices (tests/conftest.py: 8 JAX host devices, 4 torch CPUs)"
)


def _assert_replicated(parallel, template, count: int):
    """The steps really ran on `count` replicas: JAX placed the weights on `count` devices; torch used workers."""
    if JAX:
        assert len(template.weights[0].value.sharding.device_set) == count
    else:
        assert parallel._runner._replicas.count == count and parallel._runner._replicas.shipped


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
    return model.fit(x, y, **{"batch_size": 16, "epochs": 3, "verbose": 0, "shuffle": False, **kwargs}).history


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
    _assert_replicated(parallel, template, 4)
    np.testing.assert_allclose(parallel.predict(x, verbose=0), single.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        parallel.evaluate(x, y, verbose=0), single.evaluate(x, y, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_the_faq_s_eight_devices_train_evaluate_and_predict_as_one(monkeypatch):
    # The FAQ's `multi_gpu_model(model, gpus=8)` with batch 256 = 8 x 32, here 8 x 4: 8 JAX host devices (conftest),
    # or on torch 8 CPU devices, the main process and 7 gloo workers.
    monkeypatch.setenv("LAMINA_CPU_DEVICES", "8")
    x, y = _data(64)
    single = _model()
    history_single = _fit(single, x, y, epochs=1, batch_size=32)
    template = _model()
    parallel = utils.multi_gpu_model(template, gpus=8)
    _assert_same_training(single, template, history_single, _fit(parallel, x, y, epochs=1, batch_size=32))
    _assert_replicated(parallel, template, 8)
    np.testing.assert_allclose(parallel.predict(x, batch_size=32, verbose=0), single.predict(x, verbose=0), rtol=1e-5)
    evaluated = parallel.evaluate(x, y, batch_size=32, verbose=0)
    np.testing.assert_allclose(evaluated, single.evaluate(x, y, verbose=0), rtol=1e-5)


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
    _assert_replicated(parallel, template, 3)
    assert not JAX or len(reloaded.weights[0].value.sharding.device_set) == 1


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
    with distribution.DataParallel(devices=["cpu:1", "cpu:2"]).scope():
        assert distribution.distribution().num_replicas == 2
        model = _model()
        history = _fit(model, x, y)
    assert distribution.distribution() is None
    _assert_same_training(single, model, history_single, history)
    _assert_replicated(model, model, 2)
    with distribution.DataParallel(devices=["cpu:1", "cpu:2"]).scope():  # compiled in the scope, fit outside it
        compiled_inside = _model()
        compiled_inside.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = compiled_inside.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    _assert_same_training(single, compiled_inside, history_single, history)
    _assert_replicated(compiled_inside, compiled_inside, 2)
    assert not JAX or {d.id for d in model.weights[0].value.sharding.device_set} == {1, 2}
    distribution.set_distribution(distribution.DataParallel())
    try:
        everywhere = _model()
        _assert_same_training(single, everywhere, history_single, _fit(everywhere, x, y))
        _assert_replicated(everywhere, everywhere, len(distribution.list_devices()))
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


@needs_devices
def test_weights_written_between_calls_reach_every_replica():
    # The template's weights change outside the parallel model's steps: every replica predicts with the new ones.
    x, y = _data(64)
    template = _model()
    parallel = utils.multi_gpu_model(template, gpus=2)
    _fit(parallel, x, y)
    template.set_weights([w * 0.5 for w in template.get_weights()])
    hidden = np.maximum(x @ template.get_weights()[0] + template.get_weights()[1], 0.0)
    logits = hidden @ template.get_weights()[2] + template.get_weights()[3]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(parallel.predict(x, batch_size=32, verbose=0), expected, rtol=1e-5, atol=1e-6)


@needs_devices
@pytest.mark.skipif(JAX, reason="torch's worker processes")
def test_a_dead_worker_stops_the_fit_with_a_clear_error_and_the_next_fit_starts_new_workers():
    x, y = _data(32)
    single = _model()
    _fit(single, x, y)
    history_single = _fit(single, x, y)
    template = _model()
    parallel = utils.multi_gpu_model(template, gpus=2)
    _fit(parallel, x, y)
    workers = lamina.backend.engine.distribute._pool["value"].processes
    workers[1].kill()
    workers[1].join(10)
    with pytest.raises(RuntimeError, match=r"Data-parallel worker 1 stopped \(exit code -9\)"):
        _fit(parallel, x, y)
    assert not any(worker.is_alive() for worker in workers.values())  # the others were stopped too
    _assert_same_training(single, template, history_single, _fit(parallel, x, y))
    _assert_replicated(parallel, template, 2)


@needs_devices
@pytest.mark.skipif(JAX, reason="torch's gradient buckets")
def test_gradient_buckets_reduced_during_backward_give_the_same_numbers(monkeypatch):
    # On GPUs (NCCL) the gradients are all-reduced in buckets while backward runs, as DistributedDataParallel does;
    # here gloo is made to do it, with buckets of at most 200 bytes: the last layers' tensors first.
    distribute = lamina.backend.engine.distribute
    monkeypatch.setattr(distribute, "_OVERLAP_BACKENDS", ("gloo", "nccl"))
    monkeypatch.setattr(distribute, "_BUCKET_BYTES", 200)
    x, y = _data(48)
    single = _model(dropout=0.5, outputs=2)
    template = _model(dropout=0.5, outputs=2)
    parallel = utils.multi_gpu_model(template, gpus=4)
    histories = []
    for model in (single, parallel):
        model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
        histories.append(model.fit(x, [y, x[:, :1]], batch_size=16, epochs=2, verbose=0, shuffle=False).history)
    _assert_same_training(single, template, *histories)
    # value bias + kernel + probs bias (64 bytes), probs kernel + hidden bias (192), hidden kernel (288)
    assert parallel._runner._gradient_buckets.members == [[5, 4, 3], [2, 1], [0]]


def _sequence_model():
    lamina.utils.set_random_seed(4)
    inputs = layers.Input((6,), dtype="int32")
    embedded = layers.Embedding(5, 3, mask_zero=True)(inputs)  # the mask reaches the output: Dense keeps it
    return lamina.Model(inputs, layers.Dense(1)(embedded))


@needs_devices
@pytest.mark.parametrize("case", ["sum_reduction", "masked_output"])
def test_losses_that_are_no_mean_of_the_slices_losses_give_one_device_s_numbers(case):
    # A "sum" loss, or a masked output's loss (the mean over its unmasked steps, which differ per slice), is not the
    # mean of the replicas' losses: the steps must still give what one device gives on the whole batch.
    rng = np.random.default_rng(8)
    if case == "sum_reduction":
        x, y = _data(32)
        y = np.eye(3, dtype="float32")[y]
        build, loss = _model, lamina.losses.MeanSquaredError(reduction="sum")
    else:
        x = rng.integers(1, 5, (32, 6))
        x[:, 3:][rng.random((32, 3)) < 0.6] = 0
        y = rng.normal(size=(32, 6, 1)).astype("float32")
        build, loss = _sequence_model, "mse"
    histories, models = [], []
    for wrap in (False, True):
        template = build()
        model = utils.multi_gpu_model(template, gpus=4) if wrap else template
        model.compile(lamina.optimizers.SGD(0.01), loss, steps_per_execution=1)
        histories.append(model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False).history)
        models.append(template)
    _assert_same_training(models[0], models[1], histories[0], histories[1])


@needs_devices
def test_custom_objects_defined_in_a_function_train_in_parallel_or_get_a_clear_error():
    # A registered class defined inside a function does not pickle. Registered but unused, it must not stop a
    # parallel fit (it did on torch, whose workers receive the registered objects); used by the model, JAX's
    # replicas (one process) train it as one device does, and torch says which object cannot reach its workers.
    @lamina.utils.register_keras_serializable(package="ParallelTests")
    class Doubled(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    registry = lamina.utils.get_custom_objects()
    try:
        x, y = _data(64)
        single, template = _model(), _model()
        history_single = _fit(single, x, y, epochs=1)
        parallel = utils.multi_gpu_model(template, gpus=4)
        _assert_same_training(single, template, history_single, _fit(parallel, x, y, epochs=1))

        def doubled_model():
            lamina.utils.set_random_seed(3)
            inputs = layers.Input((6,))
            return lamina.Model(inputs, layers.Dense(3, activation="softmax")(Doubled(name="doubled")(inputs)))

        single, template = doubled_model(), doubled_model()
        history_single = _fit(single, x, y, epochs=1)
        parallel = utils.multi_gpu_model(template, gpus=4)
        if JAX:
            _assert_same_training(single, template, history_single, _fit(parallel, x, y, epochs=1))
        else:
            with pytest.raises(ValueError, match=r"custom object 'ParallelTests>Doubled' cannot be sent.*top level"):
                _fit(parallel, x, y, epochs=1)
    finally:
        registry.pop("ParallelTests>Doubled", None)
        registry.pop("Doubled", None)


@needs_devices
@pytest.mark.skipif(JAX, reason="torch's worker processes")
@pytest.mark.parametrize("inputs", ["numpy", "torch"])
def test_workers_get_their_slices_as_plain_arrays(monkeypatch, inputs):
    # A torch tensor sent through a worker's pipe travels as a shared-memory file whose descriptor the worker fetches
    # from this process's resource sharer (a connection and handshake per tensor); slices go as NumPy arrays.
    import torch

    distribute = lamina.backend.engine.distribute
    x, y = _data(32)
    parallel = utils.multi_gpu_model(_model(), gpus=2)
    _fit(parallel, x, y, epochs=1)  # the workers are running
    sent = []
    pool = distribute._pool["value"]
    real_send = pool.send
    monkeypatch.setattr(pool, "send", lambda rank, message: (sent.append(message), real_send(rank, message))[1])
    if inputs == "torch":
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    parallel.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    parallel.predict(x, batch_size=16, verbose=0)
    steps = [message for message in sent if message[0] in ("train", "predict")]
    assert {message[0] for message in steps} == {"train", "predict"}
    leaves = [leaf for message in steps for leaf in nest.flatten(list(message[2:])) if leaf is not None]
    assert leaves and all(type(leaf) is not torch.Tensor for leaf in leaves)
    assert any(isinstance(leaf, np.ndarray) and leaf.shape == (1, 8, 6) for leaf in leaves)
