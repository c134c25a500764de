"""Every Python snippet in the README runs as written, each in a fresh interpreter on the engine under test."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPOSITORY

import lamina


def readme_snippets() -> list[str]:
    text = (REPOSITORY / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_readme_has_snippets():
    assert len(readme_snippets()) >= 2


@pytest.mark.parametrize("index", range(len(readme_snippets())))
def test_readme_snippet_runs(tmp_path, index):
    env = {**os.environ, "LAMINA_BACKEND": lamina.backend.backend(), "KERAS_HOME": str(tmp_path / "keras_home")}
    script = tmp_path / f"snippet_{index}.py"
    script.write_text(readme_snippets()[index])
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"README snippet {index} failed:\n{script.read_text()}\n{result.stderr[-3000:]}"
