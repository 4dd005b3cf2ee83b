"""The report's three PNGs, built from the file rows (drawn by `edgeseq.report.plots`, which imports
matplotlib only when drawing).
"""

from __future__ import annotations

import re
from typing import Any

from edgeseq.report import plots
from edgeseq.report.join import FileRow
from edgeseq.report.units import KB
from edgeseq.runtimes.table import RUNTIMES

RUNTIME_ORDER = tuple(name.value for name in RUNTIMES)     # the runtimes table's order; others after, by name
FIGURES = (("accuracy-vs-latency.png", "Accuracy vs p50 latency at batch 1 (log x) and the Pareto frontier"),
           ("size-per-recipe.png", "File size per recipe"),
           ("latency-per-runtime.png", "Best p50 latency per runtime at batch 1"))


def _where(envs: tuple[dict[str, Any], ...]) -> str:
    threads = sorted({e.get("threads") for e in envs if e.get("threads") is not None})
    return (f"{', '.join(map(str, threads)) or '?'} thread{'' if threads == [1] else 's'}"
            + (f", {envs[0].get('cpu')}" if len(envs) == 1 else ""))


def _points(rows: tuple[FileRow, ...]) -> list[plots.Point]:
    return [plots.Point(r.label, r.model, r.runtime, r.p50_us, r.accuracy, r.baseline or r.passed is True,
                        r.baseline) for r in rows if r.p50_us is not None and r.accuracy is not None]


def device_figure_name(index: int, device: str) -> str:
    """The PNG of the `index`-th device's accuracy-vs-latency plot (a slug of its name, numbered: two names
    may slug alike)."""
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower())[:40].strip("-") or "device"
    return f"device-{index + 1}-{slug}.png"


def device_figures(reports: tuple[Any, ...], models: list[str]) -> dict[str, tuple[bytes, str]]:
    """One accuracy-vs-latency plot per device that measured a validated file (`report.devices`): the same
    files and accuracies, each device's own latencies; by file name, the PNG and its caption."""
    found = {}
    for index, report in enumerate(reports):
        points = _points(tuple(r for r in report.rows if r.model in models))
        if points:
            where = _where((report.environment,))
            caption = f"{report.device}: accuracy vs p50 latency at batch 1 ({where})"
            found[device_figure_name(index, report.device)] = (
                plots.accuracy_vs_latency(points, models, caption), caption)
    return found


def figures(rows: tuple[FileRow, ...], envs: tuple[dict[str, Any], ...],
            models: list[str]) -> dict[str, bytes]:
    """The three PNGs of the files of `models`, by file name."""
    rows = tuple(r for r in rows if r.model in models)
    where = _where(envs)
    points = _points(rows)
    files: dict[tuple[str, str, str], FileRow] = {}  # one bar per file (any runtime), one with a size first
    for r in rows:
        key = (r.model, r.format, r.recipe)
        if key not in files or files[key].size_bytes is None:
            files[key] = r
    sizes = [plots.Bar("keras" if r.baseline else f"{r.format}/{r.recipe}", r.model,
                       None if r.size_bytes is None else r.size_bytes / KB,
                       "" if r.size_bytes is not None
                       else "not exported" if r.export_status not in (None, "ok") else "n/a",
                       r.passed is False) for r in files.values()]
    runtimes = [x for x in RUNTIME_ORDER if any(r.runtime == x for r in rows)]
    runtimes += sorted({r.runtime for r in rows} - set(runtimes))
    best = []
    for model in models:
        for runtime in runtimes:
            pool = [r for r in rows if r.model == model and r.runtime == runtime and r.measured
                    and (r.baseline or r.passed is True) and r.setting == runtime]    # on its default kernels
            top = min(pool, key=lambda r: r.p50_us) if pool else None
            note = ("" if top.baseline else top.recipe) if top else "no passing file"
            best.append(plots.Bar(runtime, model, top.p50_us if top else None, note))
    (scatter, _), (size, _), (runtime_bars, _) = FIGURES
    return {
        scatter: plots.accuracy_vs_latency(points, models, f"Accuracy vs p50 latency at batch 1 ({where})"),
        size: plots.grouped_bars(sizes, models, "File size per recipe", "file size", "KB"),
        runtime_bars: plots.grouped_bars(best, models, f"Best p50 latency per runtime at batch 1 ({where})\n"
                                                       "files that passed parity, and the Keras models",
                                         "p50 latency", "µs"),
    }
