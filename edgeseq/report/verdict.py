"""The verdict under budgets: per architecture, the fastest, smallest and most accurate file that passed
parity, and the one recommended under --max-latency-us / --max-size-kb / --min-accuracy / --ram / --flash (or why
none fits). The --ram and --flash budgets judge a file by what TFLM measured for it (its footprint, from a
`bench --runtime tflm` row) plus the allowance of edgeseq.report.allowance; a file TFLM did not measure never misses
them.

A candidate is an exported file that passed parity and was measured at batch 1; the Keras models are the
reference baselines and never candidates. Files of a model that failed its training-health checks
(edgeseq.health) are never recommended. "Within noise" is a paired test on the same test sequences where validate
kept per-sequence results (edgeseq.report.paired), else two standard errors of the accuracy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.core.errors import EdgeseqError
from edgeseq.health import Health
from edgeseq.report.allowance import flash_needed, ram_needed, size_text
from edgeseq.report.join import FileRow
from edgeseq.report.paired import difference
from edgeseq.report.units import KB, kb, pct, us


@dataclass(frozen=True)
class Budgets:
    max_latency_us: float | None = None
    max_size_kb: float | None = None
    min_accuracy: float | None = None      # a fraction, e.g. 0.97
    ram_bytes: int | None = None           # a microcontroller's RAM: TFLM's arena + the stack allowance must fit
    flash_bytes: int | None = None         # its flash: the model + TFLM's code allowance must fit

    def __post_init__(self) -> None:
        for name in ("ram_bytes", "flash_bytes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise EdgeseqError(f"{name.split('_')[0]} must be a positive number of bytes, got {value!r}")
        for name in ("max_latency_us", "max_size_kb"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise EdgeseqError(f"{name.replace('_', '-')} must be positive, got {value:g}")
        if self.min_accuracy is not None and not 0 < self.min_accuracy <= 1:
            raise EdgeseqError(f"min-accuracy is a fraction between 0 and 1 (e.g. 0.97),"
                               f" got {self.min_accuracy:g}")

    def misses(self, row: FileRow) -> list[str]:
        """The budgets `row` misses ([] when it fits); an unknown figure misses its budget."""
        out = []
        if self.max_latency_us is not None and (row.p50_us is None or row.p50_us > self.max_latency_us):
            out.append("latency")
        if self.max_size_kb is not None and (row.size_bytes is None
                                             or row.size_bytes / KB > self.max_size_kb):
            out.append("size")
        if self.min_accuracy is not None and (row.accuracy is None or row.accuracy < self.min_accuracy):
            out.append("accuracy")
        if self.ram_bytes is not None and row.tflm_footprint and ram_needed(row.tflm_footprint) > self.ram_bytes:
            out.append("ram")
        if self.flash_bytes is not None and row.tflm_footprint and \
                flash_needed(row.tflm_footprint) > self.flash_bytes:
            out.append("flash")
        return out

    def describe(self) -> str:
        parts = [f"p50 ≤ {self.max_latency_us:g} µs" if self.max_latency_us is not None else "",
                 f"size ≤ {self.max_size_kb:g} KB" if self.max_size_kb is not None else "",
                 f"accuracy ≥ {self.min_accuracy * 100:g} %" if self.min_accuracy is not None else "",
                 f"RAM ≤ {size_text(self.ram_bytes)}" if self.ram_bytes is not None else "",
                 f"flash ≤ {size_text(self.flash_bytes)}" if self.flash_bytes is not None else ""]
        return ", ".join(p for p in parts if p) or "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArchVerdict:
    model: str
    fastest: FileRow | None            # lowest batch-1 p50 among files that passed parity and measured ok
    smallest: FileRow | None           # smallest file that passed parity
    most_accurate: FileRow | None      # highest accuracy among files that passed parity
    recommended: FileRow | None        # fastest candidate meeting every budget, within noise of the best
    none_fits: str | None              # why nothing is recommended
    failed: tuple[FileRow, ...]        # failed parity: never recommended
    left_out: tuple[FileRow, ...]      # not exported, not validated or not measured at batch 1
    inconclusive: tuple[FileRow, ...] = ()   # parity could not be decided on these sequences: never recommended
    as_accurate: int = 0               # other passing files not significantly less accurate than most_accurate
    unhealthy: str | None = None       # why the model's training failed its health checks (never recommended)

    def to_dict(self) -> dict[str, Any]:
        picks = {k: (getattr(self, k).summary() if getattr(self, k) else None)
                 for k in ("fastest", "smallest", "most_accurate", "recommended")}
        return {"model": self.model, **picks, "none_fits": self.none_fits, "unhealthy": self.unhealthy,
                "as_accurate_as_most_accurate": self.as_accurate,
                "failed_parity": [{**r.summary(), "reason": r.parity_reason} for r in self.failed],
                "inconclusive_parity": [{**r.summary(), "reason": r.parity_reason} for r in self.inconclusive],
                "left_out": [{**r.summary(), "why": why_left_out(r)} for r in self.left_out]}


def why_left_out(row: FileRow) -> str:
    if row.export_status not in (None, "ok"):
        return f"not exported ({row.export_status}: {row.export_reason})"
    if row.passed is None:
        return "not validated"
    return f"not measured at batch 1 ({row.bench_status or 'not in bench.json'}: {row.bench_reason})"


def _none_fits(model: str, candidates: list[FileRow], budgets: Budgets) -> str:
    if not candidates:
        return f"none fits: no {model} file passed parity and was measured at batch 1"
    fastest = min(candidates, key=lambda r: r.p50_us)
    sized = [r for r in candidates if r.size_bytes is not None]
    smallest = min(sized, key=lambda r: r.size_bytes) if sized else None
    best = max(candidates, key=lambda r: r.accuracy)
    why = []
    if budgets.max_latency_us is not None and fastest.p50_us > budgets.max_latency_us:
        why.append(f"fastest passing {model} file is {us(fastest.p50_us)} µs > {budgets.max_latency_us:g} µs"
                   " budget")
    if budgets.max_size_kb is not None and (smallest is None
                                            or smallest.size_bytes / KB > budgets.max_size_kb):
        figure = f"{kb(smallest.size_bytes)} KB" if smallest else "of unknown size"
        why.append(f"smallest passing {model} file is {figure} > {budgets.max_size_kb:g} KB budget")
    if budgets.min_accuracy is not None and best.accuracy < budgets.min_accuracy:
        why.append(f"most accurate passing {model} file is {pct(best.accuracy)} %"
                   f" < {budgets.min_accuracy * 100:g} % budget")
    measured = [r.tflm_footprint for r in candidates if r.tflm_footprint]
    for budget, need, what in ((budgets.ram_bytes, ram_needed, "RAM"), (budgets.flash_bytes, flash_needed, "flash")):
        if budget is not None and measured and all(need(f) > budget for f in measured):
            why.append(f"every passing {model} file TFLM measured needs more {what} than the {size_text(budget)}"
                       f" budget (the least: {kb(min(need(f) for f in measured))} KB)")
    together = f"no passing {model} file meets all budgets ({budgets.describe()}) at once"
    return "none fits: " + ("; ".join(why) or together)


def accuracy_tie(best: float, test_digits: int | None) -> float:
    """Accuracy differences below two standard errors of the test-set estimate, sqrt(p(1-p)/n), are noise."""
    if not test_digits:
        return 0.0
    return 2 * (best * (1 - best) / test_digits) ** 0.5


def within_noise(row: FileRow, best: FileRow, test_digits: int | None) -> bool:
    """`row` is not significantly less accurate than `best`: the paired interval of row - best reaches zero
    (edgeseq.report.paired), else two standard errors of the accuracy (results without per-sequence bits)."""
    if row is best:
        return True
    found = difference(best, row, test_digits)
    if found is not None and found.paired:
        return found.high_pp >= 0
    return row.accuracy >= best.accuracy - accuracy_tie(best.accuracy, test_digits)


def verdicts(rows: tuple[FileRow, ...], budgets: Budgets = Budgets(),
             models: list[str] | None = None, test_digits: int | None = None,
             health: dict[str, Health] | None = None) -> tuple[ArchVerdict, ...]:
    """Per architecture (default: every model in `rows`): the fastest, smallest and most accurate passing
    file, and the one recommended under `budgets`: the fastest of the files whose accuracy is within noise
    (within_noise) of the most accurate file that fits. Nothing is recommended for a model whose training
    failed its health checks (`health`: model -> Health)."""
    out = []
    for model in models if models is not None else dict.fromkeys(r.model for r in rows):
        files = [r for r in rows if r.model == model and not r.baseline]
        passing = [r for r in files if r.passed is True]
        candidates = [r for r in passing if r.measured]
        fits = [r for r in candidates if not budgets.misses(r)]
        checked = (health or {}).get(model)
        unhealthy = None if checked is None or checked.healthy else \
            " ".join(f.text for f in checked.findings)
        pick = None
        if fits and unhealthy is None:
            best = max(fits, key=lambda r: r.accuracy)
            near = [r for r in fits if within_noise(r, best, test_digits)]
            pick = min(near, key=lambda r: (r.p50_us, -r.accuracy))
        sized = [r for r in passing if r.size_bytes is not None]
        top = max(passing, key=lambda r: (r.accuracy, -(r.p50_us or float("inf")))) if passing else None
        why = (f"not recommended: the {model.upper()}'s training failed its health checks ({unhealthy})"
               if unhealthy else _none_fits(model, candidates, budgets))
        out.append(ArchVerdict(
            model,
            min(candidates, key=lambda r: (r.p50_us, -r.accuracy)) if candidates else None,
            min(sized, key=lambda r: (r.size_bytes, -r.accuracy)) if sized else None,
            top, pick, None if pick else why,
            tuple(r for r in files if r.passed is False and r.parity_outcome != "inconclusive"),
            tuple(r for r in files if r.passed is not False and not r.candidate),
            tuple(r for r in files if r.passed is False and r.parity_outcome == "inconclusive"),
            sum(r is not top and within_noise(r, top, test_digits) for r in passing) if top else 0,
            unhealthy))
    return tuple(out)
