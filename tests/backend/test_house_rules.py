"""DESIGN rules 1 and 2: only backend/<engine>/ imports jax or torch; engines export the same names."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "lamina"
ENGINE_MODULES = ("jax", "torch", "jaxlib")


def _imported_roots(path: pathlib.Path) -> set:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_engine_packages_import_jax_or_torch():
    stray = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("backend/jax/", "backend/torch/")):
            continue
        bad = _imported_roots(path) & set(ENGINE_MODULES)
        if bad:
            stray.append(f"{relative} imports {sorted(bad)}")
    assert stray == [], "DESIGN rule 1 broken:\n" + "\n".join(stray)


def test_jax_engine_does_not_import_torch_and_back():
    for engine, other in (("jax", "torch"), ("torch", "jax")):
        folder = SRC / "backend" / engine
        for path in folder.rglob("*.py"):
            assert other not in _imported_roots(path), f"{path} (the {engine} engine) imports {other}"


def _public_names(engine: str) -> dict:
    """{module stem: sorted __all__} of an engine's public modules (private `_` modules hold one engine's internals)."""
    names = {}
    for path in sorted((SRC / "backend" / engine).glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = importlib.import_module(f"lamina.backend.{engine}.{path.stem}")
        names[path.stem] = sorted(getattr(module, "__all__", []))
    return names


def test_engine_exports_are_declared():
    for stem, names in _public_names("jax").items():
        assert names, f"backend/jax/{stem}.py declares no __all__"


def test_private_engine_modules_export_nothing():
    # A private module (backend/torch/_workers.py) has no twin on the other engine, so it may declare no names.
    for engine in ("jax", "torch"):
        for path in sorted((SRC / "backend" / engine).glob("_*.py")):
            if path.name == "__init__.py":
                continue
            module = importlib.import_module(f"lamina.backend.{engine}.{path.stem}")
            assert not getattr(module, "__all__", []), f"backend/{engine}/{path.name} is private: no __all__"


def test_both_engines_export_the_same_names():
    if not (SRC / "backend" / "torch").exists():
        pytest.skip("The torch engine lands with issue 3; until then only backend/jax exists.")
    assert _public_names("jax") == _public_names("torch")
