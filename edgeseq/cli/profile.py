"""`bench --profile` (edgeseq.bench.profile): its run and its tables; `bench` in measure.py hands over to
`run_profile` when the flag is given, with every option at the mode's default (bench_modes.py) unless given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.bench_modes import BenchArgs
from edgeseq.cli.render import Column, Note, attr, echo_table, emit_json, fail
from edgeseq.core.progress import for_cli


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def _us(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


SUMMARY_COLUMNS = (
    Column("file", attr("label")),
    Column("runtime", attr("runtime")),
    Column("threads", attr("threads")),
    Column("p50 µs", lambda r: _us(r.plain_p50_us)),
    Column("profiled p50 µs", lambda r: _us(r.wall_p50_us)),
    Column("profiled mean µs", lambda r: _us(r.wall_mean_us)),
    Column("node sum µs", lambda r: _us(r.node_sum_us)),
    Column("coverage", lambda r: _pct(r.coverage)),
    Column("recurrent", lambda r: _pct(r.recurrent_share)),
    Column("recurrence", lambda r: _pct(r.recurrence_share) if r.recurrence_share is not None
           else Note("–", r.split) if r.status == "ok" else ""),
    Column("status", lambda r: r.status if r.status == "ok" else Note(r.status, r.reason)),
)

TOP_COLUMNS = (
    Column("op", attr("op")),
    Column("node", attr("name")),
    Column("layer", attr("layer")),
    Column("part", lambda n: n.part or ""),
    Column("mean µs", lambda n: _us(n.mean_us)),
    Column("p50 µs", lambda n: _us(n.p50_us)),
    Column("share", lambda n: _pct(n.share)),
)


def layers_line(row: Any) -> str:
    """'lstm_1 44.5 % (fused 35.1 %, other 9.3 %) · dense 1.5 %': each layer's share, recurrent ones split."""
    from edgeseq.bench.profile_groups import PART_LABELS  # noqa: PLC0415

    def one(layer: Any) -> str:
        parts = ", ".join(f"{PART_LABELS[p].split(' (')[0]} {_pct(s)}" for p, s in layer.parts.items())
        return f"{layer.layer} {_pct(layer.share)}" + (f" ({parts})" if parts else "")
    return " · ".join(one(layer) for layer in row.layers)


def echo_profiles(rows: list[Any]) -> None:
    """The summary table, then per profiled file × runtime its top operators, its layers and its split."""
    from edgeseq.bench.profile import TOP  # noqa: PLC0415

    echo_table(SUMMARY_COLUMNS, rows)
    for row in (r for r in rows if r.status == "ok"):
        if row.node_sum_us > 0:
            click.echo(f"\n{row.label} in {row.runtime}, {row.threads} thread(s): top {TOP} operators of"
                       f" {len(row.nodes)} (share of the summed node means, {row.node_sum_us:.1f} µs)")
            echo_table(TOP_COLUMNS, row.top(TOP))
            click.echo(f"layers: {layers_line(row)}")
        else:
            click.echo(f"\n{row.label} in {row.runtime}, {row.threads} thread(s): no node was timed above 0 µs")
        click.echo(f"recurrent layers: {row.split}")
        click.echo(f"profiler: {row.profiler}. Profiled p50 {row.wall_p50_us:.1f} µs against {row.plain_p50_us:.1f}"
                   f" µs unprofiled (×{row.overhead:.2f}); the nodes account for {_pct(row.coverage)} of the"
                   f" profiled mean ({row.wall_mean_us:.1f} µs); a node's mean is within ±{row.resolution_us:.2g} µs")
        if row.warning:
            click.echo(f"warning: {row.warning}")


def run_profile(args: BenchArgs) -> None:
    """Profile every file × runtime × thread count, write what --out names, and show it."""
    from edgeseq.bench.profile import PROFILE_FILE, ProfileConfig, profile  # noqa: PLC0415
    from edgeseq.core.errors import EdgeseqError  # noqa: PLC0415
    from edgeseq.core.fileio import write_json_atomic  # noqa: PLC0415

    try:
        config = ProfileConfig(tuple(r.value for r in args.wanted) if args.wanted else None, args.threads,
                               args.warmup, args.min_runs, args.tflite_backend, not args.no_verify, args.device)
    except EdgeseqError as err:
        raise click.UsageError(str(err)) from err
    with for_cli(args.as_json) as progress:
        rows = profile(args.files, config, progress)
    profiled = any(r.status == "ok" for r in rows)
    if args.out is not None and profiled:
        write_json_atomic(args.out / PROFILE_FILE, [r.to_dict() for r in rows])
    if args.as_json:
        emit_json([r.to_dict() for r in rows])
    else:
        echo_profiles(rows)
        if rows:
            env = rows[0].environment
            click.echo(f"environment: {env.get('device')}: {env.get('cpu')}, {env.get('cores')} cores,"
                       f" {env.get('machine')}, Python {env.get('python')}")
        if args.out is not None and profiled:
            click.echo(f"wrote {args.out / PROFILE_FILE}")
    if not profiled:
        reasons = sorted({f"{Path(r.path).name} ({r.runtime}): {r.reason}" for r in rows})
        fail("nothing could be profiled: " + "; ".join(reasons or ["no file"]))
