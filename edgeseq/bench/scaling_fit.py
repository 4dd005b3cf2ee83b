"""The figures `bench --scaling` derives from its measured points (edgeseq.bench.scaling measures them):

  ScalingPoint    one file × runtime × threads × length × batch: its latency, or why it was not measured
  fits_of         p50 = a + b × T by least squares per batch (b: µs per timestep), p50 = a + b × N per length
                  (b: µs per sample), and the log-log slope of each: above SUPER_LINEAR the growth is flagged
  speedups_of     p50 at the fewest threads / p50 at each other thread count, per (length, batch)
  summarise_file  one ScalingSummary per file × runtime: the headline figures and every super-linear fit

Pure arithmetic on plain figures: no runtime, no file read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.data import TIMESTEPS  # rows of one digit: the length every whole-sequence file was exported for

SUPER_LINEAR = 1.15                      # a log-log slope above this: the cost grows faster than linearly


@dataclass(frozen=True)
class ScalingPoint:
    """One file × runtime × threads × length × batch: its latency, or why it was not measured."""
    path: str
    label: str
    runtime: str
    threads: int
    length: int
    batch: int
    status: str                        # ok | unsupported | failed
    reason: str | None = None
    p50_us: float | None = None
    p90_us: float | None = None
    p99_us: float | None = None
    mean_us: float | None = None
    min_us: float | None = None
    runs: int | None = None
    us_per_row: float | None = None    # p50 / (length × batch): one row of one sequence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScalingFit:
    """p50 = intercept + slope × x over one axis (length or batch), the other axis and threads held."""
    path: str
    runtime: str
    threads: int
    axis: str                          # length | batch
    held: int                          # the batch (for a length fit) or the length (for a batch fit)
    xs: list[int]
    slope_us: float                    # µs per timestep (length) or per sample (batch)
    intercept_us: float
    r2: float
    exponent: float                    # log-log slope over the measured range
    tail_exponent: float               # log-log slope between the two largest points
    super_linear: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        unit = "timestep" if self.axis == "length" else "sample"
        held = f"batch {self.held}" if self.axis == "length" else f"length {self.held}"
        return (f"{self.slope_us:.3g} µs/{unit} ({held}, {self.threads} thread(s)), grows as"
                f" {'T' if self.axis == 'length' else 'N'}^{self.exponent:.2f}")


@dataclass(frozen=True)
class Speedup:
    path: str
    runtime: str
    length: int
    batch: int
    base_threads: int
    threads: int
    speedup: float                     # p50 at base_threads / p50 at threads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScalingSummary:
    """One file × runtime: the headline figures at the fewest threads, and every super-linear fit."""
    path: str
    label: str
    runtime: str
    backend: str | None
    time_axis: int | None              # None: dynamic (a step model)
    measured: int                      # points measured
    requested: int                     # points requested
    us_per_timestep: float | None      # at the smallest batch measured over ≥ 2 lengths
    length_exponent: float | None
    length_batch: int | None
    us_per_sample: float | None        # at the file's own length (else the shortest measured over ≥ 2 batches)
    batch_exponent: float | None
    batch_length: int | None
    base_threads: int
    speedup: dict[str, float]          # thread count -> speed-up at (batch_length, smallest batch)
    speedup_max_batch: dict[str, float]  # ... at (batch_length, largest batch measured at every count)
    max_batch: int | None
    super_linear: list[str]            # one phrase per super-linear fit
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line: µs per timestep, µs per sample, the speed-up, and the super-linear flag."""
        parts = [f"{self.label} ({self.runtime}):"]
        if self.us_per_timestep is not None:
            parts.append(f"{self.us_per_timestep:.3g} µs/timestep (batch {self.length_batch},"
                         f" T^{self.length_exponent:.2f});")
        else:
            parts.append(f"µs/timestep n/a ({_axis_text(self.time_axis)});")
        if self.us_per_sample is not None:
            parts.append(f"{self.us_per_sample:.3g} µs/sample (length {self.batch_length},"
                         f" N^{self.batch_exponent:.2f});")
        else:
            parts.append("µs/sample n/a (one batch measured);")
        if self.speedup:
            spoken = ", ".join(f"×{v:.2f} with {t} threads" for t, v in self.speedup.items())
            most = ", ".join(f"×{v:.2f}" for v in self.speedup_max_batch.values())
            tail = f" (batch {self.max_batch}: {most})" if self.speedup_max_batch and self.max_batch else ""
            parts.append(f"speed-up {spoken}{tail};")
        else:
            parts.append("speed-up n/a;")
        shown = "; ".join(self.super_linear[:2]) + (f"; +{len(self.super_linear) - 2} more (--json)"
                                                     if len(self.super_linear) > 2 else "")
        parts.append(f"SUPER-LINEAR: {shown}" if self.super_linear else "linear or better")
        return " ".join(parts)


def _axis_text(time_axis: int | None) -> str:
    return "dynamic time axis" if time_axis is None else f"fixed time axis of {time_axis}"


def _fit(xs: list[int], ys: list[float]) -> tuple[float, float, float, float, float] | None:
    """(slope, intercept, r², log-log slope, log-log slope of the last two points), or None below 2 x values."""
    if len(set(xs)) < 2 or any(y <= 0 for y in ys):
        return None
    x, y = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(((y - (slope * x + intercept)) ** 2).sum())
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - residual / total if total > 0 else 1.0
    exponent = float(np.polyfit(np.log(x), np.log(y), 1)[0])
    order = np.argsort(x)
    a, b = order[-2], order[-1]
    tail = float(math.log(y[b] / y[a]) / math.log(x[b] / x[a]))
    return float(slope), float(intercept), float(r2), exponent, tail


def fits_of(points: list[ScalingPoint]) -> list[ScalingFit]:
    """Every length fit (one per batch) and batch fit (one per length) of each file × runtime × threads."""
    groups: dict[tuple[str, str, int], list[ScalingPoint]] = {}
    for p in points:
        if p.status == "ok" and p.p50_us is not None:
            groups.setdefault((p.path, p.runtime, p.threads), []).append(p)
    fits = []
    for (path, runtime, threads), found in groups.items():
        for axis, held_of, x_of in (("length", lambda p: p.batch, lambda p: p.length),
                                    ("batch", lambda p: p.length, lambda p: p.batch)):
            for held in sorted({held_of(p) for p in found}):
                line = sorted((x_of(p), p.p50_us) for p in found if held_of(p) == held)
                xs, ys = [x for x, _ in line], [y for _, y in line]
                fitted = _fit(xs, ys)
                if fitted is None:
                    continue
                slope, intercept, r2, exponent, tail = fitted
                fits.append(ScalingFit(path, runtime, threads, axis, held, xs, slope, intercept, r2, exponent, tail,
                                       exponent > SUPER_LINEAR))
    return fits


def speedups_of(points: list[ScalingPoint]) -> list[Speedup]:
    """p50 at the fewest threads / p50 at each other thread count, at every point measured at both."""
    p50: dict[tuple[str, str, int, int], dict[int, float]] = {}
    for p in points:
        if p.status == "ok" and p.p50_us:
            p50.setdefault((p.path, p.runtime, p.length, p.batch), {})[p.threads] = p.p50_us
    found = []
    for (path, runtime, length, batch), by_threads in p50.items():
        base = min(by_threads)
        found += [Speedup(path, runtime, length, batch, base, t, by_threads[base] / v)
                  for t, v in sorted(by_threads.items()) if t != base]
    return found


def summarise_file(path: str, runtime: str, points: list[ScalingPoint], fits: list[ScalingFit],
                   speedups: list[Speedup], backend: str | None, axis: int | None,
                   notes: list[str]) -> ScalingSummary:
    mine = [p for p in points if p.path == path and p.runtime == runtime]
    ok = [p for p in mine if p.status == "ok"]
    label = mine[0].label if mine else Path(path).name
    base = min((p.threads for p in ok), default=min((p.threads for p in mine), default=1))
    fits = [f for f in fits if f.path == path and f.runtime == runtime]
    at_base = [f for f in fits if f.threads == base]
    by_length = min((f for f in at_base if f.axis == "length"), key=lambda f: f.held, default=None)
    batch_fits = [f for f in at_base if f.axis == "batch"]
    own = axis or TIMESTEPS
    by_batch = next((f for f in batch_fits if f.held == own), None) or min(batch_fits, key=lambda f: f.held,
                                                                           default=None)
    batch_length = by_batch.held if by_batch else min((p.length for p in ok), default=None)
    mine_up = [s for s in speedups if s.path == path and s.runtime == runtime and s.length == batch_length]
    smallest = min((s.batch for s in mine_up), default=None)
    counts = {s.threads for s in mine_up}
    common = [b for b in sorted({s.batch for s in mine_up})
              if {s.threads for s in mine_up if s.batch == b} == counts]
    largest = common[-1] if common else None
    speedup = {str(s.threads): s.speedup for s in mine_up if s.batch == smallest}
    at_max = {str(s.threads): s.speedup for s in mine_up if s.batch == largest} if largest != smallest else {}
    flags = [f"{'length' if f.axis == 'length' else 'batch'} at {'batch' if f.axis == 'length' else 'length'}"
             f" {f.held}, {f.threads} thread(s): grows as {'T' if f.axis == 'length' else 'N'}^{f.exponent:.2f}"
             for f in fits if f.super_linear]
    return ScalingSummary(
        path, label, runtime, backend, axis, len(ok), len(mine),
        by_length.slope_us if by_length else None, by_length.exponent if by_length else None,
        by_length.held if by_length else None,
        by_batch.slope_us if by_batch else None, by_batch.exponent if by_batch else None, batch_length,
        base, speedup, at_max, largest if at_max else None, flags, notes)

