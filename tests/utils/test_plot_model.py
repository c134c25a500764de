"""lamina.utils.plot_model / model_to_dot: the Graphviz source of a model's layer graph, checked box by box.

Edges are compared twice: with the model's graph written out here, and with what real Keras 3's
`model_to_dot` draws for the same architecture (labels differ: Keras 3 writes HTML tables, lamina Keras 2's
records). The one planned difference: a Sequential model's input box, which Keras 2 draws and Keras 3 does not.
"""

from __future__ import annotations

import os
import shutil
import sys
import types

import pydot
import pytest

import lamina
from lamina import layers
from lamina.utils import model_to_dot, model_visualization, plot_model

# pydot parses dot source with pyparsing names that newer pyparsing deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot")


# ------------------------------------------------------------------ reading the dot source back
def _parse(source: str):
    graphs = pydot.graph_from_dot_data(source)
    assert graphs is not None and len(graphs) == 1, source
    return graphs[0]


def _all_graphs(graph):
    yield graph
    for sub in graph.get_subgraph_list():
        yield from _all_graphs(sub)


def _labels(graph) -> dict:
    """node id -> label, over the graph and its clusters."""
    found = {}
    for part in _all_graphs(graph):
        for node in part.get_node_list():
            if node.get_name() not in ("node", "edge", "graph"):
                found[node.get_name()] = node.get("label").strip('"')
    return found


def _edges(graph, names: dict) -> set:
    """The edges as (source name, destination name), over the graph and its clusters."""
    found = set()
    for part in _all_graphs(graph):
        for edge in part.get_edge_list():
            found.add((names[edge.get_source()], names[edge.get_destination()]))
    return found


def _names_by_id(model) -> dict:
    """str(id(layer)) -> layer name, for every layer (and model) inside `model`, nested ones included."""
    names = {str(id(model)): model.name}
    for layer in list(getattr(model, "_operations", None) or []) + list(model.layers) + _input_layers(model):
        names[str(id(layer))] = layer.name
        if hasattr(layer, "layers"):
            names.update(_names_by_id(layer))
    return names


def _input_layers(model) -> list:
    if isinstance(getattr(model, "_input_layer", None), lamina.layers.InputLayer):
        return [model._input_layer]
    return []


def _keras3_dot_edges(keras3, model, **options) -> set:
    dot = keras3.utils.model_to_dot(model, **options)
    return _edges(_parse(dot.to_string()), _names_by_id(model))


# ------------------------------------------------------------------ the same architectures in both libraries
def _sequential(lib):
    return lib.Sequential(
        [
            lib.Input(shape=(3,), name="seq_in"),
            lib.layers.Dense(4, activation="relu", name="d1"),
            lib.layers.Dense(2, name="d2"),
        ],
        name="seq",
    )


def _two_inputs(lib, name="two"):
    a = lib.Input(shape=(3,), name=f"{name}_a")
    b = lib.Input(shape=(3,), name=f"{name}_b")
    shared = lib.layers.Dense(4, name=f"{name}_shared")
    merged = lib.layers.Concatenate(name=f"{name}_cat")([shared(a), shared(b)])
    out = lib.layers.Dense(1, name=f"{name}_out")(merged)
    aux = lib.layers.Dense(2, name=f"{name}_aux")(shared(a))  # the shared layer's first call, used again
    return lib.Model([a, b], [out, aux], name=name)


def _nested(lib):
    inner = _two_inputs(lib, name="inner")
    x = lib.Input(shape=(3,), name="x")
    y = lib.Input(shape=(3,), name="y")
    out, aux = inner([x, lib.layers.Dense(3, name="pre")(y)])
    total = lib.layers.Concatenate(name="join")([out, aux])
    return lib.Model([x, y], lib.layers.Dense(1, name="head")(total), name="outer")


TWO_INPUT_EDGES = {
    ("two_a", "two_shared"),
    ("two_b", "two_shared"),
    ("two_shared", "two_cat"),
    ("two_cat", "two_out"),
    ("two_shared", "two_aux"),
}
INNER_EDGES = {(s.replace("two_", "inner_"), d.replace("two_", "inner_")) for s, d in TWO_INPUT_EDGES}


# ------------------------------------------------------------------ the graphs
def test_sequential_is_its_chain_with_the_input_box_and_keras2_labels(keras3):
    model = _sequential(lamina)
    graph = _parse(model_to_dot(model, show_shapes=True).to_string())
    d1, d2 = model.layers
    assert graph.get("rankdir") == "TB" and graph.get("dpi") == "96"
    assert _labels(graph) == {
        str(id(model._input_layer)): "seq_in: InputLayer\\n|{input:|output:}|{{(None, 3)}|{(None, 3)}}",
        str(id(d1)): "d1: Dense\\n|{input:|output:}|{{(None, 3)}|{(None, 4)}}",
        str(id(d2)): "d2: Dense\\n|{input:|output:}|{{(None, 4)}|{(None, 2)}}",
    }
    edges = _edges(graph, _names_by_id(model))
    assert edges == {("seq_in", "d1"), ("d1", "d2")}
    # Keras 3 leaves the Sequential's input out; the rest of the chain is the same.
    assert edges == _keras3_dot_edges(keras3, _sequential(keras3)) | {("seq_in", "d1")}


def test_two_inputs_with_a_shared_layer(keras3):
    model = _two_inputs(lamina)
    graph = _parse(model_to_dot(model, show_shapes=True, rankdir="LR").to_string())
    labels = {name: _labels(graph)[str(id(model.get_layer(name)))] for name in ("two_shared", "two_cat", "two_b")}
    assert labels == {
        "two_shared": "two_shared: Dense\\n|{input:|output:}|{{(None, 3)}|{(None, 4)}}",  # three calls, one shape
        "two_cat": "two_cat: Concatenate\\n|{input:|output:}|{{[(None, 4), (None, 4)]}|{(None, 8)}}",
        "two_b": "two_b: InputLayer\\n|{input:|output:}|{{(None, 3)}|{(None, 3)}}",
    }
    assert len(_labels(graph)) == len(model.layers) == 6 and graph.get("rankdir") == "LR"
    edges = _edges(graph, _names_by_id(model))
    assert edges == TWO_INPUT_EDGES
    assert edges == _keras3_dot_edges(keras3, _two_inputs(keras3))
    aux = model.get_layer("two_aux").output
    model.get_layer("two_cat")([aux, aux])  # a call outside the model: aux -> cat is not one of its edges
    assert _edges(_parse(model_to_dot(model).to_string()), _names_by_id(model)) == TWO_INPUT_EDGES


def test_nested_model_as_one_box_or_expanded_into_a_cluster(keras3):
    model, oracle = _nested(lamina), _nested(keras3)
    names = _names_by_id(model)
    flat = _parse(model_to_dot(model).to_string())
    assert _labels(flat)[str(id(model.get_layer("inner")))] == "inner: Functional"
    flat_edges = {("x", "inner"), ("y", "pre"), ("pre", "inner"), ("inner", "join"), ("join", "head")}
    assert _edges(flat, names) == flat_edges == _keras3_dot_edges(keras3, oracle)

    expanded = _parse(model_to_dot(model, expand_nested=True).to_string())
    (cluster,) = expanded.get_subgraph_list()
    assert cluster.get_name() == "cluster_inner" and cluster.get("style") == "dashed"
    inner_ids = {str(id(layer)) for layer in model.get_layer("inner").layers}
    assert set(_labels(cluster)) == inner_ids and not inner_ids & {n.get_name() for n in expanded.get_node_list()}
    edges = _edges(expanded, names)
    wiring = {("x", "inner_a"), ("pre", "inner_b"), ("inner_out", "join"), ("inner_aux", "join")}
    assert edges == INNER_EDGES | wiring | {("y", "pre"), ("join", "head")}
    assert edges == _keras3_dot_edges(keras3, oracle, expand_nested=True)


def test_label_options_wrappers_and_layer_range():
    inputs = lamina.Input(shape=(5, 3), name="seq_x")
    steps = layers.TimeDistributed(layers.Dense(2, activation="tanh", name="inner_dense"), name="td")(inputs)
    frozen = layers.Dense(1, name="frozen")
    both = layers.Bidirectional(layers.LSTM(2, name="lstm"), name="bi")(inputs)
    model = lamina.Model(inputs, [frozen(layers.Flatten(name="flat")(steps)), both])
    frozen.trainable = False
    labels = _labels(
        _parse(model_to_dot(model, show_layer_names=False, show_dtype=True, show_trainable=True).to_string())
    )
    assert labels[str(id(frozen))] == "NT|Dense|float32"
    assert labels[str(id(model.get_layer("td")))] == "T|TimeDistributed(Dense)|float32"
    named = _labels(_parse(model_to_dot(model, show_layer_activations=True).to_string()))
    assert named[str(id(model.get_layer("td")))] == "td(inner_dense): TimeDistributed(Dense)"
    assert named[str(id(frozen))] == "{frozen: Dense|linear}"
    assert named[str(id(model.get_layer("bi")))] == "bi(lstm): Bidirectional(LSTM)"
    part = _parse(model_to_dot(model, layer_range=["td", "flat"]).to_string())
    assert _edges(part, _names_by_id(model)) == {("td", "flat")} and len(_labels(part)) == 2


def test_subclassed_model_is_one_box_and_bad_arguments_are_named():
    class Small(lamina.Model):
        def __init__(self):
            super().__init__(name="small")
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    small = Small()
    with pytest.raises(ValueError, match='"small" has not yet been built'):
        model_to_dot(small)
    small.build((None, 3))
    assert list(_labels(_parse(model_to_dot(small).to_string())).values()) == ["small: Small"]
    with pytest.raises(ValueError, match="rankdir"):
        model_to_dot(_sequential(lamina), rankdir="sideways")


# ------------------------------------------------------------------ files and missing programs
def test_dot_file_needs_no_graphviz_and_images_name_what_to_install(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no `dot` program to be found
    assert shutil.which("dot") is None
    model = _two_inputs(lamina)
    assert plot_model(model, to_file=tmp_path / "model.dot", show_shapes=True) is None
    written = (tmp_path / "model.dot").read_text()
    assert written == model_to_dot(model, show_shapes=True).to_string()
    assert _edges(_parse(written), _names_by_id(model)) == TWO_INPUT_EDGES
    for name in ("model.png", "model.svg"):
        with pytest.raises(ImportError, match=r"install Graphviz.*apt-get install graphviz.*graphviz\.org/download"):
            plot_model(model, to_file=tmp_path / name)
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", types.ModuleType("namespace"))
    assert plot_model(model, to_file=tmp_path / "model.png") is None  # in a notebook: the message, no exception
    assert "apt-get install graphviz" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["bin", "model.dot"]  # nothing half-written
    with pytest.raises(ValueError, match="unknown format 'txt'"):
        plot_model(model, to_file=tmp_path / "model.txt")


def test_missing_pydot_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(model_visualization, "pydot", None)
    for call in (
        lambda: model_to_dot(_sequential(lamina)),
        lambda: plot_model(_sequential(lamina), tmp_path / "m.dot"),
    ):
        with pytest.raises(ImportError, match=r"pip install pydot"):
            call()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_png_and_svg_are_drawn_by_graphviz(tmp_path):
    model = _two_inputs(lamina)
    plot_model(model, to_file=tmp_path / "model.png", show_shapes=True, dpi=50)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_model(model, to_file=tmp_path / "model.svg")
    svg = (tmp_path / "model.svg").read_text()
    assert "two_shared: Dense" in svg and svg.count('class="edge"') == len(TWO_INPUT_EDGES)
