"""Roofline benchmark: each model file's batch-1, one-thread p50 against the fp32 compute bound of this CPU.

    python tools/roofline.py models/lstm/lstm-fp32.tflite models/lstm/lstm-dynamic.onnx --json out.json

The bound is the model's FLOPs (2 x multiply-adds of its LSTM/GRU/SimpleRNN/Dense layers) divided by the
single-thread fp32 GEMM peak measured here (numpy float32 512x512 @ 512x512, one BLAS thread, median of
repeated runs). A ratio p50/bound <= 1.0 means the file runs at least as fast as a perfectly efficient fp32
GEMM would compute the same arithmetic; int8 files can beat it.

Interleaved: the peak is measured before the files, between rounds and after them; the bound uses the median
peak, and each file's p50 is the median of its per-round p50s.

FLOPs are computed, not hard-coded, by edgeseq.bench.bound (what `edgeseq bench` reports too): from the Keras
config (config.json inside the .keras zip, read without TensorFlow) of the file itself, of the .keras its
manifest (`FILE.json`: source_keras.name beside it with its sha256, or this tool's scratch source_keras.path)
names, or of --keras; else from the file's structure (ONNX: LSTM/GRU/RNN ops and MatMul/Gemm after shape
inference). The peak is bound.measure_peak, in this process (its BLAS threads are set to 1 below).

Files are run with edgeseq's runtime adapters (edgeseq.runtimes), on one digit of the shipped sample.
TensorFlow is imported only when a .keras file is benchmarked.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):  # edgeseq.bench.bound.THREAD_VARIABLES
    os.environ[_var] = "1"  # before numpy is imported: the peak is single-thread

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

from edgeseq.core import environment  # noqa: E402
from edgeseq.bench import bound  # noqa: E402
from edgeseq.core.manifest import read_manifest  # noqa: E402


# --- the peak ------------------------------------------------------------------------------------------

def measure_peak(size: int = bound.PEAK_SIZE, reps: int = bound.PEAK_REPS, warmup: int = bound.PEAK_WARMUP
                 ) -> dict[str, float]:
    """Single-thread float32 GEMM rate here (edgeseq.bench.bound.measure_peak; this process's BLAS has one
    thread: the variables are set above, before numpy is imported)."""
    peak = bound.measure_peak(size, reps, warmup)
    return {"gflops_median": peak["gflops"], "gflops_best": peak["gflops_best"], "ms_median": peak["ms_median"]}


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
    return environment.cpu_model()


def blas_name() -> str:
    return bound.blas_name()


# --- FLOPs (edgeseq.bench.bound) -----------------------------------------------------------------------

def count_flops(path: Path, keras_override: Path | None = None) -> dict[str, Any]:
    """edgeseq.bench.bound.count_flops, plus this tool's scratch manifests (roofline_routes.py), which name their
    source by path: from `keras_override`, else such a path, else the file's source .keras or its ONNX graph."""
    manifest = read_manifest(path)
    source = (manifest.source_keras if manifest else None) or {}
    if keras_override is None and source.get("path") and Path(source["path"]).is_file():
        keras_override = Path(source["path"])
    count = bound.count_flops(path, manifest, keras=keras_override)
    if count.flops is None:
        raise ValueError(f"{path}: {count.source}; pass --keras")
    return {"flops": count.flops, "source": count.source, "layers": list(count.layers)}


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
