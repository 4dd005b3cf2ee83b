"""`bench`: latency, load time, cold start, peak memory and size of every file in every runtime.

Each (file, runtime, thread count) is measured in a fresh worker process (edgeseq.bench.worker), so one file's
memory does not pollute another's. A runtime that cannot load a file gives a row with a status and a
reason and no figures.

The steps every bench mode takes (`bench --scaling`, edgeseq.bench.scaling, takes them too):
  each_run(...)         every file × runtime × thread count, one progress step each
  check_file(...)       what a file is, its sha256 and integrity against its manifest, its structure
  unavailable(...)      why a runtime cannot run here (not installed), before any process starts
  run_measurement(...)  the mode's worker in a fresh process, with the thread count and the timing settings
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from edgeseq import runtimes
from edgeseq.core import layout
from edgeseq.artifacts import collect_files, is_step_file
from edgeseq.bench import bound
from edgeseq.bench.graph_choice import with_choices
from edgeseq.data import TIMESTEPS, spec_of_manifest
from edgeseq.core.environment import device_name, fingerprint, installed
from edgeseq.core.errors import EdgeseqError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import KERAS_KIND, read_manifest
from edgeseq.integrity import check as check_integrity, integrity_of
from edgeseq.core.procs import WorkerError, run_worker
from edgeseq.core.progress import Progress, ProgressLike, as_progress
from edgeseq.core.rows import from_dict
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.table import kernel_settings

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
    tflite_kernels: tuple[str, ...] = ("xnnpack",)   # LiteRT's kernel settings, a row each (--tflite-kernels)

    def __post_init__(self) -> None:
        if not self.threads or min(self.threads) <= 0 or not self.batches or min(self.batches) <= 0 or self.warmup < 0 \
                or self.min_runs <= 0 or self.min_seconds < 0:
            raise EdgeseqError("threads, batches and min-runs must be positive; warmup and min-seconds ≥ 0")
        if self.device_name is not None and not self.device_name.strip():
            raise EdgeseqError("--device must not be empty")


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
    peak_rss_bytes: int | None = None         # the worker's own peak after load and inference (VmHWM)
    rss_after_import_bytes: int | None = None  # the runtime's baseline: RSS after its import, before the file
    file_memory_bytes: int | None = None      # peak - baseline: what loading and running the file cost
    memory_method: str | None = None          # how the peak was read (edgeseq.bench.memory)
    size_bytes: int | None = None
    recurrent_op: str | None = None
    integrity: str | None = None
    threads: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    step: bool = False                 # a step model (streaming): p50 is a whole sequence fed row by row
    flops: int | None = None           # one timed call's arithmetic: batch x one digit's (bench.bound)
    flops_source: str | None = None    # where the count comes from, or why there is none
    bound_us: float | None = None      # flops at the run's fp32 GEMM peak (environment: fp32_gemm_peak_gflops)
    bound_ratio: float | None = None   # p50_us / bound_us
    graph: str | None = None           # the file's graph (its manifest's), e.g. fused, hoisted (bench.graph_choice)
    export_parity: str | None = None   # its parity at export in the library that ran it: pass | fail | ... | None
    graph_choice: dict[str, Any] | None = None   # its recipe's graphs compared here (GraphChoice.to_dict())
    footprint: dict[str, Any] | None = None      # the runtime's own memory plan (tflm: TflmFootprint.to_dict())
    kernels: str | None = None         # LiteRT: the kernel setting it ran on (--tflite-kernels); None: other runtimes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "BenchResult":
        return from_dict(cls, row)


def _describe(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    key = layout.key_of(path, manifest)
    if key is not None and key.is_model:
        return {"model": key.model, "format": key.format, "recipe": key.recipe,
                "recurrent_op": f"Keras {key.model} layers (tf.function)"}
    return {"model": key.model if key else None, "format": layout.format_of(path) or path.suffix.lstrip("."),
            "recipe": key.recipe if key else None, "recurrent_op": manifest.recurrent_op if manifest else None,
            "step": is_step_file(path)}


class Timing(Protocol):
    """What every bench mode's config tells its worker (BenchConfig, bench.scaling.ScalingConfig)."""
    tflite_backend: str
    warmup: int
    min_runs: int
    min_seconds: float


def environment(device: str | None, tflite_backend: str) -> dict[str, Any]:
    """The machine the figures belong to: its fingerprint, its name and the TFLite backend asked for."""
    return fingerprint() | {"device": device or device_name(), "tflite_backend_requested": tflite_backend}


def each_run(paths: list[Path], wanted: list[RuntimeName] | None, threads: tuple[int, ...],
             progress: Progress, stage: str) -> Iterator[tuple[Path, RuntimeName, int]]:
    """Every model file under `paths` × runtime (among `wanted`, else the defaults) that loads it × thread
    count, one progress step each (each a fresh process)."""
    files = collect_files(list(paths), BENCH_SUFFIXES)
    runs = [(path, runtime, count) for path in files for runtime in runtimes.runtimes_for(path, wanted)
            for count in threads]
    with progress.stage(stage, total=len(runs), unit="runs") as step:
        for path, runtime, count in runs:
            step.begin(f"{path} ({runtime.value}, {count} thread(s))")
            yield path, runtime, count
            step.advance()


@dataclass(frozen=True)
class CheckedFile:
    """A file as bench sees it before any worker runs."""
    facts: dict[str, Any]              # model, format, recipe, recurrent_op, step, sha256, integrity
    label: str                         # how tables name it: its key's label, else its file name
    reason: str | None                 # why it is refused without a worker (manifest, integrity, structure)
    manifest: dict[str, Any] | None = None   # the manifest beside it, as read here (None: none, or unreadable)


def check_file(path: Path, verify: bool, progress: Progress, warn: bool = True) -> CheckedFile:
    """What the file is (from its manifest, else its name), its sha256, its integrity against its manifest
    (unless not `verify`) and its structure: a truncated or corrupt file needs no worker to be refused. Logs a
    refusal, and (with `warn`) a file that has no manifest."""
    facts: dict[str, Any] = {}
    label = path.name
    try:
        manifest = read_manifest(path)
        key = layout.key_of(path, manifest)
        label = key.label if key else path.name
        facts |= _describe(path, manifest)
        facts["sha256"] = sha256_file(path)
        facts["integrity"] = integrity_of(path, verify, manifest, facts["sha256"])
        check_integrity(path, verify, manifest, facts["sha256"])    # as validate: structure, embedded facts
    except (EdgeseqError, OSError) as err:
        progress.log(f"      failed: {err}")
        return CheckedFile(facts | _describe(path, None), label, str(err))
    if warn and facts["integrity"] == "no-manifest":
        progress.log("      warning: no manifest beside it: the file cannot be verified")
    return CheckedFile(facts, label, None, manifest)


def unavailable(runtime: RuntimeName, tflite_backend: str, progress: Progress) -> str | None:
    """Why the runtime cannot run on this machine (its library is not installed; with the install hint, and
    logged), or None."""
    row = runtimes.RUNTIMES[runtime]
    if runtime is RuntimeName.LITERT and tflite_backend == "tf":
        reason = None if installed("tensorflow") else f"tensorflow is not installed ({row.install_hint})"
    else:
        reason = row.missing()
    if reason is not None:
        progress.log(f"      unsupported: {reason}")
    return reason


def run_measurement(worker: str, path: Path, runtime: RuntimeName, threads: int,
                    config: Timing, timeout: float, progress: Progress,
                    **request: Any) -> dict[str, Any] | str:
    """A bench mode's worker module (edgeseq.core.procs.serve) in a fresh process for one file × runtime × thread
    count, OMP_NUM_THREADS set to the count: its answer, or the one-line reason it gave none (logged). The
    request: the file, the runtime, the thread count, the TFLite backend, the timing settings, `request`."""
    measured = run_worker(worker, {"path": str(path), "runtime": runtime.value, "threads": threads,
                                   "tflite_backend": config.tflite_backend, "warmup": config.warmup,
                                   "min_runs": config.min_runs, "min_seconds": config.min_seconds} | request,
                          timeout, env={"OMP_NUM_THREADS": str(threads)})
    if isinstance(measured, WorkerError):
        reason = measured.describe("the runtime", crashed="crashed the process")
        progress.log(f"      failed: {reason}")
        return reason
    return measured


def bench(paths: list[Path], config: BenchConfig, progress: ProgressLike = None) -> list[BenchResult]:
    """One row per file × runtime × thread count × batch (or one row saying why a pair was not measured); one
    progress step per file × runtime × thread count (each a fresh process). Where the files hold two graphs or
    more of one recipe (export --graph auto), their rows carry the choice (bench.graph_choice)."""
    progress = as_progress(progress)
    machine = environment(config.device_name, config.tflite_backend)
    results: list[BenchResult] = []
    readings = [peak_reading(progress, "before the files")]
    for path, runtime, threads in each_run(paths, list(config.runtimes), config.threads, progress, "bench"):
        settings = kernel_settings(runtime, config.tflite_kernels)
        for kernels in settings:
            if len(settings) > 1:
                progress.log(f"      {kernels} kernels:")
            results += _measure(path, runtime, threads, config, machine | {"threads": threads}, progress, kernels)
    readings.append(peak_reading(progress, "after the files"))
    return with_choices(with_bound(results, bound.peak_environment(readings)))


def peak_reading(progress: Progress, when: str) -> dict[str, Any] | str:
    """One reading of the single-thread fp32 GEMM peak (bound.peak_in_worker), logged."""
    reading = bound.peak_in_worker()
    progress.log(f"fp32 GEMM peak {when}: " + (f"{reading['gflops']:.1f} GFLOP/s (1 thread)"
                                               if isinstance(reading, dict) else f"not measured: {reading}"))
    return reading


def with_bound(results: list[BenchResult], peak: dict[str, Any]) -> list[BenchResult]:
    """The rows with the run's peak in their environment and, where a row has FLOPs and a p50, its bound and
    ratio (bench.bound.bound_fields)."""
    gflops = peak.get("fp32_gemm_peak_gflops")
    return [replace(r, environment=r.environment | peak, **(bound.bound_fields(r.flops, r.p50_us, gflops)
                                                            if r.status == "ok" else {})) for r in results]


def _measure(path: Path, runtime: RuntimeName, threads: int, config: BenchConfig, env: dict[str, Any],
             progress: Progress, kernels: str | None = None) -> list[BenchResult]:
    base: dict[str, Any] = {"path": str(path), "runtime": runtime.value, "size_bytes": path.stat().st_size,
                            "threads": threads, "environment": env, "kernels": kernels}
    checked = check_file(path, config.verify, progress)
    base |= checked.facts
    if checked.reason is not None:
        return [BenchResult(**base, status="failed", reason=checked.reason)]
    reason = unavailable(runtime, config.tflite_backend, progress)
    if reason is not None:
        return [BenchResult(**base, status="unsupported", reason=reason)]
    try:
        inputs = bench_inputs(path, checked.manifest)
    except EdgeseqError as err:
        return [BenchResult(**base, status="failed", reason=str(err))]
    measured = run_measurement(WORKER, path, runtime, threads, config, WORKER_TIMEOUT_S, progress,
                               batches=list(config.batches), tflite_kernels=kernels, **inputs)
    if isinstance(measured, str):
        return [BenchResult(**base, status="failed", reason=measured)]
    skipped = [b for b in config.batches if b not in {m["batch"] for m in measured["batches"]}]
    note = f"batch-1-only file: not measured at batch {', '.join(map(str, skipped))}" if skipped else None
    common = {k: measured[k] for k in ("backend", "import_ms", "load_ms", "first_inference_ms", "peak_rss_bytes",
                                        "rss_after_import_bytes", "file_memory_bytes", "memory_method")}
    common["footprint"] = measured.get("footprint")
    if common["footprint"]:
        progress.log(f"      {runtime.value} arena {common['footprint']['arena_bytes']:,} B (smallest that runs),"
                     f" flash {common['footprint']['flash_bytes']:,} B")
    count = bound.count_flops(path, checked.manifest, bool(base.get("step")), timesteps_of(checked.manifest))
    rows = []
    for row in measured["batches"]:
        figures = {k: v for k, v in row.items() if k != "max_us"}
        flops = None if count.flops is None else count.flops * row["batch"]
        rows.append(BenchResult(**base, **common, **figures, status="ok", reason=None, batch_note=note,
                                flops=flops, flops_source=count.source))
        step = f", one step p50 {row['step_p50_us']:.1f} µs" if row.get("step_p50_us") is not None else ""
        progress.log(f"      batch {row['batch']}: p50 {row['p50_us']:.1f} µs, p99 {row['p99_us']:.1f} µs"
                     f" ({row['runs']} runs){step}, memory {measured['file_memory_bytes'] / 2**20:.1f} MiB over the"
                     f" runtime's {measured['rss_after_import_bytes'] / 2**20:.0f} MiB")
    return rows


def timesteps_of(manifest: dict[str, Any] | None) -> int:
    """The sequence length a file's data contract says (MNIST's 28 for files that predate contracts)."""
    try:
        return spec_of_manifest(manifest).timesteps
    except EdgeseqError:
        return TIMESTEPS


def bench_inputs(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The worker's inputs: MNIST files (and files without a manifest) run on the shipped sample's digits; a file
    made for other data on the samples its golden sidecar stores (an error when it has none)."""
    if manifest is None or spec_of_manifest(manifest).mnist:
        return {}
    if (sidecar := layout.named_golden(path, manifest)) is not None:
        return {"golden": str(sidecar)}
    if manifest.kind == KERAS_KIND:     # a trained model: the sidecar its exports wrote beside it
        beside = layout.golden_path(path.parent, str(manifest.architecture))
        if beside.is_file():
            return {"golden": str(beside)}
    raise EdgeseqError(f"{path.name} was made for {spec_of_manifest(manifest).describe()} data and has no golden"
                       " sidecar to bench on (export writes one); re-export it")


def count_flops(path: Path, step: bool) -> bound.FlopCount:
    """One digit's FLOPs through `path` (a step model's: the whole sequence of the sample's rows it is fed), its
    manifest read here (bench --host's rows, counted at home)."""
    try:
        manifest = read_manifest(path)
    except (EdgeseqError, OSError):
        manifest = None
    return bound.count_flops(path, manifest, step, timesteps_of(manifest))


CSV_FIELDS = ("path", "model", "format", "recipe", "runtime", "kernels", "status", "reason", "backend", "batch", "p50_us",
              "p90_us", "p99_us", "step_p50_us", "step_p99_us", "mean_us", "std_us", "min_us", "runs", "throughput_dps", "load_ms",
              "first_inference_ms", "peak_rss_bytes", "rss_after_import_bytes", "file_memory_bytes", "size_bytes",
              "recurrent_op", "threads", "integrity", "sha256", "flops", "bound_us", "bound_ratio")


def to_csv(results: list[BenchResult]) -> str:
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in results:
        writer.writerow(r.to_dict())
    return buffer.getvalue()
