"""`bench`: latency, load time, cold start, peak memory and size of every file in every runtime.

Each (file, runtime, thread count) is measured in a fresh worker process (edgeseq.bench.worker), so one file's
memory does not pollute another's. A runtime that cannot load a file gives a row with a status and a
reason and no figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeseq import layout, runtimes
from edgeseq.artifacts import check_structure, collect_files
from edgeseq.environment import device_name, fingerprint, installed
from edgeseq.errors import EdgeseqError
from edgeseq.fileio import read_manifest, sha256_file, verify_against_manifest
from edgeseq.procs import WorkerError, run_worker
from edgeseq.progress import Progress, ProgressLike, as_progress
from edgeseq.rows import from_dict
from edgeseq.runtimes import RuntimeName

BENCH_SUFFIXES = layout.MODEL_SUFFIXES
WORKER = "edgeseq.bench.worker"
WORKER_TIMEOUT_S = 900


@dataclass(frozen=True)
class BenchConfig:
    runtimes: tuple[RuntimeName, ...] = field(default_factory=lambda: tuple(runtimes.default_runtimes()))
    threads: tuple[int, ...] = (1,)
    batches: tuple[int, ...] = (1,)
    warmup: int = 50
    min_runs: int = 300
    min_seconds: float = 2.0
    tflite_backend: str = "auto"
    verify: bool = True
    device_name: str | None = None     # what the results call this machine; default: its hostname

    def __post_init__(self) -> None:
        if not self.threads or min(self.threads) <= 0 or not self.batches or min(self.batches) <= 0 or self.warmup < 0 \
                or self.min_runs <= 0 or self.min_seconds < 0:
            raise EdgeseqError("threads, batches and min-runs must be positive; warmup and min-seconds ≥ 0")
        if self.device_name is not None and not self.device_name.strip():
            raise EdgeseqError("--device-name must not be empty")


@dataclass(frozen=True)
class BenchResult:
    path: str
    model: str | None
    format: str
    recipe: str | None
    runtime: str
    status: str                        # ok | unsupported | failed
    reason: str | None
    sha256: str | None = None          # the key results are joined on
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
    step_p50_us: float | None = None   # a step model: one row (the whole-sequence figures are its T rows)
    step_p99_us: float | None = None
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
    step: bool = False                 # a step model (streaming): p50 is a whole sequence fed row by row

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "BenchResult":
        return from_dict(cls, row)


def _describe(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    key = layout.key_of(path, manifest)
    m = manifest or {}
    if key is not None and key.is_model:
        return {"model": key.model, "format": key.format, "recipe": key.recipe,
                "recurrent_op": f"Keras {key.model} layers (tf.function)"}
    return {"model": key.model if key else None, "format": layout.format_of(path) or path.suffix.lstrip("."),
            "recipe": key.recipe if key else None, "recurrent_op": m.get("recurrent_op"),
            "step": bool(key and key.step)}


def _unavailable_reason(runtime: RuntimeName, tflite_backend: str) -> str | None:
    row = runtimes.RUNTIMES[runtime]
    needs = "tensorflow" if runtime is RuntimeName.LITERT and tflite_backend == "tf" else row.needs
    if needs and not installed(needs):
        return f"{needs} is not installed ({row.install_hint})"
    return None


def bench(paths: list[Path], config: BenchConfig, progress: ProgressLike = None) -> list[BenchResult]:
    """One row per file × runtime × thread count × batch (or one row saying why a pair was not measured); one
    progress step per file × runtime × thread count (each a fresh process)."""
    progress = as_progress(progress)
    files = collect_files(paths, BENCH_SUFFIXES)
    machine = fingerprint() | {"device": config.device_name or device_name(),
                               "tflite_backend_requested": config.tflite_backend}
    runs = [(path, runtime, threads) for path in files
            for runtime in runtimes.runtimes_for(path, list(config.runtimes)) for threads in config.threads]
    results: list[BenchResult] = []
    with progress.stage("bench", total=len(runs), unit="runs") as stage:
        for path, runtime, threads in runs:
            stage.begin(f"{path} ({runtime.value}, {threads} thread(s))")
            results += _measure(path, runtime, threads, config, machine | {"threads": threads}, progress)
            stage.advance()
    return results


def _measure(path: Path, runtime: RuntimeName, threads: int, config: BenchConfig, env: dict[str, Any],
             progress: Progress) -> list[BenchResult]:
    base: dict[str, Any] = {"path": str(path), "runtime": runtime.value, "size_bytes": path.stat().st_size,
                            "threads": threads, "environment": env}
    try:
        manifest = read_manifest(path)
        base |= _describe(path, manifest)
        base["sha256"] = sha256_file(path)
        base["integrity"] = (verify_against_manifest(path, manifest, base["sha256"]) if config.verify
                             else "skipped (--no-verify)")
        check_structure(path)  # a truncated or corrupt file needs no worker to be refused
    except (EdgeseqError, OSError) as err:
        progress.log(f"      failed: {err}")
        return [BenchResult(**base | _describe(path, None), status="failed", reason=str(err))]
    if base["integrity"] == "no-manifest":
        progress.log("      warning: no manifest beside it: the file cannot be verified")
    unavailable = _unavailable_reason(runtime, config.tflite_backend)
    if unavailable:
        progress.log(f"      unsupported: {unavailable}")
        return [BenchResult(**base, status="unsupported", reason=unavailable)]
    measured = run_worker(WORKER, {"path": str(path), "runtime": runtime.value, "threads": threads,
                                   "tflite_backend": config.tflite_backend, "batches": list(config.batches),
                                   "warmup": config.warmup, "min_runs": config.min_runs,
                                   "min_seconds": config.min_seconds},
                          WORKER_TIMEOUT_S, env={"OMP_NUM_THREADS": str(threads)})
    if isinstance(measured, WorkerError):
        reason = measured.describe("the runtime", crashed="crashed the process")
        progress.log(f"      failed: {reason}")
        return [BenchResult(**base, status="failed", reason=reason)]
    skipped = [b for b in config.batches if b not in {m["batch"] for m in measured["batches"]}]
    note = f"batch-1-only file: not measured at batch {', '.join(map(str, skipped))}" if skipped else None
    common = {k: measured[k] for k in ("backend", "import_ms", "load_ms", "first_inference_ms",
                                        "peak_rss_bytes", "rss_after_import_bytes")}
    rows = []
    for row in measured["batches"]:
        figures = {k: v for k, v in row.items() if k != "max_us"}
        rows.append(BenchResult(**base, **common, **figures, status="ok", reason=None, batch_note=note))
        step = f", one step p50 {row['step_p50_us']:.1f} µs" if row.get("step_p50_us") is not None else ""
        progress.log(f"      batch {row['batch']}: p50 {row['p50_us']:.1f} µs, p99 {row['p99_us']:.1f} µs"
                     f" ({row['runs']} runs){step}, peak RSS {measured['peak_rss_bytes'] / 2**20:.0f} MiB")
    return rows


CSV_FIELDS = ("path", "model", "format", "recipe", "runtime", "status", "reason", "backend", "batch", "p50_us",
              "p90_us", "p99_us", "step_p50_us", "step_p99_us", "mean_us", "std_us", "min_us", "runs", "throughput_dps", "load_ms",
              "first_inference_ms", "peak_rss_bytes", "size_bytes", "recurrent_op", "threads", "integrity", "sha256")


def to_csv(results: list[BenchResult]) -> str:
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in results:
        writer.writerow(r.to_dict())
    return buffer.getvalue()
