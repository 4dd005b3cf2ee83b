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

For a calibrated TFLite recipe that the converter's remedies cannot bring within the budget, the search goes
on per layer (edgeseq.export.selective, ai-edge-quantizer): every layer int8 with per-channel weights first;
then, guided by quant-debug's per-layer error on the test split (against the float file of the same graph),
the layer where the most error is made (quant-debug: its relative error minus the layer before's) is raised to
int16 activations, then to float, then the next layer, each mix judged with the same gate, until one meets
the budget. Static ONNX climbs the same way, from the most accurate attempt's settings, with float as the only
step (onnxruntime's nodes_to_exclude on the layer's nodes). Each attempt's mix is in its record; the kept file's
manifest has its `quantization_mix`, and the record has the kept file's clipping rate per layer on the test
split (a calibration set that does not cover the test states shows there). Where even the last mix misses,
the refusal names the layer where the most error is made.

Calibration always draws training digits; the test split only judges.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgeseq.core import layout
from edgeseq.data import Dataset
from edgeseq.core.errors import EdgeseqError
from edgeseq.export.exporter import ExportResult, ExportSpec, export_one
from edgeseq.export.climb import Climb, Guide, holder, kept_layers, layer_table, mixes_apply
from edgeseq.core.fileio import sha256_file, work_folder, write_bytes_atomic
from edgeseq.core.manifest import commit_with_manifest, read_manifest
from edgeseq.parity.check import check
from edgeseq.core.progress import Progress
from edgeseq.recipes import Format, Tolerance
from edgeseq.runtimes import RuntimeName, runtimes_for
from edgeseq.core.procs import WorkerSession
from edgeseq.runtimes.guard import Evaluator, SharedChild

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

    def applied_to(self, spec: ExportSpec) -> ExportSpec:
        """The export spec of this remedy's attempt at `spec`."""
        return replace(spec, calibration_size=self.calibration_size(spec.calibration_size),
                       onnx_settings=self.onnx_settings)


REMEDIES: tuple[Remedy, ...] = (
    Remedy("as configured", (Format.TFLITE, Format.ONNX), calibrated_only=False),
    Remedy("4x the calibration samples, at least 1,000", (Format.TFLITE, Format.ONNX), calibration_factor=4,
           calibration_at_least=1000),
    Remedy("entropy calibration", (Format.ONNX,), onnx_settings=(("calibrate_method", "Entropy"),)),
    Remedy("percentile calibration", (Format.ONNX,), onnx_settings=(("calibrate_method", "Percentile"),)),
    Remedy("per-channel weights, 4x the calibration samples, at least 1,000", (Format.ONNX,), calibration_factor=4,
           calibration_at_least=1000, onnx_settings=(("per_channel", True),)),
)
# What the search cannot try yet, said in every search record rather than left out silently.
NOT_AVAILABLE = {
    Format.TFLITE: "the TFLite converter exposes no calibration method or per-channel switch for these graphs;"
                   " per-layer mixes (ai-edge-quantizer) are made for the unrolled and hoisted graphs, not for the"
                   " fused LSTM op or step models",
    Format.ONNX: "int16 activations per layer (QDQ int16 needs opset 21 or contrib Q/DQ ops: not built); float"
                 " layers are tried (nodes_to_exclude); quantize_static already leaves the LSTM op in float",
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
    mix: dict[str, Any] | None = None    # a per-layer mix (ai-edge-quantizer): selective.Mix.to_dict()

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
            checked = check(evaluator, path, runtimes_for(path)[0], self._references[source], self.dataset.y_test,
                            self.tolerance, self.dataset.units)
        return checked.figures | {"judgement": checked.judgement}


def _latency_us(path: Path) -> float | None:
    from edgeseq.bench import BenchConfig, bench  # noqa: PLC0415

    config = BenchConfig(runtimes=(runtimes_for(path)[0],), warmup=20, min_runs=200, min_seconds=0.3)
    rows = [r for r in bench([path], config) if r.status == "ok" and r.batch == 1]
    return rows[0].p50_us if rows else None


def _attempt(number: int, name: str, attempt_spec: ExportSpec, source: Path, folder: Path, dataset: Dataset,
             judge_file: Judge, golden_file: Path, session: WorkerSession | None = None,
             shared: SharedChild | None = None) -> tuple[Attempt, ExportResult]:
    """Export `attempt_spec` into `folder` (through the export's converter `session` and the `shared` guard child,
    when given) and judge it: one attempt."""
    started = time.perf_counter()
    spec = attempt_spec
    target_dir = folder / spec.arch.value
    target_dir.mkdir(parents=True)
    if golden_file.is_file():  # the architecture's golden outputs, so the attempt does not compute them again
        shutil.copy2(golden_file, target_dir / golden_file.name)
    with work_folder(folder, "work-") as scratch:
        result = export_one(attempt_spec, source, folder, dataset, scratch, session, shared)
    settings = {"calibration_size": attempt_spec.calibration_size if spec.recipe.calibrated else None,
                "onnx_settings": attempt_spec.settings()}
    mix = {"mix": spec.mix.to_dict()} if spec.mix is not None else {}
    if result.status != "ok" or result.path is None:
        return Attempt(number, name, **settings, **mix, status=result.status, reason=result.reason,
                       seconds=round(time.perf_counter() - started, 1)), result
    figures = judge_file(Path(result.path), source)
    verdict = figures["judgement"]
    return Attempt(number, name, **settings, **mix, status="ok", reason=verdict.reason, outcome=verdict.outcome,
                   accuracy=figures["accuracy"], delta_accuracy_pp=figures["delta_accuracy_pp"],
                   delta_ci_pp=figures["delta_ci_pp"], agreement=round(figures["agreement"], 4),
                   size_bytes=result.size_bytes, p50_us=_latency_us(Path(result.path)),
                   seconds=round(time.perf_counter() - started, 1)), result


def search(spec: ExportSpec, source: Path, out: Path, dataset: Dataset, max_loss_pp: float, budget_s: float,
           judge_file: Judge, progress: Progress, session: WorkerSession | None = None,
           shared: SharedChild | None = None) -> ExportResult:
    """Export `spec` as the fastest attempt within `max_loss_pp` (module docstring)."""
    with work_folder(out, ".edgeseq-search-") as work:
        return _search(spec, source, out, dataset, max_loss_pp, budget_s, judge_file, progress, work, session,
                       shared)


def _search(spec: ExportSpec, source: Path, out: Path, dataset: Dataset, max_loss_pp: float, budget_s: float,
            judge_file: Judge, progress: Progress, work: Path, session: WorkerSession | None,
            shared: SharedChild | None) -> ExportResult:
    started = time.perf_counter()
    golden_file = layout.golden_path(out / spec.arch.value, spec.arch.value)
    attempts: list[tuple[Attempt, ExportResult, Path]] = []
    skipped: list[str] = []

    def run(name: str, attempt_spec: ExportSpec) -> tuple[Attempt, Path | None]:
        number = len(attempts)
        folder = work / f"attempt-{number}"
        attempt, result = _attempt(number, name, attempt_spec, source, folder, dataset, judge_file, golden_file,
                                   session, shared)
        attempts.append((attempt, result, folder))
        shown = (f"{attempt.delta_accuracy_pp:+.2f} pp, CI [{attempt.delta_ci_pp[0]:+.2f},"
                 f" {attempt.delta_ci_pp[1]:+.2f}], p50 {attempt.p50_us or float('nan'):.1f} µs: {attempt.outcome}"
                 if attempt.status == "ok" else f"{attempt.status}: {attempt.reason}")
        progress.log(f"      attempt {number} ({name}): {shown}")
        return attempt, Path(result.path) if result.path else None

    def met() -> bool:
        return any(a.meets(max_loss_pp) for a, _, _ in attempts)

    def out_of_time() -> bool:
        return bool(attempts) and time.perf_counter() - started > budget_s

    for remedy in remedies_for(spec):
        if met():
            break
        if out_of_time():
            skipped.append(remedy.name)
            continue
        run(remedy.name, remedy.applied_to(spec))
    guide = None
    if not met() and mixes_apply(spec) and out_of_time():
        skipped.append("per-layer mixes")
    elif not met() and mixes_apply(spec):
        best = max(((a, Path(r.path)) for a, r, _ in attempts if a.status == "ok" and r.path),
                   key=lambda x: x[0].accuracy or 0, default=None)
        climb = Climb(spec, source, dataset, work, run, met, out_of_time, skipped, progress)
        guide = climb.tflite() if spec.recipe.format is Format.TFLITE else climb.onnx(best)
    return _conclude(spec, out, attempts, skipped, max_loss_pp, budget_s, dataset, started, guide)


def _record(attempts: list[Attempt], kept: Attempt | None, skipped: list[str], max_loss_pp: float, budget_s: float,
            dataset: Dataset, met: bool, seconds: float, fmt: Format,
            layers: dict[str, Any] | None = None, first: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"max_loss_pp": max_loss_pp, "met": met, "proven": bool(kept and met and kept.outcome == "pass"),
            "kept": kept.number if kept else None, "layers_of_kept": layers, "layers_before_raising": first,
            "judged_on": {k: dataset.identity().get(k) for k in ("name", "test_count", "sha256")},
            "calibrated_on": "training split", "time_budget_s": budget_s, "seconds": round(seconds, 1),
            "attempts": [a.to_dict() for a in attempts], "not_tried_time_budget": skipped,
            "not_available": NOT_AVAILABLE[fmt]}


def _conclude(spec: ExportSpec, out: Path, attempts: list[tuple[Attempt, ExportResult, Path]], skipped: list[str],
              max_loss_pp: float, budget_s: float, dataset: Dataset, started: float,
              guide: Guide | None = None) -> ExportResult:
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
    source_path = Path(result.path)
    layers = kept_layers(source_path, guide, dataset)
    first = layer_table(guide.first, dataset) if guide is not None and guide.first else None
    record = _record(tried, kept, skipped, max_loss_pp, budget_s, dataset, met, time.perf_counter() - started,
                     spec.recipe.format, layers, first)
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
                          f" {dataset.identity().get('test_count')} test {dataset.units}; the best ({best}) is kept"
                          f" out of the model folder, in {target}{holder(guide)}")


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
        commit_with_manifest(partial, target, manifest.replace(search=record))
    finally:
        partial.unlink(missing_ok=True)
    golden = layout.golden_path(source.parent, manifest.architecture)
    beside = layout.golden_path(target.parent, manifest.architecture)
    if golden.is_file() and (not beside.is_file() or sha256_file(beside) != sha256_file(golden)):
        write_bytes_atomic(beside, golden.read_bytes())   # the outputs the manifest names
