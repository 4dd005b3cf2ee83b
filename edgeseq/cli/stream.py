"""`drift`: a step model against its reference, timestep by timestep (edgeseq.diagnostics.drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.options import (
    data_option, json_option, limit_option, no_verify_option, reference_option, tflite_backend_option, threads_option)
from edgeseq.cli.outputs import plot_option
from edgeseq.cli.render import Column, echo_table, emit_json
from edgeseq.core.progress import for_cli


def _pct(name: str) -> Any:
    return lambda r: f"{getattr(r, name) * 100:.2f}"


def _diff(part: str, stat: str) -> Any:
    return lambda r: format(getattr(getattr(r, part), stat), ".3g")


DRIFT_COLUMNS = (
    Column("t", lambda r: str(r.row)),
    Column("acc ref %", _pct("reference_accuracy")),
    Column("acc file %", _pct("file_accuracy")),
    Column("agree %", _pct("agreement")),
    Column("prob mean", _diff("probabilities", "mean")),
    Column("prob max", _diff("probabilities", "max")),
    Column("state mean", _diff("state", "mean")),
    Column("state max", _diff("state", "max")),
)


@click.command("drift")
@click.argument("file", type=click.Path(path_type=Path))
@reference_option("The step model to compare with (either format). Default: <arch>-fp32-step.<format> beside"
                  " FILE, else the other format's.")
@data_option("Test data: sample, mnist, uea:NAME or a path (.npz, .ts, IDX folder).")
@limit_option()
@plot_option("Also write a PNG: accuracy and drift vs rows seen (needs matplotlib).")
@threads_option(False, "Threads for each runtime.")
@tflite_backend_option()
@no_verify_option("Skip the check of each file run against its manifest (size, sha256, embedded facts).")
@click.option("--stream", "stream_steps", type=click.IntRange(1, 10_000_000), default=None, metavar="STEPS",
              help="Instead: one long stream of at least STEPS steps (test sequences back to back), with and without"
                   " the reset the contract prescribes: accuracy at sequence ends, the first step where the answers"
                   " differ, each state's range and saturation, the distance over time, and the reset rule it"
                   " supports. E.g. 100000.")
@click.option("--record", is_flag=True, help="With --stream: write the reset rule and its figures into the step"
                                              " model's manifest (step.reset_rule), which pack then states.")
@json_option("Print the result (28 rows and the summary) as JSON on stdout.")
def drift(file: Path, reference: Path | None, data_spec: str, limit: int | None, plot_path: Path | None,
          threads: int, tflite_backend: str, no_verify: bool, stream_steps: int | None, record: bool, as_json: bool) -> None:
    """How far a step model's state and probabilities stray from its reference's, row by row, and how early
    each can answer.

    FILE is a step model (<arch>-<recipe>-step.<tflite|onnx>, from `edgeseq export --streaming`); a
    whole-sequence file is replaced by its step twin beside it. Both are fed the same test sequences timestep by timestep
    from zero state. For each timestep t (rows seen): the accuracy if the sequence stopped there, for the
    reference and FILE, their top-1 agreement, and mean and max |FILE - reference| of the probabilities and of
    the recurrent state (all state tensors; per tensor in --json). Then, for each, the first row at which it
    reaches 90 % of its final accuracy, and whether the drift grows with time.

    Example: edgeseq drift models/lstm/lstm-int8-step.tflite --data mnist --plot lstm-int8-drift.png

    Long stream: edgeseq drift models/rnn/rnn-int8-step-app.tflite --stream 100000
    """
    if stream_steps is not None:
        if plot_path is not None or limit is not None:
            raise click.UsageError("--stream takes neither --plot nor --limit")
        _long_stream(file, stream_steps, reference, data_spec, threads, tflite_backend, no_verify, record, as_json)
        return
    if record:
        raise click.UsageError("--record goes with --stream")
    from edgeseq.core.fileio import write_bytes_atomic  # noqa: PLC0415
    from edgeseq.diagnostics.drift import drift as measure  # noqa: PLC0415

    with for_cli(as_json) as progress:
        result = measure(file, reference, data_spec, limit, threads, tflite_backend, progress, not no_verify)
    if plot_path is not None:                   # its folder and matplotlib were checked when parsed
        from edgeseq.diagnostics.drift_plot import plot  # noqa: PLC0415

        write_bytes_atomic(plot_path, plot(result))
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"{result.file.path} ({result.file.backend}) vs {result.reference.path} ({result.reference.backend}):"
               f" {result.digits} test samples, {result.seconds:.1f} s")
    echo_table(DRIFT_COLUMNS, result.rows)
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(result.summary())
    if plot_path is not None:
        click.echo(f"plot: {plot_path}")


def _window_trend(values: tuple[float, ...]) -> str:
    return " -> ".join("overflow" if v != v or v in (float("inf"), float("-inf")) else f"{v:.3g}"
                       for v in (values[0], values[-1])) if values else ""


def _step(value: int | None) -> str:
    return "never" if value is None else f"{value:,}"


STREAM_COLUMNS = (
    Column("reset", lambda m: "each sequence" if m.reset else "never"),
    Column("steps", lambda m: f"{m.steps:,}"),
    Column("acc file %", lambda m: f"{m.file_accuracy * 100:.2f}"),
    Column("acc ref %", lambda m: f"{m.reference_accuracy * 100:.2f}"),
    Column("agree %", lambda m: f"{m.agreement * 100:.2f}"),
    Column("first differing step", lambda m: _step(m.first_differing_step)),
    Column("first differing end", lambda m: _step(m.first_differing_end)),
    Column("overflow file / ref", lambda m: f"{_step(m.file_overflow_step)} / {_step(m.reference_overflow_step)}"),
    Column("mean |Δp| first -> last tenth", lambda m: _window_trend(m.probability_diff)),
)
STATE_COLUMNS = (
    Column("reset", lambda r: "each sequence" if r[0].reset else "never"),
    Column("state", lambda r: f"{r[1].name}[{r[1].units}]"),
    Column("observed", lambda r: f"[{r[1].observed[0]:.3g}, {r[1].observed[1]:.3g}]"),
    Column("quantized range", lambda r: "float" if r[1].quantized is None
           else f"[{r[1].quantized[0]:.3g}, {r[1].quantized[1]:.3g}]"),
    Column("saturated %", lambda r: "" if r[1].saturation is None else f"{r[1].saturation * 100:.3f}"),
    Column("first saturated", lambda r: "" if r[1].saturation is None else _step(r[1].first_saturated_step)),
    Column("mean |Δstate| first -> last tenth", lambda r: _window_trend(r[1].mean_abs_diff)),
)


def _long_stream(file: Path, steps: int, reference: Path | None, data_spec: str, threads: int, tflite_backend: str,
                 no_verify: bool, record: bool, as_json: bool) -> None:
    from edgeseq.diagnostics.long_stream import long_stream, record as record_rule  # noqa: PLC0415

    with for_cli(as_json) as progress:
        result = long_stream(file, steps, reference, data_spec, threads, tflite_backend, progress, not no_verify)
    written = record_rule(result) if record else None
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"{result.file} ({result.backend}) vs {result.reference}: one stream of {data_spec} test sequences,"
               f" {result.seconds:.1f} s")
    echo_table(STREAM_COLUMNS, result.modes)
    echo_table(STATE_COLUMNS, [(m, s) for m in result.modes for s in m.states])
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"rule: {result.rule}")
    if written is not None:
        click.echo(f"recorded in {written}")


COMMANDS: tuple[Any, ...] = (drift,)
