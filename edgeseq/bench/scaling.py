"""`edgeseq bench --scaling`: how latency grows with sequence length, batch and threads.

`scaling(paths, config, progress)` measures the p50 latency of every file × runtime × thread count at every
requested (sequence length, batch) point, each file × runtime × thread count in a fresh worker process
(edgeseq.bench.scaling_worker, as `bench` does: the thread count is a process-wide setting for some
runtimes, and one file's memory never pollutes another's), and fits the growth:

  length   p50 = a + b × T by least squares, per batch: b is the cost of one more timestep (µs per timestep)
  batch    p50 = a + b × N, per length: b is the cost of one more sequence in the batch (µs per sample)
  threads  p50 at the fewest threads / p50 at each other count, per (length, batch): the speed-up
  exponent the slope of log p50 against log T (or log N) over the measured range: above SUPER_LINEAR (1.15)
           the growth is flagged super-linear ("grows as T^1.3")
(the fits: edgeseq.bench.scaling_fit). Each run takes bench's own steps (edgeseq.bench.runner: the file
checked against its manifest and for its structure, the runtime's availability, the worker in a fresh process)
and its timing loop (edgeseq.bench.worker: warm-up, then runs until both min-runs and min-seconds are met).

Sequences longer than one digit are real digits: sequence i of a batch is the test digits i, i+1, ... of the
shipped sample, concatenated along the time axis and cut to the length (448 rows = 16 digits). Only a graph
with a dynamic time axis (a step model, fed row by row) takes them; a whole-sequence file with a fixed time
axis gives, for every other length, a row with status "unsupported" and the reason, and so does a batch-1-only
file for every batch above 1.

Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core import layout
from edgeseq.bench import runner
from edgeseq.bench.scaling_fit import (
    TIMESTEPS, ScalingFit, ScalingPoint, ScalingSummary, Speedup, fits_of, speedups_of, summarise_file)
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.manifest import read_manifest
from edgeseq.core.progress import Progress, ProgressLike, as_progress
from edgeseq.core.rows import from_dict
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.table import IN_NODE_ONLY_BENCH, RUNTIMES

DEFAULT_LENGTHS = (28, 56, 112, 224, 448)
DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DEFAULT_THREADS = (1, 2)
MAX_LENGTH = 28 * 256                    # 256 digits end to end; a batch of 256 of them is 200 MB of float32
MAX_BATCH = 4096
WORKER = "edgeseq.bench.scaling_worker"
FIXED_AXIS = ("fixed time axis of {own}: export a step model with `edgeseq export --streaming`")
BATCH_ONE = "batch-1-only file: its input has a fixed batch of 1"
SCALING_FILE = "scaling.json"            # OUT/scaling.json, what `bench --scaling --out OUT` writes


@dataclass(frozen=True)
class ScalingConfig:
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    batches: tuple[int, ...] = DEFAULT_BATCHES
    threads: tuple[int, ...] = DEFAULT_THREADS
    runtimes: tuple[str, ...] | None = None   # runtime names; None: every default runtime that loads the file
    warmup: int = 3
    min_runs: int = 10
    min_seconds: float = 0.5
    tflite_backend: str = "auto"
    verify: bool = True
    device_name: str | None = None

    def __post_init__(self) -> None:
        for name, values, top in (("lengths", self.lengths, MAX_LENGTH), ("batches", self.batches, MAX_BATCH),
                                  ("threads", self.threads, 256)):
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= top
                                 for v in values):
                raise EdgeseqError(f"scaling {name} must be integers from 1 to {top}, got {list(values)}")
            if len(set(values)) != len(values):
                raise EdgeseqError(f"scaling {name} are given twice: {list(values)}")
        if self.warmup < 0 or self.min_runs <= 0 or self.min_seconds < 0:
            raise EdgeseqError("min-runs must be positive; warmup and min-seconds ≥ 0")
        if self.runtimes is not None:
            object.__setattr__(self, "runtimes", tuple(getattr(r, "value", r) for r in self.runtimes))
        object.__setattr__(self, "lengths", tuple(sorted(self.lengths)))
        object.__setattr__(self, "batches", tuple(sorted(self.batches)))
        object.__setattr__(self, "threads", tuple(sorted(self.threads)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScalingReport:
    config: ScalingConfig
    environment: dict[str, Any]
    points: list[ScalingPoint]
    fits: list[ScalingFit]
    speedups: list[Speedup]
    summaries: list[ScalingSummary]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "environment": self.environment,
                "points": [p.to_dict() for p in self.points], "fits": [f.to_dict() for f in self.fits],
                "speedups": [s.to_dict() for s in self.speedups],
                "summaries": [s.to_dict() for s in self.summaries], "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: Any) -> ScalingReport:
        if not isinstance(data, dict):
            raise DataError("scaling results should be a JSON object")
        try:
            config = dict(data["config"])
            config = ScalingConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
                                      if k in ScalingConfig.__dataclass_fields__})
        except (KeyError, TypeError, ValueError, EdgeseqError) as err:
            raise DataError(f"scaling results: malformed config ({err})") from err
        return cls(config, dict(data.get("environment") or {}),
                   [from_dict(ScalingPoint, p) for p in data.get("points") or []],
                   [from_dict(ScalingFit, f) for f in data.get("fits") or []],
                   [from_dict(Speedup, s) for s in data.get("speedups") or []],
                   [from_dict(ScalingSummary, s) for s in data.get("summaries") or []],
                   float(data.get("seconds") or 0.0))

    @property
    def measured(self) -> bool:
        return any(p.status == "ok" for p in self.points)


def read_scaling(path: Path) -> ScalingReport | None:
    """RESULTS/scaling.json (or the file itself) as a ScalingReport; None when there is none."""
    from edgeseq.core.fileio import read_json  # noqa: PLC0415

    path = Path(path)
    path = path / SCALING_FILE if path.is_dir() else path
    if not path.is_file():
        return None
    try:
        return ScalingReport.from_dict(read_json(path, SCALING_FILE))
    except DataError as err:
        raise DataError(f"{path}: {err}") from err


# --- inputs ---------------------------------------------------------------------------------------------

def sequences(digits: np.ndarray, length: int, batch: int) -> np.ndarray:
    """(batch, length, 28) float32 of real digits: sequence i is test digits i, i+1, ... (wrapping around the
    set) concatenated along the time axis, cut to `length` rows."""
    digits = np.asarray(digits, np.float32)
    per = -(-length // digits.shape[1])
    index = (np.arange(batch)[:, None] + np.arange(per)[None, :]) % len(digits)
    joined = digits[index].reshape(batch, per * digits.shape[1], digits.shape[2])
    return np.ascontiguousarray(joined[:, :length])


def time_axis(path: Path) -> tuple[int | None, bool]:
    """(the file's fixed time axis, or None for a dynamic one; whether it takes batch 1 only)."""
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.step_contract import is_step_facts  # noqa: PLC0415

    if Path(path).suffix == layout.SUFFIXES[layout.KERAS_FORMAT]:   # the length its manifest's data was
        return runner.timesteps_of(read_manifest(Path(path))), False
    facts = read_facts(Path(path))
    if is_step_facts(facts):
        return None, False
    shape = facts.inputs[0].shape if facts.inputs else []
    dim = shape[1] if len(shape) > 1 else None
    return (dim if isinstance(dim, int) and dim > 0 else None), facts.batch_one_only



# --- measuring ------------------------------------------------------------------------------------------

def _timeout(points: int, config: ScalingConfig) -> float:
    return 600.0 + points * (2 * config.min_seconds + 120.0)


def scaling(paths: list[Path], config: ScalingConfig | None = None,
            progress: ProgressLike = None) -> ScalingReport:
    """Every file × runtime × thread count × length × batch: one ScalingPoint each (measured, or why not), the
    fits, the thread speed-ups and one summary per file × runtime. One progress step per file × runtime ×
    thread count (each a fresh process)."""
    config = config or ScalingConfig()
    progress = as_progress(progress)
    started = time.perf_counter()
    wanted = [RuntimeName(r) for r in config.runtimes] if config.runtimes else None
    environment = runner.environment(config.device_name, config.tflite_backend)
    points: list[ScalingPoint] = []
    facts: dict[tuple[str, str], tuple[str | None, int | None, list[str]]] = {}
    for path, runtime, threads in runner.each_run(paths, wanted, config.threads, progress, "scaling"):
        backend, _, notes = facts.get((str(path), runtime.value), (None, TIMESTEPS, []))
        found, backend_here, axis, note = _measure(path, runtime, threads, config, progress)
        points += found
        if note and note not in notes:
            notes.append(note)
        facts[(str(path), runtime.value)] = (backend or backend_here, axis, notes)
    fits = fits_of(points)
    speedups = speedups_of(points)
    summaries = [summarise_file(path, runtime, points, fits, speedups, *facts[(path, runtime)])
                 for path, runtime in facts]
    for summary in summaries:
        progress.log(summary.line())
    seconds = time.perf_counter() - started
    return ScalingReport(config, environment, points, fits, speedups, summaries, seconds)


def _measure(path: Path, runtime: RuntimeName, threads: int, config: ScalingConfig,
             progress: Progress) -> tuple[list[ScalingPoint], str | None, int | None, str | None]:
    """(the points of one file × runtime × thread count, the backend, the file's time axis, a note)."""
    grid = [(length, batch) for length in config.lengths for batch in config.batches]
    checked = runner.check_file(path, config.verify, progress, warn=threads == config.threads[0])

    def rows(status: str, reason: str | None, which: list[tuple[int, int]]) -> list[ScalingPoint]:
        return [ScalingPoint(str(path), checked.label, runtime.value, threads, length, batch, status, reason)
                for length, batch in which]

    reason = checked.reason
    if reason is None:
        try:
            axis, batch_one = time_axis(path)
        except (EdgeseqError, OSError) as err:
            reason = str(err)
            progress.log(f"      failed: {reason}")
    if reason is not None:
        return rows("failed", reason, grid), None, TIMESTEPS, None
    unavailable = IN_NODE_ONLY_BENCH if RUNTIMES[runtime].in_node else \
        runner.unavailable(runtime, config.tflite_backend, progress)
    if unavailable:
        return rows("unsupported", unavailable, grid), None, axis, None
    by_point: dict[tuple[int, int], ScalingPoint] = {}
    todo = []
    for length, batch in grid:
        if axis is not None and length != axis:
            by_point[(length, batch)] = rows("unsupported", FIXED_AXIS.format(own=axis), [(length, batch)])[0]
        elif batch_one and batch != 1:
            by_point[(length, batch)] = rows("unsupported", BATCH_ONE, [(length, batch)])[0]
        else:
            todo.append((length, batch))
    skipped_lengths = sorted({length for length, _ in grid if axis is not None and length != axis})
    note = None
    if skipped_lengths:
        note = (f"length{'s' if len(skipped_lengths) > 1 else ''} {', '.join(map(str, skipped_lengths))}:"
                f" unsupported ({FIXED_AXIS.format(own=axis)})")
    if batch_one and len(config.batches) > 1:
        note = "; ".join(filter(None, [note, f"batches above 1: unsupported ({BATCH_ONE})"]))
    if note:
        progress.log(f"      {note}")
    backend = None
    if todo:
        try:
            inputs = runner.bench_inputs(path, checked.manifest)
        except EdgeseqError as err:
            inputs = {}
            measured: dict[str, Any] | str = str(err)
        else:
            measured = runner.run_measurement(WORKER, path, runtime, threads, config, _timeout(len(todo), config),
                                              progress, points=todo, **inputs)
        if isinstance(measured, str):
            for point in todo:
                by_point[point] = rows("failed", measured, [point])[0]
        else:
            backend = measured.get("backend")
            for row in measured["points"]:
                point = (int(row["length"]), int(row["batch"]))
                stats = {k: row.get(k) for k in ("p50_us", "p90_us", "p99_us", "mean_us", "min_us", "runs")}
                per_row = row["p50_us"] / (point[0] * point[1]) if row.get("p50_us") else None
                by_point[point] = ScalingPoint(str(path), checked.label, runtime.value, threads, *point,
                                               row["status"], row.get("reason"), **stats, us_per_row=per_row)
            for point in todo:               # a point the worker did not answer for
                by_point.setdefault(point, rows("failed", "the worker gave no figure for it", [point])[0])
            _log_lengths(progress, [by_point[p] for p in todo])
    return [by_point[p] for p in grid], backend, axis, note


def _log_lengths(progress: Any, points: list[ScalingPoint]) -> None:
    """One line per length: p50 at each batch."""
    for length in sorted({p.length for p in points}):
        at = [p for p in points if p.length == length]
        shown = ", ".join(f"{p.batch}: {p.p50_us:.0f}" if p.status == "ok" and p.p50_us is not None
                          else f"{p.batch}: {p.status}" for p in at)
        progress.log(f"      length {length}: p50 µs by batch {{{shown}}}")
