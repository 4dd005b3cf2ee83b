"""`export --max-loss-pp X`: an accuracy-aware recipe search.

A quantized recipe is exported as configured and judged on the test split against the Keras model, with
validate's paired gate at a tolerance of -X pp. An attempt meets the budget when its change in accuracy is at
least -X pp and not significantly below it; the record says whether the interval proves it (outcome pass) or
the digits cannot tell (inconclusive). If it misses, remedies are tried in order of cost (the table
below) until one meets the budget or the time budget is spent: every attempt is a full export in a scratch
folder, judged on the same digits and timed. The fastest attempt that meets the budget becomes the recipe's
output, its manifest (and the export result) listing every attempt. Where none meets it, the best attempt
(most accurate, then fastest) is kept out of the output's model folders, in OUT/<arch>/.rejected/, and the
recipe is reported failed, with the figures.

Calibration always draws training digits; the test split only judges.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgeseq import layout
from edgeseq.data import Dataset
from edgeseq.errors import EdgeseqError
from edgeseq.export.exporter import ExportResult, ExportSpec, export_one
from edgeseq.fileio import commit_with_manifest, read_manifest, sha256_file, write_bytes_atomic
from edgeseq.parity.compare import compare, judge
from edgeseq.progress import Progress
from edgeseq.recipes import Format, Tolerance
from edgeseq.runtimes import RuntimeName, runtimes_for
from edgeseq.runtimes.guard import Evaluator

REJECTED = ".rejected"


@dataclass(frozen=True)
class Remedy:
    """One way to export a quantized recipe again, cheapest first."""
    name: str
    formats: tuple[Format, ...]
    calibrated_only: bool = True                       # needs a calibrated recipe (int8, int16x8, static)
    calibration_factor: int = 1
    calibration_at_least: int = 0                      # e.g. 1,000: a tiny configured set grows to a useful one
    onnx_settings: tuple[tuple[str, Any], ...] = ()

    def calibration_size(self, configured: int) -> int:
        return max(configured * self.calibration_factor, self.calibration_at_least)


REMEDIES: tuple[Remedy, ...] = (
    Remedy("as configured", (Format.TFLITE, Format.ONNX), calibrated_only=False),
    Remedy("4x the calibration digits, at least 1,000", (Format.TFLITE, Format.ONNX), calibration_factor=4,
           calibration_at_least=1000),
    Remedy("entropy calibration", (Format.ONNX,), onnx_settings=(("calibrate_method", "Entropy"),)),
    Remedy("percentile calibration", (Format.ONNX,), onnx_settings=(("calibrate_method", "Percentile"),)),
    Remedy("per-channel weights, 4x the calibration digits, at least 1,000", (Format.ONNX,), calibration_factor=4,
           calibration_at_least=1000, onnx_settings=(("per_channel", True),)),
)
# What the search cannot try yet, said in every search record rather than left out silently.
NOT_AVAILABLE = {
    Format.TFLITE: "the TFLite converter exposes no calibration method or per-channel switch for these graphs;"
                   " int16 activations for the recurrent layers only and float layers need selective"
                   " quantization (not built)",
    Format.ONNX: "int16 activations for the recurrent layers only, and float layers chosen from quant-debug"
                 " (not built); quantize_static already leaves the LSTM op in float",
}


@dataclass(frozen=True)
class Attempt:
    number: int
    remedy: str
    calibration_size: int | None
    onnx_settings: dict[str, Any] | None
    status: str                          # ok | unsupported | failed (the export itself)
    reason: str | None = None
    outcome: str | None = None           # pass | fail | inconclusive against -max_loss_pp
    accuracy: float | None = None
    delta_accuracy_pp: float | None = None
    delta_ci_pp: list[float] | None = None
    agreement: float | None = None
    size_bytes: int | None = None
    p50_us: float | None = None
    seconds: float = 0.0

    def meets(self, max_loss_pp: float) -> bool:
        """Within the budget: the change is at least -max_loss_pp and not significantly below it (proven when
        the whole interval is above it: outcome pass)."""
        return self.status == "ok" and self.outcome != "fail" and (self.delta_accuracy_pp or 0) >= -abs(max_loss_pp)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def remedies_for(spec: ExportSpec) -> list[Remedy]:
    return [r for r in REMEDIES if spec.recipe.format in r.formats
            and (spec.recipe.calibrated or not r.calibrated_only)]


class Judge:
    """The Keras model's answers on the test split, computed once per source model, and the paired gate."""

    def __init__(self, dataset: Dataset, max_loss_pp: float) -> None:
        self.dataset, self.tolerance = dataset, Tolerance(min_delta_accuracy_pp=-abs(max_loss_pp))
        self._references: dict[Path, Any] = {}

    def __call__(self, path: Path, source: Path) -> dict[str, Any]:
        with Evaluator(self.dataset.x_test) as evaluator:
            if source not in self._references:
                self._references[source] = evaluator.run(source, RuntimeName.KERAS).probabilities
            candidate = evaluator.run(path, runtimes_for(path)[0]).probabilities
        figures = compare(candidate, self._references[source], self.dataset.y_test)
        return figures | {"judgement": judge(self.tolerance, figures, self.dataset.units)}


def _latency_us(path: Path) -> float | None:
    from edgeseq.bench import BenchConfig, bench  # noqa: PLC0415

    config = BenchConfig(runtimes=(runtimes_for(path)[0],), warmup=20, min_runs=200, min_seconds=0.3)
    rows = [r for r in bench([path], config) if r.status == "ok" and r.batch == 1]
    return rows[0].p50_us if rows else None


def _attempt(number: int, remedy: Remedy, spec: ExportSpec, source: Path, folder: Path, dataset: Dataset,
             judge_file: Judge, golden_file: Path) -> tuple[Attempt, ExportResult]:
    started = time.perf_counter()
    attempt_spec = replace(spec, calibration_size=remedy.calibration_size(spec.calibration_size),
                           onnx_settings=remedy.onnx_settings)
    target_dir = folder / spec.arch.value
    target_dir.mkdir(parents=True)
    if golden_file.is_file():  # the architecture's golden outputs, so the attempt does not compute them again
        shutil.copy2(golden_file, target_dir / golden_file.name)
    scratch = Path(tempfile.mkdtemp(prefix="work-", dir=folder))
    try:
        result = export_one(attempt_spec, source, folder, dataset, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    settings = {"calibration_size": attempt_spec.calibration_size if spec.recipe.calibrated else None,
                "onnx_settings": attempt_spec.settings()}
    if result.status != "ok" or result.path is None:
        return Attempt(number, remedy.name, **settings, status=result.status, reason=result.reason,
                       seconds=round(time.perf_counter() - started, 1)), result
    figures = judge_file(Path(result.path), source)
    verdict = figures["judgement"]
    return Attempt(number, remedy.name, **settings, status="ok", reason=verdict.reason, outcome=verdict.outcome,
                   accuracy=figures["accuracy"], delta_accuracy_pp=figures["delta_accuracy_pp"],
                   delta_ci_pp=figures["delta_ci_pp"], agreement=round(figures["agreement"], 4),
                   size_bytes=result.size_bytes, p50_us=_latency_us(Path(result.path)),
                   seconds=round(time.perf_counter() - started, 1)), result


def search(spec: ExportSpec, source: Path, out: Path, dataset: Dataset, max_loss_pp: float, budget_s: float,
           judge_file: Judge, progress: Progress) -> ExportResult:
    """Export `spec` as the fastest attempt within `max_loss_pp` (module docstring)."""
    started = time.perf_counter()
    golden_file = layout.golden_path(out / spec.arch.value, spec.arch.value)
    work = Path(tempfile.mkdtemp(prefix=".edgeseq-search-", dir=out))
    attempts: list[tuple[Attempt, ExportResult, Path]] = []
    skipped: list[str] = []
    try:
        for number, remedy in enumerate(remedies_for(spec)):
            if any(a.meets(max_loss_pp) for a, _, _ in attempts):
                break
            if attempts and time.perf_counter() - started > budget_s:
                skipped.append(remedy.name)
                continue
            folder = work / f"attempt-{number}"
            attempt, result = _attempt(number, remedy, spec, source, folder, dataset, judge_file, golden_file)
            attempts.append((attempt, result, folder))
            shown = (f"{attempt.delta_accuracy_pp:+.2f} pp, CI [{attempt.delta_ci_pp[0]:+.2f},"
                     f" {attempt.delta_ci_pp[1]:+.2f}], p50 {attempt.p50_us or float('nan'):.1f} µs: {attempt.outcome}"
                     if attempt.status == "ok" else f"{attempt.status}: {attempt.reason}")
            progress.log(f"      attempt {number} ({remedy.name}): {shown}")
        return _conclude(spec, out, attempts, skipped, max_loss_pp, budget_s, dataset, started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _record(attempts: list[Attempt], kept: Attempt | None, skipped: list[str], max_loss_pp: float, budget_s: float,
            dataset: Dataset, met: bool, seconds: float, fmt: Format) -> dict[str, Any]:
    return {"max_loss_pp": max_loss_pp, "met": met, "proven": bool(kept and met and kept.outcome == "pass"),
            "kept": kept.number if kept else None,
            "judged_on": {k: dataset.identity().get(k) for k in ("name", "test_count", "sha256")},
            "calibrated_on": "training split", "time_budget_s": budget_s, "seconds": round(seconds, 1),
            "attempts": [a.to_dict() for a in attempts], "not_tried_time_budget": skipped,
            "not_available": NOT_AVAILABLE[fmt]}


def _conclude(spec: ExportSpec, out: Path, attempts: list[tuple[Attempt, ExportResult, Path]], skipped: list[str],
              max_loss_pp: float, budget_s: float, dataset: Dataset, started: float) -> ExportResult:
    tried = [a for a, _, _ in attempts]
    made = [(a, r, f) for a, r, f in attempts if a.status == "ok"]
    if not made:  # nothing exported at all: the first attempt's own result says why
        first = attempts[0][1]
        record = _record(tried, None, skipped, max_loss_pp, budget_s, dataset, False, time.perf_counter() - started,
                         spec.recipe.format)
        return replace(first, search=record, seconds=round(time.perf_counter() - started, 2))
    meeting = [(a, r, f) for a, r, f in made if a.meets(max_loss_pp)]
    met = bool(meeting)
    pool = meeting or made
    kept, result, _ = (min(pool, key=lambda x: (x[0].p50_us is None, x[0].p50_us or 0)) if met else
                       max(pool, key=lambda x: (x[0].accuracy or 0, -(x[0].p50_us or 0))))
    record = _record(tried, kept, skipped, max_loss_pp, budget_s, dataset, met, time.perf_counter() - started,
                     spec.recipe.format)
    source_path = Path(result.path)
    final_dir = out / spec.arch.value if met else out / spec.arch.value / REJECTED
    target = final_dir / source_path.name
    _place(source_path, target, record)
    seconds = round(time.perf_counter() - started, 2)
    if met:
        return replace(result, path=str(target), search=record, seconds=seconds)
    best = (f"{kept.remedy}, {kept.delta_accuracy_pp:+.2f} pp (95 % CI [{kept.delta_ci_pp[0]:+.2f},"
            f" {kept.delta_ci_pp[1]:+.2f}])")
    return replace(result, status="failed", path=None, search=record, seconds=seconds,
                   reason=f"no attempt of {len(tried)} met the {max_loss_pp:g} pp budget on"
                          f" {dataset.identity().get('test_count')} test digits; the best ({best}) is kept out of"
                          f" the model folder, in {target}")


def _place(source: Path, target: Path, record: dict[str, Any]) -> None:
    """The chosen attempt's file and manifest (with the search record) onto `target`, in one step; its golden
    outputs beside it (the ones its manifest names)."""
    manifest = read_manifest(source)
    if manifest is None:
        raise EdgeseqError(f"{source}: the attempt has no manifest")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial{target.suffix}")
    shutil.copy2(source, partial)
    try:
        commit_with_manifest(partial, target, manifest | {"search": record})
    finally:
        partial.unlink(missing_ok=True)
    golden = layout.golden_path(source.parent, manifest["architecture"])
    beside = layout.golden_path(target.parent, manifest["architecture"])
    if golden.is_file() and (not beside.is_file() or sha256_file(beside) != sha256_file(golden)):
        write_bytes_atomic(beside, golden.read_bytes())   # the outputs the manifest names
