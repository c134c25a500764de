"""`python -m lamina run` and the `lamina` command run Keras 2 scripts unchanged, on the engine under test."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lamina import backend
from lamina.compat import cli

PROGRAMS = pathlib.Path(__file__).resolve().parents[1] / "programs"


def run(command: list[str], engine: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LAMINA_BACKEND=engine)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def lamina_run(script: str, *args: str, engine: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "lamina", "run", str(PROGRAMS / script), *args]
    return run(command, engine or backend.backend())


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_keras2_mlp_program_trains_and_predicts_as_numpy():
    result = lamina_run("keras2_mlp.py")
    assert result.returncode == 0, result.stderr
    line = f"lamina: `keras` and `tensorflow.keras` resolve to lamina 0.1.0 on the {backend.backend()} engine"
    assert line in result.stderr.splitlines()
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["losses"]) == 2 and all(np.isfinite(report["losses"]))
    assert report["learning_rate"] == pytest.approx(0.05)
    w1, b1, w2, b2 = (np.asarray(w) for w in report["weights"])
    expected = softmax(np.maximum(np.asarray(report["x"]) @ w1 + b1, 0) @ w2 + b2)
    np.testing.assert_allclose(report["predictions"], expected, rtol=1e-5, atol=1e-6)


def test_tf_keras_program_runs_with_tensorflow_as_a_stand_in():
    result = lamina_run("tf_keras_functional.py")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    w1, b1, w2, b2 = (np.asarray(w) for w in report["weights"])
    expected = np.tanh(np.asarray(report["x"]) @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(report["predictions"], expected, rtol=1e-5, atol=1e-6)
    assert "lamina provides only tensorflow.keras, not tensorflow.constant" in report["stand_in"]


@pytest.mark.engine_neutral
def test_a_script_gets_its_argv_folder_and_exit_code(tmp_path):
    # The console command where the package is installed with its scripts, else `python -m lamina`.
    console = shutil.which("lamina", path=os.path.dirname(sys.executable))
    command = [console] if console else [sys.executable, "-m", "lamina"]
    script = str(PROGRAMS / "argv_exit.py")
    result = run([*command, "run", script, "7", "--epochs", "3"], "jax", cwd=tmp_path)
    assert result.returncode == 7, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "argv": [script, "7", "--epochs", "3"],
        "name": "__main__",
        "helper": "found beside the script",
        "keras": "keras",
    }


def test_usage_errors_exit_with_2(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "missing.py")]) == 2
    assert "no such script" in capsys.readouterr().err
    assert cli.main(["train", "x.py"]) == 2 and cli.main([]) == 2
    assert cli.main(["--help"]) == 0 and "usage: lamina run SCRIPT" in capsys.readouterr().out
