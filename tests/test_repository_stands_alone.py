"""The repository stands alone: a fresh clone has no `../shared`, so nothing in it may reach outside.

conftest.py checks every file the suite opens while it runs; these tests show the check catches a
read beside the repository, and that no file the suite, the examples or the README use names one.
"""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
from conftest import REPOSITORY, OutsideRepositoryError

SIBLING = REPOSITORY.parent / "shared" / "fixtures" / "keras2" / "mlp.h5"


def test_opening_a_file_beside_the_repository_fails():
    with pytest.raises(OutsideRepositoryError, match="outside the repository"):
        open(SIBLING, "rb")
    with pytest.raises(OutsideRepositoryError):
        np.load(REPOSITORY.parent / "shared" / "fixtures" / "keras2" / "mlp.npz")


def test_h5py_files_beside_the_repository_fail():
    with pytest.raises(OutsideRepositoryError):
        h5py.File(SIBLING, "r")


def test_listing_beside_the_repository_fails():
    with pytest.raises(OutsideRepositoryError):
        list((REPOSITORY.parent / "shared").iterdir())


def test_files_in_the_repository_and_the_temporary_folder_open(tmp_path):
    with open(REPOSITORY / "tests" / "fixtures" / "README.md") as handle:
        assert "Keras" in handle.read()
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["x"] = np.arange(3)


def test_no_file_names_a_path_outside_the_repository():
    pattern = re.compile(r"\.\./shared|parents\[3\]|\bshared/(fixtures|spec|DESIGN)")
    folders = ["src", "tests", "examples", "benchmarks", "scripts"]
    files = [path for folder in folders for path in (REPOSITORY / folder).rglob("*") if path.suffix in (".py", ".md")]
    files += [REPOSITORY / name for name in ("README.md", "Makefile", "pyproject.toml")]
    offenders = [str(path.relative_to(REPOSITORY)) for path in files if pattern.search(path.read_text())]
    assert offenders == [path for path in offenders if path.endswith("test_repository_stands_alone.py")]
