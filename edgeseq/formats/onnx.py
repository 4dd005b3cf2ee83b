"""The ONNX format's adapter (formats.table.FormatAdapter): an ONNX ModelProto read and written with the `onnx`
package, converted by tf2onnx and quantized by onnxruntime's tools (export.onnx, in the export worker only).

Importing this module imports nothing heavy: each function imports its library, and the TensorFlow side
(edgeseq.export) is imported only by the functions the export side calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgeseq.artifacts import FileFacts, TensorInfo, classify, embedded_facts
from edgeseq.core.errors import ModelError, RuntimeUnavailable
from edgeseq.embedded import KEY as EMBEDDED_KEY
from edgeseq.formats.table import AppRuntime

ONNX_TYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 10: "float16", 11: "float64"}
RECURRENT_ONNX = {"LSTM": "ONNX LSTM", "DynamicQuantizeLSTM": "ONNX DynamicQuantizeLSTM", "RNN": "ONNX RNN",
                  "Loop": "ONNX Loop", "Scan": "ONNX Scan"}
ONNX_DEFAULT_DOMAIN = "ai.onnx"          # how the default ('') ONNX operator domain is shown
SIGNATURE_NAMES = False

APP = AppRuntime(
    web_label="onnxruntime-web", web_runtime="onnxruntime-web {onnxruntime-web} (WASM)",
    npm_packages=("onnxruntime-node", "onnxruntime-web"),
    import_map=(("onnxruntime-web", "../js/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs"),),
    web_setup="""import * as ort from 'onnxruntime-web';

ort.env.wasm.wasmPaths = new URL('../js/node_modules/onnxruntime-web/dist/', import.meta.url).href;
ort.env.wasm.numThreads = 1;         // threads in WASM need cross-origin isolation: any static server will do
const load = (bytes) => ort.InferenceSession.create(bytes, {executionProviders: ['wasm']});""",
    android_pin="onnxruntime-android", ios_pin="onnxruntime-swift", code_module="edgeseq.appkit.code_onnx")


def _onnx() -> Any:
    try:
        import onnx  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable("reading .onnx files needs onnx: pip install 'edgeseq[runtime]'") from err
    return onnx


# --- facts ------------------------------------------------------------------------------------------------

def read_facts(path: Path) -> FileFacts:
    return onnx_facts(path)


def onnx_facts(path: Path) -> FileFacts:
    onnx = _onnx()
    try:
        model = onnx.load(str(path))
    except Exception as err:  # noqa: BLE001  (protobuf DecodeError and friends)
        raise ModelError(f"{path} is not a readable ONNX model ({type(err).__name__})") from err
    if not model.graph.node:
        raise ModelError(f"{path} is not an ONNX model (empty graph)")
    try:
        facts = _onnx_facts(onnx, model)
        payload = next((p.value for p in reversed(model.metadata_props) if p.key == EMBEDDED_KEY), None)
    except (TypeError, ValueError, AttributeError, RecursionError) as err:  # undecodable names, odd fields
        raise ModelError(f"{path} is a corrupt ONNX model ({type(err).__name__})") from err
    return replace(facts, embedded=embedded_facts(payload, str(path)))


def _onnx_domain(domain: str) -> str:
    return domain or ONNX_DEFAULT_DOMAIN


def _onnx_facts(onnx: Any, model: Any) -> FileFacts:
    ops: Counter[str] = Counter()
    domains: set[str] = set()

    def walk(graph: Any) -> None:
        for node in graph.node:
            ops[node.op_type] += 1
            domains.add(_onnx_domain(node.domain))
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    initializers = {i.name for i in model.graph.initializer}

    def value(v: Any) -> TensorInfo:
        t = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        return TensorInfo(v.name, shape, ONNX_TYPES.get(t.elem_type, f"type{t.elem_type}"))

    return FileFacts("onnx", dict(sorted(ops.items())), classify(ops, RECURRENT_ONNX),
                     [value(v) for v in model.graph.input if v.name not in initializers],
                     [value(v) for v in model.graph.output],
                     opsets={_onnx_domain(o.domain): int(o.version) for o in model.opset_import},
                     domains=sorted(domains))


def onnx_lstm_activations(path: Path) -> list[list[str]]:
    """The `activations` attribute of every ONNX LSTM-like node (for structural checks)."""
    import onnx  # noqa: PLC0415

    found = []
    for node in onnx.load(str(path)).graph.node:
        if "LSTM" in node.op_type:
            for attr in node.attribute:
                if attr.name == "activations":
                    found.append([s.decode() for s in attr.strings])
    return found


# --- written after conversion: embedded facts, tensor order, standard metadata ------------------------------

def embed(path: Path, payload: str) -> None:
    """A `metadata_props` entry `edgeseq` (where ultralytics also puts its model facts)."""
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != EMBEDDED_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=EMBEDDED_KEY, value=payload)
    onnx.save(model, str(path))


def write_tensor_order(path: Path, order: Any) -> None:
    """graph.input (the fed ones first, then any initializers listed as inputs) and graph.output in `order`."""
    import onnx  # noqa: PLC0415

    from edgeseq.export.tensor_order import permute  # noqa: PLC0415

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    feeds = [v for v in graph.input if v.name not in initializers]
    constants = [v for v in graph.input if v.name in initializers]
    inputs = permute(feeds, lambda v: v.name, order.inputs, "inputs")
    outputs = permute(list(graph.output), lambda v: v.name, order.outputs, "outputs")
    copies = [type(v)() for v in (*inputs, *constants)]
    for copy, v in zip(copies, (*inputs, *constants)):
        copy.CopyFrom(v)
    out_copies = [type(v)() for v in outputs]
    for copy, v in zip(out_copies, outputs):
        copy.CopyFrom(v)
    del graph.input[:]
    graph.input.extend(copies)
    del graph.output[:]
    graph.output.extend(out_copies)
    onnx.save(model, str(path))


def write_standard_metadata(path: Path, meta: Any) -> dict[str, Any]:
    """The ModelProto's doc_string, model_version and metadata_props (export.onnx_metadata)."""
    from edgeseq.export import onnx_metadata  # noqa: PLC0415

    return onnx_metadata.write(Path(path), meta)


# --- FLOPs, app readiness and conversion ------------------------------------------------------------------

def flops(path: Path) -> tuple[int, str, list[dict[str, Any]]] | str:
    """Counted from the graph's structure (bench.bound.onnx_structure_flops)."""
    from edgeseq.bench.bound import onnx_structure_flops  # noqa: PLC0415

    try:
        counted, parts = onnx_structure_flops(path)
    except ImportError:
        return "onnx is not installed to count the graph"
    except Exception as err:  # noqa: BLE001  (onnx's loader and checker raise many kinds)
        return f"the ONNX graph: {str(err).splitlines()[0][:120] if str(err) else type(err).__name__}"
    return counted, "ONNX graph structure", parts


def app_readiness(facts: Any) -> dict[str, Any]:
    """Ready: ONNX files need no app variant (export.app)."""
    return {"ready": True, "blockers": [], "checked": "ONNX: no app variant needed (every committed"
            " ONNX file loaded and ran in onnxruntime-node 1.30 and onnxruntime-web 1.30, WASM, 2026-12-02)"}


def convert(model: Any, arch: Any, recipe: Any, graph: Any, calibration: Any, output: Path,
            mix: dict[str, Any] | None = None) -> None:
    """tf2onnx, then onnxruntime's quantizer where the recipe quantizes (export.onnx)."""
    from edgeseq.export import onnx  # noqa: PLC0415

    if mix is not None:
        raise ValueError("quantization mixes are made for TFLite files only")
    onnx.convert(model, arch, recipe, graph, calibration, output)
