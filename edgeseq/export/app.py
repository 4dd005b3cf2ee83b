"""App-ready files: what the runtimes apps use (LiteRT `CompiledModel`, LiteRT.js, tfjs-tflite) need of a .tflite
file, measured by running every committed model in each of them (docs/results/app-runtimes.md, 2026-12-02), and
the variant `export --app` writes.

An app runtime needs
- a fixed batch of 1: LiteRT.js refuses a `-1` dimension (`Float32[-1,28,28]`), tfjs-tflite answered zeros;
- no variable tensors: the fused LSTM keeps its state in them, which CompiledModel and LiteRT.js refuse;
- float (or uint8/int32) input and output: LiteRT.js has no INT8 tensors;
- the documented tensor order (edgeseq.export.tensor_order), which every exported file has.

The app-ready variant `<arch>-<recipe>-app.tflite` (and `-step-app`) is the recipe converted as usual but with
float32 I/O, with a stateless graph where the table's keeps state in variable tensors (graphs.APP_FALLBACK), and
with its batch pinned to 1 after conversion (`pin_batch`: the -1 of every tensor's shape_signature becomes 1, so
the kernels and the weights are the ones of the default file). ONNX files need no variant: every committed ONNX
file loaded and ran in onnxruntime-node 1.30 and onnxruntime-web 1.30 (WASM), as in onnxruntime.

Importing this module imports nothing heavy; `pin_batch` imports flatbuffers and the LiteRT schema module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeseq import formats

DYNAMIC_BATCH = "dynamic batch (-1): LiteRT.js refuses it, tfjs-tflite answers zeros on the first call"
VARIABLE_STATE = "state in variable tensors: LiteRT CompiledModel and LiteRT.js refuse them"
INTEGER_IO = "{dtype} input/output: LiteRT.js has no {dtype} tensors (float32, int32 and uint8 only)"
APP_IO_DTYPES = ("float32", "int32", "uint8")


def blockers(facts: Any) -> list[str]:
    """What keeps a file (artifacts.FileFacts) from loading in every app runtime measured; empty: app-ready."""
    found = []
    if any(t.shape and t.shape[0] is None for t in (*facts.inputs, *facts.outputs)):
        found.append(DYNAMIC_BATCH)
    if facts.stateful:
        found.append(VARIABLE_STATE)
    odd = sorted({t.dtype for t in (*facts.inputs, *facts.outputs) if t.dtype not in APP_IO_DTYPES})
    found += [INTEGER_IO.format(dtype=d) for d in odd]
    return found


def readiness(facts: Any, fmt: str) -> dict[str, Any]:
    """A manifest's `app_ready` section for any exported file: ready or not, and why not (its format's adapter
    says: formats.FormatAdapter.app_readiness)."""
    return formats.by_name(fmt).adapter().app_readiness(facts)


def variant_section(default_graph: str | None, graph: str, recipe_io: str, default_file: str) -> dict[str, Any]:
    """The app variant's manifest section (layout.APP_SECTION): what was changed against the default file."""
    changes = ["batch pinned to 1 (shape_signature -1 -> 1 after conversion: same kernels and weights)"]
    if default_graph != graph:
        changes.append(f"graph {graph} instead of {default_graph} (state outside variable tensors)")
    if recipe_io != "float32":
        changes.append(f"float32 input/output instead of {recipe_io} (quantize/dequantize inside the file)")
    return {"default_file": default_file, "default_graph": default_graph, "graph": graph, "changes": changes}


def pin_batch(path: Path) -> int:
    """Rewrite the TFLite file at `path` so that no tensor has a dynamic batch: in every subgraph, a leading -1
    of a tensor's shape_signature becomes 1 (its `shape` already says 1: the converter writes 1 for -1). Returns
    how many tensors changed. Patched in place: every other byte stays as it was."""
    from edgeseq.core.tflite_schema import tflite_schema  # noqa: PLC0415

    schema = tflite_schema()
    data = bytearray(Path(path).read_bytes())
    model = schema.Model.GetRootAs(data, 0)
    changed = 0
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for i in range(graph.TensorsLength()):
            tensor = graph.Tensors(i)
            if not tensor.ShapeSignatureLength() or tensor.ShapeSignature(0) != -1:
                continue
            table = tensor._tab
            start = table.Vector(table.Offset(18))        # Tensor.shape_signature: vtable slot 18
            data[start:start + 4] = (1).to_bytes(4, "little", signed=True)
            if tensor.ShapeLength() and tensor.Shape(0) != 1:
                shape = table.Vector(table.Offset(4))     # Tensor.shape
                data[shape:shape + 4] = (1).to_bytes(4, "little", signed=True)
            changed += 1
    Path(path).write_bytes(bytes(data))
    return changed
