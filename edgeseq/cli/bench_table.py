"""The bench table: its columns (latency, memory, the compute bound, a step model's step), and the line naming
the peak the bound is measured against."""

from __future__ import annotations

from typing import Any

import click

from edgeseq.cli.render import Column, Note, attr, echo_table, outcome
from edgeseq.runtimes.table import RUNTIMES, RuntimeName, off_default


def runtime_cell(row: Any) -> str | Note:
    """The runtime, with a note saying what its times are where they are not a device's own (its table row's
    `timing`: tflm's are host time of TFLM's kernels)."""
    name = getattr(row, "runtime", None)
    timing = RUNTIMES[RuntimeName(name)].timing if name in {r.value for r in RuntimeName} else None
    kernels = getattr(row, "kernels", None)
    shown = f"{name} ({kernels} kernels)" if name and off_default(name, kernels) else name
    return Note(shown, f"{name}: {timing}") if timing else shown or ""


BENCH_COLUMNS = (
    Column("file", attr("path")),
    Column("runtime", runtime_cell),
    Column("threads", attr("threads")),
    Column("batch", attr("batch")),
    Column("p50 µs", attr("p50_us", ".1f")),
    Column("p99 µs", attr("p99_us", ".1f")),
    Column("load ms", attr("load_ms", ".1f")),
    Column("first ms", attr("first_inference_ms", ".2f")),
    Column("MiB file/rt", lambda r: "" if r.file_memory_bytes is None or r.rss_after_import_bytes is None
           else f"{r.file_memory_bytes / 2**20:.1f}/{r.rss_after_import_bytes / 2**20:.0f}"),
    Column("bytes", attr("size_bytes")),
    Column("status", lambda r: r.status if r.status == "ok" else outcome(r.status, r.reason)),
)


def bound_cell(row: Any) -> str:
    """A measured row's fp32 bound in µs, or why it has none (its FLOPs are unknown, or the peak is)."""
    if getattr(row, "status", None) != "ok" or getattr(row, "p50_us", None) is None:
        return ""
    if getattr(row, "bound_us", None) is not None:
        return f"{row.bound_us:.1f}"
    return "no peak" if getattr(row, "flops", None) else "FLOPs unknown"


def _optional(name: str, fmt: str) -> Any:
    """A cell for a field rows may not have yet (getattr with a default)."""
    def cell(row: Any) -> str:
        value = getattr(row, name, None)
        return "" if value is None else format(value, fmt)
    return cell


def peak_line(env: dict[str, Any]) -> str:
    """What the bound column is measured against: the run's fp32 GEMM peak on the device, or why none."""
    gflops = env.get("fp32_gemm_peak_gflops")
    if gflops is None:
        return f"bound: no fp32 GEMM peak ({env.get('fp32_gemm_peak_error') or 'not measured by this edgeseq'})"
    readings = ", ".join(f"{g:.1f}" for g in env.get("fp32_gemm_peak_readings_gflops") or [])
    return (f"bound: each row's FLOPs at {gflops:.1f} GFLOP/s, the single-thread fp32 GEMM peak of"
            f" {env.get('device')} measured in this run (median of {readings}); p50/bound < 1 beats it")


STEP_COLUMNS = (Column("step p50 µs", _optional("step_p50_us", ".1f")),
                Column("step p99 µs", _optional("step_p99_us", ".1f")))


BOUND_COLUMNS = (Column("bound µs", bound_cell), Column("p50/bound", _optional("bound_ratio", ".2f")))


def _planned(key: str) -> Any:
    """A cell from the row's own memory plan (tflm: TFLM's arena), in bytes."""
    def cell(row: Any) -> str:
        plan = getattr(row, "footprint", None) or {}
        return "" if plan.get(key) is None else f"{plan[key]:,}"
    return cell


FOOTPRINT_COLUMNS = (Column("arena B", _planned("arena_bytes")), Column("flash B", _planned("flash_bytes")))


def bench_columns(results: list[Any]) -> tuple[Column, ...]:
    """BENCH_COLUMNS, with the fp32 bound and p50/bound after p50 µs when some row has a FLOPs count or says
    why it has none (rows from an edgeseq that measured no bound have neither), and one step's p50/p99 after
    p99 µs when some row (a step model's) has them, and the file's graph after the runtime when some rows
    compare graphs (graph candidates), and TFLM's arena and flash bytes after the memory when some row has them."""
    columns = BENCH_COLUMNS
    if any(getattr(r, "footprint", None) for r in results):
        at = next(k for k, c in enumerate(columns) if c.header == "MiB file/rt") + 1
        columns = (*columns[:at], *FOOTPRINT_COLUMNS, *columns[at:])
    if any(getattr(r, "graph_choice", None) is not None for r in results):
        at = next(k for k, c in enumerate(columns) if c.header == "runtime") + 1
        columns = (*columns[:at], GRAPH_COLUMN, *columns[at:])
    if any(getattr(r, "step_p50_us", None) is not None or getattr(r, "step_p99_us", None) is not None
           for r in results):
        at = next(k for k, c in enumerate(columns) if c.header == "p99 µs") + 1
        columns = (*columns[:at], *STEP_COLUMNS, *columns[at:])
    if any(getattr(r, "flops_source", None) is not None for r in results):
        at = next(k for k, c in enumerate(columns) if c.header == "p50 µs") + 1
        columns = (*columns[:at], *BOUND_COLUMNS, *columns[at:])
    return columns


GRAPH_COLUMN = Column("graph", _optional("graph", ""))
CHOICE_COLUMNS = (  # over edgeseq.bench.graph_choice.GraphChoice
    Column("model", attr("model")),
    Column("recipe", lambda c: f"{c.format}/{c.recipe}"),
    Column("runtime", attr("runtime")),
    Column("threads", attr("threads")),
    Column("fastest graph", lambda c: c.fastest or "none passed parity"),
    Column("p50 µs (b1) per graph", lambda c: ", ".join(
        f"{g} {p50:.1f}{'' if dict(c.parity).get(g, 'pass') == 'pass' else ' (' + dict(c.parity)[g] + ')'}"
        for g, p50 in c.p50_us)),
    Column("table's graph", lambda c: c.default_graph or "none"),
    Column("gain", lambda c: f"{c.gain_over_default:.2f}x" if c.gain_over_default else Note("–", c.why_no_gain())),
    Column("not chosen", lambda c: Note(", ".join(g for g, _ in c.excluded),
                                        "; ".join(f"{g}: {why}" for g, why in c.excluded) or None)),
)


def echo_choices(results: list[Any]) -> None:
    """The graph choice of each recipe whose candidates were measured (bench.graph_choice), per device."""
    from edgeseq.bench.graph_choice import recorded  # noqa: PLC0415

    choices = recorded(results)
    for device in dict.fromkeys(c.device for c in choices):
        click.echo(f"\ngraph chosen on {device} (batch 1, among the graphs that passed parity at export, or were"
                   " inconclusive as the table's own graph was; gain: the table's graph p50 / the fastest p50)")
        echo_table(CHOICE_COLUMNS, [c for c in choices if c.device == device])
