"""`model.summary()`: the Keras table of layers, output shapes and parameter counts."""

from __future__ import annotations

import math


def _count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def _shape_text(layer) -> str:
    if len(layer._inbound_nodes) > 1:
        return "multiple"
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError):
        return "?"
    if isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    return str(shape)


def _connections(model, layer) -> str:
    names = []
    for node in layer._inbound_nodes:
        for tensor in node.input_tensors:
            if tensor._keras_history is not None:
                source, node_index, tensor_index = tensor._keras_history
                names.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(names)


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Prints `model`'s summary through `print_fn` (default `print`)."""
    print_fn = print_fn or print
    from lamina.models.sequential import Sequential

    graph = not isinstance(model, Sequential) and hasattr(model, "_nodes")
    line_length = line_length or (98 if graph else 65)
    positions = positions or ([0.33, 0.55, 0.67, 1.0] if graph else [0.45, 0.85, 1.0])
    stops = [int(line_length * p) if p <= 1 else int(p) for p in positions]
    headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"][: len(stops)]

    def row(fields):
        line = ""
        for text, stop in zip(fields, stops):
            line = (line + " " + str(text))[:stop].ljust(stop)
        print_fn(line.rstrip())

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(headers)
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        params = _count(layer.weights) if layer.built else 0
        fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
        if graph:
            fields.append(_connections(model, layer))
        row(fields)
        print_fn("=" * line_length if i == len(layers) - 1 else "_" * line_length)
    if not layers:
        print_fn("=" * line_length)
    trainable = _count(model.trainable_weights)
    total = _count(model.weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)
