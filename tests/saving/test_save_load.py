"""lamina's own files: save -> load round trips, resumed training, weights by name, atomic writes."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.ops import convert_to_numpy


def _sequential():
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,), name="d1"),
            layers.BatchNormalization(name="bn"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(3, activation="softmax", name="d2"),
        ],
        name="seq",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _functional():
    a = lamina.Input(shape=(5,), name="a")
    b = lamina.Input(shape=(5,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(b)])
    total = layers.Add(name="sum")([shared(a), shared(b)])
    image = layers.Reshape((2, 2, 1), name="img")(total)
    conv = layers.Flatten(name="flat")(layers.MaxPooling2D(1, name="pool")(layers.Conv2D(2, 1, name="conv")(image)))
    reg = layers.Dense(1, name="reg")(layers.Concatenate(name="cat2")([merged, conv]))
    cls = layers.Dense(3, activation="softmax", name="cls")(merged)
    model = lamina.Model(inputs=[a, b], outputs=[reg, cls], name="two_heads")
    model.compile(optimizer="rmsprop", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5])
    return model


def _predict(model, x):
    out = model.predict(x, verbose=0)
    return [convert_to_numpy(o) for o in out] if isinstance(out, (list, tuple)) else [convert_to_numpy(out)]


def _assert_same(model, loaded, x):
    assert loaded.get_config() == model.get_config()
    for ours, theirs in zip(_predict(loaded, x), _predict(model, x)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_sequential_save_load_round_trip(tmp_path, rng):
    model = _sequential()
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 3, 32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "seq.h5")
    loaded = lamina.models.load_model(tmp_path / "seq.h5")
    _assert_same(model, loaded, x)
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_functional_multi_io_shared_layer_round_trip(tmp_path, rng):
    model = _functional()
    x = [rng.normal(size=(6, 5)).astype("float32") for _ in range(2)]
    lamina.models.save_model(model, str(tmp_path / "f.h5"))
    loaded = lamina.models.load_model(str(tmp_path / "f.h5"))
    _assert_same(model, loaded, x)
    assert len(loaded.get_layer("shared")._inbound_nodes) == 4
    assert loaded.input_names == ["a", "b"] and loaded.output_names == ["reg", "cls"]


def test_file_layout_follows_keras2(tmp_path):
    model = _sequential()
    model.fit(np.ones((8, 4), "float32"), np.zeros(8), epochs=1, verbose=0)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert {"keras_version", "backend", "model_config", "training_config"} <= set(f.attrs)
        names = [n.decode() for n in f["model_weights"].attrs["layer_names"]]
        assert names == ["d1", "bn", "drop", "d2"]
        weight_names = [n.decode() for n in f["model_weights/d1"].attrs["weight_names"]]
        assert weight_names == ["d1/kernel:0", "d1/bias:0"]
        assert f["model_weights/d1/d1/kernel:0"].shape == (4, 8)
        assert "optimizer_weights" in f
        assert "Custom>" not in f.attrs["training_config"]


def test_resumed_training_equals_uninterrupted(tmp_path, rng):
    x, y = rng.normal(size=(40, 4)).astype("float32"), rng.integers(0, 3, 40)

    def fresh():
        lamina.utils.set_random_seed(7)
        model = lamina.Sequential(
            [layers.Dense(6, activation="relu", input_shape=(4,), name="h"), layers.Dense(3, activation="softmax")]
        )
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        return model

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    first.save(tmp_path / "half.h5")
    resumed = lamina.models.load_model(tmp_path / "half.h5")
    resumed.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for ours, theirs in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_uncompiled_model_loads_uncompiled(tmp_path):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "plain.h5")
    loaded = lamina.models.load_model(tmp_path / "plain.h5")
    assert not loaded.compiled
    assert not lamina.models.load_model(tmp_path / "plain.h5", compile=False).compiled


def test_json_and_yaml_round_trips(rng):
    for model in (_sequential(), _functional()):
        for dump, load in (("to_json", lamina.models.model_from_json), ("to_yaml", lamina.models.model_from_yaml)):
            text = getattr(model, dump)()
            clone = load(text)
            assert clone.get_config() == model.get_config()
            assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]


def test_from_config_class_methods(rng):
    seq, fun = _sequential(), _functional()
    assert lamina.Sequential.from_config(seq.get_config()).get_config() == seq.get_config()
    assert lamina.Model.from_config(fun.get_config()).get_config() == fun.get_config()


def test_save_weights_load_weights(tmp_path, rng):
    model = _functional()
    model.save_weights(tmp_path / "w.h5")
    other = lamina.Model.from_config(model.get_config())
    other.load_weights(tmp_path / "w.h5")
    x = [rng.normal(size=(4, 5)).astype("float32") for _ in range(2)]
    for ours, theirs in zip(_predict(other, x), _predict(model, x)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_load_weights_by_name_faq_example(tmp_path):
    old = lamina.Sequential([layers.Dense(2, input_dim=3, name="dense_1"), layers.Dense(3, name="dense_2")])
    old.save_weights(tmp_path / "old.h5")
    new = lamina.Sequential([layers.Dense(2, input_dim=3, name="dense_1"), layers.Dense(10, name="new_dense")])
    before = new.get_layer("new_dense").get_weights()
    new.load_weights(tmp_path / "old.h5", by_name=True)
    for ours, theirs in zip(new.get_layer("dense_1").get_weights(), old.get_layer("dense_1").get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(new.get_layer("new_dense").get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)


def test_by_name_shape_mismatch_raises_or_skips(tmp_path):
    old = lamina.Sequential([layers.Dense(2, input_dim=3, name="a"), layers.Dense(3, name="b")])
    old.save_weights(tmp_path / "old.h5")
    new = lamina.Sequential([layers.Dense(2, input_dim=3, name="a"), layers.Dense(5, name="b")])
    with pytest.raises(ValueError, match=r"old\.h5.*'b'"):
        new.load_weights(tmp_path / "old.h5", by_name=True)
    with pytest.warns(UserWarning, match="skipping layer 'b'"):
        new.load_weights(tmp_path / "old.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(new.get_layer("a").get_weights()[0], old.get_layer("a").get_weights()[0])


def test_load_weights_by_order_counts_layers(tmp_path):
    lamina.Sequential([layers.Dense(2, input_dim=3)]).save_weights(tmp_path / "one.h5")
    two = lamina.Sequential([layers.Dense(2, input_dim=3), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"one\.h5.*1 layers.*2 layers with weights"):
        two.load_weights(tmp_path / "one.h5")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    model = _sequential()
    model.save(path)
    before = path.read_bytes()

    def broken(group, layer_list):
        group.attrs["layer_names"] = np.asarray([b"half"])
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(lamina.saving.hdf5, "save_weights_to_group", broken)
    with pytest.raises(KeyboardInterrupt):
        lamina.Sequential([layers.Dense(1, input_shape=(2,))]).save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]
    assert lamina.models.load_model(path).get_config() == model.get_config()


def test_saved_on_one_engine_is_plain_numpy(tmp_path):
    model = _sequential()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert f.attrs["backend"] == lamina.backend.backend()
        assert f["model_weights/d1/d1/kernel:0"].dtype == np.float32


def test_include_optimizer_false_writes_no_optimizer_state(tmp_path, rng):
    model = _sequential()
    x = rng.random((16, 4)).astype("float32")
    model.fit(x, rng.integers(0, 3, 16), epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "no_opt.h5", include_optimizer=False)
    with h5py.File(tmp_path / "no_opt.h5", "r") as handle:
        assert "optimizer_weights" not in handle
    loaded = lamina.models.load_model(tmp_path / "no_opt.h5")
    np.testing.assert_allclose(_predict(loaded, x)[0], _predict(model, x)[0], rtol=1e-6, atol=1e-7)
