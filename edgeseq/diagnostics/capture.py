"""Reading an exported file into a `Graph` and capturing its intermediate tensors on sequences.

TFLite: the structure from the flatbuffer (the `tflite` schema package), the values from LiteRT's interpreter
with `experimental_preserve_all_tensors=True` and the builtin kernels (a delegate such as XNNPACK keeps the
tensors inside its partitions to itself), sequence by sequence. Integer tensors are dequantized with their own
scale and zero point, which also give the range each one can represent.

ONNX: onnxruntime's own debugging helpers (`onnxruntime.quantization.qdq_loss_debug`):
`modify_model_output_intermediate_tensors` makes every float tensor an output and `collect_activations` runs
the sequences (without graph optimizations, so no op is fused away). In a QDQ file a layer's value is read after its
QuantizeLinear/DequantizeLinear pair (what its consumers see: `create_activation_matching`'s "post_qdq"), found
by following the graph's edges rather than the pair's name suffixes; the pair's scale and zero point give the
representable range. Sequence outputs are assumed forward-only (one direction).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.core.tflite_schema import builtin_code, enum_names, tflite_schema
from edgeseq.core.errors import ModelError, RuntimeUnavailable, first_line
from edgeseq.diagnostics.graph import RECURRENT_OPS, Graph, Node
from edgeseq.core.quiet import native_stderr_silenced

INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}
TFLITE_TYPE_NAMES = {3: "uint8", 7: "int16", 9: "int8"}
ONNX_CHUNK = 100          # sequences per onnxruntime run


@dataclass(frozen=True)
class QuantRange:
    """A quantized tensor's parameters and the float interval it can represent."""
    scale: float
    zero_point: int
    dtype: str

    @property
    def bounds(self) -> tuple[float, float]:
        qmin, qmax = INT_RANGES[self.dtype]
        return self.scale * (qmin - self.zero_point), self.scale * (qmax - self.zero_point)


@dataclass
class Captured:
    graph: Graph
    values: dict[str, np.ndarray]              # tensor -> (N, ...) float32, batch first (sequences: (N, T, U))
    ranges: dict[str, QuantRange]              # tensor -> its quantized range (integer tensors only)
    backend: str


# --- TFLite --------------------------------------------------------------------------------------------

def tflite_graph(path: Path) -> tuple[Graph, dict[str, QuantRange]]:
    schema = tflite_schema()
    buf = path.read_bytes()
    model = schema.Model.GetRootAs(buf, 0)
    names = enum_names(schema.BuiltinOperator)
    codes = [names.get(builtin_code(model.OperatorCodes(i)), "CUSTOM") for i in range(model.OperatorCodesLength())]
    sub = model.Subgraphs(0)
    constants, labels, ranges = set(), {}, {}
    for i in range(sub.TensorsLength()):
        tensor = sub.Tensors(i)
        key = str(i)
        labels[key] = tensor.Name().decode("utf-8", "replace")
        if model.Buffers(tensor.Buffer()).DataLength() > 0:
            constants.add(key)
        quant, dtype = tensor.Quantization(), TFLITE_TYPE_NAMES.get(tensor.Type())
        if dtype and quant is not None and quant.ScaleLength() == 1 and quant.Scale(0) > 0:
            ranges[key] = QuantRange(float(quant.Scale(0)), int(quant.ZeroPoint(0)), dtype)
    nodes = []
    for o in range(sub.OperatorsLength()):
        op = sub.Operators(o)
        name = codes[op.OpcodeIndex()]
        layout = None
        if name in RECURRENT_OPS:
            layout = "TBU" if _time_major(schema, op) else "BTU"
        nodes.append(Node(o, name, tuple("" if i < 0 else str(i) for i in op.InputsAsNumpy()),
                          tuple(str(i) for i in op.OutputsAsNumpy()), layout))
    return Graph(nodes, constants, labels), ranges


def _time_major(schema: Any, op: Any) -> bool:
    table = op.BuiltinOptions()
    if table is None:
        return False
    for cls_name in ("UnidirectionalSequenceLSTMOptions", "SequenceRNNOptions"):
        cls = getattr(schema, cls_name, None)
        if cls is not None and op.BuiltinOptionsType() == getattr(schema.BuiltinOptions, cls_name, -1):
            options = cls()
            options.Init(table.Bytes, table.Pos)
            return bool(options.TimeMajor())
    return False


def capture_tflite(path: Path, tensors: set[str], sequences: np.ndarray,
                   tick: Callable[[int], None] = lambda _: None) -> Captured:
    graph, ranges = tflite_graph(path)
    from edgeseq.runtimes.litert_runtime import open_interpreter  # noqa: PLC0415

    interpreter, label = open_interpreter(path, 1, inspect=True)   # LiteRT, else tflite-runtime: no TensorFlow
    detail = interpreter.get_input_details()[0]
    if int(detail["shape"][0]) != 1:
        interpreter.resize_tensor_input(detail["index"], [1, *sequences.shape[1:]])
        interpreter.allocate_tensors()
    wanted = sorted(tensors, key=int)
    parts: dict[str, list[np.ndarray]] = {t: [] for t in wanted}
    for n in range(len(sequences)):
        interpreter.reset_all_variables()          # fused recurrent ops keep state in variable tensors
        interpreter.set_tensor(detail["index"], _quantize(sequences[n:n + 1], detail))
        try:
            interpreter.invoke()
        except RuntimeError as err:
            raise ModelError(f"{path}: the TFLite interpreter cannot run it ({first_line(err)[:200]})") from err
        for t in wanted:
            parts[t].append(_dequantize(interpreter.get_tensor(int(t)), ranges.get(t)))
        tick(n + 1)
    values = {t: _batch_first(np.concatenate(v), _layout(graph, t)) for t, v in parts.items()}
    return Captured(graph, values, ranges, label)


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return x.astype(np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _dequantize(raw: np.ndarray, quant: QuantRange | None) -> np.ndarray:
    if quant is None or raw.dtype.kind == "f":
        return raw.astype(np.float32)
    return ((raw.astype(np.float32) - quant.zero_point) * quant.scale).astype(np.float32)


def _layout(graph: Graph, tensor: str) -> str | None:
    node = graph.producer.get(tensor)
    return node.layout if node is not None and node.outputs[:1] == (tensor,) else None


def _batch_first(value: np.ndarray, layout: str | None) -> np.ndarray:
    """TFLite values arrive one sequence at a time, concatenated on axis 0: only time-major ones need moving."""
    if layout == "TBU":
        return np.swapaxes(value, 0, 1)
    return value


# --- ONNX ----------------------------------------------------------------------------------------------

ONNX_INT_TYPES = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16"}


def onnx_graph(path: Path) -> tuple[Graph, dict[str, QuantRange], Any]:
    import onnx  # noqa: PLC0415
    from onnx import numpy_helper  # noqa: PLC0415

    try:
        model = onnx.load(str(path))
    except Exception as err:  # noqa: BLE001  (protobuf DecodeError and friends)
        raise ModelError(f"{path} is not a readable ONNX model ({type(err).__name__})") from err
    inits = {i.name: i for i in model.graph.initializer}
    constants = set(inits) | {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    nodes, ranges = [], {}
    for k, n in enumerate(model.graph.node):
        layout = None
        if n.op_type in RECURRENT_OPS:
            layout = "TDBU"
            if any(a.name == "layout" and a.i == 1 for a in n.attribute):
                layout = "BTDU"
        nodes.append(Node(k, n.op_type, tuple(n.input), tuple(n.output), layout))
        if n.op_type == "QuantizeLinear" and len(n.input) >= 3 and n.input[1] in inits and n.input[2] in inits:
            zero = inits[n.input[2]]
            dtype = ONNX_INT_TYPES.get(zero.data_type)
            scale, zp = numpy_helper.to_array(inits[n.input[1]]), numpy_helper.to_array(zero)
            if dtype and scale.size == 1:
                ranges[n.input[0]] = QuantRange(float(scale.reshape(-1)[0]), int(zp.reshape(-1)[0]), dtype)
    graph = Graph(nodes, constants)
    # the value a consumer sees after Q -> DQ has the range of the Q that made it
    for node in graph.nodes:
        if node.op == "DequantizeLinear":
            q = graph.producer.get(node.inputs[0])
            if q is not None and q.op == "QuantizeLinear" and q.inputs[0] in ranges:
                ranges[node.outputs[0]] = ranges[q.inputs[0]]
    return graph, ranges, model


class _Sequences:
    """A CalibrationDataReader over the sequences, ONNX_CHUNK at a time (batch-1 files: one at a time)."""

    def __init__(self, name: str, sequences: np.ndarray, chunk: int, tick: Callable[[int], None]) -> None:
        self.name, self.digits, self.chunk, self.tick, self.at = name, sequences, chunk, tick, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.at >= len(self.digits):
            return None
        batch = self.digits[self.at:self.at + self.chunk].astype(np.float32)
        self.at += len(batch)
        self.tick(self.at)
        return {self.name: batch}

    def __iter__(self) -> "_Sequences":
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item


def capture_onnx(path: Path, tensors: set[str], sequences: np.ndarray,
                 tick: Callable[[int], None] = lambda _: None) -> Captured:
    try:
        import onnxruntime  # noqa: PLC0415
        from onnxruntime.quantization import qdq_loss_debug as qdq  # noqa: PLC0415

        from edgeseq.runtimes.onnx_runtime import session_options  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable("quant-debug needs onnxruntime for .onnx files: pip install 'edgeseq[runtime]'") \
            from err
    graph, ranges, model = onnx_graph(path)
    inits = {i.name for i in model.graph.initializer}
    feed = next(i for i in model.graph.input if i.name not in inits)
    dims = feed.type.tensor_type.shape.dim
    chunk = 1 if dims and dims[0].HasField("dim_value") and dims[0].dim_value == 1 else ONNX_CHUNK
    with tempfile.TemporaryDirectory(prefix="edgeseq-quant-") as folder:
        augmented = Path(folder) / "augmented.onnx"
        try:
            with native_stderr_silenced():
                qdq.modify_model_output_intermediate_tensors(str(path), str(augmented))
                options = session_options(onnxruntime, threads=1, optimize=False)
                activations = qdq.collect_activations(str(augmented), _Sequences(feed.name, sequences, chunk, tick),
                                                      session_options=options)
        except Exception as err:  # noqa: BLE001  (onnxruntime and onnx raise their own types)
            raise ModelError(f"{path}: onnxruntime cannot run it with its intermediate tensors as outputs"
                             f" ({first_line(err)[:200]})") from err
    sizes = [len(sequences[i:i + chunk]) for i in range(0, len(sequences), chunk)]
    values = {}
    for tensor in tensors:
        if tensor in activations:
            values[tensor] = _onnx_batch_first(activations[tensor], sizes, _layout(graph, tensor), sequences.shape[1])
    return Captured(graph, values, ranges, f"onnxruntime {onnxruntime.__version__} (qdq_loss_debug, no graph"
                                           " optimizations)")


def _onnx_batch_first(parts: list[np.ndarray], sizes: list[int], layout: str | None, timesteps: int) -> np.ndarray:
    """collect_activations flattens every tensor of every run: back to (N, ...) using what is known."""
    out = []
    for flat, n in zip(parts, sizes):
        if layout == "TDBU":
            out.append(flat.reshape(timesteps, -1, n, flat.size // (timesteps * n) if n else 0)
                       .transpose(2, 0, 1, 3).reshape(n, timesteps, -1))
        elif layout == "BTDU":
            out.append(flat.reshape(n, timesteps, -1))
        else:
            out.append(flat.reshape(n, -1))
    return np.concatenate(out).astype(np.float32)
