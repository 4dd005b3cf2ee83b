"""`bench --scaling` (edgeseq.bench.scaling): its options, its table, and the run itself; `bench` in
measure.py hands over to `run_scaling` when the flag is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from edgeseq.cli.options import INTEGERS, comma_list
from edgeseq.cli.render import Column, Note, echo_table, emit_json, fail
from edgeseq.progress import for_cli

F = TypeVar("F", bound=Callable[..., Any])

SCALING_DEFAULTS = {"batches": "1,2,4,8,16,32,64,128,256", "threads": "1,2", "warmup": 3, "min_runs": 10,
                    "min_seconds": 0.5}
NOT_WITH_SCALING = {"csv_path": "--csv", "host": "--host", "ssh_config": "--ssh-config",
                    "remote_python": "--remote-python"}


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
    return click.option("--lengths", default=None, metavar="T[,T...]",
                        callback=comma_list(_length, INTEGERS.replace("1,8,32", "28,56,112")),
                        help="With --scaling: sequence lengths in timesteps (rows)  [default: 28,56,112,224,448].")


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


def run_scaling(ctx: click.Context, paths: tuple[Path, ...], wanted: Any, tflite_backend: str,
                 no_verify: bool, device_name: str | None, as_json: bool, out_dir: Path | None,
                 lengths: tuple[int, ...] | None, plot_path: Path | None) -> None:
    from click.core import ParameterSource  # noqa: PLC0415

    from edgeseq.errors import EdgeseqError  # noqa: PLC0415
    from edgeseq.fileio import check_output_dir, check_output_file, write_bytes_atomic, write_json_atomic  # noqa: PLC0415
    from edgeseq.bench.scaling import DEFAULT_LENGTHS, SCALING_FILE, ScalingConfig, scaling  # noqa: PLC0415

    for name, flag in NOT_WITH_SCALING.items():
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            raise click.UsageError(f"{flag} does not go with --scaling")
    values = {}
    for name, default in SCALING_DEFAULTS.items():   # bench's own defaults are for one point, not a grid
        given = ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
        values[name] = ctx.params[name] if given else default
    for name in ("batches", "threads"):
        if isinstance(values[name], str):
            values[name] = tuple(int(v) for v in values[name].split(","))
    try:
        config = ScalingConfig(lengths or DEFAULT_LENGTHS, values["batches"], values["threads"],
                               tuple(r.value for r in wanted) if wanted else None, values["warmup"],
                               values["min_runs"], values["min_seconds"], tflite_backend, not no_verify,
                               device_name)
    except EdgeseqError as err:
        raise click.UsageError(str(err)) from err
    draw = plot_path is not None or out_dir is not None
    if plot_path is not None:
        check_output_file(plot_path)            # fail before minutes of measurement, creating nothing
    if out_dir is not None:
        check_output_dir(out_dir)
    plotting = None
    if draw:
        from edgeseq.errors import RuntimeUnavailable  # noqa: PLC0415
        from edgeseq.bench import scaling_plot  # noqa: PLC0415

        try:
            scaling_plot.require_matplotlib()
            plotting = scaling_plot
        except RuntimeUnavailable:
            if plot_path is not None:
                raise                           # asked for a plot: say so now, not after the run
            click.echo(f"warning: matplotlib is not installed: {out_dir}/scaling.png will not be drawn", err=True)
    with for_cli(as_json) as progress:
        report = scaling(list(paths) or [Path("models")], config, progress)
    if report.measured:
        png = plotting.plot(report) if plotting is not None else None
        if plot_path is not None and png is not None:
            write_bytes_atomic(plot_path, png)
        if out_dir is not None:
            write_json_atomic(out_dir / SCALING_FILE, report.to_dict())
            if png is not None:
                write_bytes_atomic(out_dir / "scaling.png", png)
    if as_json:
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
            for written in filter(None, (plot_path if plotting else None, out_dir and out_dir / SCALING_FILE,
                                         out_dir and plotting and out_dir / "scaling.png")):
                click.echo(f"wrote {written}")
    if not report.measured:
        reasons = sorted({f"{Path(p.path).name} ({p.runtime}): {p.reason}" for p in report.points})
        fail("nothing could be measured: " + "; ".join(reasons or ["no file"]))
