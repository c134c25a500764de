"""Keras 3's weights layout (`.weights.h5` and inside `.keras`): nested sub-layers, by_name and skip_mismatch."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers


@lamina.saving.register_keras_serializable(package="lamina_tests")
class Gated(layers.Layer):
    """A layer with its own weight plus two sub-layers: one in an attribute, two more in a list."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection = layers.Dense(units, name="projection")
        self.branches = [layers.Dense(units, name="left"), layers.Dense(units, name="right")]

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="ones")
        self.built = True

    def call(self, inputs):
        hidden = self.projection(inputs)
        return self.scale * (self.branches[0](hidden) + self.branches[1](hidden))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def gated_model():
    model = lamina.Sequential([layers.Input((4,)), Gated(3, name="gated"), layers.Dense(2, name="head")])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


X = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")


def test_sub_layers_are_saved_under_their_attribute_names(tmp_path):
    model = gated_model()
    model.save_weights(tmp_path / "m.weights.h5")
    gated = model.layers[0]
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        np.testing.assert_array_equal(f["layers/gated/vars/0"][()], gated.scale.numpy())
        np.testing.assert_array_equal(f["layers/gated/projection/vars/0"][()], gated.projection.kernel.numpy())
        np.testing.assert_array_equal(f["layers/gated/branches/dense/vars/1"][()], gated.branches[0].bias.numpy())
        np.testing.assert_array_equal(f["layers/gated/branches/dense_1/vars/0"][()], gated.branches[1].kernel.numpy())
        assert f["layers/gated/branches/dense_1/vars"].attrs["name"] == "right"
        assert f["layers/dense/vars"].attrs["name"] == "head"
    twin = lamina.Sequential([layers.Input((4,)), Gated(3, name="gated"), layers.Dense(2, name="head")])
    twin.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(twin.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_a_keras_file_with_sub_layers_round_trips(tmp_path):
    model = gated_model()
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_by_name_loads_matching_layers_and_skip_mismatch_skips_the_rest(tmp_path):
    source = lamina.Sequential([layers.Input((4,)), layers.Dense(3, name="a"), layers.Dense(2, name="b")])
    source.save_weights(tmp_path / "s.weights.h5")
    target = lamina.Sequential([layers.Input((4,)), layers.Dense(3, name="a"), layers.Dense(5, name="c")])
    before = target.layers[1].get_weights()
    target.load_weights(tmp_path / "s.weights.h5", by_name=True)
    for mine, theirs in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    for mine, untouched in zip(target.layers[1].get_weights(), before):
        np.testing.assert_array_equal(mine, untouched)
    renamed = lamina.Sequential([layers.Input((4,)), layers.Dense(3, name="a"), layers.Dense(7, name="b")])
    with pytest.raises(ValueError, match="shape"):
        renamed.load_weights(tmp_path / "s.weights.h5", by_name=True)
    with pytest.warns(UserWarning, match="skipping layer 'b'"):
        renamed.load_weights(tmp_path / "s.weights.h5", by_name=True, skip_mismatch=True)
    with pytest.raises(ValueError, match="needs by_name=True"):
        renamed.load_weights(tmp_path / "s.weights.h5", skip_mismatch=True)


def test_a_plain_h5_name_keeps_keras2_layout(tmp_path):
    model = gated_model()
    model.save_weights(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "layer_names" in f.attrs and "layers" not in f
