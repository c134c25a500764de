"""Shared test set-up: the engine under test, the Keras 3 oracle, fresh names per test."""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

# The oracle (real Keras 3) always runs on JAX, whatever engine lamina is tested on.
os.environ.setdefault("KERAS_BACKEND", "jax")
# The suite compiles thousands of small XLA programs and runs each a few times, so LLVM's optimisation
# passes cost more than they save: without them the JAX suite needs about a third less CPU time (and the
# interpreters the tests start inherit the setting). Results stay within every test's tolerance; speed is
# measured in benchmarks/, which keep XLA's defaults. A user's own XLA_FLAGS win.
# scripts/run_tests.py (`make test`) gives the run a fresh folder for JAX's compilation cache; each pytest worker
# keeps its own part of it (JAX's cache has no lock), which the interpreters its tests start inherit.
_CACHE = os.environ.get("LAMINA_TEST_JAX_CACHE")
if _CACHE and os.environ.get("JAX_COMPILATION_CACHE_DIR", _CACHE).startswith(_CACHE):  # not a cache of the user's
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(_CACHE, _worker)
# Eight host devices stand in for eight GPUs in the data-parallel tests (tests/distribution); a model that uses
# none of them runs on the first, as before.
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
    "--xla_force_host_platform_device_count=8",
)
# Four CPU devices on torch, each replica of a data-parallel step but the first served by a gloo worker process.
os.environ.setdefault("LAMINA_CPU_DEVICES", "4")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402

# ------------------------------------------------------------------ the repository stands alone
# Users clone the repository without its neighbours, so no test may read a folder or file beside the
# repository (a fresh clone has none). Every Python-level open and listing, and every h5py.File, is
# checked while the suite runs against what stood beside the repository when the suite started, less
# hidden entries and the folders that hold the libraries, the temporary files or the Keras home.
REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _siblings_of_the_repository(repository: pathlib.Path, needed: list[str]) -> tuple[str, ...]:
    """What stands beside `repository`, less hidden entries and what holds or lies in a `needed` folder."""
    parent = repository.parent
    if parent == pathlib.Path(parent.anchor):
        return ()  # a repository at the top of the file system: its neighbours are the system itself
    needed = [os.path.realpath(folder) for folder in needed]
    siblings = []
    for entry in os.scandir(parent):
        path = os.path.realpath(entry.path)
        if entry.name.startswith(".") or path == str(repository):
            continue
        if any(_within(folder, path) or _within(path, folder) for folder in needed):
            continue
        siblings.append(path)
    return tuple(siblings)


_SIBLINGS = _siblings_of_the_repository(
    REPOSITORY, [tempfile.gettempdir(), sys.prefix, sys.base_prefix, lamina.config.keras_home()]
)


class OutsideRepositoryError(PermissionError):
    """A test reached for a file beside the repository, which a fresh clone does not have."""


def check_inside_repository(path) -> None:
    """Raises OutsideRepositoryError for a path in a folder or file that stands beside the repository."""
    if isinstance(path, int) or path is None or not _SIBLINGS:
        return
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    full = os.path.realpath(os.path.abspath(text))
    if any(_within(full, sibling) for sibling in _SIBLINGS):
        raise OutsideRepositoryError(
            f"A test read {full}, outside the repository {REPOSITORY}; a fresh clone has no such file."
        )


def _audit_reads(event: str, args: tuple) -> None:
    if event in ("open", "os.listdir", "os.scandir") and args:
        check_inside_repository(args[0])


sys.addaudithook(_audit_reads)
_h5py_file_init = h5py.File.__init__


def _checked_h5py_file_init(self, name, *args, **kwargs):
    if isinstance(name, (str, bytes, os.PathLike)):
        check_inside_repository(name)
    _h5py_file_init(self, name, *args, **kwargs)


h5py.File.__init__ = _checked_h5py_file_init


@pytest.fixture(autouse=True)
def _fresh_session():
    """Every test starts with fresh layer names and a fixed seed."""
    lamina.backend.clear_session()
    lamina.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def keras3():
    """Real Keras 3 (test-only oracle), imported once."""
    import keras

    return keras


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def engine() -> str:
    return lamina.backend.backend()


# Tests marked `engine_neutral` start their own interpreters with the engine they need (or none), so the
# engine of this run changes nothing in them. `scripts/run_tests.py` runs them with the first engine only
# and sets this variable for the others; a plain `pytest` run always includes them.
SKIP_ENGINE_NEUTRAL = "LAMINA_SKIP_ENGINE_NEUTRAL"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(SKIP_ENGINE_NEUTRAL) != "1":
        return
    neutral = [item.get_closest_marker("engine_neutral") is not None for item in items]
    if any(neutral):
        config.hook.pytest_deselected(items=[item for item, skip in zip(items, neutral) if skip])
        items[:] = [item for item, skip in zip(items, neutral) if not skip]
