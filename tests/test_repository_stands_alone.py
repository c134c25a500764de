"""The repository stands alone: a fresh clone has none of the folders beside it, so nothing may reach outside.

conftest.py checks every file the suite opens while it runs; these tests show the check catches a
read beside the repository, and that no file the suite, the examples or the README use names one.
"""

from __future__ import annotations

import re

import conftest
import h5py
import numpy as np
import pytest
from conftest import REPOSITORY, OutsideRepositoryError


@pytest.fixture
def sibling(tmp_path, monkeypatch):
    """A folder the guard treats as standing beside the repository, holding an .h5, an .npz and a text file."""
    folder = tmp_path / "beside"
    folder.mkdir()
    with h5py.File(folder / "model.h5", "w") as handle:
        handle["x"] = np.arange(3)
    np.savez(folder / "data.npz", x=np.arange(3))
    (folder / "notes.txt").write_text("not in a clone")
    monkeypatch.setattr(conftest, "_SIBLINGS", (str(folder.resolve()),))
    return folder


def test_opening_a_file_beside_the_repository_fails(sibling):
    with pytest.raises(OutsideRepositoryError, match="outside the repository"):
        open(sibling / "notes.txt")
    with pytest.raises(OutsideRepositoryError):
        np.load(sibling / "data.npz")


def test_h5py_files_beside_the_repository_fail(sibling):
    with pytest.raises(OutsideRepositoryError):
        h5py.File(sibling / "model.h5", "r")


def test_listing_beside_the_repository_fails(sibling):
    with pytest.raises(OutsideRepositoryError):
        list(sibling.iterdir())


def test_the_guard_lists_what_stands_beside_the_repository(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "python").mkdir()
    siblings = conftest._siblings_of_the_repository(tmp_path / "repo", needed=[str(tmp_path / "python" / "lib")])
    assert sorted(siblings) == [str((tmp_path / "notes.txt").resolve()), str((tmp_path / "shared").resolve())]


def test_files_in_the_repository_and_the_temporary_folder_open(tmp_path):
    with open(REPOSITORY / "tests" / "fixtures" / "README.md") as handle:
        assert "Keras" in handle.read()
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["x"] = np.arange(3)


def test_no_file_names_a_path_outside_the_repository():
    # Written in pieces so that this file does not match itself.
    pattern = re.compile(r"\.\./" + r"shared|parents\[3\]|\b" + r"shared/(fixtures|spec|DESIGN)")
    folders = ["src", "tests", "examples", "benchmarks", "scripts"]
    files = [path for folder in folders for path in (REPOSITORY / folder).rglob("*") if path.suffix in (".py", ".md")]
    files += [REPOSITORY / name for name in ("README.md", "Makefile", "pyproject.toml")]
    offenders = [str(path.relative_to(REPOSITORY)) for path in files if pattern.search(path.read_text())]
    assert offenders == []
