"""The torch engine's CPU thread default: a short OpenMP spin (GOMP_SPINCOUNT) when nothing else is set.

OpenMP reads its variables when torch loads it, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import lamina

ENGINE_INIT = pathlib.Path(__file__).resolve().parents[2] / "src" / "lamina" / "backend" / "torch" / "__init__.py"
OMP_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
PRINT_SETTINGS = "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"

pytestmark = pytest.mark.skipif(lamina.backend.backend() != "torch", reason="the torch engine's thread settings")


def run_fresh(code: str, **env) -> list:
    """The words `code` prints, run in a new interpreter on the torch engine with no OpenMP variables set."""
    clean = {key: value for key, value in os.environ.items() if key not in OMP_VARIABLES}
    clean.update(LAMINA_BACKEND="torch", **env)
    out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def run_engine_init(before: str = "", **env) -> list:
    # The engine package's first lines run before anything has imported torch (unless `before` does):
    # the default is set, and torch, imported by the lines after, starts with it.
    return run_fresh(f"import os, runpy; {before}runpy.run_path({str(ENGINE_INIT)!r}); {PRINT_SETTINGS}", **env)


def test_the_engine_package_sets_a_short_spin_before_torch_loads():
    assert run_engine_init() == ["None", "30000"]


@pytest.mark.parametrize("variable, value", [("OMP_WAIT_POLICY", "ACTIVE"), ("GOMP_SPINCOUNT", "INFINITE")])
def test_a_setting_the_user_made_is_kept(variable, value):
    expected = ["ACTIVE", "None"] if variable == "OMP_WAIT_POLICY" else ["None", "INFINITE"]
    assert run_engine_init(**{variable: value}) == expected


def test_nothing_is_set_once_torch_is_loaded():
    # Too late to matter for this process; child processes should not inherit a changed environment.
    assert run_engine_init(before="import torch; ") == ["None", "None"]


def test_importing_lamina_on_torch_sets_the_default():
    # lamina/backend/__init__.py imports the engine package, which imports torch after its first lines.
    assert run_fresh(f"import os, lamina; {PRINT_SETTINGS}") == ["None", "30000"]


def test_the_thread_count_is_left_to_torch_and_omp_num_threads():
    assert run_fresh("import lamina, torch; print(torch.get_num_threads())", OMP_NUM_THREADS="1") == ["1"]
