"""The compute bound beside a latency: a file's FLOPs at this machine's single-thread fp32 GEMM peak.

  peak    measure_peak() (edgeseq.gemm_peak): numpy float32 512x512 @ 512x512, the median of 40 timed products
          after 5 untimed ones, in GFLOP/s. Only meaningful where numpy's BLAS runs one thread, so bench takes it
          with peak_in_worker(): a fresh process (python -m edgeseq.gemm_peak) whose BLAS thread variables are 1
          before numpy is imported.
  FLOPs   count_flops(path, manifest): 2 x the multiply-adds of one digit, never a guess. From the Keras config
          (config.json in the .keras zip, read without TensorFlow) of the file itself or of the .keras its
          manifest names (source_keras: a file of that name beside it, with that sha256); else, for ONNX, from
          the graph (recurrent ops, MatMul/Gemm and their integer forms, after shape inference). A TFLite file
          without its source gives no count and says why. Counted: LSTM/GRU/SimpleRNN (gates x units x
          (inputs + units) per step) and Dense; activations, dropout, biases and softmax are not.
          A step model (streaming) runs its whole model once per row: its sequence costs T x (one step of every
          recurrent layer + the head), which is a little more than the whole-sequence file (the head runs on
          every row, not once).
  bound   a bench row's flops are one digit's x its batch; bound_us = flops / peak; bound_ratio = p50 / bound_us.
          A ratio of 1.0 runs as fast as a perfectly efficient fp32 GEMM would compute the same arithmetic; int8
          files can beat it.

No TensorFlow here; `onnx` is imported only to count an ONNX graph.
"""

from __future__ import annotations

import json
import math
import statistics
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeseq import formats
from edgeseq.core.fileio import sha256_file
from edgeseq.gemm_peak import PEAK_REPS, PEAK_SIZE, PEAK_WARMUP, THREAD_VARIABLES, blas_name, measure_peak
from edgeseq.core.procs import WorkerError, run_worker

__all__ = ["FlopCount", "PEAK_REPS", "PEAK_SIZE", "PEAK_WARMUP", "THREAD_VARIABLES", "blas_name", "bound_fields",
           "count_flops", "keras_config_flops", "measure_peak", "onnx_structure_flops", "peak_environment",
           "peak_in_worker", "source_keras"]

PEAK_WORKER = "edgeseq.gemm_peak"       # a foundation module: its process imports little more than numpy
PEAK_TIMEOUT_S = 120
PEAK_METHOD = (f"numpy float32 {PEAK_SIZE}x{PEAK_SIZE} matmul, 1 BLAS thread, median of {PEAK_REPS} after"
               f" {PEAK_WARMUP} untimed, in a fresh process")

GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}                                   # Keras layer -> gates
ONNX_GATES = {"LSTM": 4, "DynamicQuantizeLSTM": 4, "GRU": 3, "RNN": 1}
ONNX_MATMULS = {"MatMul": (0, 1), "Gemm": (0, 1), "MatMulInteger": (0, 1), "DynamicQuantizeMatMul": (0, 1),
                "MatMulIntegerToFloat": (0, 1), "FusedMatMul": (0, 1), "QLinearMatMul": (0, 3)}  # op -> A, B inputs
FREE_LAYERS = ("Dropout", "Activation", "Softmax", "ReLU", "InputLayer")
UNCOUNTED_ONNX = ("Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "Einsum", "Attention", "Loop", "Scan", "If")


@dataclass(frozen=True)
class FlopCount:
    flops: int | None           # one sequence (a step model: its whole sequence); None: not known
    source: str                 # where the count comes from, or why there is none
    layers: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"layers": list(self.layers)}


# --- the peak ----------------------------------------------------------------------------------------------

def peak_in_worker(timeout: float = PEAK_TIMEOUT_S) -> dict[str, Any] | str:
    """measure_peak() in a fresh process with one BLAS thread: its result (with the BLAS's name), or the
    one-line reason there is none."""
    answer = run_worker(PEAK_WORKER, {"size": PEAK_SIZE, "reps": PEAK_REPS, "warmup": PEAK_WARMUP}, timeout,
                        env={name: "1" for name in THREAD_VARIABLES})
    if isinstance(answer, WorkerError):
        return answer.describe("the peak measurement")
    return answer


def peak_environment(readings: list[dict[str, Any] | str]) -> dict[str, Any]:
    """What a bench's results say about the peak: the median GFLOP/s of the readings that succeeded, each
    reading, how it was taken; or why there is none."""
    good = [r["gflops"] for r in readings if isinstance(r, dict)]
    failed = [r for r in readings if isinstance(r, str)]
    blas = next((r.get("blas") for r in readings if isinstance(r, dict)), None)
    return {"fp32_gemm_peak_gflops": statistics.median(good) if good else None,
            "fp32_gemm_peak_readings_gflops": good, "fp32_gemm_peak_method": PEAK_METHOD,
            "fp32_gemm_peak_blas": blas, "fp32_gemm_peak_error": "; ".join(dict.fromkeys(failed)) or None}


def bound_fields(flops: int | None, p50_us: float | None, peak_gflops: float | None) -> dict[str, float | None]:
    """bound_us (the FLOPs at the peak) and bound_ratio (p50 / bound); None where a figure is missing."""
    if not flops or not peak_gflops or peak_gflops <= 0 or not math.isfinite(peak_gflops):
        return {"bound_us": None, "bound_ratio": None}
    bound = flops / (peak_gflops * 1e3)
    return {"bound_us": bound, "bound_ratio": None if p50_us is None else p50_us / bound}


# --- FLOPs -------------------------------------------------------------------------------------------------

def keras_config_flops(keras_path: Path, steps: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """2 x multiply-adds of one digit through a Sequential .keras model, from its config.json (no TensorFlow);
    `steps` replaces the input's sequence length (1: one step of a step model). ValueError when the config holds
    a layer or a topology this does not count."""
    with zipfile.ZipFile(keras_path) as archive:
        config = json.loads(archive.read("config.json"))
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        raise ValueError("not a Sequential model")
    shape: list[int] | None = None  # without the batch
    total, parts = 0, []
    for layer in config["config"]["layers"]:
        kind, cfg = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            shape = list((cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:])
            shape[0] = steps if steps is not None and len(shape) > 1 else shape[0]
            continue
        if shape is None:
            build = (layer.get("build_config") or {}).get("input_shape")
            shape = list(build[1:]) if build else None
            if shape is not None and steps is not None and len(shape) > 1:
                shape[0] = steps
        if kind in FREE_LAYERS:
            continue
        if shape is None or any(not isinstance(d, int) for d in shape):
            raise ValueError(f"layer {kind}: input shape unknown")
        if kind in GATES:
            count, features = shape[0], shape[-1]
            units, gates = int(cfg["units"]), GATES[kind]
            macs = count * gates * units * (features + units)
            parts.append({"layer": cfg.get("name", kind), "kind": kind, "steps": count, "input": features,
                          "units": units, "macs": macs})
            shape = [count, units] if cfg.get("return_sequences") else [units]
        elif kind == "Dense":
            units = int(cfg["units"])
            rows = math.prod(shape[:-1])
            macs = rows * shape[-1] * units
            parts.append({"layer": cfg.get("name", kind), "kind": kind, "input": shape[-1], "units": units,
                          "macs": macs})
            shape = [*shape[:-1], units]
        else:
            raise ValueError(f"layer {kind} is not counted")
        total += macs
    return 2 * total, parts


def source_keras(path: Path, manifest: Any) -> tuple[Path | None, str]:
    """The .keras a file was exported from: the file itself, else the one its manifest names (source_keras:
    a file of that name in the same folder whose sha256 is the manifest's); else None and why not."""
    path = Path(path)
    if path.suffix == ".keras":
        return path, ""
    source = manifest.source_keras if manifest is not None else None
    if not isinstance(source, dict) or not isinstance(source.get("name"), str):
        return None, "no manifest naming its source .keras" if manifest is None else "its manifest names no .keras"
    name = source["name"]
    candidate = path.parent / name
    if Path(name).name != name or not candidate.is_file():
        return None, f"its source {name} is not beside it"
    expected = source.get("sha256")
    if expected and sha256_file(candidate) != expected:
        return None, f"{name} beside it is not its source (sha256 differs)"
    return candidate, ""


def onnx_structure_flops(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """2 x multiply-adds of one digit through an ONNX graph: its recurrent ops and matrix products, after shape
    inference. A symbolic dimension counts as 1 where it is a batch of rows, and is refused where it is a
    sequence length or a product's inner or outer size. ValueError when the graph cannot be counted."""
    import onnx  # noqa: PLC0415
    from onnx import helper, shape_inference  # noqa: PLC0415

    model = onnx.load(str(path), load_external_data=False)
    try:
        model = shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001  (onnx raises several kinds; the count then uses the shapes it has)
        pass
    graph = model.graph
    shapes: dict[str, list[int | None]] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    total, parts = 0, []
    for node in graph.node:
        if node.op_type in UNCOUNTED_ONNX:
            raise ValueError(f"{node.op_type} is not counted")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type in ONNX_GATES:
            gates, hidden = ONNX_GATES[node.op_type], int(attrs["hidden_size"])
            w, x = shapes.get(node.input[1]), shapes.get(node.input[0])
            if not w or not x or None in w or len(x) != 3:
                raise ValueError(f"the shapes of {node.op_type} {node.name}'s inputs are unknown")
            directions = w[0]
            features = math.prod(w) // (directions * gates * hidden)
            steps = x[1] if attrs.get("layout", 0) else x[0]
            if steps is None:
                raise ValueError(f"{node.op_type} {node.name} has a symbolic sequence length")
            macs = directions * steps * gates * hidden * (features + hidden)
        elif node.op_type in ONNX_MATMULS:
            first, second = ONNX_MATMULS[node.op_type]
            a, b = shapes.get(node.input[first]), shapes.get(node.input[second])
            if not a or not b:
                raise ValueError(f"the shapes of {node.op_type} {node.name}'s inputs are unknown")
            if len(b) > 2 and math.prod(d or 0 for d in b[:-2]) != 1:
                raise ValueError(f"{node.op_type} {node.name} is a batched product")
            k_a, rows = (a[0], a[1:]) if attrs.get("transA", 0) else (a[-1], a[:-1])
            k_b, n = (b[-1], b[-2]) if attrs.get("transB", 0) else (b[-2] if len(b) > 1 else None, b[-1])
            k = k_a or k_b               # h0 = zeros(batch, units) may have no static shape; its weights do
            if k is None or n is None:
                raise ValueError(f"{node.op_type} {node.name} has a symbolic inner or outer size")
            macs = math.prod(d or 1 for d in rows) * k * n
        else:
            continue
        total += macs
        parts.append({"node": node.name or node.op_type, "op": node.op_type, "macs": int(macs)})
    return 2 * total, parts


def count_flops(path: Path, manifest: Any = None, step: bool = False, timesteps: int | None = None,
                keras: Path | None = None) -> FlopCount:
    """The FLOPs of one digit through `path` (module docstring), from `keras` if given, else its source .keras,
    else (ONNX) its structure. A step model's are its whole sequence of `timesteps` rows. Never raises for a
    file it cannot count: the count is None and `source` says why."""
    path = Path(path)
    if timesteps is None and step:          # a step model's sequence is its data contract's T
        timesteps = manifest.data_contract.timesteps if manifest is not None else None
        if timesteps is None:
            return FlopCount(None, "a step model without a manifest: its sequence length is not known")
    found, why = (Path(keras), "") if keras is not None else source_keras(path, manifest)
    rows = f" x {timesteps} rows (a step model: one step of every layer, per row)" if step else ""
    scale = timesteps if step else 1
    problems = []
    if found is not None:
        try:
            flops, parts = keras_config_flops(found, 1 if step else None)
            return FlopCount(flops * scale, f"Keras config of {found.name}{rows}", tuple(parts))
        except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as err:
            problems.append(f"{found.name}: {err}")
    else:
        problems.append(why)
    if (row := formats.find(path)) is not None:          # the format's own count, from the file's graph
        counted = row.adapter().flops(path)
        if isinstance(counted, str):
            problems.append(counted)
        else:
            flops, counted_by, parts = counted
            return FlopCount(flops * scale, f"{counted_by}{rows}", tuple(parts))
    return FlopCount(None, "FLOPs unknown: " + "; ".join(p for p in problems if p))
