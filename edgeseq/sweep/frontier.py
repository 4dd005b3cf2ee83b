"""The sweep's answers: every measured file as a point (accuracy, p50, size), the Pareto frontier of accuracy
against p50 latency and against size, and the fastest file at or above an accuracy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.core.pareto import pareto as frontier_of


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
    """A point per file × runtime that did not fail parity and was measured at batch 1 (joined on sha256)."""
    measured = {(r["sha256"], r["runtime"]): r for r in bench_rows
                if r.get("status") == "ok" and r.get("batch") == 1 and not r.get("step")}
    found = []
    for row in validate_rows:
        bench = measured.get((row.get("sha256"), row.get("runtime")))
        if bench is None or row.get("accuracy") is None or row.get("outcome") == "fail" or row.get("step"):
            continue
        found.append(Point(variant, seed, row["format"], row["recipe"], row["runtime"], float(row["accuracy"]),
                           row.get("outcome") or "pass", float(bench["p50_us"]), int(bench["size_bytes"]),
                           row["path"]))
    return found


def pareto(found: Iterable[Point], cost: Callable[[Point], float]) -> list[Point]:
    """The points no other point beats on both accuracy and `cost` (cheapest first): edgeseq.core.pareto."""
    return frontier_of(found, cost, lambda p: p.accuracy)


def fastest_at_or_above(found: Iterable[Point], threshold: float) -> Point | None:
    eligible = [p for p in found if p.accuracy >= threshold]
    return min(eligible, key=lambda p: (p.p50_us, -p.accuracy)) if eligible else None
