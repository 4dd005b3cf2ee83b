"""Roofline benchmark: each model file's batch-1, one-thread p50 against the fp32 compute bound of this CPU.

    python tools/roofline.py models/lstm/lstm-fp32.tflite models/lstm/lstm-dynamic.onnx --json out.json

The bound is the model's FLOPs (2 x multiply-adds of its LSTM/GRU/SimpleRNN/Dense layers) divided by the
single-thread fp32 GEMM peak measured here (numpy float32 512x512 @ 512x512, one BLAS thread, median of
repeated runs). A ratio p50/bound <= 1.0 means the file runs at least as fast as a perfectly efficient fp32
GEMM would compute the same arithmetic; int8 files can beat it.

Interleaved: the peak is measured before the files, between rounds and after them; the bound uses the median
peak, and each file's p50 is the median of its per-round p50s.

FLOPs are computed, not hard-coded: from the Keras config (config.json inside the .keras zip, read without
TensorFlow) of the file itself, of the .keras its manifest (`FILE.json`: source_keras.name, or
source_keras.path) names, or of --keras; else from the file's structure (ONNX: LSTM/GRU/RNN ops and
MatMul/Gemm after shape inference).

Files are run with edgeseq's runtime adapters (edgeseq.runtimes), on one digit of the shipped sample.
TensorFlow is imported only when a .keras file is benchmarked.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: the peak is single-thread

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


# --- the peak ------------------------------------------------------------------------------------------

def measure_peak(size: int = 512, reps: int = 40, warmup: int = 5) -> dict[str, float]:
    """Single-thread float32 GEMM rate: median over `reps` timed size^3 matmuls (GFLOP/s)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), np.float32)
    for _ in range(warmup):
        np.matmul(a, b, out=out)
    clock, times = time.perf_counter_ns, []
    for _ in range(reps):
        start = clock()
        np.matmul(a, b, out=out)
        times.append(clock() - start)
    flops = 2.0 * size ** 3
    med, best = statistics.median(times), min(times)
    return {"gflops_median": flops / med, "gflops_best": flops / best, "ms_median": med / 1e6}


def measure_gemv(rows: int = 128, cols: int = 512, calls: int = 2000, reps: int = 5) -> dict[str, float]:
    """Single-thread float32 GEMV (1 x rows) @ (rows x cols), the shape of one LSTM step's h @ U, weights
    resident in cache: the roof for batch-1 recurrence, where each weight is read once per step. Median over
    `reps` loops of `calls` numpy calls (a few hundred ns of call overhead each are included)."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal((rows, cols), dtype=np.float32)
    h = rng.standard_normal((1, rows), dtype=np.float32)
    out = np.empty((1, cols), np.float32)
    for _ in range(100):
        np.matmul(h, u, out=out)
    clock, times = time.perf_counter_ns, []
    for _ in range(reps):
        start = clock()
        for _ in range(calls):
            np.matmul(h, u, out=out)
        times.append((clock() - start) / calls)
    med = statistics.median(times)
    return {"gflops": 2.0 * rows * cols / med, "us": med / 1000, "gbytes_per_s": u.nbytes / med}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001  (older numpy: no mode=)
        return "?"


# --- FLOPs ---------------------------------------------------------------------------------------------

def keras_config_flops(keras_path: Path) -> tuple[int, list[dict[str, Any]]]:
    """2 x multiply-adds of a Sequential .keras model, from its config.json (no TensorFlow)."""
    with zipfile.ZipFile(keras_path) as archive:
        config = json.loads(archive.read("config.json"))
    layers = config["config"]["layers"]
    shape: list[int] | None = None  # without batch
    total, parts = 0, []
    for layer in layers:
        kind, cfg = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            shape = list((cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:])
            continue
        if shape is None:
            build = layer.get("build_config", {}).get("input_shape")
            shape = list(build[1:]) if build else None
        if kind in GATES:
            steps, features = shape[0], shape[-1]
            units, gates = int(cfg["units"]), GATES[kind]
            macs = steps * gates * units * (features + units)
            parts.append({"layer": cfg.get("name", kind), "kind": kind, "steps": steps, "input": features,
                          "units": units, "macs": macs})
            shape = [steps, units] if cfg.get("return_sequences") else [units]
        elif kind == "Dense":
            units = int(cfg["units"])
            rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            macs = rows * shape[-1] * units
            parts.append({"layer": cfg.get("name", kind), "kind": kind, "input": shape[-1], "units": units,
                          "macs": macs})
            shape = [*shape[:-1], units]
        elif kind in ("Dropout", "Activation", "Softmax", "ReLU"):
            continue
        else:
            raise ValueError(f"{keras_path}: layer {kind} is not counted by this tool")
        total += macs
    return 2 * total, parts


def find_keras(path: Path, override: Path | None) -> Path | None:
    if override is not None:
        return override
    if path.suffix == ".keras":
        return path
    manifest = path.with_name(path.name + ".json")
    if not manifest.is_file():
        return None
    try:
        source = json.loads(manifest.read_text()).get("source_keras") or {}
    except (OSError, ValueError):
        return None
    for candidate in (source.get("path"), source.get("name") and path.parent / source["name"]):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def onnx_structure_flops(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """2 x multiply-adds of recurrent ops and MatMul/Gemm in an ONNX graph (symbolic dims taken as 1)."""
    import onnx  # noqa: PLC0415
    from onnx import numpy_helper, shape_inference  # noqa: PLC0415, F401

    model = onnx.load(str(path))
    try:
        model = shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001
        pass
    graph = model.graph
    shapes: dict[str, list[int]] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    total, parts = 0, []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        macs = None
        if node.op_type in ("LSTM", "GRU", "RNN", "DynamicQuantizeLSTM"):
            gates = {"LSTM": 4, "DynamicQuantizeLSTM": 4, "GRU": 3, "RNN": 1}[node.op_type]
            hidden = int(attrs["hidden_size"])
            w = shapes.get(node.input[1])
            x = shapes.get(node.input[0])
            if w is None or x is None:
                raise ValueError(f"{path}: shape of {node.op_type} inputs unknown")
            directions = w[0]
            features = int(np.prod(w)) // (directions * gates * hidden)
            steps = x[1] if attrs.get("layout", 0) else x[0]
            macs = directions * steps * gates * hidden * (features + hidden)
        elif node.op_type in ("MatMul", "Gemm", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                              "FusedMatMul"):
            a, b = shapes.get(node.input[0]), shapes.get(node.input[1])
            if a is None or b is None:
                raise ValueError(f"{path}: shape of {node.op_type} {node.name} inputs unknown")
            k = a[0] if attrs.get("transA", 0) else a[-1]
            n = b[0] if attrs.get("transB", 0) else b[-1]
            rows = int(np.prod(a)) // k
            macs = rows * k * n
        if macs is not None:
            total += macs
            parts.append({"node": node.name or node.op_type, "op": node.op_type, "macs": int(macs)})
        if node.op_type in ("Loop", "Scan", "If"):
            raise ValueError(f"{path}: control flow ({node.op_type}) is not counted structurally")
    return 2 * total, parts


def count_flops(path: Path, keras_override: Path | None = None) -> dict[str, Any]:
    keras = find_keras(path, keras_override)
    if keras is not None:
        flops, parts = keras_config_flops(keras)
        return {"flops": flops, "source": f"keras config of {keras.name}", "layers": parts}
    if path.suffix == ".onnx":
        flops, parts = onnx_structure_flops(path)
        return {"flops": flops, "source": "ONNX graph structure", "layers": parts}
    raise ValueError(f"{path}: no .keras found through its manifest ({path.name}.json); pass --keras")


# --- timing --------------------------------------------------------------------------------------------

def time_call(call: Callable[[], Any], warmup: int = 50, min_runs: int = 500, min_seconds: float = 2.0
              ) -> dict[str, float]:
    for _ in range(warmup):
        call()
    clock, times = time.perf_counter_ns, []
    end = clock() + int(min_seconds * 1e9)
    while len(times) < min_runs or clock() < end:
        start = clock()
        call()
        times.append(clock() - start)
    us = np.asarray(times, dtype=np.float64) / 1000.0
    return {"p50_us": float(np.percentile(us, 50)), "p10_us": float(np.percentile(us, 10)),
            "p90_us": float(np.percentile(us, 90)), "runs": len(times)}


def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    from edgeseq import data  # noqa: PLC0415

    ds = data.load("sample")
    return ds.x_test, ds.y_test


def load_runtime(path: Path, threads: int = 1) -> Any:
    """edgeseq's runtime adapter for `path` (the first runtime that loads its suffix)."""
    from edgeseq import runtimes  # noqa: PLC0415

    return runtimes.load(path, runtimes.runtimes_for(path)[0], threads=threads)


def sample_accuracy(rt: Any, x: np.ndarray, y: np.ndarray) -> float:
    from edgeseq import runtimes  # noqa: PLC0415

    return float(np.mean(np.argmax(runtimes.predict_in_batches(rt, x), axis=1) == y))


def run_roofline(entries: list[dict[str, Any]], rounds: int = 1, warmup: int = 50, min_runs: int = 500,
                 min_seconds: float = 2.0, peak_size: int = 512, peak_reps: int = 40,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """entries: {"label", "flops", "call" (zero-arg callable)} plus any extra keys (copied to the result).
    Peak, then every entry, then peak again, for each round; returns the medians."""
    peaks = [measure_peak(peak_size, peak_reps)]
    gemvs = [measure_gemv()]
    log(f"peak: {peaks[-1]['gflops_median']:.1f} GFLOP/s")
    p50s: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(entries))}
    for r in range(rounds):
        for i, entry in enumerate(entries):
            p50s[i].append(time_call(entry["call"], warmup, min_runs, min_seconds))
            log(f"round {r + 1}: {entry['label']}: p50 {p50s[i][-1]['p50_us']:.1f} µs")
        peaks.append(measure_peak(peak_size, peak_reps))
        gemvs.append(measure_gemv())
        log(f"peak: {peaks[-1]['gflops_median']:.1f} GFLOP/s")
    gflops = statistics.median(p["gflops_median"] for p in peaks)
    rows = []
    for i, entry in enumerate(entries):
        p50 = statistics.median(t["p50_us"] for t in p50s[i])
        bound_us = entry["flops"] / (gflops * 1e9) * 1e6
        row = {k: v for k, v in entry.items() if k != "call"}
        row.update({"p50_us": p50, "p50_us_rounds": [t["p50_us"] for t in p50s[i]],
                    "runs": sum(t["runs"] for t in p50s[i]), "bound_us": bound_us, "ratio": p50 / bound_us})
        rows.append(row)
    return {"peak_gflops": gflops, "peak_gflops_each": [p["gflops_median"] for p in peaks],
            "peak_gflops_best": max(p["gflops_best"] for p in peaks), "peak_size": peak_size,
            "gemv_gflops": statistics.median(g["gflops"] for g in gemvs),
            "gemv_gbytes_per_s": statistics.median(g["gbytes_per_s"] for g in gemvs),
            "gemv_shape": "(1x128) @ (128x512) float32", "rows": rows}


def table(result: dict[str, Any]) -> str:
    width = max([48, *(len(row["label"]) for row in result["rows"])])
    lines = [f"fp32 peak (numpy {result['peak_size']}^3 GEMM, 1 thread, median): {result['peak_gflops']:.1f} GFLOP/s"
             f" (each: {', '.join(f'{g:.1f}' for g in result['peak_gflops_each'])})",
             f"fp32 GEMV (1x128 @ 128x512, one LSTM step's h @ U, 1 thread, median): {result['gemv_gflops']:.1f}"
             f" GFLOP/s ({result['gemv_gbytes_per_s']:.0f} GB/s of weights) -- not the bound, for reference",
             f"{'file':<{width}} {'MFLOP':>7} {'p50 µs':>9} {'bound µs':>9} {'ratio':>6} {'acc':>7} {'KB':>7}"]
    for row in result["rows"]:
        acc = f"{row['sample_accuracy']:.4f}" if row.get("sample_accuracy") is not None else "-"
        size = f"{row['size_bytes'] / 1024:.0f}" if row.get("size_bytes") else "-"
        lines.append(f"{row['label']:<{width}} {row['flops'] / 1e6:>7.2f} {row['p50_us']:>9.1f} {row['bound_us']:>9.1f}"
                     f" {row['ratio']:>6.2f} {acc:>7} {size:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help=".tflite / .onnx (/.keras) model files")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--keras", type=Path, default=None, help="count FLOPs from this .keras for every file")
    parser.add_argument("--rounds", type=int, default=1, help="peak, files, peak, ... files, peak")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--min-runs", type=int, default=500)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--peak-size", type=int, default=512)
    parser.add_argument("--peak-reps", type=int, default=40)
    parser.add_argument("--no-accuracy", action="store_true", help="skip the accuracy on the 1000 sample digits")
    args = parser.parse_args(argv)

    x, y = sample_digits()
    digit = x[:1].astype(np.float32)
    entries = []
    for path in args.files:
        count = count_flops(path, args.keras)
        rt = load_runtime(path, threads=1)
        accuracy = None if args.no_accuracy else sample_accuracy(rt, x, y)  # before bind: predict may resize
        entry = {"label": str(path), "path": str(path), "size_bytes": path.stat().st_size, "flops": count["flops"],
                 "flops_source": count["source"], "backend": rt.backend, "sample_accuracy": accuracy,
                 "call": rt.bind(digit)}
        entries.append(entry)
    result = run_roofline(entries, args.rounds, args.warmup, args.min_runs, args.min_seconds, args.peak_size,
                          args.peak_reps, log=lambda m: print(m, file=sys.stderr))
    result.update({"cpu": cpu_model(), "blas": blas_name(), "numpy": np.__version__, "batch": 1, "threads": 1,
                   "tensorflow_imported": "tensorflow" in sys.modules, "digit": "sample x_test[0]"})
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
