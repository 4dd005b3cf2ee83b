"""`quant-debug`: a quantized file against its float reference, layer by layer (edgeseq.diagnostics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.options import data_option, json_option, limit_option, no_verify_option, reference_option
from edgeseq.cli.outputs import plot_option
from edgeseq.cli.render import Column, attr, echo_table, emit_json
from edgeseq.core.progress import for_cli

DEFAULT_LIMIT = 200     # = edgeseq.diagnostics.quant_debug.DEFAULT_LIMIT (tests/test_cli_surface.py), not imported:
                        # the CLI loads no diagnostics module at start

QUANT_COLUMNS = (
    Column("layer", attr("layer")),
    Column("op", attr("op"), width=40),
    Column("t", lambda r: "–" if r.timestep is None else str(r.timestep)),
    Column("rmse", attr("rmse", ".3g")),
    Column("rel %", attr("relative_rmse", ".2f", 100)),
    Column("clip %", lambda r: "n/a" if r.clipping is None and r.rmse is not None else attr("clipping", ".2f", 100)(r)),
    Column("shape", lambda r: "x".join(map(str, r.shape)) if r.shape else ""),
    Column("note", attr("note")),
)


@click.command("quant-debug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reference_option("The float file to compare with. Default: <arch>-fp32 of the same format beside FILE.")
@data_option("Test data: sample, mnist, uea:NAME or a path (.npz, .ts, IDX folder).")
@limit_option(DEFAULT_LIMIT)
@click.option("--layers-only", is_flag=True, help="Leave out the per-timestep rows of recurrent layers.")
@plot_option("Also write a PNG: error per layer and per timestep (needs matplotlib).")
@no_verify_option("Skip the check of the file and its reference against their manifests (size, sha256,"
                  " embedded facts).")
@json_option("Print the rows as a JSON list on stdout.")
def quant_debug(file: Path, reference: Path | None, data_spec: str, limit: int, layers_only: bool,
                plot_path: Path | None, no_verify: bool, as_json: bool) -> None:
    """Where a quantized file's error comes from: every layer's output (and, for recurrent layers, the hidden
    state at every timestep) against the float reference on the same test samples.

    For each: RMSE, RMSE relative to the float values' range (max - min), and the clipping rate: the share of
    float values outside the range the quantized tensor can represent. Layers are matched by structure
    (recurrent 1 with recurrent 1, ...), so an unrolled int8 graph can be compared with a fused fp32 one.

    Example: edgeseq quant-debug models/lstm/lstm-int8.tflite --limit 500 --plot lstm-int8.png
    """
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.diagnostics.quant_debug import debug_file, plot  # noqa: PLC0415
    from edgeseq.core.fileio import write_bytes_atomic  # noqa: PLC0415

    dataset = data.load(data_spec)
    with for_cli(as_json) as progress:
        progress.log(f"data: {dataset.name}, first {min(limit, len(dataset.y_test))} test {dataset.units}")
        result = debug_file(file, reference, dataset, limit, progress, not no_verify)
    if plot_path is not None:                   # its folder and matplotlib were checked when parsed
        write_bytes_atomic(plot_path, plot(result))
    rows: list[Any] = result.layers if layers_only else result.rows
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    click.echo(f"{result.path} vs {result.reference}: {result.digits} test samples, {result.backend}, {result.seconds:.1f} s")
    echo_table(QUANT_COLUMNS, rows)
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(result.summary())
    if plot_path is not None:
        click.echo(f"plot: {plot_path}")


COMMANDS: tuple[Any, ...] = (quant_debug,)
