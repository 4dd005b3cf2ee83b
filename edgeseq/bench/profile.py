"""`edgeseq bench --profile`: time per operator, grouped into the model's layers.

`profile(paths, config, progress)` runs, for every file × runtime × thread count, a fresh worker process
(edgeseq.bench.profile_worker) that times the file without profiling at batch 1 (the plain p50), then with the
runtime's profiler on: `min_runs` profiled inferences, each timed (the wall p50) and its per-node times kept.
Each row says, per node, its op type, its layer and part (edgeseq.bench.profile_groups), its mean and total
time over the profiled inferences (and its median where the profiler gives each call's times: onnxruntime), and
its share of the summed node time; per op type and per layer the same sums; for recurrent layers the share of
input projection (x·W + b) and of recurrence (h·U, gates, state), or why the split cannot be seen ("fused: not
separable").

The node sum (of means) is compared with the mean wall time of the same calls (`coverage`: what the profiler
accounts for; the rest is the runtime's own work between nodes, or nodes too short to read), and the profiled
wall p50 with the unprofiled one (`overhead`: what profiling costs). onnxruntime reports each node's time per
call in whole µs; OpenVINO's CPU plugin a running mean per node since the model was compiled, in whole µs, read
before and after the profiled calls (`resolution_us`: how far a node's mean can be off).

What each runtime gives is its row's `profiler` in the runtimes table (edgeseq.runtimes.table; PROFILERS here).
LiteRT's Python API has no op profiler: its rows say so and name the native tool, with no figures. Each run
takes bench's own steps (edgeseq.bench.runner: the file checked, the runtime's availability, the worker in a
fresh process). Importing this module imports no runtime library and
never TensorFlow.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeseq.bench import runner
from edgeseq.bench.profile_groups import FUSED, INPUT_PROJECTION, PARTS, RECURRENCE, UNATTRIBUTED
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.progress import Progress, ProgressLike, as_progress
from edgeseq.core.rows import from_dict
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.table import RUNTIMES, Profiler

WORKER = "edgeseq.bench.profile_worker"
PROFILE_FILE = "profile.json"          # OUT/profile.json, what `bench --profile --out OUT` writes
DEFAULT_WARMUP = 10
DEFAULT_RUNS = 100
TOP = 5                                # the operators a table shows per file × runtime
BUSY = 1.25                            # a profiled mean wall time this many times its p50: the machine was busy


# what each runtime gives per operator, from the runtimes table
PROFILERS: dict[RuntimeName, Profiler] = {name: row.profiler for name, row in RUNTIMES.items()}
STEP_MODELS = ("a step model is not profiled (one step is a small graph run once per row); profile the"
               " whole-sequence file of its recipe")


@dataclass(frozen=True)
class ProfileConfig:
    runtimes: tuple[str, ...] | None = None   # runtime names; None: every default runtime that loads the file
    threads: tuple[int, ...] = (1,)
    warmup: int = DEFAULT_WARMUP
    min_runs: int = DEFAULT_RUNS              # the profiled inferences (and as many unprofiled ones), exactly
    tflite_backend: str = "auto"
    verify: bool = True
    device_name: str | None = None

    def __post_init__(self) -> None:
        if not self.threads or min(self.threads) <= 0 or self.warmup < 0 or self.min_runs <= 0:
            raise EdgeseqError("threads and min-runs must be positive; warmup ≥ 0")
        if self.runtimes is not None:
            object.__setattr__(self, "runtimes", tuple(getattr(r, "value", r) for r in self.runtimes))

    @property
    def min_seconds(self) -> float:          # the worker runs exactly min_runs calls (runner.Timing)
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NodeTime:
    name: str                          # as the runtime names it
    op: str                            # its op type as the runtime reports it (OpenVINO: the CPU plugin's type)
    layer: str                         # the Keras layer ('a + b': a node fused across layers; or UNATTRIBUTED)
    part: str | None                   # in a recurrent layer: input_projection | recurrence | fused | other
    mean_us: float                     # per inference, over the profiled runs
    total_us: float                    # over all the profiled runs
    share: float                       # of the node sum (of means)
    runs_seen: int                     # in how many of the profiled runs it ran
    p50_us: float | None = None        # per inference, the median (where the profiler gives each call: onnxruntime)
    kernel: str | None = None          # OpenVINO's exec type (e.g. brgemm_avx512_f32)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpTime:
    op: str
    nodes: int
    mean_us: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LayerTime:
    layer: str
    kind: str                          # recurrent | feed-forward | unattributed
    mean_us: float
    share: float
    parts: dict[str, float] = field(default_factory=dict)   # recurrent layers: part -> share of the node sum

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProfileResult:
    path: str
    label: str
    model: str | None
    format: str | None
    recipe: str | None
    runtime: str
    status: str                        # ok | unsupported | failed
    reason: str | None
    sha256: str | None = None
    backend: str | None = None
    profiler: str | None = None        # where the per-node figures come from (PROFILERS)
    threads: int | None = None
    batch: int = 1
    warmup: int | None = None
    runs: int | None = None            # profiled inferences (and as many unprofiled ones before them)
    plain_p50_us: float | None = None  # not profiled, same process, same settings
    wall_p50_us: float | None = None   # the profiled calls
    wall_mean_us: float | None = None
    overhead: float | None = None      # wall_p50_us / plain_p50_us: what profiling costs
    node_sum_us: float | None = None   # the nodes' means summed: what shares are of
    coverage: float | None = None      # node_sum_us / wall_mean_us: what the profiler accounts for
    resolution_us: float | None = None     # how far a node's mean can be off (the profilers count whole µs)
    recurrent_share: float | None = None   # time in recurrent layers, of the node sum
    input_projection_share: float | None = None
    recurrence_share: float | None = None  # None where a fused node hides the split (see `split`)
    fused_share: float | None = None
    split: str | None = None           # how the recurrent time splits, or why it cannot be seen
    warning: str | None = None         # what makes these figures doubtful (a busy machine)
    nodes: list[NodeTime] = field(default_factory=list)
    ops: list[OpTime] = field(default_factory=list)
    layers: list[LayerTime] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ProfileResult:
        return from_dict(cls, row)

    def top(self, count: int = TOP) -> list[NodeTime]:
        return self.nodes[:count]


def read_profile(path: Path) -> list[ProfileResult]:
    """RESULTS/profile.json (or the file itself) as rows; [] when there is none; a malformed one is a one-line
    DataError."""
    from edgeseq.core.fileio import read_json  # noqa: PLC0415

    path = Path(path)
    path = path / PROFILE_FILE if path.is_dir() else path
    if not path.is_file():
        return []
    try:
        rows = read_json(path, PROFILE_FILE)
    except EdgeseqError as err:
        raise DataError(str(err)) from err
    if not isinstance(rows, list):
        raise DataError(f"{path}: a JSON {type(rows).__name__}, expected the list `edgeseq bench --profile --json`"
                        " prints")
    try:
        return [ProfileResult.from_dict(row) for row in rows]
    except DataError as err:
        raise DataError(f"{path}: {err}") from err


# --- the figures of one run ---------------------------------------------------------------------------------

def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def _layer_kind(layer: str, kinds: dict[str, str]) -> str:
    if layer == UNATTRIBUTED:
        return "unattributed"
    return "recurrent" if any(kinds.get(one) == "recurrent" for one in layer.split(" + ")) else "feed-forward"


def figures(measured: dict[str, Any]) -> dict[str, Any]:
    """A worker's answer as ProfileResult fields: per node, op type and layer, shares of the summed node
    means, and the recurrent split."""
    raw = measured["nodes"]
    total = sum(n["mean_us"] for n in raw)
    kinds = measured.get("kinds") or {}
    nodes = [NodeTime(n["name"], n["op"], n["layer"], n.get("part"), n["mean_us"], n["total_us"],
                      _share(n["mean_us"], total), n["runs_seen"], n.get("p50_us"), n.get("kernel")) for n in raw]
    ops: dict[str, list[NodeTime]] = {}
    layers: dict[str, list[NodeTime]] = {}
    for node in nodes:                             # in execution order: layers as the model runs them
        ops.setdefault(node.op, []).append(node)
        layers.setdefault(node.layer, []).append(node)
    layer_rows = []
    for layer, found in layers.items():
        kind = _layer_kind(layer, kinds)
        spent = sum(n.mean_us for n in found)
        parts = {part: _share(sum(n.mean_us for n in found if n.part == part), total)
                 for part in PARTS if any(n.part == part for n in found)} if kind == "recurrent" else {}
        layer_rows.append(LayerTime(layer, kind, spent, _share(spent, total), parts))
    by_part = {part: _share(sum(n.mean_us for n in nodes if n.part == part), total) for part in PARTS}
    recurrent = [n for n in nodes if _layer_kind(n.layer, kinds) == "recurrent"]
    walls = measured["walls_us"]
    wall, wall_mean = statistics.median(walls), statistics.fmean(walls)
    plain = measured["plain"]["p50_us"]
    split, recurrence = _split(recurrent, by_part, [k for k, kind in kinds.items() if kind == "recurrent"])
    busy = wall_mean / wall if wall else None
    warning = (f"the profiled calls' mean wall time is {busy:.1f}× their p50: the machine was busy, and the node"
               " means include the interruptions" if busy is not None and busy > BUSY else None)
    return {
        "backend": measured.get("backend"), "plain_p50_us": plain, "wall_p50_us": wall, "wall_mean_us": wall_mean,
        "overhead": wall / plain if plain else None, "node_sum_us": total,
        "coverage": total / wall_mean if wall_mean else None, "resolution_us": measured.get("resolution_us"),
        "recurrent_share": _share(sum(n.mean_us for n in recurrent), total) if recurrent else None,
        "input_projection_share": by_part[INPUT_PROJECTION] if recurrent else None,
        "recurrence_share": recurrence, "fused_share": by_part[FUSED] if recurrent else None, "split": split,
        "warning": warning,
        "nodes": sorted(nodes, key=lambda n: -n.mean_us),
        "ops": sorted((OpTime(op, len(found), sum(n.mean_us for n in found),
                              _share(sum(n.mean_us for n in found), total)) for op, found in ops.items()),
                      key=lambda o: -o.mean_us),
        "layers": layer_rows,
    }


def _split(recurrent: list[NodeTime], by_part: dict[str, float], layers: list[str]) -> tuple[str, float | None]:
    """(how the recurrent layers' time splits, the recurrence share where it can be seen)."""
    if not recurrent and layers:
        return (f"the profiler timed no node of the recurrent layers ({', '.join(layers)}): each of their nodes"
                " read 0 µs"), None
    if not recurrent:
        return "no recurrent layer found in the graph", None
    fused = sorted({n.op for n in recurrent if n.part == FUSED})
    if fused:
        return (f"fused: not separable ({by_part[FUSED]:.0%} of the node time is in nodes that run x·W and h·U"
                f" together: {', '.join(fused)})"), None
    return (f"input projection {by_part[INPUT_PROJECTION]:.0%}, recurrence {by_part[RECURRENCE]:.0%}"
            " of the node time"), by_part[RECURRENCE]


# --- measuring ----------------------------------------------------------------------------------------------

def profile(paths: list[Path], config: ProfileConfig | None = None,
            progress: ProgressLike = None) -> list[ProfileResult]:
    """One row per file × runtime × thread count: the profile, or why there is none. One progress step each (each
    a fresh process)."""
    config = config or ProfileConfig()
    progress = as_progress(progress)
    wanted = [RuntimeName(r) for r in config.runtimes] if config.runtimes else None
    machine = runner.environment(config.device_name, config.tflite_backend)
    return [_profile(path, runtime, threads, config, machine | {"threads": threads}, progress)
            for path, runtime, threads in runner.each_run(paths, wanted, config.threads, progress, "profile")]


def _profile(path: Path, runtime: RuntimeName, threads: int, config: ProfileConfig, env: dict[str, Any],
             progress: Progress) -> ProfileResult:
    checked = runner.check_file(path, config.verify, progress, warn=threads == config.threads[0])
    facts = checked.facts
    base: dict[str, Any] = {"path": str(path), "label": checked.label, "model": facts.get("model"),
                            "format": facts.get("format"), "recipe": facts.get("recipe"), "runtime": runtime.value,
                            "sha256": facts.get("sha256"), "threads": threads, "environment": env,
                            "profiler": PROFILERS[runtime].source}
    if checked.reason is not None:
        return ProfileResult(**base, status="failed", reason=checked.reason)
    why = PROFILERS[runtime].unsupported or (STEP_MODELS if facts.get("step") else None)
    if why is not None:
        progress.log(f"      unsupported: {why}")
        return ProfileResult(**base, status="unsupported", reason=why)
    why = runner.unavailable(runtime, config.tflite_backend, progress)        # logged there
    if why is not None:
        return ProfileResult(**base, status="unsupported", reason=why)
    try:
        inputs = runner.bench_inputs(path, checked.manifest)
    except EdgeseqError as err:
        return ProfileResult(**base, status="failed", reason=str(err))
    measured = runner.run_measurement(WORKER, path, runtime, threads, config, runner.WORKER_TIMEOUT_S, progress,
                                      **inputs)
    if isinstance(measured, str):
        return ProfileResult(**base, status="failed", reason=measured)
    result = ProfileResult(**base, status="ok", reason=None, warmup=config.warmup, runs=config.min_runs,
                           **figures(measured))
    progress.log(f"      {summary(result)}")
    return result


def summary(row: ProfileResult) -> str:
    """One line: the node sum against the wall p50, the top operators, the recurrent split."""
    if row.status != "ok":
        return f"{row.status}: {row.reason}"
    top = ", ".join(f"{n.op} {n.name} {n.share:.0%}" for n in row.top(3))
    return (f"nodes {row.node_sum_us:.0f} µs of a profiled mean of {row.wall_mean_us:.0f} µs (p50"
            f" {row.wall_p50_us:.0f} µs, {row.plain_p50_us:.0f} µs unprofiled); top: {top}; {row.split}"
            + (f"; warning: {row.warning}" if row.warning else ""))
