"""Files from real Keras 3, one tiny model per exported layer, optimizer, loss and metric class.

For each case of `keras3_sweep_cases.py`, Keras 3 (the oracle) builds the model, compiles it (with the
class under test where it is an optimizer, loss or metric), trains one step and writes it as `.keras`,
`.h5` and JSON + `.weights.h5`. lamina loads each file and must predict the same; from a compiled
`.keras`/`.h5` it must also restore the optimizer state (no "fresh optimizer state" warning), evaluate
the same loss and metrics, and take the same next `train_on_batch` step (skipped for layers that draw
random numbers while training, such as Dropout and the augmentation layers).

Every class Keras 3 exports is either in the table, in EXCLUDED (with the reason), or the cheap
`test_every_exported_class_is_swept_or_excluded` fails. Known gaps are strict xfails in KNOWN_FAILURES,
so a fix that lands shows up as an XPASS to remove from the dict.

The full sweep is slow (every class, three formats), so only CI_SUBSET (one class per family) runs by
default. Run everything with:

    LAMINA_SWEEP=1 LAMINA_BACKEND=jax python -m pytest -m sweep tests/saving/test_keras3_sweep.py
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings

import numpy as np
import pytest
from keras3_sweep_cases import CASES

import lamina

SWEEP = os.environ.get("LAMINA_SWEEP") == "1"
FORMATS = ("keras", "h5", "json")
RTOL, ATOL = 1e-4, 1e-5
EVALUATED = ("losses", "metrics")  # kinds whose loss and metric values evaluate() compares

# Exported classes the sweep does not build a model for, and why.
EXCLUDED = {
    "layers.Layer": "the abstract base class; every layer case exercises it",
    "layers.Wrapper": "an abstract base class; covered by Bidirectional, TimeDistributed, SpectralNormalization",
    "layers.InputSpec": "not a layer: the input description layers carry",
    "layers.TFSMLayer": "wraps a TensorFlow SavedModel and needs TensorFlow",
    "layers.JaxLayer": "wraps engine-specific JAX code (a Python function), which no file can carry",
    "layers.FlaxLayer": "wraps a Flax module: engine-specific code, which no file can carry",
    "layers.TorchModuleWrapper": "wraps a torch.nn.Module: engine-specific code, which no file can carry",
    # Keras 3 runs the lookup layers only with TensorFlow installed: their Keras 3 (TensorFlow backend) files and
    # numbers are fixtures instead, checked by tests/layers/test_layer_lookup.py and test_layer_text_vectorization.py.
    "layers.StringLookup": "needs TensorFlow in Keras 3: fixture tests in tests/layers/test_layer_lookup.py",
    "layers.TextVectorization": "needs TensorFlow in Keras 3: fixture tests in test_layer_text_vectorization.py",
    "layers.IntegerLookup": "needs TensorFlow in Keras 3: fixture tests in tests/layers/test_layer_lookup.py",
    "layers.Hashing": "Keras 3 raises 'Layer Hashing requires TensorFlow' without TensorFlow",
    "layers.HashedCrossing": "Keras 3 raises 'Layer HashedCrossing requires TensorFlow' without TensorFlow",
    "layers.MaxNumBoundingBoxes": "works on bounding-box dicts only, not on a model's tensors",
    "optimizers.Optimizer": "the abstract base class; every optimizer case exercises it",
    "losses.Loss": "the abstract base class; every loss case exercises it",
    "metrics.Metric": "the abstract base class; every metric case exercises it",
    "metrics.Mean": "reduces one tensor (update_state(values)), so it cannot be a compiled (y_true, y_pred) metric",
    "metrics.Sum": "reduces one tensor (update_state(values)), so it cannot be a compiled (y_true, y_pred) metric",
}

# Cases lamina gets wrong today, as strict xfails: "kind.Class", or narrowed with ".format" and/or
# ".engine" ("layers.Conv2D.h5", "layers.Conv2D.h5.torch", "layers.Conv2D.torch").
KNOWN_FAILURES: dict = {}

# One class per family, each in one format; always runs (the sweep's cost in CI). Dense is compiled
# with Adam and AUC with binary crossentropy, so these also cover the most common optimizer and loss.
CI_SUBSET = (  # one per format and kind, kept small: the rest of the suite covers these classes in depth
    ("layers", "Conv2D", "h5"),
    ("layers", "BatchNormalization", "keras"),
    ("layers", "Embedding", "json"),
    ("optimizers", "RMSprop", "keras"),
    ("metrics", "AUC", "h5"),
)


@dataclasses.dataclass
class Oracle:
    """What Keras 3 wrote and computed for one case."""

    paths: dict
    unwritable: dict  # format -> why Keras 3 itself could not write it
    inputs: list
    targets: np.ndarray | None
    prediction: np.ndarray
    evaluation: dict | None
    next_weights: list | None


_ORACLES: dict = {}


def _oracle(keras, kind: str, name: str, folder) -> Oracle:
    """Keras 3 builds, trains one step, saves in every format, then takes one more step (cached per case)."""
    if (kind, name) in _ORACLES:
        return _ORACLES[kind, name]
    case = CASES[kind][name]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = case.inputs(rng)
    model = case.build(keras)
    targets = evaluation = next_weights = None
    if case.compile is not None:
        model.compile(**case.compile(keras))
        targets = case.targets(rng, np.zeros(model.outputs[0].shape, "float32"))
        model.train_on_batch(inputs, targets)
    paths = {fmt: os.path.join(folder, f"{kind}_{name}.{fmt}") for fmt in ("keras", "h5")}
    paths["json"] = os.path.join(folder, f"{kind}_{name}.weights.h5")
    unwritable = _save_every_format(model, paths)
    prediction = np.asarray(model.predict(inputs, verbose=0))
    if case.compile is not None:
        if kind in EVALUATED:
            evaluation = model.evaluate(inputs, targets, verbose=0, return_dict=True)
        if not case.random:
            model.train_on_batch(inputs, targets)
            next_weights = [np.asarray(w) for w in model.get_weights()]
    oracle = Oracle(paths, unwritable, inputs, targets, prediction, evaluation, next_weights)
    _ORACLES[kind, name] = oracle
    return oracle


def _save_every_format(model, paths: dict) -> dict:
    """Writes the model in each format; returns the formats Keras 3 fails to write, with its error."""
    unwritable = {}
    for fmt in FORMATS:
        try:
            if fmt == "json":
                model.save_weights(paths["json"])
                paths["json_text"] = model.to_json()
            else:
                model.save(paths[fmt])
        except Exception as error:  # noqa: BLE001 - Keras 3's own failure, reported as the skip reason
            unwritable[fmt] = f"{type(error).__name__}: {error}".splitlines()[0][:200]
    return unwritable


def _load(case, oracle: Oracle, fmt: str):
    """lamina's model from one of the oracle's files, and the warnings loading it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt == "json":
            model = lamina.models.model_from_json(oracle.paths["json_text"], safe_mode=case.safe_mode)
            model.load_weights(oracle.paths["json"])
        else:
            model = lamina.models.load_model(oracle.paths[fmt], safe_mode=case.safe_mode)
    return model, [str(w.message) for w in caught]


def _check(keras, kind: str, name: str, fmt: str, folder) -> None:
    """lamina loads Keras 3's file in `fmt`: same prediction; if compiled, same state, evaluation and next step."""
    case = CASES[kind][name]
    oracle = _oracle(keras, kind, name, folder)
    if fmt in oracle.unwritable:
        pytest.skip(f"Keras 3 itself cannot write this model as {fmt}: {oracle.unwritable[fmt]}")
    model, messages = _load(case, oracle, fmt)
    ours = model.predict(oracle.inputs, verbose=0)
    np.testing.assert_allclose(np.asarray(ours), oracle.prediction, rtol=RTOL, atol=ATOL, err_msg="predict")
    if case.compile is None or fmt == "json":
        return
    fresh = [m for m in messages if "fresh optimizer state" in m]
    assert not fresh, fresh[0]
    if oracle.evaluation is not None:
        evaluation = model.evaluate(oracle.inputs, oracle.targets, verbose=0, return_dict=True)
        assert sorted(evaluation) == sorted(oracle.evaluation), f"evaluate's keys: {sorted(evaluation)}"
        for key, value in oracle.evaluation.items():
            np.testing.assert_allclose(evaluation[key], value, rtol=RTOL, atol=ATOL, err_msg=f"evaluate[{key!r}]")
    if oracle.next_weights is None:
        return
    model.train_on_batch(oracle.inputs, oracle.targets)
    weights = model.get_weights()
    assert len(weights) == len(oracle.next_weights), "number of weights"
    for index, (mine, theirs) in enumerate(zip(weights, oracle.next_weights)):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=f"weight {index} after the next step")


def _known_failure(kind: str, name: str, fmt: str):
    engine = lamina.backend.backend()
    for key in (f"{kind}.{name}.{fmt}.{engine}", f"{kind}.{name}.{fmt}", f"{kind}.{name}.{engine}", f"{kind}.{name}"):
        if key in KNOWN_FAILURES:
            return KNOWN_FAILURES[key]
    return None


def _params(triples, extra_marks=()):
    params = []
    for kind, name, fmt in triples:
        marks = list(extra_marks)
        reason = _known_failure(kind, name, fmt)
        if reason is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        params.append(pytest.param(kind, name, fmt, marks=marks, id=f"{kind}-{name}-{fmt}"))
    return params


ALL_CASES = [(kind, name, fmt) for kind, table in CASES.items() for name in table for fmt in FORMATS]
_SWEEP_MARKS = (pytest.mark.sweep, pytest.mark.skipif(not SWEEP, reason="the full sweep runs with LAMINA_SWEEP=1"))


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """Where Keras 3 writes its files; XLA compiles without most optimizations meanwhile.

    Compiling dominates the cost of these tiny models (both Keras 3's and lamina's steps run under XLA
    when the engine is JAX); the numbers agree within the tolerances either way.
    """
    import jax

    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield tmp_path_factory.mktemp("keras3_sweep")
    jax.config.update("jax_disable_most_optimizations", before)


@pytest.mark.parametrize("kind, name, fmt", _params(CI_SUBSET))
def test_keras3_files_load_and_train_the_same(keras3, sweep_folder, kind, name, fmt):
    _check(keras3, kind, name, fmt, sweep_folder)


@pytest.mark.parametrize("kind, name, fmt", _params(ALL_CASES, _SWEEP_MARKS))
def test_sweep(keras3, sweep_folder, kind, name, fmt):
    _check(keras3, kind, name, fmt, sweep_folder)


def _exported_classes(keras, kind: str) -> dict:
    module = getattr(keras, kind)
    return {name: obj for name, obj in vars(module).items() if inspect.isclass(obj) and not name.startswith("_")}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_exported_class_is_swept_or_excluded(keras3, kind):
    exported = _exported_classes(keras3, kind)
    handled = set(CASES[kind]) | {key.split(".", 1)[1] for key in EXCLUDED if key.startswith(kind + ".")}
    # An alias (AvgPool2D for AveragePooling2D) is covered by the class it names.
    missing = sorted(n for n, cls in exported.items() if n not in handled and cls.__name__ not in handled)
    assert not missing, f"keras.{kind} exports classes the sweep neither covers nor excludes: {missing}"
    stale = sorted(set(CASES[kind]) - set(exported))
    assert not stale, f"the sweep's table names classes keras.{kind} does not export: {stale}"
