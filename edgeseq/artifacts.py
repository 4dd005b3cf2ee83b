"""What an exported file contains, read from the file itself without TensorFlow:
ops (every subgraph), the recurrent op type, inputs/outputs with dtypes and quantization, signatures."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.errors import EdgeseqError, ModelError, RuntimeUnavailable
from edgeseq.keras_archive import check_keras_archive

TFLITE_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
TFLITE_ITEM_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8}
ONNX_TYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 10: "float16", 11: "float64"}
# fused recurrent ops that keep their state in variable tensors between invokes: reset them before every input
STATEFUL_TFLITE_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_LSTM")
RECURRENT_TFLITE = {"UNIDIRECTIONAL_SEQUENCE_LSTM": "fused LSTM op", "UNIDIRECTIONAL_SEQUENCE_RNN": "fused RNN op",
                    "WHILE": "WHILE loop"}
RECURRENT_ONNX = {"LSTM": "ONNX LSTM", "DynamicQuantizeLSTM": "ONNX DynamicQuantizeLSTM", "RNN": "ONNX RNN",
                  "Loop": "ONNX Loop", "Scan": "ONNX Scan"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: list[Any]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None


@dataclass(frozen=True)
class FileFacts:
    format: str
    ops: dict[str, int]
    recurrent_op: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    signatures: list[str] = field(default_factory=list)
    custom_ops: list[str] = field(default_factory=list)

    @property
    def batch_one_only(self) -> bool:
        return any(isinstance(d, int) and d == 1 for d in self.inputs[0].shape[:1]) if self.inputs else False

    @property
    def stateful(self) -> bool:
        """Holds recurrent state in variable tensors between invokes (reset them before every input)."""
        return any(op in self.ops for op in STATEFUL_TFLITE_OPS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"batch_one_only": self.batch_one_only, "stateful": self.stateful}


def collect_files(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files and folders -> every file with one of `suffixes` (folders searched recursively; hidden and
    partial files skipped). A folder with none, or a file of another type, is an error."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise EdgeseqError(f"not found: {path}")
        if path.is_dir():
            hits = sorted(p for p in path.rglob("*") if p.suffix in suffixes and p.is_file()
                          and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not hits:
                raise EdgeseqError(f"no {' or '.join(suffixes)} files under {path}")
            found.extend(hits)
        elif path.suffix in suffixes:
            found.append(path)
        else:
            raise EdgeseqError(f"{path}: not a {' or '.join(suffixes)} file")
    return list(dict.fromkeys(found))


def _classify(ops: dict[str, int], table: dict[str, str]) -> str:
    found = [label for op, label in table.items() if op in ops]
    return ", ".join(found) if found else "unrolled (no recurrent op)"


def read_facts(path: Path) -> FileFacts:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"file not found: {path}")
    if path.suffix == ".tflite":
        return tflite_facts(_read(path), str(path))
    if path.suffix == ".onnx":
        return onnx_facts(path)
    raise ModelError(f"{path}: unknown file type (expected .tflite or .onnx)")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read {path}: {err.strerror or err}") from err


def check_structure(path: Path) -> None:
    """Read enough of a .tflite, .onnx or .keras file, without loading it in a runtime, to reject a
    truncated or corrupt one with a one-line ModelError."""
    if Path(path).suffix == ".keras":
        check_keras_archive(path)
    else:
        read_facts(path)


# --- TFLite ------------------------------------------------------------------------------------------

def tflite_schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable("reading .tflite files needs ai-edge-litert: pip install 'edgeseq[runtime]'") from err
    return schema_py_generated


def tflite_facts(buf: bytes, what: str = "TFLite file") -> FileFacts:
    schema = tflite_schema()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{what} is not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        return _tflite_facts(schema, buf)
    except ModelError as err:
        raise ModelError(f"{what} is corrupt or truncated ({err})") from err
    except Exception as err:  # noqa: BLE001  (a malformed flatbuffer raises struct/index errors)
        raise ModelError(f"{what} is corrupt or truncated ({type(err).__name__})") from err


def enum_names(enum_class: type) -> dict[int, str]:
    """value -> name of a flatbuffers-generated enum class (BuiltinOperator, ActivationFunctionType, ...)."""
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


def builtin_code(opcode: Any) -> int:
    """An OperatorCode's builtin code (schema v3a keeps small codes in the deprecated int8 field)."""
    return max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())


def tflite_operator_names(buf: bytes) -> list[str]:
    """The operator name of every op of every subgraph, in order ('CUSTOM:<code>' for custom and Flex ops)."""
    schema = tflite_schema()
    model = schema.Model.GetRootAs(buf, 0)
    codes = _opcode_names(schema, model, buf)
    return [codes[graph.Operators(j).OpcodeIndex()]
            for graph in (model.Subgraphs(i) for i in range(_count(model.SubgraphsLength(), buf)))
            for j in range(_count(graph.OperatorsLength(), buf))]


def _opcode_names(schema: Any, model: Any, buf: bytes) -> list[str]:
    names = enum_names(schema.BuiltinOperator)
    codes = []
    for i in range(_count(model.OperatorCodesLength(), buf)):
        code = model.OperatorCodes(i)
        name = names.get(builtin_code(code), f"BUILTIN_{builtin_code(code)}")
        codes.append(("CUSTOM:" + code.CustomCode().decode()) if name == "CUSTOM" else name)
    return codes


def _count(length: int, buf: bytes) -> int:
    """A flatbuffer vector length, refused when the file is too small to hold that many entries (a
    corrupt length would otherwise make the loops below run for a very long time)."""
    if not 0 <= length <= len(buf) // 4:
        raise ModelError(f"a vector length of {length} in a {len(buf)}-byte file")
    return length


def _tflite_facts(schema: Any, buf: bytes) -> FileFacts:
    model = schema.Model.GetRootAs(buf, 0)
    if _count(model.SubgraphsLength(), buf) == 0:
        raise ModelError("the model has no subgraph")
    codes = _opcode_names(schema, model, buf)
    ops: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(_count(subgraph.OperatorsLength(), buf)):
            ops[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    for s in range(model.SubgraphsLength()):
        _check_subgraph(model, model.Subgraphs(s), buf)
    main = model.Subgraphs(0)

    def tensor(index: int) -> TensorInfo:
        t = main.Tensors(index)
        quant = t.Quantization()
        scale = zero = None
        if quant is not None and quant.ScaleLength() == 1:
            scale, zero = float(quant.Scale(0)), int(quant.ZeroPoint(0))
        shape = [int(d) for d in t.ShapeSignatureAsNumpy()] if t.ShapeSignatureLength() else \
            [int(d) for d in t.ShapeAsNumpy()]
        return TensorInfo(t.Name().decode(), [None if d < 0 else d for d in shape],
                          TFLITE_TYPES.get(t.Type(), f"type{t.Type()}"), scale, zero)

    signatures = [model.SignatureDefs(i).SignatureKey().decode()
                  for i in range(_count(model.SignatureDefsLength(), buf))]
    custom = sorted(op for op in ops if op.startswith("CUSTOM:") or op.startswith("Flex"))
    return FileFacts("tflite", dict(sorted(ops.items())), _classify(ops, RECURRENT_TFLITE),
                     [tensor(main.Inputs(i)) for i in range(_count(main.InputsLength(), buf))],
                     [tensor(main.Outputs(i)) for i in range(_count(main.OutputsLength(), buf))], signatures, custom)


def _check_subgraph(model: Any, subgraph: Any, buf: bytes) -> None:
    """Indices in range and constant data as long as its shape says (quantization scales are not checked:
    valid files hold 0 and inf). The C++ runtime trusts these: mutated files that break them made it crash,
    or corrupt memory and crash later."""
    tensors, buffers = _count(subgraph.TensorsLength(), buf), _count(model.BuffersLength(), buf)
    for i in range(tensors):
        t = subgraph.Tensors(i)
        if not 0 <= t.Buffer() < buffers:
            raise ModelError(f"tensor {i} refers to buffer {t.Buffer()} of {buffers}")
        data, item = model.Buffers(t.Buffer()).DataLength(), TFLITE_ITEM_BYTES.get(t.Type())
        shape = t.ShapeAsNumpy() if t.ShapeLength() else np.zeros(0, np.int32)
        if data and item and (np.any(shape < 0) or data != item * int(np.prod(shape, dtype=np.int64))):
            raise ModelError(f"tensor {i} has {data} bytes of data for shape {shape.tolist()}")
    codes = model.OperatorCodesLength()
    for o in range(_count(subgraph.OperatorsLength(), buf)):
        op = subgraph.Operators(o)
        if not 0 <= op.OpcodeIndex() < codes:
            raise ModelError(f"operator {o} refers to operator code {op.OpcodeIndex()} of {codes}")
        for kind, indices in (("input", op.InputsAsNumpy()), ("output", op.OutputsAsNumpy()),
                              ("intermediate", op.IntermediatesAsNumpy())):
            if isinstance(indices, np.ndarray) and np.any((indices < -1) | (indices >= tensors)):
                raise ModelError(f"operator {o} has an {kind} tensor index out of range 0..{tensors - 1}")
    for kind, indices in (("input", subgraph.InputsAsNumpy()), ("output", subgraph.OutputsAsNumpy())):
        if isinstance(indices, np.ndarray) and np.any((indices < 0) | (indices >= tensors)):
            raise ModelError(f"a subgraph {kind} tensor index is out of range 0..{tensors - 1}")


# --- ONNX --------------------------------------------------------------------------------------------

def onnx_facts(path: Path) -> FileFacts:
    try:
        import onnx  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable("reading .onnx files needs onnx: pip install 'edgeseq[runtime]'") from err
    try:
        model = onnx.load(str(path))
    except Exception as err:  # noqa: BLE001  (protobuf DecodeError and friends)
        raise ModelError(f"{path} is not a readable ONNX model ({type(err).__name__})") from err
    if not model.graph.node:
        raise ModelError(f"{path} is not an ONNX model (empty graph)")
    try:
        return _onnx_facts(onnx, model)
    except (TypeError, ValueError, AttributeError, RecursionError) as err:  # undecodable names, odd fields
        raise ModelError(f"{path} is a corrupt ONNX model ({type(err).__name__})") from err


def _onnx_facts(onnx: Any, model: Any) -> FileFacts:
    ops: Counter[str] = Counter()

    def walk(graph: Any) -> None:
        for node in graph.node:
            ops[node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    initializers = {i.name for i in model.graph.initializer}

    def value(v: Any) -> TensorInfo:
        t = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        return TensorInfo(v.name, shape, ONNX_TYPES.get(t.elem_type, f"type{t.elem_type}"))

    return FileFacts("onnx", dict(sorted(ops.items())), _classify(ops, RECURRENT_ONNX),
                     [value(v) for v in model.graph.input if v.name not in initializers],
                     [value(v) for v in model.graph.output])


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
