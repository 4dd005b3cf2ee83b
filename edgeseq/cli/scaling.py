"""`bench --scaling` (edgeseq.bench.scaling): its --lengths option, its table, and the run itself; `bench` in
measure.py hands over to `run_scaling` when the flag is given, with every option at the mode's default
(bench_modes.py) unless given."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from edgeseq.cli.bench_modes import BenchArgs, mode_help
from edgeseq.cli.options import INTEGERS, list_option
from edgeseq.cli.render import Column, Note, echo_table, emit_json, fail
from edgeseq.core.progress import for_cli

F = TypeVar("F", bound=Callable[..., Any])


def _length(text: str) -> int:
    from edgeseq.bench.scaling import MAX_LENGTH  # noqa: PLC0415

    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 0 < number <= MAX_LENGTH:
        raise ValueError(f"{text!r} is not a sequence length from 1 to {MAX_LENGTH}")
    return number


def lengths_option() -> Callable[[F], F]:
    return list_option("--lengths", item=_length, expected=INTEGERS.replace("1,8,32", "28,56,112"),
                       metavar="T[,T...]", help="Sequence lengths in timesteps (rows).", tail=mode_help("lengths"))


def _scaling_table(report: Any) -> tuple[tuple[Column, ...], list[dict[str, Any]]]:
    """One row per file × runtime × threads × length, one p50 column per batch, and a status with the reasons
    of the points not measured."""
    batches = list(report.config.batches)
    rows: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for p in report.points:
        row = rows.setdefault((p.path, p.runtime, p.threads, p.length),
                              {"file": p.label, "runtime": p.runtime, "threads": p.threads, "length": p.length,
                               "points": {}})
        row["points"][p.batch] = p

    def status(row: dict[str, Any]) -> Any:
        missing = [p for p in row["points"].values() if p.status != "ok"]
        if not missing:
            return "ok"
        kinds = sorted({p.status for p in missing})
        reasons = "; ".join(sorted({p.reason or p.status for p in missing}))
        if len(missing) < len(row["points"]):
            at = ", ".join(str(p.batch) for p in missing)
            return Note(f"{'/'.join(kinds)} at batch {at}", reasons)
        return Note("/".join(kinds), reasons)

    def p50(batch: int) -> Any:
        def cell(row: dict[str, Any]) -> str:
            point = row["points"].get(batch)
            return f"{point.p50_us:.1f}" if point and point.status == "ok" and point.p50_us is not None else "–"
        return cell

    columns = (Column("file", lambda r: r["file"]), Column("runtime", lambda r: r["runtime"]),
               Column("threads", lambda r: str(r["threads"])), Column("length", lambda r: str(r["length"])),
               *(Column(f"b{b} p50 µs" if b == batches[0] else f"b{b}", p50(b)) for b in batches),
               Column("status", status))
    return columns, list(rows.values())


def run_scaling(args: BenchArgs) -> None:
    """Measure the grid, write what --plot and --out name (their paths were checked when parsed), and show it."""
    from edgeseq.core.errors import EdgeseqError, RuntimeUnavailable  # noqa: PLC0415
    from edgeseq.core.fileio import write_bytes_atomic, write_json_atomic  # noqa: PLC0415
    from edgeseq.bench.scaling import SCALING_FILE, ScalingConfig, scaling  # noqa: PLC0415
    from edgeseq.core.plotting import require_matplotlib  # noqa: PLC0415

    try:
        config = ScalingConfig(args.lengths or (), args.batches, args.threads,
                               tuple(r.value for r in args.wanted) if args.wanted else None, args.warmup,
                               args.min_runs, args.min_seconds, args.tflite_backend, not args.no_verify,
                               args.device)
    except EdgeseqError as err:
        raise click.UsageError(str(err)) from err
    plotting = None
    if args.plot_path is not None or args.out is not None:
        from edgeseq.bench import scaling_plot  # noqa: PLC0415

        try:
            require_matplotlib()                # --plot has asked for it already, when parsed
            plotting = scaling_plot
        except RuntimeUnavailable:
            click.echo(f"warning: matplotlib is not installed: {args.out}/scaling.png will not be drawn", err=True)
    with for_cli(args.as_json) as progress:
        report = scaling(args.files, config, progress)
    out = args.out
    if report.measured:
        png = plotting.plot(report) if plotting is not None else None
        if args.plot_path is not None and png is not None:
            write_bytes_atomic(args.plot_path, png)
        if out is not None:
            write_json_atomic(out / SCALING_FILE, report.to_dict())
            if png is not None:
                write_bytes_atomic(out / "scaling.png", png)
    if args.as_json:
        emit_json(report.to_dict())
    else:
        columns, rows = _scaling_table(report)
        echo_table(columns, rows)
        click.echo("growth (least squares; exponent: log-log slope over the measured range, super-linear above"
                   " 1.15):")
        for summary in report.summaries:
            click.echo(f"  {summary.line()}")
        env = report.environment
        click.echo(f"environment: {env.get('device')}: {env.get('cpu')}, {env.get('cores')} cores,"
                   f" {env.get('machine')}, Python {env.get('python')}; {report.seconds:.0f} s")
        if report.measured:
            for written in filter(None, (args.plot_path if plotting else None, out and out / SCALING_FILE,
                                         out and plotting and out / "scaling.png")):
                click.echo(f"wrote {written}")
    if not report.measured:
        reasons = sorted({f"{Path(p.path).name} ({p.runtime}): {p.reason}" for p in report.points})
        fail("nothing could be measured: " + "; ".join(reasons or ["no file"]))
