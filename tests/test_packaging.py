"""lamina builds as a published library would: license, classifiers, extras, `py.typed`.

The wheel is built from this checkout with pip (no dependencies installed) and its METADATA read back.
"""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile

import pytest
from conftest import REPOSITORY

# Builds the wheel in its own interpreter: the engine of this run plays no part.
pytestmark = pytest.mark.engine_neutral


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPOSITORY)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("lamina-*.whl")
    return zipfile.ZipFile(path)


def metadata(wheel) -> email.message.Message:
    (name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_wheel_carries_license_classifiers_and_urls(wheel):
    meta = metadata(wheel)
    assert meta["Name"] == "lamina" and meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel.namelist())
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Programming Language :: Python :: 3.11" in classifiers
    assert meta.get_all("Project-URL")


def test_the_wheel_declares_its_extras(wheel):
    meta = metadata(wheel)
    assert {"torch", "tensorboard", "plot", "all", "test"} <= set(meta.get_all("Provides-Extra"))
    requires = meta.get_all("Requires-Dist")
    assert 'torch==2.13.0; extra == "torch"' in requires
    assert any(line.startswith("tensorboardX") and 'extra == "tensorboard"' in line for line in requires)
    assert any(line.startswith("pydot") and 'extra == "plot"' in line for line in requires)
    assert not any(line.startswith(("torch", "keras")) and "extra" not in line for line in requires)


def test_the_wheel_is_typed_and_has_no_tests(wheel):
    names = wheel.namelist()
    assert "lamina/py.typed" in names and "lamina/__init__.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_the_wheel_declares_the_lamina_command(wheel):
    (name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    entry_points = wheel.read(name).decode()
    assert "[console_scripts]" in entry_points and "lamina = lamina.compat.cli:main" in entry_points
