"""`bench`: latency, load time, cold start, peak memory and size of every file in every runtime.

Each (file, runtime) is measured in a fresh worker process (edgeseq.bench_worker), so one file's
memory does not pollute another's. A runtime that cannot load a file gives a row with a status and a
reason and no figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgeseq import runtimes
from edgeseq.artifacts import check_structure, collect_files
from edgeseq.environment import fingerprint, installed
from edgeseq.errors import EdgeseqError
from edgeseq.fileio import read_manifest, verify_against_manifest
from edgeseq.procs import run_child, signal_name
from edgeseq.runtimes import RuntimeName

Progress = Callable[[str], None]
BENCH_SUFFIXES = (".tflite", ".onnx", ".keras")
WORKER_TIMEOUT_S = 900


@dataclass(frozen=True)
class BenchConfig:
    runtimes: tuple[RuntimeName, ...] = tuple(RuntimeName)
    threads: int = 1
    batches: tuple[int, ...] = (1,)
    warmup: int = 50
    min_runs: int = 300
    min_seconds: float = 2.0
    tflite_backend: str = "auto"
    verify: bool = True

    def __post_init__(self) -> None:
        if self.threads <= 0 or not self.batches or min(self.batches) <= 0 or self.warmup < 0 \
                or self.min_runs <= 0 or self.min_seconds < 0:
            raise EdgeseqError("threads, batches and min-runs must be positive; warmup and min-seconds ≥ 0")


@dataclass(frozen=True)
class BenchResult:
    path: str
    model: str | None
    format: str
    recipe: str | None
    runtime: str
    status: str                        # ok | unsupported | failed
    reason: str | None
    backend: str | None = None
    batch: int | None = None
    batch_note: str | None = None
    p50_us: float | None = None
    p90_us: float | None = None
    p99_us: float | None = None
    mean_us: float | None = None
    std_us: float | None = None
    min_us: float | None = None
    runs: int | None = None
    throughput_dps: float | None = None
    import_ms: float | None = None
    load_ms: float | None = None
    first_inference_ms: float | None = None
    peak_rss_bytes: int | None = None
    rss_after_import_bytes: int | None = None
    size_bytes: int | None = None
    recurrent_op: str | None = None
    integrity: str | None = None
    threads: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _describe(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    m = manifest or {}
    if path.suffix == ".keras":
        return {"model": m.get("architecture", path.stem), "format": "keras", "recipe": "fp32",
                "recurrent_op": f"Keras {m.get('architecture', '?')} layers (tf.function)"}
    return {"model": m.get("architecture"), "format": path.suffix[1:], "recipe": m.get("recipe"),
            "recurrent_op": m.get("recurrent_op")}


def _unavailable_reason(runtime: RuntimeName, tflite_backend: str) -> str | None:
    row = runtimes.RUNTIMES[runtime]
    needs = {RuntimeName.KERAS: "tensorflow", RuntimeName.ONNXRUNTIME: "onnxruntime"}.get(runtime)
    if runtime is RuntimeName.LITERT and tflite_backend == "tf":
        needs = "tensorflow"
    if needs and not installed(needs):
        return f"{needs} is not installed ({row.install_hint})"
    return None


def _run_worker(request: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(request["threads"]))
    try:
        done = run_child([sys.executable, "-m", "edgeseq.bench_worker", json.dumps(request)], WORKER_TIMEOUT_S, env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode < 0:
        return {"error": f"the runtime crashed the process ({signal_name(done.returncode)})"}
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = [ln for ln in done.stderr.splitlines() if ln.strip()]
        return {"error": f"worker exited with status {done.returncode}" + (f": {tail[-1][:200]}" if tail else "")}


def bench(paths: list[Path], config: BenchConfig, progress: Progress = lambda _: None) -> list[BenchResult]:
    files = collect_files(paths, BENCH_SUFFIXES)
    env = fingerprint() | {"threads": config.threads, "tflite_backend_requested": config.tflite_backend}
    results: list[BenchResult] = []
    for number, path in enumerate(files, 1):
        for runtime in runtimes.runtimes_for(path, list(config.runtimes)):
            progress(f"[{number}/{len(files)}] {path} ({runtime.value}) ...")
            base: dict[str, Any] = {"path": str(path), "runtime": runtime.value, "size_bytes": path.stat().st_size,
                                    "threads": config.threads, "environment": env}
            try:
                manifest = read_manifest(path)
                base |= _describe(path, manifest)
                base["integrity"] = verify_against_manifest(path, manifest) if config.verify else "skipped (--no-verify)"
                check_structure(path)  # a truncated or corrupt file needs no worker to be refused
            except EdgeseqError as err:
                results.append(BenchResult(**base | _describe(path, None), status="failed", reason=str(err)))
                progress(f"      failed: {err}")
                continue
            if base["integrity"] == "no-manifest":
                progress("      warning: no manifest beside it: the file cannot be verified")
            unavailable = _unavailable_reason(runtime, config.tflite_backend)
            if unavailable:
                results.append(BenchResult(**base, status="unsupported", reason=unavailable))
                progress(f"      unsupported: {unavailable}")
                continue
            measured = _run_worker({"path": str(path), "runtime": runtime.value, "threads": config.threads,
                                    "tflite_backend": config.tflite_backend, "batches": list(config.batches),
                                    "warmup": config.warmup, "min_runs": config.min_runs,
                                    "min_seconds": config.min_seconds})
            if "error" in measured:
                results.append(BenchResult(**base, status="failed", reason=measured["error"]))
                progress(f"      failed: {measured['error']}")
                continue
            skipped = [b for b in config.batches if b not in {m["batch"] for m in measured["batches"]}]
            note = f"batch-1-only file: not measured at batch {', '.join(map(str, skipped))}" if skipped else None
            common = {k: measured[k] for k in ("backend", "import_ms", "load_ms", "first_inference_ms",
                                                "peak_rss_bytes", "rss_after_import_bytes")}
            for row in measured["batches"]:
                figures = {k: v for k, v in row.items() if k != "max_us"}
                results.append(BenchResult(**base, **common, **figures, status="ok", reason=None, batch_note=note))
                progress(f"      batch {row['batch']}: p50 {row['p50_us']:.1f} µs, p99 {row['p99_us']:.1f} µs"
                         f" ({row['runs']} runs), peak RSS {measured['peak_rss_bytes'] / 2**20:.0f} MiB")
    return results


CSV_FIELDS = ("path", "model", "format", "recipe", "runtime", "status", "reason", "backend", "batch", "p50_us",
              "p90_us", "p99_us", "mean_us", "std_us", "min_us", "runs", "throughput_dps", "load_ms",
              "first_inference_ms", "peak_rss_bytes", "size_bytes", "recurrent_op", "threads", "integrity")


def to_csv(results: list[BenchResult]) -> str:
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in results:
        writer.writerow(r.to_dict())
    return buffer.getvalue()
