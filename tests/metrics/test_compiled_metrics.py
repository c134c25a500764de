"""Metrics named in compile(): `fit` reports each per epoch as real Keras 3 does for the same model and data,
`evaluate` agrees, and every Keras metric name resolves through `metrics.get`."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import metrics

pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")


def _twin_models(keras3, units, activation, inputs=4):
    model = lamina.Sequential([lamina.layers.Dense(units, activation=activation, input_shape=(inputs,))])
    oracle = keras3.Sequential([keras3.Input((inputs,)), keras3.layers.Dense(units, activation=activation)])
    oracle.set_weights(model.get_weights())
    return model, oracle


def _fit_both(model, oracle, x, y, sample_weight=None, epochs=2):
    kwargs = {"batch_size": 8, "epochs": epochs, "shuffle": False, "verbose": 0, "sample_weight": sample_weight}
    return model.fit(x, y, **kwargs).history, oracle.fit(x, y, **kwargs).history


def _assert_same_history(history, oracle_history, keys, rtol=1e-4, atol=1e-5):
    assert set(keys) <= set(history), sorted(history)
    for key in keys:
        assert len(history[key]) == len(oracle_history[key])
        np.testing.assert_allclose(history[key], oracle_history[key], rtol=rtol, atol=atol, err_msg=key)


def test_binary_classification_metrics_per_epoch(rng, keras3):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.normal(size=(32, 1)) > 0).astype("float32")
    model, oracle = _twin_models(keras3, 1, "sigmoid")
    names = ["auc", "precision", "recall", "binary_accuracy", "true_positives", "false_negatives", "bce", "hinge"]
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1),
        loss="binary_crossentropy",
        metrics=[*names, metrics.AUC(curve="PR", name="pr_auc"), metrics.Precision(thresholds=0.3, name="p30")],
    )
    oracle.compile(
        optimizer=keras3.optimizers.SGD(0.1),
        loss="binary_crossentropy",
        metrics=[
            *names,
            keras3.metrics.AUC(curve="PR", name="pr_auc"),
            keras3.metrics.Precision(thresholds=0.3, name="p30"),
        ],
    )
    history, oracle_history = _fit_both(model, oracle, x, y)
    _assert_same_history(history, oracle_history, ["loss", *names, "pr_auc", "p30"])
    # Per epoch, not accumulated over the whole fit: the counts are those of one epoch (32 samples).
    counts = np.array(history["true_positives"]) + np.array(history["false_negatives"])
    np.testing.assert_allclose(counts, [y.sum()] * 2)
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    oracle_logs = oracle.evaluate(x, y, return_dict=True, verbose=0)
    for key in ["auc", "pr_auc", "precision", "recall", "p30"]:
        assert logs[key] == pytest.approx(oracle_logs[key], rel=1e-4, abs=1e-6), key


def test_regression_metrics_with_sample_weights(rng, keras3):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.abs(x @ rng.normal(size=(4, 2))).astype("float32") + 0.1
    weights = rng.uniform(0.2, 2.0, size=(32,)).astype("float32")
    model, oracle = _twin_models(keras3, 2, "softplus")
    names = ["mape", "msle", "root_mean_squared_error", "cosine_similarity", "log_cosh_error", "poisson", "mae"]
    for net, opt in ((model, lamina.optimizers.Adam(0.01)), (oracle, None)):
        net.compile(
            optimizer=opt or keras3.optimizers.Adam(0.01),
            loss="huber",
            metrics=names,
            weighted_metrics=["root_mean_squared_error", "mape"],
        )
    history, oracle_history = _fit_both(model, oracle, x, y, sample_weight=weights)
    weighted = ["weighted_root_mean_squared_error", "weighted_mape"]
    _assert_same_history(history, oracle_history, ["loss", *names, *weighted])
    assert history[weighted[0]][0] != pytest.approx(history["root_mean_squared_error"][0])


def test_multiclass_metrics_including_f1_and_iou(rng, keras3):
    x = rng.normal(size=(32, 4)).astype("float32")
    labels = np.argmax(x[:, :3] + 0.3 * rng.normal(size=(32, 3)), axis=-1)
    y = np.eye(3, dtype="float32")[labels]
    model, oracle = _twin_models(keras3, 3, "softmax")
    f1 = metrics.F1Score(average="macro", name="f1")
    f1.build((None, 3), (None, 3))  # its per-class counts must exist before the jitted step
    model.compile(
        optimizer=lamina.optimizers.RMSprop(0.01),
        loss="categorical_crossentropy",
        metrics=[
            "top_k_categorical_accuracy",
            metrics.TopKCategoricalAccuracy(k=2, name="top2"),
            "kl_divergence",
            "categorical_hinge",
            f1,
            metrics.OneHotMeanIoU(num_classes=3, name="miou"),
            metrics.Recall(class_id=1, name="recall_1"),
        ],
    )
    oracle.compile(
        optimizer=keras3.optimizers.RMSprop(0.01),
        loss="categorical_crossentropy",
        metrics=[
            "top_k_categorical_accuracy",
            keras3.metrics.TopKCategoricalAccuracy(k=2, name="top2"),
            "kl_divergence",
            "categorical_hinge",
            keras3.metrics.F1Score(average="macro", name="f1"),
            keras3.metrics.OneHotMeanIoU(num_classes=3, name="miou"),
            keras3.metrics.Recall(class_id=1, name="recall_1"),
        ],
    )
    history, oracle_history = _fit_both(model, oracle, x, y)
    keys = [
        "loss",
        "top_k_categorical_accuracy",
        "top2",
        "kl_divergence",
        "categorical_hinge",
        "f1",
        "miou",
        "recall_1",
    ]
    _assert_same_history(history, oracle_history, keys)
    assert 0.0 < history["top2"][-1] < 1.0


def test_sparse_labels_metrics(rng, keras3):
    x = rng.normal(size=(32, 4)).astype("float32")
    labels = np.argmax(x[:, :3], axis=-1)
    model, oracle = _twin_models(keras3, 3, None)
    names = ["sparse_top_k_categorical_accuracy", "sparse_categorical_accuracy"]
    model.compile(
        optimizer=lamina.optimizers.Adagrad(0.1),
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            *names,
            metrics.SparseCategoricalCrossentropy(from_logits=True, name="xent"),
            metrics.MeanIoU(3, sparse_y_pred=False, name="miou"),
        ],
    )
    oracle.compile(
        optimizer=keras3.optimizers.Adagrad(0.1),
        loss=keras3.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            *names,
            keras3.metrics.SparseCategoricalCrossentropy(from_logits=True, name="xent"),
            keras3.metrics.MeanIoU(3, sparse_y_pred=False, name="miou"),
        ],
    )
    history, oracle_history = _fit_both(model, oracle, x, labels)
    _assert_same_history(history, oracle_history, ["loss", *names, "xent", "miou"])
    np.testing.assert_allclose(history["xent"], history["loss"], rtol=1e-5)


@pytest.mark.parametrize(
    "name, cls_name",
    [
        ("auc", "AUC"),
        ("AUC", "AUC"),
        ("precision", "Precision"),
        ("recall", "Recall"),
        ("true_positives", "TruePositives"),
        ("false_positives", "FalsePositives"),
        ("true_negatives", "TrueNegatives"),
        ("false_negatives", "FalseNegatives"),
        ("top_k_categorical_accuracy", "TopKCategoricalAccuracy"),
        ("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"),
        ("root_mean_squared_error", "RootMeanSquaredError"),
        ("mape", "MeanAbsolutePercentageError"),
        ("MAPE", "MeanAbsolutePercentageError"),
        ("msle", "MeanSquaredLogarithmicError"),
        ("cosine_similarity", "CosineSimilarity"),
        ("logcosh", "LogCoshError"),
        ("log_cosh_error", "LogCoshError"),
        ("binary_crossentropy", "BinaryCrossentropy"),
        ("categorical_crossentropy", "CategoricalCrossentropy"),
        ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
        ("hinge", "Hinge"),
        ("squared_hinge", "SquaredHinge"),
        ("categorical_hinge", "CategoricalHinge"),
        ("kld", "KLDivergence"),
        ("kullback_leibler_divergence", "KLDivergence"),
        ("poisson", "Poisson"),
        ("f1_score", "F1Score"),
        ("fbeta_score", "FBetaScore"),
        ("sum", "Sum"),
        ("mean", "Mean"),
    ],
)
def test_get_by_keras_name(name, cls_name):
    metric = metrics.get(name, name=name)
    assert type(metric) is getattr(metrics, cls_name)
    assert metric.name == name


def test_get_functions_and_configs(keras3):
    assert type(metrics.get(metrics.top_k_categorical_accuracy)) is metrics.TopKCategoricalAccuracy
    assert type(metrics.get(lamina.losses.poisson)) is metrics.Poisson
    restored = metrics.get({"class_name": "Recall", "config": {"thresholds": [0.2, 0.4], "name": "r"}})
    assert type(restored) is metrics.Recall and restored.thresholds == [0.2, 0.4]
    oracle = keras3.metrics.TopKCategoricalAccuracy(k=3, name="top3")
    restored = metrics.deserialize({"class_name": "TopKCategoricalAccuracy", "config": oracle.get_config()})
    assert restored.get_config() == oracle.get_config()


def test_names_needing_arguments_say_so():
    with pytest.raises(ValueError, match="MeanIoU"):
        metrics.get("mean_iou")
    with pytest.raises(ValueError, match="no_such_metric"):
        metrics.get("no_such_metric")


def test_f1_score_by_name_in_compile(rng, keras3):
    x = rng.normal(size=(16, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[np.argmax(x[:, :3], axis=-1)]
    model, oracle = _twin_models(keras3, 3, "softmax")
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["f1_score"])
    oracle.compile(optimizer=keras3.optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["f1_score"])
    history, oracle_history = _fit_both(model, oracle, x, y)
    np.testing.assert_allclose(np.stack(history["f1_score"]), np.stack(oracle_history["f1_score"]), rtol=1e-4)


def test_lazily_built_metric_inside_a_compiled_step_is_a_clear_error():
    metric = metrics.F1Score(name="f1")
    with lamina.backend.StatelessScope():
        with pytest.raises(ValueError, match=r"'f1'.*build"):
            metric.update_state(np.eye(3, dtype="float32"), np.eye(3, dtype="float32"))
