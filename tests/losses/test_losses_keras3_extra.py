"""Keras 3's newer losses: CTC, CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky (and their functions),
checked against real Keras 3 for values, reductions, sample weights, configs and (CTC) one training step."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import losses


def _np(value):
    return np.asarray(lamina.ops.convert_to_numpy(value), np.float64)


def _close(got, want, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(_np(got), np.asarray(want, np.float64), rtol=rtol, atol=atol)


def _check_reductions(make_loss, y_true, y_pred, values, weights, rtol=1e-5):
    """The loss class reduces the per-sample `values` (Keras's) with weights as Keras does."""
    weighted = np.asarray(values, np.float64) * weights
    expected = {"sum_over_batch_size": weighted.mean(), "sum": weighted.sum(), "none": weighted}
    for reduction, want in expected.items():
        _close(make_loss(reduction)(y_true, y_pred, sample_weight=weights), want, rtol=rtol)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    embeddings = rng.normal(size=(6, 4)).astype("float32")
    probabilities = rng.uniform(0.05, 1.0, size=(5, 3)).astype("float32")
    return {
        "labels": np.array([[1, 2, 2, 0], [3, 0, 0, 0], [0, 0, 0, 0], [1, 3, 1, 2]]),
        "logits": rng.normal(size=(4, 9, 5)).astype("float32"),
        "embeddings": embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True),
        "groups": np.array([0, 0, 1, 1, 2, 0]),
        "masks": (rng.uniform(size=(2, 3, 3, 1)) > 0.5).astype("float32"),
        "soft": rng.uniform(size=(2, 3, 3, 1)).astype("float32"),
        "classes": np.array([0, 2, 1, 1, 0]),
        "probabilities": probabilities / probabilities.sum(axis=1, keepdims=True),
        "weights": rng.uniform(0.1, 1.0, size=(6,)).astype("float32"),
    }


def test_ctc_matches_keras_per_sample_and_reduced(data, keras3):
    y_true, y_pred = data["labels"], data["logits"]
    # Sample 0 repeats a label (2, 2: a blank must separate them); sample 2 has no labels at all.
    values = np.asarray(keras3.losses.ctc(y_true, y_pred))
    _close(losses.ctc(y_true, y_pred), values)
    _check_reductions(lambda r: losses.CTC(reduction=r), y_true, y_pred, values, data["weights"][:4])


def test_ctc_one_training_step_matches_keras(data, keras3):
    """The gradient through the forward recursion (ops.rnn: a scan on JAX, a loop on torch) is Keras's."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    model = lamina.Sequential([lamina.Input((9, 3)), lamina.layers.Dense(5)])
    oracle = keras3.Sequential([keras3.Input((9, 3)), keras3.layers.Dense(5)])
    oracle.set_weights(model.get_weights())
    model.compile(lamina.optimizers.SGD(0.5), loss=losses.CTC())
    oracle.compile(keras3.optimizers.SGD(0.5), loss=keras3.losses.CTC())
    loss = model.train_on_batch(x, data["labels"])
    oracle_loss = oracle.train_on_batch(x, data["labels"])
    np.testing.assert_allclose(np.ravel(loss)[0], np.ravel(oracle_loss)[0], rtol=1e-5)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_dice_and_tversky_match_keras(data, keras3):
    y_true, y_pred = data["masks"], data["soft"]
    _close(losses.dice(y_true, y_pred), keras3.losses.dice(y_true, y_pred))
    _close(losses.dice(y_true, y_pred, axis=(1, 2, 3)), keras3.losses.dice(y_true, y_pred, axis=(1, 2, 3)))
    _close(
        losses.tversky(y_true, y_pred, alpha=0.3, beta=0.7, axis=(1, 2)),
        keras3.losses.tversky(y_true, y_pred, alpha=0.3, beta=0.7, axis=(1, 2)),
    )
    weights = data["weights"][:2]
    values = np.asarray(keras3.losses.dice(y_true, y_pred, axis=(1, 2, 3)))
    _check_reductions(lambda r: losses.Dice(axis=[1, 2, 3], reduction=r), y_true, y_pred, values, weights)
    values = np.asarray(keras3.losses.tversky(y_true, y_pred, 0.2, 0.8, axis=(1, 2, 3)))
    _check_reductions(lambda r: losses.Tversky(0.2, 0.8, axis=(1, 2, 3), reduction=r), y_true, y_pred, values, weights)
    # NumPy: 2 * overlap / (sum + sum).
    expected = 1.0 - 2.0 * np.sum(y_true * y_pred) / (np.sum(y_true) + np.sum(y_pred) + 1e-7)
    _close(losses.Dice()(y_true, y_pred), expected)


def test_generalized_cross_entropy_matches_keras(data, keras3):
    y_true, y_pred = data["classes"], data["probabilities"]
    values = np.asarray(keras3.losses.categorical_generalized_cross_entropy(y_true, y_pred, q=0.7))
    _close(losses.categorical_generalized_cross_entropy(y_true, y_pred, q=0.7), values)
    make = lambda r: losses.CategoricalGeneralizedCrossEntropy(q=0.7, reduction=r)  # noqa: E731
    _check_reductions(make, y_true, y_pred, values, data["weights"][:5])
    p = y_pred[np.arange(5), y_true]
    _close(losses.CategoricalGeneralizedCrossEntropy(q=0.5)(y_true, y_pred), np.mean((1 - p**0.5) / 0.5))
    with pytest.raises(ValueError, match=r"CategoricalGeneralizedCrossEntropy: q must be a float in \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


def test_generalized_cross_entropy_column_labels_pair_every_label_with_every_row(data, keras3):
    """Keras 3.15 one-hot encodes (batch, 1) labels to (batch, 1, classes), which broadcasts to a
    (batch, batch) loss: entry [i, j] is row j's loss at label i (what a compiled model reports)."""
    y_true, y_pred = data["classes"][:, None], data["probabilities"]
    pairs = y_pred[:, y_true[:, 0]].T  # pairs[i, j] = y_pred[j, y_true[i]]
    expected = (1.0 - pairs**0.7) / 0.7
    _close(losses.CategoricalGeneralizedCrossEntropy(q=0.7, reduction="none")(y_true, y_pred), expected)
    _close(losses.CategoricalGeneralizedCrossEntropy(q=0.7)(y_true, y_pred), expected.mean())
    _close(
        losses.CategoricalGeneralizedCrossEntropy(q=0.7)(y_true, y_pred),
        keras3.losses.CategoricalGeneralizedCrossEntropy(q=0.7)(y_true, y_pred),
    )
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Activation("linear")])
    model.compile(loss=losses.CategoricalGeneralizedCrossEntropy(q=0.7))
    _close(model.evaluate(y_pred, y_true, verbose=0), expected.mean())


def test_generalized_cross_entropy_column_labels_weigh_the_last_axis(data, keras3):
    """With (batch, 1) labels and (batch,) weights, Keras 3.15 weighs the (batch, batch) matrix along its last
    axis (row j of y_pred): standalone, in evaluate and in a training step."""
    y_true, y_pred, weights = data["classes"][:, None], data["probabilities"], data["weights"][:5]
    pairs = y_pred[:, y_true[:, 0]].T  # pairs[i, j] = y_pred[j, y_true[i]]
    weighted = (1.0 - pairs.astype(np.float64) ** 0.7) / 0.7 * weights[None, :]
    expected = {
        "none": weighted,
        "sum": weighted.sum(),
        "sum_over_batch_size": weighted.mean(),
        "mean_with_sample_weight": weighted.sum() / weights.sum(),
    }
    for reduction, want in expected.items():
        loss = losses.CategoricalGeneralizedCrossEntropy(q=0.7, reduction=reduction)
        _close(loss(y_true, y_pred, sample_weight=weights), want)
    oracle_loss = keras3.losses.CategoricalGeneralizedCrossEntropy(q=0.7)
    _close(expected["sum_over_batch_size"], oracle_loss(y_true, y_pred, sample_weight=weights))
    x = np.log(y_pred)  # softmax(log p) = p: the model's predictions are y_pred
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(3, activation="softmax")])
    oracle = keras3.Sequential([keras3.Input((3,)), keras3.layers.Dense(3, activation="softmax")])
    model.set_weights([np.eye(3, dtype="float32"), np.zeros(3, "float32")])
    oracle.set_weights(model.get_weights())
    model.compile(lamina.optimizers.SGD(0.5), loss=losses.CategoricalGeneralizedCrossEntropy(q=0.7))
    oracle.compile(keras3.optimizers.SGD(0.5), loss=oracle_loss)
    _close(model.evaluate(x, y_true, sample_weight=weights, batch_size=5, verbose=0), expected["sum_over_batch_size"])
    model.fit(x, y_true, sample_weight=weights, batch_size=5, epochs=1, shuffle=False, verbose=0)
    oracle.fit(x, y_true, sample_weight=weights, batch_size=5, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), oracle.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_circle_matches_keras_with_its_masked_mean(data, keras3):
    y_true, y_pred = data["groups"], data["embeddings"]
    # Sample 4 is alone in its group: no positive pair, a loss of 0, left out of the mean.
    values = losses.circle(y_true, y_pred)
    _close(values, keras3.losses.circle(y_true, y_pred), rtol=1e-4)
    assert _np(values)[4] == 0.0
    _close(losses.Circle()(y_true, y_pred), _np(values).sum() / 5, rtol=1e-4)
    loss = losses.Circle(gamma=10.0, margin=0.3, remove_diagonal=False)
    oracle = keras3.losses.Circle(gamma=10.0, margin=0.3, remove_diagonal=False)
    _close(loss(y_true, y_pred, data["weights"]), oracle(y_true, y_pred, data["weights"]), rtol=1e-4)
    summed = losses.Circle(reduction="sum")(y_true, y_pred, data["weights"])
    _close(summed, np.sum(_np(values) * data["weights"]), rtol=1e-4)
    # Compiled, the mean is also over the counted samples only (as Keras 3, whose loss carries a mask).
    model = lamina.Sequential([lamina.Input((y_pred.shape[1],)), lamina.layers.Identity()])
    model.compile(loss=losses.Circle())
    _close(model.evaluate(y_pred, y_true, batch_size=len(y_pred), verbose=0), _np(values).sum() / 5, rtol=1e-4)
    references = y_pred[::-1] * 0.5
    _close(
        losses.circle(y_true, y_pred, ref_labels=y_true[::-1], ref_embeddings=references, gamma=5.0),
        keras3.losses.circle(y_true, y_pred, ref_labels=y_true[::-1], ref_embeddings=references, gamma=5.0),
        rtol=1e-4,
    )


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("CTC", {}),
        ("CategoricalGeneralizedCrossEntropy", {"q": 0.25}),
        ("Circle", {"gamma": 64.0, "margin": 0.25, "remove_diagonal": False}),
        ("Dice", {"axis": (1, 2)}),
        ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": (1, 2, 3), "reduction": "sum"}),
    ],
)
def test_configs_are_keras_configs_and_round_trip(name, kwargs, keras3):
    loss = getattr(losses, name)(**kwargs)
    config = loss.get_config()
    oracle_config = getattr(keras3.losses, name)(**kwargs).get_config()
    normalize = {k: list(v) if isinstance(v, tuple) else v for k, v in oracle_config.items()}
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()} == normalize
    clone = losses.deserialize({"class_name": name, "config": {**normalize, "dtype": None}})
    assert type(clone) is type(loss) and clone.get_config() == config
    assert type(losses.get(oracle_config["name"])) is type(loss)  # the Keras function name resolves


def test_ctc_rejects_wrong_ranks():
    with pytest.raises(ValueError, match=r"ctc expects targets of shape \(batch_size, max_length\)"):
        losses.ctc(np.zeros((2,)), np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"ctc expects logits of shape \(batch_size, max_length, num_classes\)"):
        losses.ctc(np.zeros((2, 3)), np.zeros((2, 4), "float32"))
