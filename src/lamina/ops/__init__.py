"""The one op API that layers, losses, metrics and optimizers use, whatever the engine.

Each name comes from the engine's `core`, `numpy`, `nn`, `optimizers`, `rnn` or
`random` module; both engines export the same names (DESIGN rule 2).

Example:
    >>> from lamina import ops
    >>> ops.matmul(ops.ones((2, 3)), ops.ones((3, 4))).shape
    (2, 4)
"""

import importlib as _importlib

from lamina.backend import engine as _engine

_rnn = _importlib.import_module(f"{_engine.__name__}.rnn")


def _export(module) -> list:
    names = list(module.__all__)
    for name in names:
        globals()[name] = getattr(module, name)
    return names


__all__ = (
    _export(_engine.core) + _export(_engine.numpy) + _export(_engine.nn) + _export(_engine.optimizers) + _export(_rnn)
)
random = _engine.random
