"""Keras 2.3.1 and tf.keras 2.x module paths resolve to lamina's own objects while the alias is installed."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import lamina
from lamina import compat

# Keras 2 names lamina does not have yet; a name missing that is not listed here is a typo in the table.
KNOWN_MISSING = {
    "engine": {"get_source_inputs"},
    "engine.topology": {"get_source_inputs"},
    "engine.network": {"get_source_inputs"},
    "utils": {
        "serialize_keras_object",
        "deserialize_keras_object",
        "plot_model",
        "model_to_dot",
        "get_source_inputs",
        "multi_gpu_model",
        "OrderedEnqueuer",
        "GeneratorEnqueuer",
        "SequenceEnqueuer",
        "get_file",
    },
    "utils.generic_utils": {
        "serialize_keras_object",
        "deserialize_keras_object",
        "has_arg",
        "to_list",
        "unpack_singleton",
    },
    "utils.data_utils": {"get_file", "OrderedEnqueuer", "GeneratorEnqueuer", "SequenceEnqueuer", "validate_file"},
    "utils.layer_utils": {"get_source_inputs"},
    "utils.vis_utils": {"plot_model", "model_to_dot"},
    "utils.multi_gpu_utils": {"multi_gpu_model"},
}


@pytest.fixture
def aliased():
    """`keras` resolves to lamina for the test, and whatever `keras` was before comes back after it."""
    before = {name: module for name, module in sys.modules.items() if name == "keras" or name.startswith("keras.")}
    compat.install(quiet=True)
    try:
        yield importlib.import_module("keras")
    finally:
        compat.uninstall()
    assert not compat.is_installed()
    assert {name: sys.modules.get(name) for name in before} == before


def test_every_keras2_path_imports_and_holds_lamina_objects(aliased):
    for path in compat.KERAS2_MODULES:
        module = importlib.import_module(f"keras.{path}")
        assert importlib.import_module(f"tensorflow.keras.{path}") is module
        found, _ = compat.resolved_names(path)
        for name, value in found.items():
            assert getattr(module, name) is value, f"keras.{path}.{name}"
            assert name in module.__all__


def test_keras2_paths_give_the_same_objects_as_lamina(aliased):
    from keras.callbacks.callbacks import EarlyStopping
    from keras.engine.topology import Input, Network
    from keras.initializers import glorot_uniform, zeros
    from keras.layers.advanced_activations import LeakyReLU
    from keras.layers.convolutional import Conv3D, MaxPooling2D
    from keras.layers.core import Dense, Dropout
    from keras.layers.embeddings import Embedding
    from keras.layers.experimental.preprocessing import Rescaling
    from keras.layers.merge import concatenate
    from keras.objectives import mse
    from keras.optimizers import SGD, adam
    from keras.utils.np_utils import to_categorical

    pairs = [
        (Dense, lamina.layers.Dense),
        (Dropout, lamina.layers.Dropout),
        (Conv3D, lamina.layers.Conv3D),
        (MaxPooling2D, lamina.layers.MaxPooling2D),
        (LeakyReLU, lamina.layers.LeakyReLU),
        (Embedding, lamina.layers.Embedding),
        (concatenate, lamina.layers.concatenate),
        (Rescaling, lamina.layers.Rescaling),
        (Input, lamina.layers.Input),
        (Network, lamina.models.Functional),
        (EarlyStopping, lamina.callbacks.EarlyStopping),
        (glorot_uniform, lamina.initializers.GlorotUniform),
        (zeros, lamina.initializers.Zeros),
        (mse, lamina.losses.mse),
        (SGD, lamina.optimizers.SGD),
        (adam, lamina.optimizers.Adam),
        (to_categorical, lamina.utils.to_categorical),
    ]
    for keras2_object, lamina_object in pairs:
        assert keras2_object is lamina_object
    # Paths the table does not list are lamina's own modules; `keras` itself holds lamina's names.
    assert importlib.import_module("keras.backend") is lamina.backend
    assert aliased.Sequential is lamina.Sequential and aliased.layers.core.Dense is lamina.layers.Dense
    namespace = {}
    exec("from keras.layers.noise import *", namespace)
    assert namespace["GaussianNoise"] is lamina.layers.GaussianNoise


def test_missing_keras2_names_are_only_the_known_ones():
    missing = compat.missing_names()
    unexpected = {path: set(names) - KNOWN_MISSING.get(path, set()) for path, names in missing.items()}
    assert not {path: names for path, names in unexpected.items() if names}


def test_keras2_initializer_and_optimizer_arguments(aliased):
    from keras import initializers, optimizers

    kernel = np.asarray(initializers.glorot_uniform(seed=1)((100, 50)))
    limit = np.sqrt(6.0 / (100 + 50))
    assert kernel.shape == (100, 50) and np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_array_equal(np.asarray(initializers.zeros()((2, 3))), np.zeros((2, 3)))
    sgd = optimizers.SGD(lr=0.25, decay=1e-6, momentum=0.9, nesterov=True)
    assert float(np.asarray(sgd.learning_rate)) == pytest.approx(0.25)
    nadam = optimizers.Nadam(lr=0.002, schedule_decay=0.004, epsilon=None)
    assert float(np.asarray(nadam.learning_rate)) == pytest.approx(0.002)


def test_tensorflow_is_a_stand_in_that_holds_only_keras(aliased):
    import tensorflow as tf
    from tensorflow import keras

    assert keras is aliased and tf.keras is aliased
    with pytest.raises(AttributeError, match="lamina provides only tensorflow.keras, not tensorflow.constant"):
        tf.constant(1.0)
    with pytest.raises(ModuleNotFoundError, match="lamina provides only tensorflow.keras"):
        importlib.import_module("tensorflow.compat.v1")
    with pytest.raises(ModuleNotFoundError, match="no counterpart of Keras's keras.no_such_module"):
        importlib.import_module("keras.no_such_module")


def test_a_real_keras_imported_before_comes_back_after_uninstall(keras3):
    # Outside the alias, `import keras` in a program that imported lamina gives the real Keras 3.
    assert sys.modules["keras"] is keras3 and keras3.__version__ == "3.15.1" and not compat.is_installed()
    compat.install(quiet=True)
    try:
        aliased = importlib.import_module("keras")
        assert aliased is not keras3 and aliased.layers.Dense is lamina.layers.Dense
    finally:
        compat.uninstall()
    assert importlib.import_module("keras") is keras3 and sys.modules["keras.layers"] is keras3.layers
