"""`model.summary()`: the table of layers, output shapes and parameter counts, as tf.keras 2.x prints it.

The layout is tf-keras 2.21's (the Keras 2 that ships with TensorFlow 2.16 and
later): blank lines between layers, text that does not fit a column wrapped
onto the following lines (never cut), `Connected to` for graphs that are not a
plain chain, and parameter counts with their memory size (`Total params: 161
(644.00 Byte)`).
"""

from __future__ import annotations

import math
import re

import numpy as np

# Text in a cell is broken after one of these, so lists and tuples wrap at their items.
_BREAK_AFTER = ("),", "},", "],", "',")
_MEMORY_UNITS = ("Byte", "KB", "MB", "GB", "TB", "PB")


class _Table:
    """Column stops, headers and the `print_fn` of one summary; prints rows with nesting bars."""

    def __init__(self, line_length, positions, headers, print_fn):
        self.line_length = line_length
        self.positions = positions
        self.headers = headers
        self.print_fn = print_fn

    def row(self, fields, nested_level: int = 0) -> None:
        """Prints `fields` in the columns, as many lines as the longest needs."""
        left = [str(field) for field in fields]
        while any(left):
            line = ""
            for col, stop in enumerate(self.positions):
                last = col == len(self.positions) - 1
                space = 0 if last else 2
                width = stop - (self.positions[col - 1] if col else 0) - space - (0 if last else 1)
                if col == 0:
                    width -= nested_level
                    line += "|" * nested_level + " "
                piece = _fitting_piece(left[col], max(width, 1))
                line += piece + " " * space
                left[col] = left[col][len(piece) :]
                pad_to = stop - nested_level if nested_level and last else stop
                line += " " * (pad_to - len(line))
            self.print_fn(line + "|" * nested_level)

    def rule(self, char: str, nested_level: int = 0, inner: bool = False) -> None:
        """A full-width line of `char`, inside `nested_level` bars (one more bar each side when `inner`)."""
        bars = nested_level + (1 if inner else 0)
        self.print_fn("|" * bars + char * (self.line_length - 2 * bars) + "|" * bars)


def _fitting_piece(text: str, width: int) -> str:
    """The start of `text` that goes on this line: `width` characters, or up to the first item break."""
    piece = text[:width]
    breaks = [piece.find(mark) + len(mark) for mark in _BREAK_AFTER if piece.find(mark) >= 0]
    return piece[: min(breaks)] if breaks else piece


def _count(weights) -> int:
    unique = {id(w): w for w in weights}.values()
    return int(sum(math.prod(d or 0 for d in w.shape) for w in unique))


def _dtype_size(dtype) -> int:
    try:
        return np.dtype(str(dtype)).itemsize
    except TypeError:  # bfloat16 & co: the bits are in the name
        bits = re.findall(r"\d+", str(dtype))
        return int(bits[-1]) // 8 if bits else 4


def _memory(weights) -> int:
    unique = {id(w): w for w in weights}.values()
    return int(sum(math.prod(w.shape) * _dtype_size(w.dtype) for w in unique if None not in tuple(w.shape)))


def readable_memory_size(size: float) -> str:
    """Bytes as Keras prints them: `644.00 Byte`, `39.06 KB`, `7.64 MB`.

    Example:
        >>> readable_memory_size(40000)
        '39.06 KB'
    """
    for unit in _MEMORY_UNITS:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {_MEMORY_UNITS[-1]}"


def _shape_text(layer):
    """The layer's output shape; `multiple` when its calls disagree or it was never called on symbolic input."""
    from lamina.layers.core.input_layer import InputLayer
    from lamina.utils import nest

    shapes = []
    for node in layer._inbound_nodes:
        shape = nest.map_structure(lambda t: tuple(t.shape), node.outputs)
        if shape not in shapes:
            shapes.append(shape)
    if len(shapes) != 1:
        return "multiple"
    # tf.keras 2.x shows an InputLayer's output as a one-item list: [(None, 4)].
    return [shapes[0]] if isinstance(layer, InputLayer) else shapes[0]


def _graph_nodes(model) -> list | None:
    """Every node of a functional model's graph (Input nodes included), or None for other models."""
    outputs = getattr(model, "_output_tensors", None)
    if getattr(model, "_nodes", None) is None or outputs is None:
        return None
    found, stack = {}, [t._keras_history for t in outputs if t._keras_history is not None]
    stack = [layer._inbound_nodes[index] for layer, index, _ in stack]
    while stack:
        node = stack.pop()
        if id(node) not in found:
            found[id(node)] = node
            stack.extend(node.parent_nodes)
    return list(found.values())


def _is_chain(nodes: list) -> bool:
    """tf.keras's test for a graph it prints like a Sequential: one node per depth, no merges, no sharing."""
    depth = {}
    for node in _sorted_from_outputs(nodes):
        for parent in node.parent_nodes:
            depth[id(parent)] = max(depth.get(id(parent), 0), depth.get(id(node), 0) + 1)
    per_depth = {}
    for node in nodes:
        per_depth.setdefault(depth.get(id(node), 0), []).append(node)
    if any(len(group) > 1 or len(group[0].input_tensors) > 1 for group in per_depth.values()):
        return False
    layers = [id(node.layer) for node in nodes]
    return len(layers) == len(set(layers))


def _sorted_from_outputs(nodes: list) -> list:
    """`nodes` with each one before the nodes it depends on (so depths flow from outputs to inputs)."""
    order, done = [], set()

    def visit(node):
        if id(node) in done:
            return
        done.add(id(node))
        for parent in node.parent_nodes:
            visit(parent)
        order.append(node)

    for node in nodes:
        visit(node)
    return order[::-1]


def _connections(layer, relevant: set) -> list:
    names = []
    for node in layer._inbound_nodes:
        if relevant and id(node) not in relevant:
            continue  # a call outside this model
        for tensor in node.input_tensors:
            if tensor._keras_history is not None:
                source, node_index, tensor_index = tensor._keras_history
                names.append(f"{source.name}[{node_index}][{tensor_index}]")
    return names


def _layer_range(model, layer_range) -> tuple:
    if layer_range is None:
        return 0, len(model.layers)
    if len(layer_range) != 2:
        raise ValueError(
            f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
            f"of length {len(layer_range)}"
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    names = [layer.name for layer in model.layers]
    lower = [i for i, name in enumerate(names) if re.match(layer_range[0], name)]
    upper = [i for i, name in enumerate(names) if re.match(layer_range[1], name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _layout(chain: bool, line_length, positions, show_trainable: bool):
    """(line_length, column stops, headers) with tf.keras's defaults for a chain or a graph."""
    headers = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    line_length = line_length or (65 if chain else 98)
    positions = list(positions or ([0.45, 0.85, 1.0] if chain else [0.3, 0.6, 0.7, 1.0]))
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        headers.append("Trainable")
    return line_length, positions, headers


def print_summary(
    model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False, layer_range=None
):
    """Prints `model`'s summary through `print_fn` (default `print`), as tf.keras 2.x does.

    Args:
        model: a built model.
        line_length: the width of the table (default 65, or 98 with `Connected to`).
        positions: where each column ends, as fractions of `line_length` or as
            absolute positions (default `[0.45, 0.85, 1.0]`, or `[0.3, 0.6, 0.7, 1.0]`).
        print_fn: called with each line (default `print`).
        expand_nested: also list the layers inside nested models, framed by `|`.
        show_trainable: add a `Trainable` column (`Y`/`N`).
        layer_range: two names (or regular expressions): list only the layers from
            the first match of the first to the last match of the second.

    Example:
        >>> lines = []
        >>> print_summary(model, print_fn=lines.append)
        >>> lines[0]
        'Model: "sequential"'
    """
    if not model.built:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or by calling "
            "the model on a batch of data."
        )
    nodes = _graph_nodes(model)
    chain = nodes is None or _is_chain(nodes)
    table = _Table(*_layout(chain, line_length, positions, show_trainable), print_fn or print)
    relevant = set() if nodes is None else {id(node) for node in nodes}
    table.print_fn(f'Model: "{model.name}"')
    table.rule("_")
    table.row(table.headers)
    table.rule("=")
    start, stop = _layer_range(model, layer_range)
    for layer in model.layers[start:stop]:
        _print_layer(table, layer, (chain, relevant, expand_nested, show_trainable), 0, False)
    table.rule("=")
    _print_totals(model, table.print_fn)
    table.rule("_")


def _layer_fields(layer, chain: bool, relevant: set, show_trainable: bool) -> list:
    if layer.built:
        params = _count(layer.weights)
    else:
        params = "0 (unused)"  # a layer a subclassed model never called
    fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
    if not chain:
        fields.append(_connections(layer, relevant))
    if show_trainable:
        fields.append("Y" if layer.trainable else "N")
    return fields


def _print_layer(table: _Table, layer, options, nested_level: int, nested_last: bool) -> None:
    chain, relevant, expand_nested, show_trainable = options
    table.row(_layer_fields(layer, chain, relevant, show_trainable), nested_level)
    inner = getattr(layer, "layers", None) if expand_nested else None
    if inner:
        table.rule("¯", nested_level, inner=True)
        for i, sublayer in enumerate(inner):
            _print_layer(table, sublayer, options, nested_level + 1, i == len(inner) - 1)
        table.rule("¯", nested_level)
        nested_last = True  # tf.keras prints no blank line right after a nested block
    if not nested_last:
        table.rule(" ", nested_level)


def _print_totals(model, print_fn) -> None:
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    sizes = _memory(trainable), _memory(non_trainable)
    total = _count(trainable) + _count(non_trainable)
    print_fn(f"Total params: {total} ({readable_memory_size(sizes[0] + sizes[1])})")
    print_fn(f"Trainable params: {_count(trainable)} ({readable_memory_size(sizes[0])})")
    print_fn(f"Non-trainable params: {_count(non_trainable)} ({readable_memory_size(sizes[1])})")
