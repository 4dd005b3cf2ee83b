"""The sweep's answers: every measured file as a point (accuracy, p50, size), the Pareto frontier of accuracy
against p50 latency and against size, and the fastest file at or above an accuracy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.bench.runner import BenchResult
from edgeseq.core.pareto import pareto as frontier_of
from edgeseq.core.rows import from_dict
from edgeseq.parity.compare import ParityReport
from edgeseq.report.inputs import Inputs
from edgeseq.report.join import file_rows


@dataclass(frozen=True)
class Point:
    variant: str
    seed: bool                    # one of the two published models
    format: str
    recipe: str
    runtime: str
    accuracy: float               # the file on the test split (validate)
    parity: str                   # pass | inconclusive (a failed file is never a point)
    p50_us: float                 # batch 1
    size_bytes: int
    path: str

    @property
    def label(self) -> str:
        return f"{self.variant} {self.format}/{self.recipe}" + (" (seed)" if self.seed else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"label": self.label}


def points(validate_rows: Iterable[dict[str, Any]], bench_rows: Iterable[dict[str, Any]], variant: str,
           seed: bool) -> list[Point]:
    """A point per file × runtime that did not fail parity and was measured at batch 1, from the report's join
    (edgeseq.report.join: rows about one file joined on its sha256), so that the sweep and the report see the
    same files. The rows are read back through the dataclasses that wrote them (a malformed one: a DataError)."""
    inputs = Inputs("", (), (), tuple(from_dict(ParityReport, r, "a validate row") for r in validate_rows),
                    tuple(from_dict(BenchResult, r, "a bench row") for r in bench_rows))
    return [Point(variant, seed, row.format, row.recipe, row.runtime, float(row.accuracy),
                  row.parity_outcome or "pass", float(row.p50_us), int(row.size_bytes or 0), str(row.path))
            for row in file_rows(inputs)
            if not row.baseline and not row.step and row.accuracy is not None and row.passed is not None
            and row.parity_outcome != "fail" and row.p50_us is not None]


def pareto(found: Iterable[Point], cost: Callable[[Point], float]) -> list[Point]:
    """The points no other point beats on both accuracy and `cost` (cheapest first): edgeseq.core.pareto."""
    return frontier_of(found, cost, lambda p: p.accuracy)


def fastest_at_or_above(found: Iterable[Point], threshold: float) -> Point | None:
    eligible = [p for p in found if p.accuracy >= threshold]
    return min(eligible, key=lambda p: (p.p50_us, -p.accuracy)) if eligible else None
