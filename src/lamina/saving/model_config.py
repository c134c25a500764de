"""Models from configs: Sequential and functional graphs, JSON and YAML (DESIGN rules 8 and 9).

Both Keras 2 and Keras 3 model configs are read. A functional layer's inbound
nodes are Keras 2's `[[["name", node_index, tensor_index, {kwargs}], ...], ...]`
(tensors among the kwargs as `["name", node_index, tensor_index]`)
or Keras 3's `[{"args": [...], "kwargs": {...}}, ...]` with tensors written as
`{"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}`.

Example:
    >>> text = model.to_json()
    >>> same = model_from_json(text)
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

from lamina.saving.serialization import (
    deserialize_layer,
    reading_keras3,
    reading_lamina_file,
    safe_mode_scope,
    serialize_layer,
    writer_scope,
)

KERAS_VERSION = "2.15.0"  # the Keras API version lamina's files follow


# ------------------------------------------------------------------- Sequential
def sequential_from_config(cls, config, custom_objects=None):
    """A Sequential model from Keras 2's `{"name", "layers"}` (a leading InputLayer optional) or Keras 3's config."""
    if isinstance(config, list):  # Keras 1 / early Keras 2 wrote the bare list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(f"A Sequential config needs a 'layers' list, got {str(config)[:200]}.")
    model = cls(name=config.get("name"))
    for index, entry in enumerate(config["layers"]):
        try:
            layer = deserialize_layer(entry, custom_objects)
        except (TypeError, ValueError) as error:
            raise type(error)(f"Sequential model {config.get('name')!r}, layer {index}: {error}") from error
        model.add(layer)
    shape = config.get("build_input_shape")
    if not model.built and shape is not None and model.layers:
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


# ------------------------------------------------------------------- functional
_CONSTANT = "_CONSTANT_VALUE"  # Keras 2's first-argument entry for a constant: [_CONSTANT, -1, value, kwargs]


def _is_tensor_ref(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _is_keras2_ref(value) -> bool:
    """Keras 2's tensor reference inside call keywords: `[layer name, node index, tensor index]`."""
    return (
        isinstance(value, (list, tuple))
        and (len(value) == 3 or (len(value) == 4 and isinstance(value[3], dict)))
        and isinstance(value[0], str)
        and value[0] != _CONSTANT
        and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:3])
    )


def _history(item) -> tuple:
    history = item.get("config", {}).get("keras_history")
    if not isinstance(history, (list, tuple)) or len(history) < 3:
        raise ValueError(f"A saved tensor argument has no usable keras_history: {str(item)[:200]}.")
    return history[0], int(history[1]), int(history[2])


def _walk_refs(item, keras2: bool, found: list) -> list:
    """Collects every tensor reference in a saved call argument (Keras 2's lists too when `keras2`)."""
    if _is_tensor_ref(item):
        found.append(_history(item))
    elif keras2 and _is_keras2_ref(item):
        found.append((item[0], int(item[1]), int(item[2])))
    elif isinstance(item, (list, tuple)):
        for sub in item:
            _walk_refs(sub, keras2, found)
    elif isinstance(item, dict):
        for sub in item.values():
            _walk_refs(sub, keras2, found)
    return found


def _keras2_kwargs(node: list) -> dict:
    """The call keywords of a Keras 2 node: each entry repeats them; Keras reads the last one."""
    for entry in reversed(node):
        if len(entry) > 3 and isinstance(entry[3], dict):
            return entry[3]
    return {}


def _bare_ref(node) -> bool:
    """tf.keras writes a TFOpLambda's node on one tensor as the bare `[name, node, tensor, kwargs]`."""
    return (
        isinstance(node, list)
        and bool(node)
        and isinstance(node[0], str)
        and (_is_keras2_ref(node) or (node[0] == _CONSTANT and len(node) >= 3))
    )


def _node_refs(node) -> list:
    """Every (layer name, node index, tensor index) a saved node reads, keyword arguments included."""
    if _bare_ref(node):
        node = [node]
    if isinstance(node, dict):
        return _walk_refs([node.get("args", []), node.get("kwargs", {})], False, [])
    if not isinstance(node, list) or not all(isinstance(e, (list, tuple)) and len(e) >= 3 for e in node):
        expected = "a dict or a list of [layer, node, tensor, kwargs]"
        raise ValueError(f"A saved inbound node must be {expected}, got {node!r:.150}.")
    first = [(e[0], int(e[1]), int(e[2])) for e in node if e[0] != _CONSTANT]
    return first + _walk_refs(_keras2_kwargs(node), True, [])


class _Graph:
    """The tensors made so far while re-creating a functional model."""

    def __init__(self, configs: list):
        # Saved node indices may skip numbers (nodes outside the model); the k-th smallest is the k-th call.
        self.indices: dict = {}
        for entry in configs:
            for node in entry.get("inbound_nodes") or []:
                for name, node_index, _ in _node_refs(node):
                    self.indices.setdefault(name, set()).add(node_index)
        self.made: dict = {}  # layer name -> list of flat outputs, one per call

    def tensor(self, name, node_index, tensor_index):
        rank = sorted(self.indices.get(name, {node_index}) | {node_index}).index(node_index)
        calls = self.made.get(name, [])
        if rank >= len(calls) or tensor_index >= len(calls[rank]):
            return None
        return calls[rank][tensor_index]

    def ready(self, node) -> bool:
        return all(self.tensor(*ref) is not None for ref in _node_refs(node))

    def resolve(self, item, keras2: bool = False):
        """A saved call argument with its tensor references replaced by the tensors made so far."""
        if _is_tensor_ref(item):
            return self.tensor(*_history(item))
        if keras2 and _is_keras2_ref(item):
            return self.tensor(item[0], int(item[1]), int(item[2]))
        if isinstance(item, dict) and item.get("class_name") == "__tuple__":  # Keras 3 writes tuples so
            return tuple(self.resolve(sub) for sub in item.get("config", {}).get("value", []))
        if isinstance(item, list):
            return [self.resolve(sub, keras2) for sub in item]
        if isinstance(item, dict):
            return {key: self.resolve(sub, keras2) for key, sub in item.items()}
        return item


def _call_node(layer, node, graph: _Graph):
    """Calls `layer` as the saved node says; the flat list of its outputs."""
    from lamina.layers.masking_flow import no_mask
    from lamina.utils import nest

    if isinstance(node, dict):
        args = graph.resolve(list(node.get("args", [])))
        kwargs = graph.resolve(dict(node.get("kwargs", {})))
        # Keras 3 records the `training` value it resolved while building (a signature default:
        # False for Dropout, True for augmentation layers) and lets the model's own `training`
        # override it when run; dropping it here gives that behaviour. lamina's own files record
        # only a `training` the user passed, which stays (Keras 2's `base(x, training=False)`).
        if reading_keras3() and not reading_lamina_file():
            kwargs.pop("training", None)
    else:
        node = [node] if _bare_ref(node) else node
        first = [e[2] if e[0] == _CONSTANT else graph.tensor(e[0], int(e[1]), int(e[2])) for e in node]
        args = [first[0] if len(first) == 1 else first]
        kwargs = graph.resolve(dict(_keras2_kwargs(node)), keras2=True)
    # Keras 3 writes the masks it passed itself (None when the input had none); a real mask tensor is kept.
    kwargs = {k: v for k, v in kwargs.items() if v is not None and not (k == "mask" and no_mask(v))}
    return nest.flatten(layer(*args, **kwargs))


def _refs_structure(value, graph: _Graph, what: str):
    """`input_layers`/`output_layers` as tensors: one ref, a list of refs, or a dict of refs."""

    def one(ref):
        tensor = graph.tensor(ref[0], int(ref[1]), int(ref[2]))
        if tensor is None:
            raise ValueError(f"The model config's {what} names {ref[0]!r} (node {ref[1]}), which is not in the graph.")
        return tensor

    if isinstance(value, dict):
        return {key: one(ref) for key, ref in value.items()}
    if value and isinstance(value[0], str):
        return one(value)
    tensors = [one(ref) for ref in value]
    return tensors[0] if len(tensors) == 1 else tensors


def functional_from_config(cls, config: dict, custom_objects=None):
    """A functional model from its config: layers with inbound nodes, input and output references."""
    from lamina.layers.core.input_layer import InputLayer

    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(f"A functional model config needs {key!r}; it has {sorted(config)}.")
    graph = _Graph(config["layers"])
    pending = []
    for entry in config["layers"]:
        try:
            layer = deserialize_layer(entry, custom_objects)
        except (TypeError, ValueError) as error:
            raise type(error)(f"Model {config.get('name')!r}, layer {entry.get('name')!r}: {error}") from error
        name = entry.get("name") or layer.name
        if isinstance(layer, InputLayer):
            graph.made[name] = [[layer.output]]
        pending.append((name, layer, list(entry.get("inbound_nodes") or [])))
    added_losses = []  # tf.keras's AddLoss layers: their inputs go to the model's add_loss
    while any(nodes for _, _, nodes in pending):
        progress = False
        for name, layer, nodes in pending:
            while nodes and graph.ready(nodes[0]):
                made = _call_node(layer, nodes.pop(0), graph)
                graph.made.setdefault(name, []).append(made)
                if type(layer).__name__ == "AddLoss":
                    added_losses.extend(made)
                progress = True
        if not progress:
            stuck = [(name, _node_refs(nodes[0])) for name, _, nodes in pending if nodes]
            raise ValueError(f"The model config's graph cannot be built: these layers wait for missing inputs {stuck}.")
    inputs = _refs_structure(config["input_layers"], graph, "input_layers")
    outputs = _refs_structure(config["output_layers"], graph, "output_layers")
    from lamina.models.functional import Functional

    target = cls if isinstance(cls, type) and issubclass(cls, Functional) else Functional
    model = target(inputs=inputs, outputs=outputs, name=config.get("name"))
    if config.get("added_losses"):
        model.add_loss(_refs_structure(config["added_losses"], graph, "added_losses"))
    if added_losses:
        model.add_loss(added_losses)
    if config.get("trainable") is False:
        model.trainable = False
    return model


# ---------------------------------------------------------------- JSON and YAML
def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"Cannot write {type(value).__name__} {value!r:.100} into a model config.")


def model_to_dict(model) -> dict:
    """`{"class_name", "config", "keras_version", "backend"}` for a model, with plain JSON types only."""
    from lamina import backend

    payload = {**serialize_layer(model), "keras_version": KERAS_VERSION, "backend": backend.backend()}
    return json.loads(json.dumps(payload, default=_plain))


def to_json(model, **kwargs) -> str:
    """The model's architecture as a JSON string (Keras 2 form); kwargs go to `json.dumps`."""
    return json.dumps(model_to_dict(model), default=_plain, **kwargs)


def model_from_config(config: dict, custom_objects=None, safe_mode: bool | None = None):
    """A model from `{"class_name", "config"}`.

    `safe_mode` (here and in `model_from_json`, `model_from_yaml`, `load_model`): True refuses
    Lambda layers' stored code, False loads it; None, the default, follows an enclosing
    `safe_mode_scope` and is safe outside one. An explicit argument wins over the scope
    (Keras 3, which cannot tell an explicit True from its default, lets the scope win).

    Example:
        >>> model_from_config({"class_name": "Sequential", "config": {"name": "s", "layers": []}})
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"model_from_config expects {{'class_name': ..., 'config': ...}}, got {type(config).__name__} "
            f"{str(config)[:200]}. (To build a layer from its own config dict, use Layer.from_config.)"
        )
    mode = contextlib.nullcontext() if safe_mode is None else safe_mode_scope(safe_mode)
    with mode, writer_scope(config=config):
        return deserialize_layer(config, custom_objects)


def model_from_json(json_string: str, custom_objects=None, safe_mode: bool | None = None):
    """A model (new weights) from `model.to_json()`'s output, or a Keras 2/3 JSON file's text.

    Example:
        >>> model = model_from_json(json_string, custom_objects={"AttentionLayer": AttentionLayer})
    """
    from lamina.saving import file_limits

    if not isinstance(json_string, (str, bytes, bytearray)):
        raise ValueError(f"model_from_json: the text is not valid JSON (got {type(json_string).__name__}).")
    config = file_limits.load_json(json_string, "model_from_json: the text")  # size and nesting checked first
    return model_from_config(config, custom_objects, safe_mode)


def to_yaml(model, **kwargs) -> str:
    """The model's architecture as YAML (PyYAML's safe_dump); kwargs go to `yaml.safe_dump`."""
    import yaml

    return yaml.safe_dump(model_to_dict(model), **kwargs)


def model_from_yaml(yaml_string: str, custom_objects=None, safe_mode: bool | None = None):
    """A model from `model.to_yaml()`'s output, read with `yaml.safe_load` only (DESIGN rule 9).

    Example:
        >>> model = model_from_yaml(yaml_string)
    """
    from lamina.saving import file_limits

    config = file_limits.load_yaml(yaml_string, "model_from_yaml: the text")  # nesting checked before parsing
    return model_from_config(config, custom_objects, safe_mode)
