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
@json_option("Print the result (28 rows and the summary) as JSON on stdout.")
def drift(file: Path, reference: Path | None, data_spec: str, limit: int | None, plot_path: Path | None,
          threads: int, tflite_backend: str, no_verify: bool, as_json: bool) -> None:
    """How far a step model's state and probabilities stray from its reference's, row by row, and how early
    each can answer.

    FILE is a step model (<arch>-<recipe>-step.<tflite|onnx>, from `edgeseq export --streaming`); a
    whole-sequence file is replaced by its step twin beside it. Both are fed the same test sequences timestep by timestep
    from zero state. For each timestep t (rows seen): the accuracy if the sequence stopped there, for the
    reference and FILE, their top-1 agreement, and mean and max |FILE - reference| of the probabilities and of
    the recurrent state (all state tensors; per tensor in --json). Then, for each, the first row at which it
    reaches 90 % of its final accuracy, and whether the drift grows with time.

    Example: edgeseq drift models/lstm/lstm-int8-step.tflite --data mnist --plot lstm-int8-drift.png
    """
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


COMMANDS: tuple[Any, ...] = (drift,)
