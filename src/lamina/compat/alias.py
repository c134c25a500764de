"""The `keras` alias: an import hook that answers `keras.*` and `tensorflow.keras.*` with lamina.

`install()` puts `KerasAliasFinder` first on `sys.meta_path` and sets aside any `keras` or `tensorflow` modules
already imported; `uninstall()` takes the finder out and puts them back. A path in `KERAS2_MODULES` (and every
path above one) becomes a thin module of its own holding lamina's objects under their Keras 2 names; any other
path `keras.x.y` is lamina's own module `lamina.x.y`. `tensorflow` itself is a stand-in that holds only `keras`.

Example:
    >>> from lamina.compat import alias
    >>> alias.install(quiet=True)
    >>> from keras.layers.core import Dense
    >>> alias.uninstall()
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

from lamina.compat.keras2_paths import KERAS2_MODULES, Keras2Module

ALIASED_ROOTS = ("keras", "tensorflow")
_TENSORFLOW_KERAS = "tensorflow.keras"


def _own_paths() -> set[str]:
    """The Keras paths served by a module of our own: the table's paths and every path above one."""
    paths = {""}
    for path in KERAS2_MODULES:
        parts = path.split(".")
        paths.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return paths


_OWN_PATHS = _own_paths()


def _lamina_module(path: str) -> types.ModuleType | None:
    """`lamina.<path>` if lamina has such a module, else None."""
    name = "lamina" + ("." + path if path else "")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and name.startswith(error.name):
            return None  # lamina has no such module; an error inside an existing one propagates
        raise


def _optional_source(name: str) -> types.ModuleType | None:
    try:
        return _lamina_module(name.removeprefix("lamina").lstrip("."))
    except ImportError:
        return None  # a source that needs an optional package: its names show up in `missing_names()`


def _sources(path: str) -> list[types.ModuleType]:
    entry = KERAS2_MODULES.get(path, Keras2Module(()))
    modules = [_optional_source(source) for source in entry.sources]
    own = _lamina_module(path)
    return [module for module in [*modules, own] if module is not None]


def _lookup(sources: list[types.ModuleType], attribute: str):
    for source in sources:
        if hasattr(source, attribute):
            return getattr(source, attribute)
    raise AttributeError(attribute)


def _children(path: str) -> set[str]:
    prefix = path + "." if path else ""
    return {other[len(prefix) :].split(".")[0] for other in _OWN_PATHS if other.startswith(prefix) and other != path}


def resolved_names(path: str) -> tuple[dict[str, object], list[str]]:
    """The Keras 2 names of `path` that lamina has (name -> object), and those it lacks."""
    sources = _sources(path)
    entry = KERAS2_MODULES.get(path, Keras2Module(()))
    found, missing = {}, []
    for token in entry.names:
        if token == "*":
            continue
        name, _, attribute = token.partition("=")
        try:
            found[name] = _lookup(sources, attribute or name)
        except AttributeError:
            missing.append(name)
    return found, missing


def _build_module(fullname: str, path: str) -> types.ModuleType:
    """A thin module for Keras path `path`: lamina's objects under their Keras 2 names."""
    module = types.ModuleType(fullname, f"Keras 2's `{fullname}`, served by lamina.")
    module.__path__ = []  # a package, so that paths below it import too
    children = _children(path)
    sources = _sources(path)
    entry = KERAS2_MODULES.get(path, Keras2Module(()))
    if sources and ("*" in entry.names or path not in KERAS2_MODULES):
        # `*` forwards the public names of the first source: a lamina package that re-exports them by hand.
        for name, value in vars(sources[0]).items():
            if not name.startswith("_") and name not in children:
                setattr(module, name, value)
    found, _ = resolved_names(path)
    for name, value in found.items():
        setattr(module, name, value)
    if path == "":
        import lamina

        module.__version__ = lamina.__version__
    module.__all__ = sorted(name for name in vars(module) if not name.startswith("_") and name not in children)

    def __getattr__(name: str):  # noqa: N807 - the module-level hook Python looks for
        if name in children:
            return importlib.import_module(f"{fullname}.{name}")
        try:
            return _lookup(sources, name)  # names lamina gains after this module was made
        except AttributeError:
            raise AttributeError(f"module {fullname!r} has no attribute {name!r} (not in lamina yet)") from None

    module.__getattr__ = __getattr__
    return module


def _tensorflow_stand_in() -> types.ModuleType:
    module = types.ModuleType("tensorflow", "A stand-in that holds only `tensorflow.keras`, served by lamina.")
    module.__path__ = []

    def __getattr__(name: str):  # noqa: N807
        if name == "keras":
            return importlib.import_module(_TENSORFLOW_KERAS)
        raise AttributeError(
            f"lamina provides only tensorflow.keras, not tensorflow.{name}: under `lamina run` (or "
            "lamina.compat.install()) `tensorflow` is a stand-in for Keras code. Use lamina.ops or NumPy instead, "
            "or run the program with plain `python` to use TensorFlow itself."
        )

    module.__getattr__ = __getattr__
    return module


class _AliasLoader(importlib.abc.Loader):
    """Makes (or finds) the module for one aliased name; there is no code to run."""

    def __init__(self, make):
        self._make = make

    def create_module(self, spec):
        return self._make()

    def exec_module(self, module):
        pass


class KerasAliasFinder(importlib.abc.MetaPathFinder):
    """Answers `keras`, `keras.*`, `tensorflow` and `tensorflow.keras.*` with lamina's modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "tensorflow":
            return self._spec(fullname, _tensorflow_stand_in, package=True)
        if fullname == _TENSORFLOW_KERAS or fullname.startswith(_TENSORFLOW_KERAS + "."):
            keras_name = fullname[len("tensorflow.") :]
            return self._spec(fullname, lambda: importlib.import_module(keras_name), package=True)
        if fullname.startswith("tensorflow."):
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: lamina provides only tensorflow.keras (see `lamina run --help`).",
                name=fullname,
            )
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        keras_path = fullname[len("keras.") :] if fullname != "keras" else ""
        if keras_path in _OWN_PATHS:
            return self._spec(fullname, lambda: _build_module(fullname, keras_path), package=True)
        target_module = _lamina_module(keras_path)
        if target_module is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: lamina has no counterpart of Keras's {fullname} (yet).",
                name=fullname,
            )
        return self._spec(fullname, lambda: target_module, package=hasattr(target_module, "__path__"))

    @staticmethod
    def _spec(fullname, make, package):
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(make), is_package=package)


_finder: KerasAliasFinder | None = None
_set_aside: dict[str, types.ModuleType] = {}


def _aliased(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in ALIASED_ROOTS)


def is_installed() -> bool:
    """Whether `keras` currently resolves to lamina in this interpreter."""
    return _finder is not None


def install(quiet: bool = False) -> None:
    """Makes `import keras` and `tensorflow.keras` give lamina until `uninstall()`.

    Args:
        quiet: if False, print one line to stderr saying that keras resolves to lamina, on which engine.
    """
    global _finder
    if _finder is None:
        for name in [name for name in sys.modules if _aliased(name)]:
            _set_aside[name] = sys.modules.pop(name)  # a real keras imported earlier stays out of the way
        _finder = KerasAliasFinder()
        sys.meta_path.insert(0, _finder)
    if not quiet:
        import lamina

        print(
            f"lamina: `keras` and `tensorflow.keras` resolve to lamina {lamina.__version__} "
            f"on the {lamina.backend.backend()} engine",
            file=sys.stderr,
        )


def uninstall() -> None:
    """Undoes `install()`: the real `keras` and `tensorflow` (if installed) import again as before."""
    global _finder
    if _finder is None:
        return
    sys.meta_path.remove(_finder)
    _finder = None
    for name in [name for name in sys.modules if _aliased(name)]:
        del sys.modules[name]
    sys.modules.update(_set_aside)
    _set_aside.clear()
