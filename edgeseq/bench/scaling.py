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

Sequences longer than one digit are real digits: sequence i of a batch is the test digits i, i+1, ... of the
shipped sample, concatenated along the time axis and cut to the length (448 rows = 16 digits). Only a graph
with a dynamic time axis (a step model, fed row by row) takes them; a whole-sequence file with a fixed time
axis gives, for every other length, a row with status "unsupported" and the reason, and so does a batch-1-only
file for every batch above 1.

Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import layout
from edgeseq.errors import DataError, EdgeseqError
from edgeseq.rows import from_dict

TIMESTEPS = 28                           # rows of one digit: the length every whole-sequence file was exported for
DEFAULT_LENGTHS = (28, 56, 112, 224, 448)
DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DEFAULT_THREADS = (1, 2)
MAX_LENGTH = 28 * 256                    # 256 digits end to end; a batch of 256 of them is 200 MB of float32
MAX_BATCH = 4096
SUPER_LINEAR = 1.15                      # a log-log slope above this: the cost grows faster than linearly
WORKER = "edgeseq.bench.scaling_worker"
SUFFIXES = layout.MODEL_SUFFIXES
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
    from edgeseq.fileio import read_json  # noqa: PLC0415

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

    if Path(path).suffix == layout.SUFFIXES[layout.KERAS_FORMAT]:
        return TIMESTEPS, False                       # edgeseq's Keras models declare Input((28, 28))
    facts = read_facts(Path(path))
    if is_step_facts(facts):
        return None, False
    shape = facts.inputs[0].shape if facts.inputs else []
    dim = shape[1] if len(shape) > 1 else None
    return (dim if isinstance(dim, int) and dim > 0 else None), facts.batch_one_only


# --- fits -----------------------------------------------------------------------------------------------

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


# --- measuring ------------------------------------------------------------------------------------------

def _describe(path: Path) -> tuple[str, dict[str, Any] | None]:
    from edgeseq.fileio import read_manifest  # noqa: PLC0415

    manifest = read_manifest(path)
    key = layout.key_of(path, manifest)
    return (key.label if key else path.name), manifest


def _unavailable(runtime: Any, tflite_backend: str) -> str | None:
    from edgeseq import runtimes  # noqa: PLC0415
    from edgeseq.environment import installed  # noqa: PLC0415

    row = runtimes.RUNTIMES[runtime]
    needs = "tensorflow" if runtime is runtimes.RuntimeName.LITERT and tflite_backend == "tf" else row.needs
    return f"{needs} is not installed ({row.install_hint})" if needs and not installed(needs) else None


def _timeout(points: int, config: ScalingConfig) -> float:
    return 600.0 + points * (2 * config.min_seconds + 120.0)


def scaling(paths: list[Path], config: ScalingConfig | None = None, progress: Any = None) -> ScalingReport:
    """Every file × runtime × thread count × length × batch: one ScalingPoint each (measured, or why not), the
    fits, the thread speed-ups and one summary per file × runtime. One progress step per file × runtime ×
    thread count (each a fresh process)."""
    from edgeseq import runtimes  # noqa: PLC0415
    from edgeseq.artifacts import collect_files  # noqa: PLC0415
    from edgeseq.environment import device_name, fingerprint  # noqa: PLC0415
    from edgeseq.progress import as_progress  # noqa: PLC0415

    config = config or ScalingConfig()
    progress = as_progress(progress)
    started = time.perf_counter()
    files = collect_files(list(paths), SUFFIXES)
    wanted = [runtimes.RuntimeName(r) for r in config.runtimes] if config.runtimes else None
    pairs = [(path, runtime) for path in files for runtime in runtimes.runtimes_for(path, wanted)]
    environment = fingerprint() | {"device": config.device_name or device_name(),
                                   "tflite_backend_requested": config.tflite_backend}
    points: list[ScalingPoint] = []
    facts: dict[tuple[str, str], tuple[str | None, int | None, list[str]]] = {}
    with progress.stage("scaling", total=len(pairs) * len(config.threads), unit="runs") as stage:
        for path, runtime in pairs:
            backend, axis, notes = None, TIMESTEPS, []
            for threads in config.threads:
                stage.begin(f"{path} ({runtime.value}, {threads} thread(s))")
                found, backend_here, axis, note = _measure(path, runtime, threads, config, progress)
                points += found
                backend = backend or backend_here
                if note and note not in notes:
                    notes.append(note)
                stage.advance()
            facts[(str(path), runtime.value)] = (backend, axis, notes)
    fits = fits_of(points)
    speedups = speedups_of(points)
    summaries = [summarise_file(path, runtime, points, fits, speedups, *facts[(path, runtime)])
                 for path, runtime in facts]
    for summary in summaries:
        progress.log(summary.line())
    return ScalingReport(config, environment, points, fits, speedups, summaries, time.perf_counter() - started)


def _measure(path: Path, runtime: Any, threads: int, config: ScalingConfig,
             progress: Any) -> tuple[list[ScalingPoint], str | None, int | None, str | None]:
    """(the points of one file × runtime × thread count, the backend, the file's time axis, a note)."""
    from edgeseq.artifacts import check_structure  # noqa: PLC0415
    from edgeseq.fileio import sha256_file, verify_against_manifest  # noqa: PLC0415
    from edgeseq.procs import run_worker  # noqa: PLC0415

    grid = [(length, batch) for length in config.lengths for batch in config.batches]
    label = path.name

    def rows(status: str, reason: str | None, which: list[tuple[int, int]]) -> list[ScalingPoint]:
        return [ScalingPoint(str(path), label, runtime.value, threads, length, batch, status, reason)
                for length, batch in which]

    try:
        label, manifest = _describe(path)
        if config.verify and verify_against_manifest(path, manifest, sha256_file(path)) == "no-manifest" \
                and threads == config.threads[0]:
            progress.log("      warning: no manifest beside it: the file cannot be verified")
        check_structure(path)
        axis, batch_one = time_axis(path)
    except (EdgeseqError, OSError) as err:
        progress.log(f"      failed: {err}")
        return rows("failed", str(err), grid), None, TIMESTEPS, None
    unavailable = _unavailable(runtime, config.tflite_backend)
    if unavailable:
        progress.log(f"      unsupported: {unavailable}")
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
        measured = run_worker(WORKER, {"path": str(path), "runtime": runtime.value, "threads": threads,
                                       "tflite_backend": config.tflite_backend, "points": todo,
                                       "warmup": config.warmup, "min_runs": config.min_runs,
                                       "min_seconds": config.min_seconds},
                              _timeout(len(todo), config), env={"OMP_NUM_THREADS": str(threads)})
        if not isinstance(measured, dict):
            reason = measured.describe("the runtime", crashed="crashed the process")
            progress.log(f"      failed: {reason}")
            for point in todo:
                by_point[point] = rows("failed", reason, [point])[0]
        else:
            backend = measured.get("backend")
            for row in measured["points"]:
                point = (int(row["length"]), int(row["batch"]))
                stats = {k: row.get(k) for k in ("p50_us", "p90_us", "p99_us", "mean_us", "min_us", "runs")}
                per_row = row["p50_us"] / (point[0] * point[1]) if row.get("p50_us") else None
                by_point[point] = ScalingPoint(str(path), label, runtime.value, threads, *point, row["status"],
                                               row.get("reason"), **stats, us_per_row=per_row)
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
