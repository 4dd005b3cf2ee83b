"""The graph variants an exported file can take (the table GRAPHS: how each is built, for which cells and
activations, and whether an app runtime can load it), and the graphs `export --app` falls back to. The recipes
table (edgeseq.recipes) says which of them each recipe allows and uses.

Importing this module needs no TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edgeseq.models import Activation, Cell


class Graph(str, enum.Enum):
    LOOP = "loop"          # the Keras layers as they are: a WHILE loop (TFLite, batch 1) / native LSTM or Loop (ONNX)
    UNROLLED = "unrolled"  # the same weights rebuilt with unroll=True: flat graph, dynamic batch
    UNROLLED_B1 = "unrolled-b1"  # unrolled with a fixed batch of 1: static shapes (XNNPACK takes the int8 LSTM)
    FUSED = "fused"        # TFLite LSTM only: one UNIDIRECTIONAL_SEQUENCE_LSTM op per layer (batch 1); full
    #                        integer only for a tanh LSTM (the integer kernel hard-codes tanh)
    STEP = "step"          # one timestep with explicit state (streaming): export --streaming, any recipe
    HOISTED = "hoisted"    # TFLite, batch 1: every timestep's input projection in one product, then the steps


@dataclass(frozen=True)
class GraphRow:
    """How a graph variant is built: the Keras model rebuilt with `unroll` and a fixed `batch` (None: dynamic),
    or (`fused`) re-expressed with fused LSTM ops. `cells`: the recurrent cells it exists for;
    `integer_activations`: the activations it can be built for with full-integer (calibrated TFLite) recipes."""
    graph: Graph
    unroll: bool
    batch: int | None
    cells: tuple[Cell, ...] = tuple(Cell)
    fused: bool = False
    integer_activations: tuple[Activation, ...] = tuple(Activation)
    hoisted: bool = False     # written out from the weights (edgeseq.export.hoisted), not a rebuilt Keras model
    app_problem: str | None = None   # why an app runtime cannot load it (export --app then uses APP_FALLBACK)


GRAPHS: dict[Graph, GraphRow] = {
    Graph.LOOP: GraphRow(Graph.LOOP, unroll=False, batch=1),     # ONNX rebuilds it with a dynamic batch
    Graph.UNROLLED: GraphRow(Graph.UNROLLED, unroll=True, batch=None),
    Graph.UNROLLED_B1: GraphRow(Graph.UNROLLED_B1, unroll=True, batch=1),
    Graph.FUSED: GraphRow(Graph.FUSED, unroll=False, batch=1, cells=(Cell.LSTM,), fused=True,
                          integer_activations=(Activation.TANH,),
                          app_problem="keeps the LSTM state in variable tensors: LiteRT CompiledModel ('Failed to"
                                      " load model') and LiteRT.js ('Variable tensors not yet supported') refuse it"),
    Graph.STEP: GraphRow(Graph.STEP, unroll=False, batch=None),
    Graph.HOISTED: GraphRow(Graph.HOISTED, unroll=False, batch=1, hoisted=True),
}


# export --app: the graphs an app-ready variant takes instead of one with an app_problem, first that can be built
# first. Hoisted: batch 1, explicit state, and faster than unrolled-b1 for every recipe measured on both
# (docs/results/graph-choice.md, docs/results/app-ready.md).
APP_FALLBACK: tuple[Graph, ...] = (Graph.HOISTED, Graph.UNROLLED_B1, Graph.UNROLLED)
