"""Training configs with loss and metric objects, as tf-keras 2.21, Keras 3 and lamina write them.

The tf-keras files and numbers under tests/fixtures/configs/ come from make_configs.py there.
"""

from __future__ import annotations

import json
import os
import warnings

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import hdf5, training_config

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "configs")


def _losses_fixture():
    with open(os.path.join(FIXTURES, "tf_keras_losses.json")) as f:
        entries = json.load(f)
    return entries, np.load(os.path.join(FIXTURES, "tf_keras_losses.npz"))


def _targets(arrays, kind):
    if kind == "labels":
        return arrays["labels"]
    one_hot = np.eye(3, dtype="float32")[arrays["labels"]]
    return 2.0 * one_hot - 1.0 if kind == "signed_one_hot" else one_hot


def _value(tensor):
    return lamina.backend.get_value(tensor)


def test_every_tf_keras_loss_object_config_computes_as_tf_keras():
    entries, arrays = _losses_fixture()
    for index, entry in enumerate(entries["losses"]):
        loss = training_config._loss(entry["legacy"], None)  # the form an HDF5 training_config holds
        y_pred = arrays["logits"] if entry["logits"] else arrays["y_prob"]
        value = _value(loss(_targets(arrays, entry["target"]), y_pred))
        np.testing.assert_allclose(value, arrays[f"loss{index}"], rtol=2e-5, atol=1e-6, err_msg=str(entry["legacy"]))
        newer = training_config._loss(entry["serialized"], None)  # tf-keras's newer form, with `module`
        assert type(newer) is type(loss) and newer.get_config() == loss.get_config()


# Arguments that change a metric's value; a metric whose config holds one is checked by value.
_VALUE_ARGUMENTS = ("k", "num_thresholds", "thresholds", "top_k", "label_smoothing", "from_logits", "threshold")


def test_every_tf_keras_metric_object_config_rebuilds_with_its_name_and_value():
    entries, arrays = _losses_fixture()
    for index, entry in enumerate(entries["metrics"]):
        config = entry["serialized"]["config"]
        metric = training_config._metric(entry["serialized"], None)
        assert type(metric).__name__ == entry["serialized"]["class_name"] and metric.name == config["name"]
        if index == 0 or any(config.get(key) not in (None, False) for key in _VALUE_ARGUMENTS):
            y_pred = arrays["logits"] if entry["logits"] else arrays["y_prob"]
            metric.update_state(_targets(arrays, entry["target"]), y_pred)
            np.testing.assert_allclose(_value(metric.result()), arrays[f"metric{index}"], rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["reg", "cls"])
def test_tf_keras_models_compiled_with_objects_evaluate_as_tf_keras(name):
    data = np.load(os.path.join(FIXTURES, f"tf_keras_training_{name}.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf-keras's SGD stores momentum slots even at momentum 0: another subject
        model = hdf5.load_model(os.path.join(FIXTURES, f"tf_keras_training_{name}.h5"))
    results = model.evaluate(data["x"], data["y"], batch_size=16, verbose=0, return_dict=True)
    expected = dict(zip(data["names"].tolist(), data["values"].tolist()))
    assert list(results) == list(expected)
    np.testing.assert_allclose(list(results.values()), list(expected.values()), rtol=1e-5, atol=1e-6)
    history = model.fit(data["x"], data["y"], epochs=1, batch_size=8, verbose=0)  # the metrics also train
    assert set(history.history) == set(expected)


def _regression_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(12, 4)).astype("float32"), rng.normal(size=(12, 2)).astype("float32")


def _lamina_model():
    model = lamina.Sequential([lamina.layers.Dense(3, activation="tanh", input_shape=(4,)), lamina.layers.Dense(2)])
    model.compile(
        optimizer="adam",
        loss=lamina.losses.Huber(delta=0.5),
        metrics=[lamina.metrics.RootMeanSquaredError(name="rmse"), lamina.metrics.CosineSimilarity(name="cos")],
    )
    return model


def test_lamina_metric_objects_come_back_as_objects(tmp_path):
    x, y = _regression_data()
    model = _lamina_model()
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    model.save(tmp_path / "m.h5")
    loaded = hdf5.load_model(tmp_path / "m.h5")
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert list(after) == ["loss", "rmse", "cos"]
    np.testing.assert_allclose(list(after.values()), list(before.values()), rtol=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)  # failed with "Unknown metric 'rmse'" when rmse came back as a name


def _set_training_config(path, edit):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["training_config"])
        edit(config)
        f.attrs["training_config"] = json.dumps(config)


def test_an_unknown_metric_is_refused_at_load_naming_the_fix(tmp_path):
    x, y = _regression_data()
    _lamina_model().save(tmp_path / "m.h5")
    _set_training_config(tmp_path / "m.h5", lambda c: c.update(metrics=["max_error"]))
    with pytest.raises(ValueError, match=r"Unknown metric 'max_error'.*custom_objects=\{'max_error': \.\.\.\}"):
        hdf5.load_model(tmp_path / "m.h5")
    assert not hdf5.load_model(tmp_path / "m.h5", compile=False).compiled

    def max_error(y_true, y_pred):
        return lamina.ops.max(lamina.ops.abs(y_true - y_pred), axis=-1)

    model = hdf5.load_model(tmp_path / "m.h5", custom_objects={"max_error": max_error})
    results = model.evaluate(x, y, batch_size=12, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(results["max_error"], np.abs(y - predicted).max(-1).mean(), rtol=1e-5)


def test_an_unknown_wrapped_metric_function_and_loss_are_refused(tmp_path):
    _lamina_model().save(tmp_path / "m.h5")
    wrapped = {"class_name": "MeanMetricWrapper", "config": {"name": "mine", "dtype": "float32", "fn": "my_fn"}}
    _set_training_config(tmp_path / "m.h5", lambda c: c.update(metrics=[[wrapped]]))
    with pytest.raises(ValueError, match=r"Unknown metric 'my_fn'.*custom_objects"):
        hdf5.load_model(tmp_path / "m.h5")
    _set_training_config(tmp_path / "m.h5", lambda c: c.update(metrics=None, loss="my_loss"))
    with pytest.raises(ValueError, match=r"Unknown loss 'my_loss'.*custom_objects"):
        hdf5.load_model(tmp_path / "m.h5")


def test_keras3_files_with_loss_and_metric_objects_evaluate_as_keras3(tmp_path, keras3):
    x, y = _regression_data()
    theirs = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(2)])
    theirs.compile(
        optimizer="adam",
        loss=keras3.losses.MeanSquaredError(reduction="sum"),  # (Keras 3.15 leaves Huber's delta out of its config)
        metrics=[keras3.metrics.RootMeanSquaredError(name="rmse"), keras3.metrics.MeanAbsoluteError()],
    )
    expected = theirs.evaluate(x, y, batch_size=12, verbose=0, return_dict=True)
    for name in ("k3.keras", "k3.h5"):
        theirs.save(tmp_path / name)
        ours = lamina.models.load_model(tmp_path / name)
        results = ours.evaluate(x, y, batch_size=12, verbose=0, return_dict=True)
        assert set(results) == set(expected), name
        np.testing.assert_allclose([results[k] for k in expected], list(expected.values()), rtol=1e-5, err_msg=name)
