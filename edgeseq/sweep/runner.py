"""The whole sweep: the variants' tasks on an engine (in parallel), then the benchmarks alone (one file at a
time, nothing else running), then the answers in OUT/sweep.json, OUT/sweep.md and OUT/sweep-frontier.png."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeseq import data, models
from edgeseq.bench.runner import bench
from edgeseq.core.errors import EdgeseqError, IntegrityError, shown
from edgeseq.core.fileio import check_output_dir, ensure_dir, write_bytes_atomic, write_json_atomic, write_text_atomic
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.report.document import Block, to_markdown
from edgeseq.sweep.engines import engine_for
from edgeseq.sweep.frontier import Point, fastest_at_or_above, pareto, points
from edgeseq.sweep.plot import frontier_figure
from edgeseq.sweep.plan import BENCH_RECORD, TASK_RECORD, SweepConfig, finished, tasks
from edgeseq.sweep.task import build_variant

SEEDS = {a.value for a in models.Arch}


@dataclass(frozen=True)
class Interval:
    """When a task or a benchmark ran (UNIX seconds), as the process that did it recorded."""
    kind: str                      # task | bench
    variant: str
    started: float
    ended: float
    reused: bool                   # from an earlier sweep (not run now)


@dataclass(frozen=True)
class SweepResult:
    out: str
    engine: str
    data: dict[str, Any]
    seconds: float
    variants: list[dict[str, Any]]          # per variant: status, reason, test accuracy, files, reused
    points: list[Point]
    frontier_latency: list[Point]
    frontier_size: list[Point]
    fastest: dict[str, Point | None]        # "0.9652" -> the fastest point at or above it
    timeline: list[Interval] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [v["variant"] for v in self.variants if v["status"] != "ok"]

    def to_dict(self) -> dict[str, Any]:
        def point(p: Point | None) -> dict[str, Any] | None:
            return p.to_dict() if p else None
        return {"out": self.out, "engine": self.engine, "data": self.data, "seconds": self.seconds,
                "variants": self.variants, "points": [p.to_dict() for p in self.points],
                "frontier_latency": [p.to_dict() for p in self.frontier_latency],
                "frontier_size": [p.to_dict() for p in self.frontier_size],
                "fastest": {k: point(p) for k, p in self.fastest.items()},
                "timeline": [asdict(i) for i in self.timeline]}


def sweep(config: SweepConfig, progress: ProgressLike = None) -> SweepResult:
    progress = as_progress(progress)
    started = time.perf_counter()
    for name in config.variants:
        models.select(name)                          # an unknown variant fails before anything runs
    dataset = data.load(config.data).limited(config.limit_train, config.limit_test)
    check_output_dir(config.out)
    engine = engine_for(config.ray)
    engine.check(config.ray)                         # Ray missing, or nothing at its address: before OUT exists
    out = ensure_dir(Path(config.out))
    planned = tasks(config, dataset.identity())
    records: dict[str, dict[str, Any]] = {}
    reused: set[str] = set()
    for task in planned:
        record = finished(Path(task.folder) / task.variant / TASK_RECORD, task.key)
        if record is not None:
            records[task.variant] = record
            reused.add(task.variant)
    pending = [t for t in planned if t.variant not in records]
    where = f"{engine.description}" + (f" at {config.ray}" if config.ray not in (None, "local") else "")
    progress.log(f"data: {dataset.name} ({len(dataset.y_train)} train / {len(dataset.y_test)} test {dataset.units});"
                 f" {len(planned)} variants, {len(reused)} already done, {len(pending)} to train, export and validate"
                 f" on {where} ({config.workers} at a time)")
    with progress.stage("sweep", total=len(pending), unit="variants") as stage:
        for record in engine.run(build_variant, [t.to_dict() for t in pending], config.workers, config.ray):
            records[record["variant"]] = record
            stage.advance(detail=_describe(record))
    # every task has ended: now the benchmarks, one variant after another, nothing else running
    benches: dict[str, dict[str, Any]] = {}
    with progress.stage("bench", total=len(planned), unit="variants") as stage:
        for task in planned:
            stage.begin(task.variant)
            path = Path(task.folder) / task.variant / BENCH_RECORD
            done = finished(path, task.key) if task.variant in reused else None
            benches[task.variant] = done or _bench(records[task.variant], config, path, progress)
            stage.advance(detail="measured earlier" if done else None)
    return _result(config, engine.name, dataset.identity(), planned, records, benches, reused,
                   time.perf_counter() - started, out)


def _describe(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"{record['variant']}: FAILED: {record['reason']}"
    exported = record["export"]
    ok = sum(r["status"] == "ok" for r in exported)
    return (f"{record['variant']}: test accuracy {record['train']['test_accuracy'] * 100:.2f} %, {ok}/{len(exported)}"
            f" recipes exported, {record['ended'] - record['started']:.0f} s")


def _bench(record: dict[str, Any], config: SweepConfig, path: Path, progress: Any) -> dict[str, Any]:
    files = [Path(r["path"]) for r in record.get("export") or [] if r["status"] == "ok" and r.get("path")]
    outside = [f for f in files if not f.resolve().is_relative_to(path.parent.resolve())]
    if outside:      # a task record (perhaps an earlier run's, read back) names only files of its own variant
        raise IntegrityError(f"{shown(path.with_name(TASK_RECORD))} names {shown(outside[0])}, outside its"
                             f" variant's folder {shown(path.parent)}")
    started = time.time()
    rows = [r.to_dict() for r in bench(files, config.bench, progress)] if record["status"] == "ok" and files else []
    result = {"key": record["key"], "variant": record["variant"], "status": "ok", "started": started,
              "ended": time.time(), "bench": rows}
    write_json_atomic(path, result)
    return result


def _result(config: SweepConfig, engine: str, identity: dict[str, Any], planned: list[Any],
            records: dict[str, dict[str, Any]], benches: dict[str, dict[str, Any]], reused: set[str], seconds: float,
            out: Path) -> SweepResult:
    started_at = time.time() - seconds          # this sweep's start: a bench that ended before it was reused
    found: list[Point] = []
    variants, timeline = [], []
    for task in planned:
        record, measured = records[task.variant], benches[task.variant]
        mine = points(record.get("validate") or [], measured["bench"], task.variant, task.variant in SEEDS)
        found += mine
        variants.append({"variant": task.variant, "seed": task.variant in SEEDS, "status": record["status"],
                         "reason": record.get("reason"), "reused": task.variant in reused,
                         "test_accuracy": (record.get("train") or {}).get("test_accuracy"),
                         "parameters": (record.get("train") or {}).get("parameters"),
                         "exported": sum(r["status"] == "ok" for r in record.get("export") or []),
                         "points": len(mine), "seconds": round(record["ended"] - record["started"], 1),
                         "host": record.get("host")})
        timeline += [Interval("task", task.variant, record["started"], record["ended"], task.variant in reused),
                     Interval("bench", task.variant, measured["started"], measured["ended"],
                              measured["ended"] <= started_at)]
    result = SweepResult(str(out), engine, identity, round(seconds, 1), variants, found,
                         pareto(found, lambda p: p.p50_us), pareto(found, lambda p: p.size_bytes),
                         {f"{t:.4f}": fastest_at_or_above(found, t) for t in config.thresholds}, timeline)
    write_json_atomic(out / "sweep.json", result.to_dict())
    write_text_atomic(out / "sweep.md", markdown(result))
    if found:
        write_bytes_atomic(out / "sweep-frontier.png",
                           frontier_figure(found, result.frontier_latency, result.fastest))
    return result


POINT_HEADER = ["file", "runtime", "accuracy %", "p50 µs", "KB", "parity"]


def _row(p: Point) -> list[str]:
    return [p.label, p.runtime, f"{p.accuracy * 100:.2f}", f"{p.p50_us:,.1f}", f"{p.size_bytes / 1024:,.1f}",
            p.parity]


def _fastest_row(threshold: str, p: Point | None) -> list[str]:
    shown = [p.label, f"{p.accuracy * 100:.2f}", f"{p.p50_us:,.1f}", f"{p.size_bytes / 1024:,.1f}"] if p \
        else ["none", "–", "–", "–"]
    return [f"{float(threshold) * 100:.2f} %", *shown]


def _variant_row(v: dict[str, Any]) -> list[Any]:
    accuracy = f"{v['test_accuracy'] * 100:.2f}" if v["test_accuracy"] is not None else "–"
    status = v["status"] if v["status"] == "ok" else f"FAILED: {v['reason']}"
    return [f"{v['variant']}{' (seed)' if v['seed'] else ''}", status, accuracy, v["parameters"] or "–", v["points"],
            v["seconds"], "yes" if v["reused"] else "no"]


def markdown(result: SweepResult) -> str:
    """sweep.md, as the report's document blocks (edgeseq.report.document: one table renderer for both)."""
    def table(found: list[Point]) -> Block:
        return ("table", POINT_HEADER, [_row(p) for p in found]) if found else ("p", "None.")

    blocks: list[Block] = [
        ("h", 1, "edgeseq sweep"),
        ("p", f"{len(result.variants)} variants on {result.data.get('name')} ({result.data.get('train_count')} train"
              f" / {result.data.get('test_count')} test sequences), {result.engine} engine, {result.seconds:.0f} s"
              " wall time. Accuracy: each exported file on the test split; p50: batch 1, one thread, measured after"
              " every task had ended, one file at a time. Seed models are marked (seed)."),
        ("h", 2, "The fastest at or above"),
        ("table", ["accuracy at least", "fastest file", "accuracy %", "p50 µs", "KB"],
         [_fastest_row(t, p) for t, p in result.fastest.items()]),
        ("h", 2, "Pareto frontier: accuracy against p50 latency"), table(result.frontier_latency),
        ("h", 2, "Pareto frontier: accuracy against size"), table(result.frontier_size),
        ("img", "sweep-frontier.png", "accuracy vs latency"),
        ("h", 2, "Variants"),
        ("table", ["variant", "status", "Keras test accuracy %", "parameters", "files measured", "task s", "reused"],
         [_variant_row(v) for v in result.variants]),
    ]
    return to_markdown(blocks)


def with_thresholds(config: SweepConfig, extra: tuple[float, ...]) -> SweepConfig:
    """The config with `extra` accuracies (fractions) added to the thresholds it answers for."""
    if any(not 0 < t <= 1 for t in extra):
        raise EdgeseqError("--min-accuracy is a fraction in (0, 1], e.g. 0.97")
    return replace(config, thresholds=tuple(dict.fromkeys((*config.thresholds, *extra))))
