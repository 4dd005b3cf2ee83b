"""Where a layer's output lives in an exported graph, found from the graph's structure, not from its names.

Both formats are read into one small `Graph` (ops in execution order, tensors named by strings, which
tensors hold constant data). `find_layers` then finds, in order:
  - recurrent layers: a fused op (UNIDIRECTIONAL_SEQUENCE_LSTM/RNN, ONNX LSTM/RNN/GRU/DynamicQuantizeLSTM),
    whose sequence output holds every timestep; or an unrolled loop: the matmuls that share one constant
    weight and feed their own next input (the recurrent kernel). Their data inputs are the hidden states
    h_0..h_{T-2}; the last state h_{T-1} is found by replaying, from the last recurrent matmul, the op path
    that led from the one before it to its input (the steps of an unrolled loop are alike).
  - dense layers: matmuls whose constant weight is used once, followed through their bias/activation (and
    Q/DQ) ops while those have a single consumer;
  - the output: the softmax.
Layers of two graphs are matched by kind and order (recurrent 1 with recurrent 1, ...): the float reference
and the quantized file of one model may be built differently (a fused fp32 LSTM against an unrolled int8
one), so their tensor names need not agree. Imports nothing heavy.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

MATMUL_OPS = frozenset({"FULLY_CONNECTED", "MatMul", "Gemm", "MatMulInteger"})
# op -> layout of its sequence output: B batch, T time, D directions, U units
RECURRENT_OPS = {"UNIDIRECTIONAL_SEQUENCE_LSTM": "BTU", "UNIDIRECTIONAL_SEQUENCE_RNN": "BTU",
                 "LSTM": "TDBU", "RNN": "TDBU", "GRU": "TDBU", "DynamicQuantizeLSTM": "TDBU"}
UNTRACED_LOOPS = frozenset({"WHILE", "Loop", "Scan"})
OUTPUT_OPS = frozenset({"SOFTMAX", "Softmax"})
# ops that finish a dense layer's output (bias, activation, requantization): followed while single-consumer
CHAIN_OPS = frozenset({"ADD", "Add", "RELU", "Relu", "RELU6", "LOGISTIC", "Sigmoid", "TANH", "Tanh", "Cast", "Mul",
                       "QUANTIZE", "DEQUANTIZE", "QuantizeLinear", "DequantizeLinear"})
# ops through which a constant stays a constant (a weight behind a DequantizeLinear is still that weight)
CONST_THROUGH = frozenset({"DequantizeLinear", "DEQUANTIZE", "Cast", "Transpose", "Reshape", "Identity"})

RECURRENT, DENSE, OUTPUT = "recurrent", "dense", "output"
KIND_ORDER = (RECURRENT, DENSE, OUTPUT)


@dataclass(frozen=True)
class Node:
    index: int
    op: str
    inputs: tuple[str, ...]           # '' for an absent optional input
    outputs: tuple[str, ...]
    layout: str | None = None         # recurrent ops: how their first output is laid out


@dataclass
class Graph:
    nodes: list[Node]
    constants: set[str]
    names: dict[str, str] = field(default_factory=dict)     # tensor id -> its name in the file (labels)

    def __post_init__(self) -> None:
        self.producer: dict[str, Node] = {}
        self.consumers: dict[str, list[tuple[Node, int]]] = {}
        for node in self.nodes:
            for out in node.outputs:
                self.producer[out] = node
            for slot, tensor in enumerate(node.inputs):
                if tensor:
                    self.consumers.setdefault(tensor, []).append((node, slot))

    def is_const(self, tensor: str) -> bool:
        return self.root_constant(tensor) is not None

    def root_constant(self, tensor: str) -> str | None:
        """The constant a tensor is (through dequantize/cast/transpose of a constant), or None."""
        seen = 0
        while tensor not in self.constants:
            node = self.producer.get(tensor)
            if node is None or node.op not in CONST_THROUGH or seen > 8:
                return None
            tensor, seen = node.inputs[0], seen + 1
        return tensor


@dataclass(frozen=True)
class Probe:
    """Where one value of a layer lives: a tensor, or timestep `t` of a recurrent op's sequence output."""
    tensor: str
    layout: str | None = None         # set for a sequence output (captures return it as (N, T, U))
    timestep: int | None = None


@dataclass(frozen=True)
class Layer:
    kind: str                          # recurrent | dense | output
    ordinal: int                       # 1-based, per kind
    op: str
    label: str | None                  # the Keras layer name the tensor names carry, if any
    probes: tuple[Probe | None, ...]   # one per timestep (recurrent) or one; None: not found in the graph
    note: str | None = None


def find_layers(graph: Graph, timesteps: int) -> list[Layer]:
    """The layers of `graph`, recurrent ones first (in order), then dense ones, then the output."""
    layers: list[Layer] = []
    found = sorted(_fused(graph, timesteps) + _unrolled(graph, timesteps), key=lambda item: item[0])
    for ordinal, (_, layer) in enumerate(found, start=1):
        layers.append(Layer(RECURRENT, ordinal, layer.op, layer.label, layer.probes, layer.note))
    for ordinal, node in enumerate(_dense_nodes(graph), start=1):
        end = follow_chain(graph, node.outputs[0])
        layers.append(Layer(DENSE, ordinal, node.op, label_of(graph, (node.outputs[0], node.inputs[1])),
                            (Probe(end),)))
    for ordinal, node in enumerate((n for n in graph.nodes if n.op in OUTPUT_OPS), start=1):
        label = label_of(graph, (node.inputs[0], node.outputs[0]))
        layers.append(Layer(OUTPUT, ordinal, node.op, f"{label}:{node.op.lower()}" if label else None,
                            (Probe(follow_chain(graph, node.outputs[0])),)))
    return layers


def untraced_loops(graph: Graph) -> list[str]:
    return [node.op for node in graph.nodes if node.op in UNTRACED_LOOPS]


def follow_chain(graph: Graph, tensor: str) -> str:
    """Follow a tensor through its single consumer while that is a bias/activation/requantize op."""
    for _ in range(12):
        users = graph.consumers.get(tensor, [])
        if len(users) != 1 or users[0][0].op not in CHAIN_OPS or not users[0][0].outputs:
            return tensor
        tensor = users[0][0].outputs[0]
    return tensor


LAYER_SCOPE = re.compile(r"_\d+$")


def label_of(graph: Graph, tensors: tuple[str, ...]) -> str | None:
    """The Keras layer name in a tensor name 'model_1/layer_1/cell/op' ('layer'), if one has it."""
    for tensor in tensors:
        parts = graph.names.get(tensor, tensor).split(";")[0].split("/")
        if len(parts) >= 3:
            return LAYER_SCOPE.sub("", parts[1]) or None
    return None


def _fused(graph: Graph, timesteps: int) -> list[tuple[int, Layer]]:
    found = []
    for node in graph.nodes:
        if node.op in RECURRENT_OPS:
            probes = tuple(Probe(node.outputs[0], node.layout or RECURRENT_OPS[node.op], t) for t in range(timesteps))
            found.append((node.index, Layer(RECURRENT, 0, node.op, label_of(graph, node.inputs[:1] + node.outputs[:1]),
                                            probes)))
    return found


def _families(graph: Graph) -> dict[str, list[Node]]:
    """Matmuls grouped by the constant weight they use, in execution order."""
    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.op in MATMUL_OPS and len(node.inputs) > 1:
            root = graph.root_constant(node.inputs[1])
            if root is not None:
                groups.setdefault(root, []).append(node)
    return groups


def _dense_nodes(graph: Graph) -> list[Node]:
    return sorted((members[0] for members in _families(graph).values() if len(members) == 1),
                  key=lambda n: n.index)


def _unrolled(graph: Graph, timesteps: int) -> list[tuple[int, Layer]]:
    found = []
    for members in _families(graph).values():
        if len(members) < max(timesteps - 1, 2):
            continue
        inputs = [m.inputs[0] for m in members]
        path = _path(graph, members[-2].outputs[0], inputs[-1])
        if path is None:               # the inputs do not depend on the outputs: an input kernel, not a loop
            continue
        states: list[str | None] = inputs[len(members) - (timesteps - 1):]
        last = _replay(graph, members[-1].outputs[0], path)
        states.append(last)
        note = None if last else "the last timestep's state was not found in the graph"
        probes = tuple(Probe(s) if s else None for s in states)
        label = label_of(graph, tuple(s for s in states if s))
        found.append((members[0].index, Layer(RECURRENT, 0, f"unrolled ({members[0].op} x{len(members)})", label,
                                              probes, note)))
    return found


Step = tuple[str, int, int]           # (op, input slot taken, output index taken)


def _path(graph: Graph, start: str, goal: str, limit: int = 64) -> list[Step] | None:
    """The shortest op path from tensor `start` to tensor `goal`, or None."""
    queue: deque[tuple[str, list[Step]]] = deque([(start, [])])
    seen = {start}
    while queue:
        tensor, steps = queue.popleft()
        if tensor == goal:
            return steps
        if len(steps) >= limit:
            continue
        for node, slot in graph.consumers.get(tensor, []):
            for k, out in enumerate(node.outputs):
                if out and out not in seen:
                    seen.add(out)
                    queue.append((out, [*steps, (node.op, slot, k)]))
    return None


def _replay(graph: Graph, start: str, path: list[Step]) -> str | None:
    tensor = start
    for op, slot, k in path:
        users = [node for node, s in graph.consumers.get(tensor, []) if node.op == op and s == slot]
        if not users or k >= len(users[0].outputs):
            return None
        tensor = users[0].outputs[k]
    return tensor
