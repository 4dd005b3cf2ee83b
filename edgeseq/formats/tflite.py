"""The TFLite format's adapter (formats.table.FormatAdapter): a TFLite flatbuffer read with the pure-Python `tflite`
schema package (so an install with only tflite-runtime reads it too), written with ai-edge-litert's object API
(flatbuffers), converted by TensorFlow's TFLite converter (export.tflite, in the export worker only).

Importing this module imports nothing heavy: each function imports its library, and the TensorFlow side
(edgeseq.export) is imported only by the functions the export worker calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from edgeseq.artifacts import FileFacts, TensorInfo, classify, embedded_facts, read_bytes
from edgeseq.core.errors import ModelError
from edgeseq.core.tflite_schema import check_subgraph, count, opcode_names, signature_names, tflite_metadata, tflite_schema
from edgeseq.embedded import KEY as EMBEDDED_KEY
from edgeseq.formats.table import AppRuntime

TFLITE_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
RECURRENT_TFLITE = {"UNIDIRECTIONAL_SEQUENCE_LSTM": "fused LSTM op", "UNIDIRECTIONAL_SEQUENCE_RNN": "fused RNN op",
                    "WHILE": "WHILE loop"}
SIGNATURE_NAMES = True

APP = AppRuntime(
    web_label="LiteRT.js", web_runtime="LiteRT.js (@litertjs/core {@litertjs/core}, WASM)",
    npm_packages=("@litertjs/core",),
    import_map=(("@litertjs/core", "../js/node_modules/@litertjs/core/dist/index.js"),
                ("@litertjs/wasm-utils", "../js/node_modules/@litertjs/wasm-utils/dist/index.js")),
    web_setup="""import {loadLiteRt, loadAndCompile, Tensor} from '@litertjs/core';

await loadLiteRt(new URL('../js/node_modules/@litertjs/core/wasm/', import.meta.url).href);
const load = (bytes) => loadAndCompile(bytes, {accelerator: 'wasm'});""",
    android_pin="litert", ios_pin="tflite-swift", code_module="edgeseq.appkit.code_tflite")


# --- facts ------------------------------------------------------------------------------------------------

def read_facts(path: Path) -> FileFacts:
    return tflite_facts(read_bytes(path), str(path))


def tflite_facts(buf: bytes, what: str = "TFLite file") -> FileFacts:
    schema = tflite_schema()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{what} is not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        facts, payload = _tflite_facts(schema, buf)
    except ModelError as err:
        raise ModelError(f"{what} is corrupt or truncated ({err})") from err
    except Exception as err:  # noqa: BLE001  (a malformed flatbuffer raises struct/index errors)
        raise ModelError(f"{what} is corrupt or truncated ({type(err).__name__})") from err
    return replace(facts, embedded=embedded_facts(payload, what))


def _tflite_facts(schema: Any, buf: bytes) -> tuple[FileFacts, bytes | None]:
    """The facts (embedded: None) and the raw bytes of the embedded metadata entry, if any."""
    model = schema.Model.GetRootAs(buf, 0)
    if count(model.SubgraphsLength(), buf) == 0:
        raise ModelError("the model has no subgraph")
    codes = opcode_names(schema, model, buf)
    ops: Counter[str] = Counter()
    versions: dict[str, set[int]] = {}
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(count(subgraph.OperatorsLength(), buf)):
            index = subgraph.Operators(o).OpcodeIndex()
            ops[codes[index]] += 1
            if not codes[index].startswith("CUSTOM:"):
                versions.setdefault(codes[index], set()).add(int(model.OperatorCodes(index).Version()))
    for s in range(model.SubgraphsLength()):
        check_subgraph(model, model.Subgraphs(s), buf)
    main = model.Subgraphs(0)

    signed = signature_names(model, buf)

    def tensor(index: int) -> TensorInfo:
        t = main.Tensors(index)
        quant = t.Quantization()
        scale = zero = None
        if quant is not None and quant.ScaleLength() == 1:
            scale, zero = float(quant.Scale(0)), int(quant.ZeroPoint(0))
        shape = [int(d) for d in t.ShapeSignatureAsNumpy()] if t.ShapeSignatureLength() else \
            [int(d) for d in t.ShapeAsNumpy()]
        return TensorInfo(t.Name().decode(), [None if d < 0 else d for d in shape],
                          TFLITE_TYPES.get(t.Type(), f"type{t.Type()}"), scale, zero, signed.get(index))

    signatures = [model.SignatureDefs(i).SignatureKey().decode()
                  for i in range(count(model.SignatureDefsLength(), buf))]
    custom = sorted(op for op in ops if op.startswith("CUSTOM:") or op.startswith("Flex"))
    facts = FileFacts("tflite", dict(sorted(ops.items())), classify(ops, RECURRENT_TFLITE),
                      [tensor(main.Inputs(i)) for i in range(count(main.InputsLength(), buf))],
                      [tensor(main.Outputs(i)) for i in range(count(main.OutputsLength(), buf))], signatures,
                      custom, op_versions={op: sorted(v) for op, v in sorted(versions.items())})
    return facts, tflite_metadata(model, buf, EMBEDDED_KEY)


# --- written after conversion: embedded facts, tensor order, standard metadata ------------------------------

def _rewrite(path: Path, change: Callable[[Any, Any], None]) -> None:
    """Unpack the flatbuffer into ai-edge-litert's object API (as TF's flatbuffer_utils does), let `change` edit the
    model, and pack it back into `path`."""
    import flatbuffers  # noqa: PLC0415
    from ai_edge_litert import schema_py_generated as schema  # noqa: PLC0415

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    change(schema, model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))


def embed(path: Path, payload: str) -> None:
    """A named metadata entry `edgeseq` whose buffer holds the JSON (the schema's own Model.metadata, as the
    converter's `min_runtime_version` entry is stored)."""
    def change(schema: Any, model: Any) -> None:
        buffer = schema.BufferT()
        buffer.data = list(payload.encode("utf-8"))
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = EMBEDDED_KEY
        entry.buffer = len(model.buffers) - 1
        model.metadata = [m for m in (model.metadata or []) if m.name not in (EMBEDDED_KEY, EMBEDDED_KEY.encode())] \
            + [entry]

    _rewrite(Path(path), change)


def write_tensor_order(path: Path, order: Any) -> None:
    """The main subgraph's inputs and outputs, and its signature's tensor maps, in `order`."""
    from edgeseq.export.tensor_order import permute  # noqa: PLC0415

    def change(schema: Any, model: Any) -> None:
        main = model.subgraphs[0]
        signature = next((s for s in model.signatureDefs or [] if s.subgraphIndex == 0), None)

        def signed(maps: list[Any] | None) -> dict[int, str]:
            return {m.tensorIndex: _text(m.name) for m in maps or []}

        names_in = signed(signature.inputs if signature else None)
        names_out = signed(signature.outputs if signature else None)

        def name_of(table: dict[int, str]) -> Callable[[int], str]:
            return lambda index: table.get(index) or _text(main.tensors[index].name).split(":")[0]

        main.inputs = permute(list(main.inputs), name_of(names_in), order.inputs, "inputs")
        main.outputs = permute(list(main.outputs), name_of(names_out), order.outputs, "outputs")
        if signature is not None:
            signature.inputs = permute(list(signature.inputs), lambda m: _text(m.name), order.inputs,
                                       "signature inputs")
            signature.outputs = permute(list(signature.outputs), lambda m: _text(m.name), order.outputs,
                                        "signature outputs")

    _rewrite(Path(path), change)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def write_standard_metadata(path: Path, meta: Any) -> dict[str, Any]:
    """TFLITE_METADATA, written by tflite-support where it can be used (export.standard_metadata)."""
    from edgeseq.export.standard_metadata import write_tflite  # noqa: PLC0415

    return write_tflite(Path(path), meta)


# --- FLOPs, app readiness and conversion ------------------------------------------------------------------

def flops(path: Path) -> tuple[int, str, list[dict[str, Any]]] | str:
    return "a TFLite graph is not counted"


def app_readiness(facts: Any) -> dict[str, Any]:
    """Ready where nothing keeps the file from loading in every app runtime measured (export.app.blockers)."""
    from edgeseq.export.app import blockers  # noqa: PLC0415

    found = blockers(facts)
    return {"ready": not found, "blockers": found,
            "checked": "batch 1, no variable tensors, float/int32/uint8 I/O (LiteRT CompiledModel, LiteRT.js)"}


def convert(model: Any, arch: Any, recipe: Any, graph: Any, calibration: Any, output: Path,
            mix: dict[str, Any] | None = None) -> None:
    """TensorFlow's TFLite converter; with a quantization `mix`, the float file quantized per layer by
    ai-edge-quantizer (export.selective)."""
    from edgeseq.export import tflite  # noqa: PLC0415

    if mix is None:
        output.write_bytes(tflite.convert(model, arch, recipe, graph, calibration))
        return
    from edgeseq.export import selective  # noqa: PLC0415
    from edgeseq.recipes import TFLiteSettings  # noqa: PLC0415

    if calibration is None:
        raise ValueError("a quantization mix needs calibration data")
    float_model = tflite.convert(model, arch, replace(recipe, tflite=TFLiteSettings()), graph, None)
    output.write_bytes(selective.quantize(float_model, selective.Mix.from_dict(mix), calibration))
