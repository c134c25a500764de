"""`plot_model` and `model_to_dot`: a model's layer graph drawn with pydot and Graphviz, as Keras 2 drew it.

The drawing follows Keras 2 (`keras.utils.vis_utils`): one record-shaped box per layer, with the
node id `str(id(layer))` and the label `"name: ClassName"` (`"ClassName"` without layer names), the
`input:`/`output:` shape table under it with `show_shapes`, and the default `dpi=96`. A Sequential model
is drawn with its input layer first, as Keras 2 did (Keras 3 leaves it out). Edges follow the calls of
the model's graph: a shared layer is one box with an edge from each of its callers, and a nested model
is one box, or with `expand_nested` a dashed cluster of its own layers wired to its inputs and outputs.

Writing a file needs the `dot` program of Graphviz, except for a `.dot` file (the graph source).
Without pydot or Graphviz, `plot_model` raises `ImportError` naming what to install, as Keras 3 does
outside notebooks; inside IPython it prints that message and returns None instead, as Keras does, so a
notebook keeps running.

Example:
    >>> dot = model_to_dot(model, show_shapes=True)
    >>> plot_model(model, to_file="model.png", show_shapes=True)
    >>> plot_model(model, to_file="model.dot")  # needs pydot only
"""

from __future__ import annotations

import os
import shutil
import sys

try:
    import pydot
except ImportError:  # the `plot` extra: pip install pydot
    pydot = None

_PYDOT_MISSING = "You must install pydot (`pip install pydot`, or `pip install lamina[plot]`) for {} to work."
_GRAPHVIZ_MISSING = (
    "You must install Graphviz, whose `dot` program draws the graph, for plot_model to write {!r}: "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), or see "
    "https://graphviz.org/download/. Writing a .dot file needs no Graphviz."
)
_IMAGE_FORMATS = ("png", "jpg", "jpeg", "gif")


def check_pydot() -> bool:
    """Whether pydot can be imported.

    Example:
        >>> check_pydot()
        True
    """
    return pydot is not None


def check_graphviz() -> bool:
    """Whether Graphviz's `dot` program is on the PATH (and pydot is installed).

    Example:
        >>> if not check_graphviz():
        ...     plot_model(model, to_file="model.dot")  # the graph source, drawn later with `dot -Tpng`
    """
    return check_pydot() and shutil.which("dot") is not None


# ------------------------------------------------------------------ labels
def _escape(text) -> str:
    """`text` with the characters that structure a Graphviz record label escaped."""
    text = str(text)
    for char in "\\{}|<>":
        text = text.replace(char, "\\" + char)
    return text


def _one_shape(values: list) -> str:
    """The text of the shapes a layer's calls saw: the shape if they all agree, else `multiple`."""
    distinct = []
    for value in values:
        if value not in distinct:
            distinct.append(value)
    return str(distinct[0]) if len(distinct) == 1 else "multiple"


def _shapes_of(tensors: list):
    shapes = [tuple(tensor.shape) for tensor in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def _shape_texts(layer) -> tuple:
    """(input shape, output shape) texts for the label, as Keras 2's `layer.input_shape`/`output_shape`."""
    nodes = layer._inbound_nodes
    if not nodes:
        return "?", "?"
    outputs = _one_shape([_shapes_of(node.output_tensors) for node in nodes])
    if not any(node.input_tensors for node in nodes):  # an InputLayer: what it takes is what it gives
        return outputs, outputs
    return _one_shape([_shapes_of(node.input_tensors) for node in nodes]), outputs


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(activation)


def _names(layer) -> tuple:
    """(name, class name), with a wrapper's inner layer in brackets: `td(dense): TimeDistributed(Dense)`."""
    from lamina.layers.layer import Layer

    name, class_name = layer.name, type(layer).__name__
    inner = getattr(layer, "layer", None)
    inner_name = getattr(inner, "name", None)
    forward = getattr(layer, "forward_layer", None)
    if not isinstance(inner, Layer) and isinstance(forward, Layer):  # Bidirectional keeps copies, named forward_*
        inner, inner_name = forward, forward.name.removeprefix("forward_")
    if isinstance(inner, Layer):
        name, class_name = f"{name}({inner_name})", f"{class_name}({type(inner).__name__})"
    return name, class_name


def layer_label(layer, show_shapes=False, show_dtype=False, show_layer_names=True, activations=False, trainable=False):
    """The Graphviz record label of `layer`'s box, as Keras 2 wrote it.

    Example:
        >>> layer_label(Dense(4, name="dense"))
        'dense: Dense'
    """
    name, class_name = _names(layer)
    label = f"{_escape(name)}: {_escape(class_name)}" if show_layer_names else _escape(class_name)
    activation = _activation_name(layer) if activations else None
    if activation is not None:
        label = f"{{{label}|{_escape(activation)}}}"
    if show_dtype:
        label = f"{label}|{_escape(layer.dtype or '?')}"
    if show_shapes:
        inputs, outputs = _shape_texts(layer)
        label = f"{label}\n|{{input:|output:}}|{{{{{_escape(inputs)}}}|{{{_escape(outputs)}}}}}"
    if trainable:
        label = f"{'T' if layer.trainable else 'NT'}|{label}"
    return label


# ------------------------------------------------------------------- graph
def _kind(layer) -> str | None:
    """The kind of graph `layer` has: "functional", "sequential", or None (a layer, or a subclassed model)."""
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    if isinstance(layer, Sequential):
        return "sequential"
    return "functional" if isinstance(layer, Functional) else None


def _drawn_layers(model) -> list:
    """The boxes of `model`, in order: its layers, and a Sequential's input layer first (as Keras 2)."""
    layers = list(model.layers)
    if _kind(model) == "sequential" and model._input_layer is not None:
        layers.insert(0, model._input_layer)
    return layers


def _own_nodes(model, layer) -> list:
    """The calls of `layer` that are part of `model`'s graph."""
    if _kind(model) == "functional":
        own = {id(node) for node in model._nodes}
        return [node for node in layer._inbound_nodes if id(node) in own]
    chain = {id(t._keras_history[0]._inbound_nodes[t._keras_history[1]]) for t in model._chain}
    return [node for node in layer._inbound_nodes if id(node) in chain]


def _edge_ends(source, tensor_index: int, destination, input_index: int, expand_nested: bool) -> tuple:
    """The boxes an edge joins: a nested model's output layer or input box when it is drawn expanded."""
    while expand_nested and _kind(source) is not None:
        history = source.outputs[tensor_index]._keras_history
        source, tensor_index = history[0], history[2]
    while expand_nested and _kind(destination) is not None:
        if _kind(destination) == "functional":
            destination = destination.inputs[input_index]._keras_history[0]
            input_index = 0
        else:
            destination = _drawn_layers(destination)[0]
    return source, destination


def _graph(model, subgraph: bool, rankdir: str, dpi):
    if subgraph:
        return pydot.Cluster(graph_name=model.name, style="dashed", label=model.name, labeljust="l")
    dot = pydot.Dot(graph_type="digraph")
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set_node_defaults(shape="record")
    return dot


def _check_arguments(rankdir, layer_range) -> None:
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(
            f'model_to_dot: rankdir must be "TB" (top to bottom) or "LR" (left to right), got {rankdir!r}.'
        )
    if layer_range is not None and (
        not isinstance(layer_range, (list, tuple))
        or len(layer_range) != 2
        or not all(isinstance(n, str) for n in layer_range)
    ):
        raise ValueError(f"model_to_dot: layer_range must be two layer names (or patterns), got {layer_range!r}.")


def model_to_dot(
    model,
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=96,
    subgraph=False,
    layer_range=None,
    show_layer_activations=False,
    show_trainable=False,
):
    """The graph of `model`'s layers as a `pydot.Dot` (or a `pydot.Cluster` with `subgraph=True`).

    Args:
        model: a built model.
        show_shapes: add each layer's input and output shapes (`multiple` where its calls differ).
        show_dtype: add each layer's dtype.
        show_layer_names: label boxes `"name: ClassName"` rather than `"ClassName"`.
        rankdir: `"TB"` draws top to bottom, `"LR"` left to right (also `"BT"`, `"RL"`).
        expand_nested: draw nested models as clusters of their layers instead of one box.
        dpi: the resolution of images drawn from the graph.
        subgraph: return a dashed `pydot.Cluster` named after the model (what `expand_nested` nests).
        layer_range: two layer names or regular expressions: draw only the layers from the first
            match of the first to the last match of the second (of the boxes, in order).
        show_layer_activations: add the activation of layers that have one.
        show_trainable: add `T` (trainable) or `NT` to each box.

    Returns:
        The pydot graph; `.to_string()` gives its Graphviz source.

    Raises:
        ImportError: pydot is not installed.
        ValueError: the model is not built, or an argument is out of range.

    Example:
        >>> print(model_to_dot(model).to_string())
    """
    if not check_pydot():
        raise ImportError(_PYDOT_MISSING.format("model_to_dot"))
    if not model.built:
        raise ValueError(
            f'Model "{model.name}" has not yet been built. Build it first by calling `build()` or by calling '
            "it on a batch of data."
        )
    _check_arguments(rankdir, layer_range)
    dot = _graph(model, subgraph, rankdir, dpi)
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names)
    options.update(activations=show_layer_activations, trainable=show_trainable)
    if _kind(model) is None:  # a subclassed model has no graph to show: one box
        dot.add_node(pydot.Node(str(id(model)), label=layer_label(model, **options)))
        return dot
    layers = _drawn_layers(model)
    if layer_range is not None:
        from lamina.models.summary import _layer_range

        start, stop = _layer_range(_Named(layers), layer_range)
        layers = layers[start:stop]
    nested = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names, rankdir=rankdir)
    nested.update(show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    drawn = {id(layer) for layer in layers}
    for layer in layers:
        if expand_nested and _kind(layer) is not None:
            dot.add_subgraph(model_to_dot(layer, expand_nested=True, dpi=dpi, subgraph=True, **nested))
            drawn.update(_inner_ids(layer))
        else:
            dot.add_node(pydot.Node(str(id(layer)), label=layer_label(layer, **options)))
    _add_edges(dot, model, layers, drawn, expand_nested)
    return dot


class _Named:
    """A stand-in with `.layers`, for the layer-range lookup over the boxes drawn."""

    def __init__(self, layers):
        self.layers = layers


def _inner_ids(model) -> set:
    """The ids of every box inside an expanded model, nested ones included."""
    found = set()
    for layer in _drawn_layers(model):
        found.add(id(layer))
        if _kind(layer) is not None:
            found |= _inner_ids(layer)
    return found


def _add_edges(dot, model, layers: list, drawn: set, expand_nested: bool) -> None:
    """An edge from the layer that made each input of each call in `model`'s graph to the layer called."""
    added = set()
    for layer in layers:
        for node in _own_nodes(model, layer):
            for input_index, tensor in enumerate(node.input_tensors):
                if tensor._keras_history is None:
                    continue
                producer, _, tensor_index = tensor._keras_history
                source, destination = _edge_ends(producer, tensor_index, layer, input_index, expand_nested)
                key = (str(id(source)), str(id(destination)))
                if key not in added and id(source) in drawn and id(destination) in drawn:
                    added.add(key)
                    dot.add_edge(pydot.Edge(*key))


# -------------------------------------------------------------------- files
def _in_notebook() -> bool:
    return "IPython.core.magics.namespace" in sys.modules


def _format_of(to_file: str) -> str:
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    known = sorted(pydot.Dot().formats | {"dot"})
    if extension not in known:
        raise ValueError(f"plot_model: cannot write {to_file!r}: unknown format {extension!r}; use one of {known}.")
    return extension


def _render(dot, to_file: str, extension: str) -> bytes:
    """The bytes of the file: the graph source for .dot, else what Graphviz's `dot` draws."""
    if extension == "dot":
        return dot.to_string().encode("utf-8")
    if shutil.which("dot") is None:
        raise FileNotFoundError(_GRAPHVIZ_MISSING.format(to_file))
    return dot.create(prog="dot", format=extension)


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=96,
    layer_range=None,
    show_layer_activations=False,
    show_trainable=False,
):
    """Draws `model`'s layer graph into `to_file`; the extension picks the format (png, svg, pdf, dot, ...).

    Takes the arguments of `model_to_dot`. A name without an extension is written as PNG. A `.dot` file
    is the graph's source and needs pydot only; other formats need Graphviz's `dot` program. The file is
    written to a temporary name and then moved into place, so a failure leaves an older file intact.

    Returns:
        An `IPython.display.Image` of the file when IPython is installed and the format is an image,
        else None.

    Raises:
        ImportError: pydot or Graphviz is not installed (outside IPython, where it prints the message instead).
        ValueError: the model is not built, or the extension names no format Graphviz writes.

    Example:
        >>> plot_model(model, to_file="model.png", show_shapes=True, rankdir="LR")
    """
    to_file = os.fspath(to_file)
    try:
        if not check_pydot():
            raise ImportError(_PYDOT_MISSING.format("plot_model"))
        extension = _format_of(to_file)
        dot = model_to_dot(
            model, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
            layer_range=layer_range, show_layer_activations=show_layer_activations, show_trainable=show_trainable,
        )  # fmt: skip
        try:
            data = _render(dot, to_file, extension)
        except FileNotFoundError as error:  # no `dot` program: pydot says so with FileNotFoundError
            raise ImportError(_GRAPHVIZ_MISSING.format(to_file)) from error
    except ImportError as error:
        if not _in_notebook():
            raise
        print(error)
        return None
    from lamina.saving.hdf5 import atomic_path

    with atomic_path(to_file) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return _image(to_file, extension)


def _image(to_file: str, extension: str):
    if extension not in _IMAGE_FORMATS:
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.Image(filename=to_file)
