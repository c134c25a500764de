"""Keras 3's newer metrics: PearsonCorrelation, ConcordanceCorrelation, R2Score, SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision, and the metric functions Keras 3 exports
(binary/categorical focal crossentropy, huber, concordance/pearson correlation): values against real Keras 3,
state across batches and resets, configs, and all of them inside one `fit`."""

from __future__ import annotations

import numpy as np
import pytest
from metric_checks import check_against_keras

import lamina
from lamina import metrics


@pytest.fixture(scope="module")
def batches():
    rng = np.random.default_rng(9)
    out = []
    for size in (5, 7):
        y_true = (rng.uniform(size=(size, 3)) > 0.5).astype("float32")
        y_pred = np.clip(0.6 * y_true + 0.5 * rng.uniform(size=(size, 3)), 0.0, 1.0).astype("float32")
        out.append((y_true, y_pred))
    return out


SENSITIVITY_FAMILY = [
    ("SensitivityAtSpecificity", {"specificity": 0.6, "num_thresholds": 30}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.8, "num_thresholds": 7}),
    ("PrecisionAtRecall", {"recall": 0.7, "class_id": 1}),
    ("RecallAtPrecision", {"precision": 0.75, "num_thresholds": 50}),
]
ALL = [
    ("PearsonCorrelation", {}),
    ("ConcordanceCorrelation", {"axis": -1}),
    ("R2Score", {}),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}),
    *SENSITIVITY_FAMILY,
]


# One per way of handling sample weights and state: mean of per-sample values, per-output sums, threshold counts.
WEIGHTED = [ALL[0], ALL[3], ALL[6]]


@pytest.mark.parametrize("name, kwargs", WEIGHTED, ids=[name for name, _ in WEIGHTED])
def test_metric_matches_keras_with_weights_across_batches_and_resets(name, kwargs, batches, keras3):
    weights = [np.linspace(0.2, 1.0, len(batch[0])).astype("float32") for batch in batches]
    metric = getattr(metrics, name)(**kwargs)
    oracle = getattr(keras3.metrics, name)(**kwargs)
    check_against_keras(metric, oracle, batches, weights=weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kwargs", ALL, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ALL)])
def test_configs_are_keras_configs_and_round_trip(name, kwargs, keras3):
    # Named explicitly: Keras 3 numbers a default name when one is taken ("precision_at_recall_1").
    metric = getattr(metrics, name)(name="chosen", **kwargs)
    assert metric.get_config() == getattr(keras3.metrics, name)(name="chosen", **kwargs).get_config()
    clone = metrics.deserialize(metrics.serialize(metric))
    assert type(clone) is type(metric) and clone.get_config() == metric.get_config()


def test_names_resolve_as_in_compile():
    expected = {
        "pearson_correlation": metrics.PearsonCorrelation,
        "concordance_correlation": metrics.ConcordanceCorrelation,
        "r2_score": metrics.R2Score,
        "R2Score": metrics.R2Score,
    }
    for key, cls in expected.items():
        assert type(metrics.get(key)) is cls
    assert type(metrics.get(metrics.pearson_correlation)) is metrics.PearsonCorrelation
    with pytest.raises(ValueError, match="needs arguments"):
        metrics.get("sensitivity_at_specificity")


def test_r2_score_without_aggregation_and_against_numpy(batches, keras3):
    y_true = np.concatenate([b[0] for b in batches])
    y_pred = np.concatenate([b[1] for b in batches])
    residual = ((y_true - y_pred) ** 2).sum(axis=0)
    spread = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    metric = metrics.R2Score(class_aggregation=None)
    for y_t, y_p in batches:
        metric.update_state(y_t, y_p)
    np.testing.assert_allclose(np.asarray(metric.result()), 1.0 - residual / spread, rtol=1e-5)


def test_sensitivity_at_specificity_against_numpy():
    # Thresholds 0, 0.5, 1 (num_thresholds=3): at 0.5 the specificity is 2/3, the sensitivity 1/2.
    y_true = np.array([0, 0, 0, 1, 1], "float32")
    y_pred = np.array([0.0, 0.3, 0.8, 0.3, 0.8], "float32")
    metric = metrics.SensitivityAtSpecificity(0.6, num_thresholds=3)
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(0.5)
    none_reach = metrics.PrecisionAtRecall(1.0, num_thresholds=3)
    none_reach.update_state(y_true, np.zeros(5, "float32"))
    assert float(none_reach.result()) == 0.0


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("pearson_correlation", {"axis": -1}),
        ("concordance_correlation", {}),
        ("huber", {"delta": 0.3}),
        ("binary_focal_crossentropy", {"gamma": 3.0}),
        ("categorical_focal_crossentropy", {}),
    ],
)
def test_metric_functions_match_keras(name, kwargs, batches, keras3):
    y_true, y_pred = batches[1]
    got = np.asarray(lamina.ops.convert_to_numpy(getattr(metrics, name)(y_true, y_pred, **kwargs)))
    np.testing.assert_allclose(got, np.asarray(getattr(keras3.metrics, name)(y_true, y_pred, **kwargs)), rtol=1e-5)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("SensitivityAtSpecificity", 1.5, r"SensitivityAtSpecificity: specificity must be in \[0, 1\]"),
        ("RecallAtPrecision", -0.1, r"RecallAtPrecision: precision must be in \[0, 1\]"),
    ],
)
def test_bad_arguments_name_the_metric(name, value, match):
    with pytest.raises(ValueError, match=match):
        getattr(metrics, name)(value)
    with pytest.raises(ValueError, match=r"R2Score: class_aggregation must be one of"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match=r"R2Score expects targets and predictions of shape \(batch_size, outputs\)"):
        metrics.R2Score().update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_every_new_metric_inside_fit(batches, keras3):
    """fit() updates, reads and resets each metric per epoch (learning rate 0: the same predictions every epoch,
    so every epoch must report Keras 3's value for the whole data set, and not a running total)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 4)).astype("float32")
    y = (rng.uniform(size=(12, 3)) > 0.5).astype("float32")
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="sigmoid")])
    made = [getattr(metrics, name)(**kwargs) for name, kwargs in ALL]
    for i, metric in enumerate(made):
        metric.name = f"m{i}"
    model.compile(lamina.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=made)
    history = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0).history
    y_pred = model.predict(x, verbose=0)
    for i, (name, kwargs) in enumerate(ALL):
        oracle = getattr(keras3.metrics, name)(**kwargs)
        oracle.update_state(y, y_pred)  # the whole data set at once: these metrics do not depend on the batching
        want = float(np.asarray(oracle.result()))
        np.testing.assert_allclose(history[f"m{i}"], [want, want], rtol=1e-4, atol=1e-5, err_msg=name)
