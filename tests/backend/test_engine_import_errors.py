"""Choosing an engine whose package is missing says how to fix it (not a bare `No module named 'torch'`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Each test starts its own interpreter with the engine it names.
pytestmark = pytest.mark.engine_neutral


def _import_lamina(tmp_path, *, engine=None, hide=None, extra_path=None):
    """Runs `import lamina` in a fresh interpreter; `hide` makes that package unimportable there."""
    env = {key: value for key, value in os.environ.items() if key not in ("LAMINA_BACKEND", "KERAS_BACKEND")}
    env["KERAS_HOME"] = str(tmp_path)
    if engine is not None:
        env["LAMINA_BACKEND"] = engine
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    hiding = f"import sys; sys.modules[{hide!r}] = None; " if hide else ""
    return subprocess.run(
        [sys.executable, "-c", hiding + "import lamina"], env=env, capture_output=True, text=True, timeout=120
    )


def _last_line(result) -> str:
    assert result.returncode != 0, "import lamina should have failed"
    return result.stderr.strip().splitlines()[-1]


def test_torch_chosen_but_not_installed(tmp_path):
    error = _last_line(_import_lamina(tmp_path, engine="torch", hide="torch"))
    assert error.startswith("ModuleNotFoundError: ")
    assert "torch is not installed" in error
    assert 'pip install "lamina[torch]"' in error
    assert "LAMINA_BACKEND=torch" in error  # what chose it
    assert "LAMINA_BACKEND=jax" in error  # the other way out


def test_jax_chosen_but_not_installed(tmp_path):
    error = _last_line(_import_lamina(tmp_path, engine="jax", hide="jax"))
    assert error.startswith("ModuleNotFoundError: ")
    assert "jax is not installed" in error
    assert "`pip install jax`" in error
    assert "LAMINA_BACKEND=jax" in error


def test_jax_by_default_but_not_installed_names_the_default(tmp_path):
    error = _last_line(_import_lamina(tmp_path, hide="jax"))
    assert "jax is not installed" in error and "`pip install jax`" in error
    assert "chosen by lamina's default" in error


def test_torch_chosen_by_keras_json_but_not_installed(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    error = _last_line(_import_lamina(tmp_path, hide="torch"))
    assert "torch is not installed" in error and 'pip install "lamina[torch]"' in error
    assert f'chosen by the "backend" field of {tmp_path / "keras.json"}' in error


@pytest.mark.parametrize(
    "raises, expected",
    [
        ('ModuleNotFoundError("No module named \'torch\'", name="torch")', "torch is not installed"),
        ('ImportError("libtorch_cuda.so: cannot open shared object file")', "importing torch failed (libtorch_cuda"),
    ],
)
def test_a_torch_that_fails_to_import(tmp_path, raises, expected):
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise {raises}\n")
    error = _last_line(_import_lamina(tmp_path, engine="torch", extra_path=tmp_path / "site"))
    assert expected in error
    assert 'pip install "lamina[torch]"' in error
