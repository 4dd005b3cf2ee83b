"""`run`: the main job. train -> export -> validate -> bench -> report for both architectures.

Everything lands in one folder: models/ (the .keras files and every exported file with its manifest),
train.json, export.json, validate.json, bench.json (each what the command prints with --json) and report/.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeseq import data as data_module, models, recipes
from edgeseq.bench import BenchConfig, BenchResult, bench
from edgeseq.export.batch import export_all
from edgeseq.export.exporter import ExportResult, ExportSpec, plan_streaming
from edgeseq.core.fileio import check_output_dir, ensure_dir, write_json_atomic
from edgeseq.own_model import adopt, check_against, inspect_keras
from edgeseq.parity import ParityReport
from edgeseq.recipes import Graph, Quant
from edgeseq.report.streaming import DRIFT_FILE
from edgeseq.diagnostics.drift import drift
from edgeseq.report.join import FileRow
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.core.tfsupport import import_keras
from edgeseq.train import TrainConfig, TrainResult, train
from edgeseq.parity.validate import validate

STEPS = ("train", "export", "validate", "bench", "report")
QUICK_EPOCHS = 3   # fewer leave models so unsure that quantization flips many answers, and 1,000 digits cannot judge it


@dataclass(frozen=True)
class RunConfig:
    out: Path
    data: str = "sample"
    epochs: int = 3
    seed: int = 0
    quick: bool = False               # 3 epochs on at most 6,000 digits, small calibration, short benchmarks
    threads: int = 1
    max_loss_pp: float | None = None  # export's accuracy-aware recipe search (export.search)
    streaming: bool = False           # also the step models (export --streaming), checked and measured like the rest
    keras: Path | None = None         # the user's own model (edgeseq.own_model): adopted instead of training the seeds

    @property
    def limits(self) -> tuple[int | None, int | None]:
        # --quick: 6,000 training and 1,000 test digits (the whole sample); fewer and the paired gate cannot decide
        return (6000, 1000) if self.quick else (None, None)

    @property
    def calibration_size(self) -> int:
        return 100 if self.quick else 500

    def bench_config(self) -> BenchConfig:
        if self.quick:
            return BenchConfig(threads=(self.threads,), warmup=5, min_runs=50, min_seconds=0.2)
        return BenchConfig(threads=(self.threads,))


@dataclass(frozen=True)
class RunResult:
    out: str
    data: dict[str, Any]
    seconds: float
    step_seconds: dict[str, float]
    passed: bool
    failed_files: list[str]
    report: str
    train: list[TrainResult] = field(default_factory=list)
    export: list[ExportResult] = field(default_factory=list)
    validate: list[ParityReport] = field(default_factory=list)
    bench: list[BenchResult] = field(default_factory=list)
    files: tuple[FileRow, ...] = ()      # the report's rows: one per file x runtime, joined on sha256
    inconclusive_files: list[str] = field(default_factory=list)   # the paired gate could not decide
    health: list[str] = field(default_factory=list)     # each model's training health, one line (edgeseq.health)
    conclusion: str = ""                                # the report's RNN-vs-LSTM sentence (tested)

    def summary(self) -> list[dict[str, Any]]:
        """One line per file x runtime: what it is, its parity verdict, batch-1 p50 and size (from the report)."""
        return [{"model": r.model, "file": r.label, "path": r.path, "runtime": r.runtime,
                 "status": "trained" if r.baseline else (r.export_status or "not exported"),
                 "accuracy": r.accuracy, "delta_pp": r.delta_accuracy_pp,
                 "parity": r.parity if r.export_status in (None, "ok") else (r.export_reason or r.parity),
                 "p50_us": r.p50_us, "size_bytes": r.size_bytes} for r in self.files]

    def to_dict(self) -> dict[str, Any]:
        summary = {k: v for k, v in asdict(self).items()
                   if k not in ("train", "export", "validate", "bench", "files")}
        return summary | {"files": self.summary()}


def default_out() -> Path:
    return Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def run(config: RunConfig, progress: ProgressLike = None) -> RunResult:
    from edgeseq.report import Budgets, build_report  # noqa: PLC0415  (matplotlib is imported only here)

    progress = as_progress(progress)
    started = time.perf_counter()
    dataset = data_module.load(config.data).limited(*config.limits)  # bad data fails before anything is written
    own = inspect_keras(config.keras) if config.keras is not None else None
    if own is not None:
        check_against(own, dataset.spec, dataset.name)
    check_output_dir(config.out)
    import_keras()  # without TensorFlow, say which extra to install before the output folder exists
    out = ensure_dir(config.out)
    model_dir = out / "models"
    timings: dict[str, float] = {}

    def step(number: int, name: str) -> float:
        progress.log(f"== [{number}/{len(STEPS)}] {name} ==")
        return time.perf_counter()

    progress.log(f"data: {dataset.name} ({len(dataset.y_train)} train / {len(dataset.y_test)} test {dataset.units};"
                 f" {dataset.spec.describe()})")

    t = step(1, "train")
    epochs = min(config.epochs, QUICK_EPOCHS) if config.quick else config.epochs
    if own is not None:   # the user's own model, measured and copied into the layout, not trained
        seeds, trained = [own], [adopt(config.keras, dataset, model_dir, own)]
    else:
        seeds = models.select("all")
        trained = [train(TrainConfig(arch, epochs, 32, config.seed), dataset, model_dir, progress) for arch in seeds]
    write_json_atomic(out / "train.json", [r.to_dict() for r in trained])
    timings["train"] = time.perf_counter() - t

    t = step(2, "export")
    specs = [ExportSpec(arch, r, r.graph_for(arch), config.calibration_size) for arch in seeds
             for r in recipes.RECIPES.values()]
    if config.streaming:
        specs += plan_streaming(seeds, list(recipes.RECIPES.values()), False, config.calibration_size)
    exported = export_all(specs, model_dir, model_dir, dataset, progress, config.max_loss_pp)
    write_json_atomic(out / "export.json", [r.to_dict() for r in exported])
    timings["export"] = time.perf_counter() - t

    t = step(3, "validate")
    parity = validate([model_dir], dataset, threads=config.threads, progress=progress)
    write_json_atomic(out / "validate.json", [r.to_dict() for r in parity])
    timings["validate"] = time.perf_counter() - t

    t = step(4, "bench")
    measured = bench([model_dir], config.bench_config(), progress)
    write_json_atomic(out / "bench.json", [r.to_dict() for r in measured])
    timings["bench"] = time.perf_counter() - t

    if config.streaming:   # how each quantized step model drifts from the fp32 one, row by row
        drifts = [drift(Path(r.path), None, dataset, threads=config.threads, progress=progress)
                  for r in exported if r.status == "ok" and r.graph == Graph.STEP.value and r.recipe != Quant.FP32.value]
        write_json_atomic(out / DRIFT_FILE, [d.to_dict() for d in drifts])

    t = step(5, "report")
    report = build_report(out, out / "report", Budgets())
    timings["report"] = time.perf_counter() - t

    failed = list(dict.fromkeys(r.path for r in parity if r.failed))
    unsure = list(dict.fromkeys(r.path for r in parity if r.inconclusive))
    result = RunResult(str(out), dataset.identity(), round(time.perf_counter() - started, 1),
                       {k: round(v, 1) for k, v in timings.items()}, not failed, failed, report.markdown_path,
                       trained, exported, parity, measured, report.files, unsure,
                       [r.checked_health.summary(r.model) for r in trained if r.checked_health],
                       report.conclusion.text)
    write_json_atomic(out / "run.json", result.to_dict())
    return result
