"""`predict` on a model that was never compiled keeps its compiled step between calls (a loop of `predict` calls
compiles once), and builds a new one when the model's layers or variables change."""

from __future__ import annotations

import numpy as np

from lamina import Sequential, layers
from lamina.trainers.predict_runner import predict_only_runner


def test_uncompiled_predict_reuses_its_step_and_follows_model_changes():
    model = Sequential([layers.Input((3,)), layers.Dense(2, use_bias=False)])
    x = np.arange(6, dtype="float32").reshape(2, 3)
    kernel = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "float32")
    model.set_weights([kernel])
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel, rtol=1e-6)
    runner = predict_only_runner(model)
    model.set_weights([2 * kernel])  # new values, same variables: the same step reads them
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ (2 * kernel), rtol=1e-6)
    assert predict_only_runner(model) is runner
    model.add(layers.Dense(1, use_bias=False, kernel_initializer="ones"))  # a new layer: a new step
    np.testing.assert_allclose(model.predict(x, verbose=0), (x @ (2 * kernel)).sum(1, keepdims=True), rtol=1e-6)
    assert predict_only_runner(model) is not runner
