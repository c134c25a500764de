"""The torch engine calls torch's public API only, where torch has one.

A name is private when a part of its dotted path starts with one underscore (`torch._foreach_add_`,
`torch._C`, `from torch._dynamo import ...`, `tensor._version`), as PyTorch's own rule for its public
API has it. The few private names with no public equivalent are allowed in ALLOWED, each with the reason.
The check reads the source (it imports nothing of the engine), so it runs on both engines.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

TORCH_ENGINE = pathlib.Path(__file__).resolve().parents[2] / "src" / "lamina" / "backend" / "torch"

ALLOWED = {
    # The in-place version counter of a tensor. torch has no public way to tell that a tensor was
    # changed in place; nn.py uses it to check that probabilities are still the softmax of the logits
    # it remembered for the crossentropy shortcut (a stale shortcut would give wrong losses).
    "Tensor._version",
}


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _dotted(node) -> list | None:
    """['torch', 'nn', 'functional'] for `torch.nn.functional`; None when the chain is not names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _torch_aliases(tree) -> dict:
    """Local name -> the torch path it stands for (`F` -> 'torch.nn.functional')."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "torch":
                    aliases[alias.asname or "torch"] = alias.name if alias.asname else "torch"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "torch":
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _import_uses(node) -> list:
    if isinstance(node, ast.Import):
        paths = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        paths = [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        return []
    return [path for path in paths if path.split(".")[0] == "torch" and any(map(_is_private, path.split(".")))]


def _attribute_use(node, aliases, tensor_names) -> str | None:
    if not _is_private(node.attr):
        return None
    parts = _dotted(node)
    if parts is not None and parts[0] in aliases:
        path = [*aliases[parts[0]].split("."), *parts[1:]]
        # Report the first private part of a chain once (`torch._C._foo` is one use: `torch._C`).
        return ".".join(path) if not any(map(_is_private, path[:-1])) else None
    owner = node.value
    if node.attr in tensor_names and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
        return f"Tensor.{node.attr}"  # torch.Tensor's private attribute, on something other than self
    return None


def _getattr_use(node, aliases) -> str | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"):
        return None
    if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant) or not isinstance(node.args[1].value, str):
        return None
    name, parts = node.args[1].value, _dotted(node.args[0])
    if parts is None or not _is_private(name):
        return None
    if parts[0] in aliases:
        return ".".join([*aliases[parts[0]].split("."), *parts[1:], name])
    return None


def private_torch_uses(source: str, tensor_names: frozenset = frozenset()) -> list:
    """`(line, name)` for each use of a private torch name in `source`.

    `tensor_names` are torch.Tensor's private attribute names: `x._name` with one of them counts as a
    private tensor attribute (the check cannot know x's type, so lamina's own private attributes are
    only flagged when torch.Tensor has one of the same name).
    """
    tree = ast.parse(source)
    aliases = _torch_aliases(tree)
    uses = []
    for node in ast.walk(tree):
        found = _import_uses(node)
        if isinstance(node, ast.Attribute):
            found = [_attribute_use(node, aliases, tensor_names)]
        elif isinstance(node, ast.Call):
            found = [_getattr_use(node, aliases)]
        uses += [(node.lineno, name) for name in found if name]
    return sorted(set(uses))


def _tensor_private_names() -> frozenset:
    torch = pytest.importorskip("torch")
    return frozenset(name for name in dir(torch.Tensor) if _is_private(name))


def test_torch_engine_calls_only_public_torch_names():
    tensor_names = _tensor_private_names()
    found = []
    for path in sorted(TORCH_ENGINE.glob("*.py")):
        for line, name in private_torch_uses(path.read_text(), tensor_names):
            if name not in ALLOWED:
                found.append(f"{path.name}:{line}: {name}")
    assert found == [], "private torch names (use a public API, or allow-list one with the reason):\n" + "\n".join(
        found
    )


def test_every_allowed_name_is_still_used():
    # An allow-list entry nobody needs any more should go, so the list stays the real exceptions.
    tensor_names = _tensor_private_names()
    used = {
        name for path in TORCH_ENGINE.glob("*.py") for _, name in private_torch_uses(path.read_text(), tensor_names)
    }
    assert ALLOWED <= used, f"allowed but unused: {sorted(ALLOWED - used)}"


def test_the_check_finds_private_names_and_passes_public_ones():
    source = """
import torch
import torch._dynamo
import torch.nn.functional as F
from torch._C import _get_tracing_state
from torch.optim.adam import adam as torch_adam
from torch.utils import _pytree

torch._foreach_add_(xs, 1)
torch._C._set_grad_enabled(False)
F._canonical_mask(x)
getattr(torch, "_fused_adam_")(xs)
version = x._version
count = layer.kernel._version
torch.nn.functional.relu(x)
torch_adam(xs)
self._version = 1
torch.__version__
"""
    uses = private_torch_uses(source, frozenset({"_version"}))
    assert uses == [
        (3, "torch._dynamo"),
        (5, "torch._C._get_tracing_state"),
        (7, "torch.utils._pytree"),
        (9, "torch._foreach_add_"),
        (10, "torch._C"),
        (11, "torch.nn.functional._canonical_mask"),
        (12, "torch._fused_adam_"),
        (13, "Tensor._version"),
        (14, "Tensor._version"),
    ]
