"""Where a profiled node's time belongs: which layer of the model, and, in a recurrent layer, which part of it
(`bench --profile`, edgeseq.bench.profile).

The layer comes from the names the exporter kept. tf2onnx names a node after the Keras name scope it was traced
in, `<model>_1/<layer>_1/<op>` (`lstm_1/lstm_2_1/strided_slice_3`: layer `lstm_2`; the `_1` is TensorFlow's
scope suffix, dropped). A node with no scope in its name (`LSTM__51`, OpenVINO's `LSTMSequence_77`) takes the
layer of the node that reads its output, else of the node it reads from, in the file's own graph (for
OpenVINO, the graph it read the file into). A quantize/dequantize node is named after the tensor it converts:
it belongs to the node that reads it, layer and part. A node the runtime made up that maps to no node of the
graph stays unattributed, and says so.

The part of a recurrent layer is read from the node by one table (PART_RULES, first match wins). A node that
runs the whole recurrent layer (onnxruntime's LSTM / DynamicQuantizeLSTM, OpenVINO's TensorIterator) or that a
runtime fused from both x·W and h·U nodes is "fused": the split between input projection and recurrence is not
observable there, and is never guessed.

Imports nothing heavy: the runtime-side worker hands it plain names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

INPUT_PROJECTION, RECURRENCE, FUSED, OTHER = "input_projection", "recurrence", "fused", "other"
PARTS = (INPUT_PROJECTION, RECURRENCE, FUSED, OTHER)
PART_LABELS = {INPUT_PROJECTION: "input projection (x·W + b)", RECURRENCE: "recurrence (h·U, gates, state)",
               FUSED: "fused: not separable", OTHER: "layout, shapes, initial state"}
UNATTRIBUTED = "(unattributed)"        # a node no name or graph edge ties to a layer

# ops that run a whole recurrent layer as one node: ONNX (onnxruntime), OpenVINO's graph and its CPU plugin
FUSED_RECURRENT_OPS = frozenset({"LSTM", "GRU", "RNN", "DynamicQuantizeLSTM", "Loop", "Scan",
                                 "LSTMSequence", "GRUSequence", "RNNSequence", "TensorIterator"})
CELL_NAME = re.compile(r"(?:rnn|lstm|gru)_cell", re.IGNORECASE)    # Keras cells, unrolled by the exporter
SCOPE = re.compile(r"([\w.]+)/([\w.]+)/")                          # <model>_1/<layer>_1/...: group 2
SCOPE_SUFFIX = re.compile(r"_\d+$")                                 # TensorFlow's name-scope suffix
# a Q/DQ node named after the tensor it converts: `<tensor>:0_QuantizeLinear`, onnxruntime's `<tensor>:0_q`
TENSOR_NAMED = re.compile(r":\d+_(?:QuantizeLinear|DequantizeLinear|q|dq)(?:_\d+)?$")
TENSOR_NAMED_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})
PREFIXES = ("fused ",)                                              # onnxruntime's name for a fused node


@dataclass(frozen=True)
class PartRule:
    part: str
    why: str
    ops: frozenset[str] = frozenset()
    name: re.Pattern[str] | None = None

    def matches(self, name: str, op: str) -> bool:
        if self.ops:
            return op in self.ops
        return self.name is None or bool(self.name.search(name))


# Which part of a recurrent layer a node of the graph is: first match wins.
PART_RULES: tuple[PartRule, ...] = (
    PartRule(FUSED, "one node runs the whole layer, x·W and h·U inside it", ops=FUSED_RECURRENT_OPS),
    PartRule(RECURRENCE, "h·U: a Keras cell's second matmul", name=re.compile(r"/MatMul_1(?![0-9])")),
    PartRule(INPUT_PROJECTION, "x·W + b: a Keras cell's first matmul and its bias",
             name=re.compile(r"/(?:MatMul|BiasAdd)(?![0-9]|_[0-9])")),
    PartRule(RECURRENCE, "gates and state update", name=re.compile(r"/(?:add|mul|Relu|Tanh|Sigmoid|split|clip)")),
    PartRule(OTHER, "layout, shapes, the zero initial state"),
)


@dataclass(frozen=True)
class GraphNode:
    """A node of the model's graph: its name, op type and the names of the nodes it reads (constants left out),
    in input order. A graph is a list of them in execution order."""
    name: str
    op: str
    producers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    layer: str | None
    part: str | None                   # one of PARTS in a recurrent layer; None elsewhere


def scope_layer(name: str) -> str | None:
    """The Keras layer a tf2onnx name is scoped in: 'lstm_1/lstm_2_1/strided_slice' -> 'lstm_2'."""
    found = SCOPE.search(name)
    return SCOPE_SUFFIX.sub("", found.group(2)) if found else None


def part_of(name: str, op: str) -> str:
    return next(rule.part for rule in PART_RULES if rule.matches(name, op))


def _tensor_named(node: GraphNode) -> bool:
    return node.op in TENSOR_NAMED_OPS or bool(TENSOR_NAMED.search(node.name))


def place_graph(graph: list[GraphNode]) -> tuple[dict[str, Place], dict[str, str]]:
    """Every node's Place, and each layer's kind (recurrent | feed-forward). Layers from name scopes; an
    unscoped node takes the layer of the first node reading it, else of the first node it reads."""
    consumers: dict[str, list[str]] = {}
    for node in graph:
        for producer in node.producers:
            consumers.setdefault(producer, []).append(node.name)
    layer: dict[str, str | None] = {n.name: None if _tensor_named(n) else scope_layer(n.name) for n in graph}
    for node in reversed(graph):                       # consumers first: a node serves the layer that reads it
        if layer[node.name] is None:
            layer[node.name] = next((layer[c] for c in consumers.get(node.name, ()) if layer.get(c)), None)
    for node in graph:                                 # then producers, for what nothing placed reads
        if layer[node.name] is None:
            layer[node.name] = next((layer[p] for p in node.producers if layer.get(p)), None)
    recurrent = {layer[n.name] for n in graph if layer[n.name] and not _tensor_named(n)
                 and (n.op in FUSED_RECURRENT_OPS or CELL_NAME.search(n.name))}
    places: dict[str, Place] = {}
    for node in reversed(graph):
        here = layer[node.name]
        part = part_of(node.name, node.op) if here in recurrent else None
        if _tensor_named(node):                        # a Q/DQ node: its reader's part
            reader = next((places[c] for c in consumers.get(node.name, ()) if c in places), None)
            part = reader.part if reader is not None and reader.layer == here else part
        places[node.name] = Place(here, part)
    kinds = {name: "recurrent" if name in recurrent else "feed-forward"
             for name in dict.fromkeys(layer[n.name] for n in graph) if name}
    return places, kinds


def _lookup(name: str, places: dict[str, Place]) -> Place | None:
    """The Place of the graph node `name` is, or was made from: exact, else without onnxruntime's 'fused '
    prefix, else the longest graph name it starts with up to a separator ('LSTM__72:0_q' -> 'LSTM__72',
    'LSTMSequence_77.0' -> 'LSTMSequence_77')."""
    for prefix in ("", *PREFIXES):
        if prefix and not name.startswith(prefix):
            continue
        bare = name[len(prefix):]
        if bare in places:
            return places[bare]
        for cut in sorted((k for k, ch in enumerate(bare) if ch in "/:._"), reverse=True):
            if bare[:cut] in places:
                return places[bare[:cut]]
    return None


def place_runtime_node(name: str, op: str, originals: Iterable[str], places: dict[str, Place],
                       kinds: dict[str, str]) -> tuple[str, str | None]:
    """(layer, part) of a node as the runtime reports it. `originals`: the graph nodes it was made from, where
    the runtime says (OpenVINO's originalLayersNames); else the node itself. A node made from several layers is
    'a + b'; from both x·W and h·U nodes, 'fused'."""
    found = [p for p in (_lookup(n, places) for n in (list(originals) or [name])) if p is not None]
    if not found:
        layer = scope_layer(name)
        if layer is None:
            return UNATTRIBUTED, None
        part = part_of(name, op) if kinds.get(layer) == "recurrent" else None
        return layer, part
    layers = list(dict.fromkeys(p.layer for p in found if p.layer))
    parts = {p.part for p in found if p.part} - {OTHER}
    if name not in places and _tensor_named(GraphNode(name, op)):    # a runtime's own Q/DQ of a node's output
        return (" + ".join(layers) if layers else UNATTRIBUTED), (OTHER if any(p.part for p in found) else None)
    if op in FUSED_RECURRENT_OPS or FUSED in parts or {INPUT_PROJECTION, RECURRENCE} <= parts:
        part: str | None = FUSED
    elif parts:
        part = parts.pop()
    else:
        part = OTHER if any(p.part == OTHER for p in found) else None
    return (" + ".join(layers) if layers else UNATTRIBUTED), part


def place_all(nodes: list[dict[str, Any]], graph: list[GraphNode] | None) -> dict[str, str]:
    """Each node (dicts with name, op, originals) given its layer and part in place; the layers' kinds."""
    places, kinds = place_graph(graph if graph is not None else [GraphNode(n["name"], n["op"]) for n in nodes])
    for node in nodes:
        node["layer"], node["part"] = place_runtime_node(node["name"], node["op"], node.pop("originals", ()),
                                                         places, kinds)
    return kinds
