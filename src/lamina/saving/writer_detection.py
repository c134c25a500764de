"""Which Keras wrote a config that names no `keras_version`: Keras 3, or tf-keras 2.13+ (or Keras 1/2).

Keras 3 writes no `keras_version` into a config, and neither does tf-keras 2.13+ in a config that is not
a whole model's JSON (`tf_keras.layers.serialize(...)`, a `.keras` archive's `config.json`). Both write
`module` and `registered_name` keys, so those alone do not tell. What does (compared on tf-keras 2.21's
and Keras 3.15's output):

- module paths: tf-keras's models live in `tf_keras.src.engine.*` (2.13-2.15: `keras.src.engine.*`),
  Keras 3's in `keras.src.models.*`;
- `InputLayer`: tf-keras writes `batch_input_shape`, Keras 3 `batch_shape`;
- call nodes: tf-keras keeps Keras 2's lists `[["dense", 0, 0, {}]]`, Keras 3 writes
  `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` entries;
- dtypes: Keras 3 (3.6 on) writes a layer's dtype as a `DTypePolicy` dict, tf-keras as a name (or a
  mixed-precision `Policy` dict).

The first of these found (the root first, then breadth-first) decides. Failing them, a layer config
whose dtype is a plain name is read as tf-keras's (Keras 3 before 3.6 wrote names too: pass its
`keras_version` to `writer_scope` for such a config); a config with none of this, as Keras 3's.

Example:
    >>> written_by_keras3({"module": "keras.layers", "class_name": "Dense", "config": {"dtype": "float32"}})
    False
"""

from __future__ import annotations

from collections import deque

_KERAS3_POLICIES = (
    "DTypePolicy",
    "FloatDTypePolicy",
    "QuantizedDTypePolicy",
    "QuantizedFloat8DTypePolicy",
    "GPTQDTypePolicy",
    "DTypePolicyMap",
)
_LIMIT = 10_000  # dicts looked at, at most: a config's first layers settle it


def written_by_keras3(config) -> bool:
    """True if `config` (a dict with Keras 3-style `module` keys) was written by Keras 3, False if by tf-keras.

    A config without a root `module` key is Keras 1/2's form: False.

    Example:
        >>> written_by_keras3({"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [3]}})
        True
    """
    if not isinstance(config, dict) or "module" not in config:
        return False
    weak = None
    queue, seen = deque([config]), 0
    while queue and seen < _LIMIT:
        item = queue.popleft()
        if isinstance(item, list):
            queue.extend(v for v in item if isinstance(v, (dict, list)))
            continue
        seen += 1
        verdict, hint = _markers(item)
        if verdict is not None:
            return verdict
        weak = hint if weak is None else weak
        queue.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return True if weak is None else weak


def _markers(entry: dict) -> tuple:
    """(a definite verdict or None, a weak hint or None) from one dict of the config."""
    module = entry.get("module")
    if isinstance(module, str):
        if module.startswith("tf_keras") or ".engine." in module:
            return False, None
        if module.startswith("keras.src.models"):
            return True, None
    if entry.get("class_name") == "__keras_tensor__":
        return True, None
    nodes = entry.get("inbound_nodes")
    if isinstance(nodes, list) and nodes:
        return isinstance(nodes[0], dict) and "args" in nodes[0], None
    config = entry.get("config")
    if not isinstance(config, dict) or "class_name" not in entry:
        return None, None
    if entry["class_name"] == "InputLayer":
        if "batch_input_shape" in config:
            return False, None
        return (True, None) if "batch_shape" in config else (None, None)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        name = dtype.get("class_name")
        if name in _KERAS3_POLICIES:
            return True, None
        if name == "Policy":
            return False, None
    if isinstance(dtype, str) and "module" in entry:
        return None, False
    return None, None
