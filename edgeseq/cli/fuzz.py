"""`fuzz`: every exported file on generated inputs, in every runtime and kernel setting, against its reference and
against each other, with shrunk reproducers (edgeseq.fuzz)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from edgeseq.cli.options import (
    DATA_HELP, FRACTION, Finite, json_option, no_verify_option, paths_argument, positive, reference_option,
    runtime_options, seed_option, tflite_kernels_option)
from edgeseq.cli.outputs import junit_xml_option, out_option
from edgeseq.cli.render import Column, echo_table, emit_json, fail, outcome
from edgeseq.core.progress import for_cli
from edgeseq.formats import EXPORT_SUFFIXES

MAX_INPUTS = 1_000_000


def _vs(name: str, cell: Any) -> Any:
    return lambda c: "" if getattr(c, name) is None else cell(getattr(c, name))


FUZZ_COLUMNS = (
    Column("file", lambda c: c.path),
    Column("runtime", lambda c: c.label),
    Column("inputs", lambda c: str(c.inputs) if not c.error else ""),
    Column("agree %", _vs("vs_reference", lambda v: f"{v.agreement * 100:.2f}")),
    Column("flips", _vs("vs_reference", lambda v: str(v.flips))),
    Column("max |Δp|", _vs("vs_reference", lambda v: f"{v.max_abs_diff:.3g}")),
    Column("NaN/inf", lambda c: "" if c.error else str(c.nonfinite)),
    Column("beyond tol", _vs("vs_reference", lambda v: str(v.disagreements))),
    Column("vs first", _vs("vs_first", lambda v: f"{v.against}: {v.agreement * 100:.2f} %, {v.flips} flips")),
    Column("shrunk", lambda c: str(sum(len(v.reproducers) for v in (c.vs_reference, c.vs_first) if v))),
    Column("verdict", lambda c: "PASS" if c.passed else outcome("ERROR" if c.error else "FAIL", c.reason)),
)


def _replay(file: Path, npz: Path, reference: Path | None, wanted: Any, kernels: tuple[str, ...] | None,
            threads: int, tflite_backend: str, as_json: bool) -> None:
    from edgeseq.fuzz.replay import replay  # noqa: PLC0415

    runtime = list(wanted)[0] if wanted else None
    done = replay(file, npz, reference, runtime, kernels[0] if kernels else None, threads, tflite_backend)
    if as_json:
        emit_json(done.to_dict())
    else:
        where = done.runtime + (f"/{done.kernels}" if done.kernels else "")
        click.echo(f"{done.file} ({where}) answers {done.answers['file']}, {done.against} answers"
                   f" {done.answers['against']}; max |Δp| {done.max_abs_diff:.3g}; input: {done.size} cells off the"
                   f" baseline ({done.description})")
        if not done.same_file:
            click.echo("note: the file is not the one the reproducer was found on (its sha256 differs)")
        click.echo("still disagrees" if done.disagrees else "agrees now")
    if done.disagrees:
        raise SystemExit(1)


@click.command()
@paths_argument(*EXPORT_SUFFIXES)
@click.option("--count", type=int, default=1000, show_default=True, metavar="N",
              callback=positive, help="Generated inputs per file (the edge cases first, then realistic and random).")
@seed_option("Seed of the generated inputs.")
@click.option("--data", "data_spec", default=None,
              help="Samples to vary (the realistic family) and to take the range from. Default: each file's own"
                   " (the shipped sample for MNIST files, the samples in a file's golden sidecar). " + DATA_HELP)
@reference_option("Reference model (.keras, or an fp32 .tflite/.onnx). Default: <arch>.keras beside each file"
                  " where TensorFlow is installed, else the fp32 file of the same architecture.")
@runtime_options(None, "Runtimes to use (as validate). Default: every one that loads the file.",
                 several_threads=False, threads_help="Threads for the runtimes (one count).")
@tflite_kernels_option(tail=" Each setting after the first is compared with the first too.")
@click.option("--shrink", "shrink_count", type=click.IntRange(0, 10_000), default=5, show_default=True,
              metavar="N", help="Shrink the N worst disagreements of each case and comparison to reproducers"
                                " (0: none).")
@out_option(Path("fuzz-reproducers"), "Folder for the reproducers (.npz), written only when there are some.")
@click.option("--min-agreement", type=FRACTION, default=None,
              help="Fail a case whose top-1 agreement with the reference is below this (default: the file's"
                   " tolerance; quantized files have none).")
@click.option("--max-abs-diff", type=Finite(0, 1), default=None,
              help="Override every file's max_abs_diff tolerance (per input).")
@click.option("--min-pairwise-agreement", type=FRACTION, default=None,
              help="Fail a case whose top-1 agreement with its file's first case (first runtime and kernel"
                   " setting) is below this, e.g. 1 to gate kernel-dependent answers.")
@click.option("--replay", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="NPZ",
              help="Run one saved reproducer again (on its runtime and kernels, unless given) against what it"
                   " disagreed with; exit 1 if it still disagrees.")
@no_verify_option()
@json_option("Print the result as JSON on stdout.")
@junit_xml_option("Also write a JUnit XML report: a testcase per file, runtime and kernel setting.")
def fuzz(paths: tuple[Path, ...], count: int, seed: int, data_spec: str | None, reference: Path | None, wanted: Any,
         tflite_backend: str, threads: int, tflite_kernels: tuple[str, ...], shrink_count: int, out: Path,
         min_agreement: float | None, max_abs_diff: float | None, min_pairwise_agreement: float | None,
         replay: Path | None, no_verify: bool, as_json: bool, junit_xml: Path | None) -> None:
    """Differential testing on generated inputs: every file, runtime and kernel setting against the file's
    reference and against the file's first case; each disagreement shrunk to a small input saved with the
    command that replays it. Exit 1 if a case fails its gate (NaN or inf; the file's tolerance; the options).

    Inputs come from the data contract the file carries (no data needed): edge cases (zeros, the range's
    bounds, constant rows, each feature at its bounds, spikes of 3 and 6 std at one step), realistic ones
    (samples with noise, time shifts, scaled amplitude) and random ones within the range.

    PATHS are files or folders (default: models).

    Example: edgeseq fuzz models/rnn/rnn-int8.tflite --kernels xnnpack,builtin,reference --count 10000

    Replay: edgeseq fuzz models/rnn/rnn-int8.tflite --replay fuzz-reproducers/<name>.npz
    """
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.fuzz.engine import Options  # noqa: PLC0415
    from edgeseq.fuzz.engine import fuzz as run_fuzz  # noqa: PLC0415

    if count > MAX_INPUTS:
        raise click.BadParameter(f"at most {MAX_INPUTS:,} inputs", param_hint="--count")
    if replay is not None:
        if len(paths) != 1:
            raise click.UsageError("--replay takes exactly one FILE")
        given = click.get_current_context().get_parameter_source("tflite_kernels") is not ParameterSource.DEFAULT
        _replay(paths[0], replay, reference, wanted, tflite_kernels if given else None, threads, tflite_backend,
                as_json)
        return
    options = Options(count, seed, shrink_count, min_agreement, max_abs_diff, min_pairwise_agreement, not no_verify)
    dataset = data.load(data_spec) if data_spec else None
    with for_cli(as_json) as progress:
        if dataset is not None:
            progress.log(f"data: {dataset.name} ({dataset.spec.describe()})")
        report = run_fuzz(list(paths) or [Path("models")], dataset, reference, list(wanted) if wanted else None,
                          tflite_kernels, options, out, threads, tflite_backend, progress)
    if junit_xml is not None:
        from edgeseq import __version__  # noqa: PLC0415
        from edgeseq.core.fileio import write_bytes_atomic  # noqa: PLC0415
        from edgeseq.fuzz.junit import render  # noqa: PLC0415

        write_bytes_atomic(junit_xml, render(report, properties={"edgeseq.version": __version__}))
    if as_json:
        emit_json(report.to_dict())
    else:
        _show(report)
    failed = [c for c in report.cases if not c.passed]
    if failed:
        fail(f"{len(failed)} of {len(report.cases)} case(s) failed: "
             + "; ".join(f"{Path(c.path).name} ({c.label}): {c.reason}" for c in failed))


def _show(report: Any) -> None:
    echo_table(FUZZ_COLUMNS, report.cases)
    references = sorted({f"{c.reference_kind} ({c.reference})" for c in report.cases if c.reference})
    if references:
        click.echo("reference: " + "; ".join(references))
    for contract in report.inputs["contracts"]:
        made = ", ".join(f"{n} {name}" for name, n in contract["families"].items() if n)
        click.echo(f"inputs: {made} (seed {report.inputs['seed']}); range: {contract['range']}")
        for note in contract["notes"]:
            click.echo(f"note: {note}")
    shrunk = report.reproducers()
    for r in shrunk:
        click.echo(f"reproducer: {r['file']} ({r['runtime']}{'/' + r['kernels'] if r['kernels'] else ''}) vs"
                   f" {r['against']['label']}: {r['size']} cells over {r['steps']} steps (from {r['original_size']};"
                   f" {r['family']}: {r['description']}); replay: {r['command']}")
    if shrunk:
        sizes = sorted(r["size"] for r in shrunk)
        click.echo(f"{len(shrunk)} reproducer(s) in {report.out}; median size {sizes[len(sizes) // 2]} cells")
    click.echo(f"{report.seconds:.1f} s")


COMMANDS: tuple[Any, ...] = (fuzz,)
