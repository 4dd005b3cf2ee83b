"""The verdict under budgets: per architecture, the fastest, smallest and most accurate file that passed
parity, and the one recommended under --max-latency-us / --max-size-kb / --min-accuracy (or why none fits).

A candidate is an exported file that passed parity and was measured at batch 1; the Keras models are the
reference baselines and never candidates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.core.errors import EdgeseqError
from edgeseq.report.join import FileRow
from edgeseq.report.units import KB, kb, pct, us


@dataclass(frozen=True)
class Budgets:
    max_latency_us: float | None = None
    max_size_kb: float | None = None
    min_accuracy: float | None = None      # a fraction, e.g. 0.97

    def __post_init__(self) -> None:
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
        return out

    def describe(self) -> str:
        parts = [f"p50 ≤ {self.max_latency_us:g} µs" if self.max_latency_us is not None else "",
                 f"size ≤ {self.max_size_kb:g} KB" if self.max_size_kb is not None else "",
                 f"accuracy ≥ {self.min_accuracy * 100:g} %" if self.min_accuracy is not None else ""]
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

    def to_dict(self) -> dict[str, Any]:
        picks = {k: (getattr(self, k).summary() if getattr(self, k) else None)
                 for k in ("fastest", "smallest", "most_accurate", "recommended")}
        return {"model": self.model, **picks, "none_fits": self.none_fits,
                "failed_parity": [{**r.summary(), "reason": r.parity_reason} for r in self.failed],
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
    together = f"no passing {model} file meets all budgets ({budgets.describe()}) at once"
    return "none fits: " + ("; ".join(why) or together)


def accuracy_tie(best: float, test_digits: int | None) -> float:
    """Accuracy differences below two standard errors of the test-set estimate, sqrt(p(1-p)/n), are noise."""
    if not test_digits:
        return 0.0
    return 2 * (best * (1 - best) / test_digits) ** 0.5


def verdicts(rows: tuple[FileRow, ...], budgets: Budgets = Budgets(),
             models: list[str] | None = None, test_digits: int | None = None) -> tuple[ArchVerdict, ...]:
    """Per architecture (default: every model in `rows`): the fastest, smallest and most accurate passing
    file, and the one recommended under `budgets`: the fastest of the files whose accuracy is within
    noise (two standard errors on `test_digits`) of the most accurate file that fits."""
    out = []
    for model in models if models is not None else dict.fromkeys(r.model for r in rows):
        files = [r for r in rows if r.model == model and not r.baseline]
        passing = [r for r in files if r.passed is True]
        candidates = [r for r in passing if r.measured]
        fits = [r for r in candidates if not budgets.misses(r)]
        pick = None
        if fits:
            best = max(r.accuracy for r in fits)
            near = [r for r in fits if r.accuracy >= best - accuracy_tie(best, test_digits)]
            pick = min(near, key=lambda r: (r.p50_us, -r.accuracy))
        sized = [r for r in passing if r.size_bytes is not None]
        out.append(ArchVerdict(
            model,
            min(candidates, key=lambda r: (r.p50_us, -r.accuracy)) if candidates else None,
            min(sized, key=lambda r: (r.size_bytes, -r.accuracy)) if sized else None,
            max(passing, key=lambda r: (r.accuracy, -(r.p50_us or float("inf")))) if passing else None,
            pick, None if pick else _none_fits(model, candidates, budgets),
            tuple(r for r in files if r.passed is False),
            tuple(r for r in files if r.passed is not False and not r.candidate)))
    return tuple(out)
