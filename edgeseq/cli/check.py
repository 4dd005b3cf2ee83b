"""Commands that check files: validate (parity against the reference) and inspect (what a file holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.aliases import deprecated
from edgeseq.cli.describe import echo_data_contract, echo_mix, echo_search
from edgeseq.cli.options import (
    FRACTION, PERCENTAGE_POINTS, Finite, data_option, json_option, limit_option, no_verify_option, paths_argument,
    max_loss_pp_option, reference_option, runtime_options, tflite_kernels_option)
from edgeseq.cli.outputs import junit_xml_option
from edgeseq.cli.render import Column, attr, echo_table, emit_json, fail, outcome
from edgeseq import formats
from edgeseq.core.progress import for_cli
from edgeseq.formats import EXPORT_SUFFIXES
from edgeseq.runtimes.table import off_default

VALIDATE_COLUMNS = (
    Column("file", attr("path")),
    Column("runtime", lambda r: r.runtime + (f" ({r.kernels} kernels)" if off_default(r.runtime, r.kernels) else "")),
    Column("acc %", attr("accuracy", ".2f", 100)),
    Column("ref acc %", attr("reference_accuracy", ".2f", 100)),
    Column("delta pp", attr("delta_accuracy_pp", "+.2f")),
    Column("95% CI pp", lambda r: f"[{r.delta_ci_pp[0]:+.2f}, {r.delta_ci_pp[1]:+.2f}]" if r.delta_ci_pp else ""),
    Column("model %", attr("model_test_accuracy", ".2f", 100)),
    Column("agree %", attr("agreement", ".2f", 100)),
    Column("max diff", attr("max_abs_diff", ".2g")),
    Column("state ok", attr("state_hygiene")),
    Column("verdict", lambda r: "PASS" if r.passed else outcome((r.outcome or "fail").upper(), r.reason)),
)


@click.command()
@paths_argument(*EXPORT_SUFFIXES)
@reference_option("Reference model (.keras, or an fp32 .tflite/.onnx). Default: <arch>.keras beside each file"
                  " where TensorFlow is installed, else the fp32 file of the same architecture, else the golden"
                  " outputs its manifest names (<arch>.golden.npz: the reference model's output on the 1,000 test"
                  " digits of the shipped sample, which are then the test samples).")
@data_option("Test data: sample, mnist, uea:NAME or a path (.npz, .ts, IDX folder).")
@limit_option()
@runtime_options(None, "Runtimes to use: litert, onnxruntime, openvino, the app runtimes litert-compiled,"
                       " litertjs, onnxruntime-node, onnxruntime-web (Node: edgeseq setup js), and tflm"
                       " (TensorFlow Lite Micro on this host: pip install 'edgeseq[mcu]'). Default: every one"
                       " that loads the file (openvino where it is installed; app runtimes and tflm only by name).",
                 several_threads=False,
                 threads_help="Threads for the runtimes (one count).")
@tflite_kernels_option()
@click.option("--max-abs-diff", type=Finite(0, 1), default=None,
              help="Override every file's max_abs_diff tolerance.")
@click.option("--min-agreement", type=FRACTION, default=None,
              help="Override every file's top-1 agreement tolerance.")
@max_loss_pp_option("Override every file's accuracy budget: the most it may lose against its reference, in"
                    " percentage points (e.g. 1), as in export and run.")
@deprecated("--min-delta-pp", "--max-loss-pp", "max_loss_pp", type=PERCENTAGE_POINTS, convert=lambda pp: -pp)
@click.option("--strict", is_flag=True, help="Exit 1 also when a file is inconclusive (too few test samples to judge).")
@no_verify_option()
@json_option("Print one object per file as JSON on stdout.")
@junit_xml_option("Also write a JUnit XML report for CI (GitLab, Jenkins, GitHub test reporters): a testcase per"
                  " file and runtime; a failed parity is a failure, a file that could not be checked an error, an"
                  " inconclusive one skipped (a failure with --strict). The exit code is the same.")
def validate(paths: tuple[Path, ...], reference: Path | None, data_spec: str, limit: int | None, wanted: Any,
             tflite_backend: str, threads: int, tflite_kernels: tuple[str, ...], max_abs_diff: float | None, min_agreement: float | None,
             max_loss_pp: float | None, strict: bool, no_verify: bool, as_json: bool,
             junit_xml: Path | None) -> None:
    """Check every exported file against its reference on the test split; exit 1 if any fails (with
    --strict, also if any is inconclusive).

    PATHS are files or folders (default: models).

    The accuracy budget (--max-loss-pp, 1 pp for quantized recipes) is judged on the same test samples, paired:
    only the samples where exactly one of the file and its reference is right count. The change in accuracy
    gets a 95 % interval (Agresti-Min); the file passes when the whole interval is at or above the limit,
    fails when the whole interval is below it, and is INCONCLUSIVE (use more samples; never a pass, never
    recommended by the report) when the interval straddles it. The table shows the interval; --json adds the discordant counts and the exact
    McNemar p-value.

    Example: edgeseq validate models/lstm --data mnist --json

    In CI: edgeseq validate models --strict --junit-xml parity.xml

    Kernel settings: edgeseq validate models/rnn/rnn-int8.tflite --kernels xnnpack,builtin,reference (a row
    each; each row after the first says how far its answers are from the first's)
    """
    import time  # noqa: PLC0415
    from datetime import datetime, timezone  # noqa: PLC0415

    from edgeseq import data, golden  # noqa: PLC0415
    from edgeseq.parity.validate import GOLDEN_KIND  # noqa: PLC0415
    from edgeseq.parity.validate import validate as run_validate  # noqa: PLC0415

    overrides = {k: v for k, v in (("max_abs_diff", max_abs_diff), ("min_agreement", min_agreement),
                                   ("min_delta_accuracy_pp", None if max_loss_pp is None else -max_loss_pp))
                 if v is not None}
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    dataset = data.load(data_spec).limited(None, limit)
    with for_cli(as_json) as progress:
        progress.log(f"data: {dataset.name}, {len(dataset.y_test)} test {dataset.units} ({dataset.spec.describe()})")
        reports = run_validate(list(paths) or [Path("models")], dataset, reference,
                               list(wanted) if wanted else None, threads, tflite_backend, overrides,
                               not no_verify, progress, tflite_kernels)
    if junit_xml is not None:
        _write_junit(junit_xml, reports, strict, started, time.perf_counter() - clock, dataset)
    if as_json:
        emit_json([r.to_dict() for r in reports])
    else:
        echo_table(VALIDATE_COLUMNS, reports)
        kinds = sorted({f"{r.reference_kind} ({r.reference})" for r in reports if r.reference})
        if kinds:
            click.echo("reference: " + "; ".join(kinds))
        if any(r.reference_kind == GOLDEN_KIND for r in reports):
            stored = sorted({str(r.data.get("source") or r.data.get("name")) for r in reports
                             if r.reference_kind == GOLDEN_KIND and r.data})
            click.echo(f"golden outputs are compared on {'; '.join(stored) or golden.digits_name()},"
                       " not on the --data samples")
        for r in (r for r in reports if r.vs_kernels):
            vs = r.vs_kernels
            click.echo(f"kernels: {Path(r.path).name} ({r.runtime}) {r.kernels} vs {vs['kernels']}: {vs['differ']} of"
                       f" {vs['sequences']} {dataset.units} differ, {vs['flips']} answer(s) flip, max |Δp|"
                       f" {vs['max_abs_diff']:.2g}")
        if any(r.model_test_accuracy is not None for r in reports):
            click.echo("model %: the file's Keras model on its full test split, as its manifest records")
        sources: dict[str, set[str]] = {}
        for r in reports:
            if r.tolerance_source:
                sources.setdefault(r.tolerance_source, set()).add(Path(r.path).name)
        if set(sources) - {"manifest"}:          # said whenever a tolerance is not the one the export wrote
            click.echo("tolerance: " + "; ".join(f"{source} for {', '.join(sorted(names))}"
                                                 for source, names in sorted(sources.items())))
    failed = [r for r in reports if r.failed]
    unsure = [r for r in reports if r.inconclusive]
    if unsure and not (failed or strict):
        click.echo(f"inconclusive: {len(unsure)} file(s) the {unsure[0].digits} test samples cannot judge"
                   f" (not a pass; use more test samples; --strict makes this exit 1): "
                   + ", ".join(Path(r.path).name for r in unsure), err=True)
    if failed or (unsure and strict):
        parts = [f"{len(failed)} of {len(reports)} file(s) failed"] if failed else []
        parts += [f"{len(unsure)} inconclusive (use more test samples)"] if unsure else []
        fail(", ".join(parts) + ": " + "; ".join(f"{Path(r.path).name}: {r.reason}" for r in (*failed, *unsure)))


def _write_junit(path: Path, reports: list[Any], strict: bool, started: Any, seconds: float, dataset: Any) -> None:
    """--junit-xml: the reports as JUnit XML (edgeseq.parity.junit), written atomically."""
    from edgeseq import __version__  # noqa: PLC0415
    from edgeseq.core.fileio import write_bytes_atomic  # noqa: PLC0415
    from edgeseq.parity.junit import render  # noqa: PLC0415

    properties = {"edgeseq.version": __version__, "data": dataset.name, "data.test_digits": len(dataset.y_test)}
    write_bytes_atomic(path, render(reports, strict, seconds, started, properties=properties))


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@no_verify_option("Skip the sha256 check against the file's manifest.")
@json_option("Print as JSON on stdout.")
def inspect(file: Path, no_verify: bool, as_json: bool) -> None:
    """Show an exported file's ops, inputs/outputs and manifest (no TensorFlow needed).

    The file is checked against its manifest's sha256 first (exit 1 on a mismatch).

    Example: edgeseq inspect models/lstm/lstm-dynamic.tflite
    """
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.integrity import check as check_integrity  # noqa: PLC0415

    if formats.find(file) is None:
        read_facts(file)                                   # one line: what inspect reads
    checked = check_integrity(file, not no_verify)         # size, sha256, structure, embedded facts
    manifest, integrity, facts = checked.manifest, checked.integrity, checked.facts
    if as_json:
        emit_json({"path": str(file), "integrity": integrity, **facts.to_dict(),
                   "manifest": manifest.to_dict() if manifest else None})
        return
    click.echo(f"{file}  ({facts.format}, {file.stat().st_size:,} bytes, integrity: {integrity})")
    click.echo(f"recurrent op: {facts.recurrent_op}")
    click.echo("ops: " + ", ".join(f"{k} x{v}" for k, v in facts.ops.items()))
    _echo_versions(facts)
    for role, tensors in (("input", facts.inputs), ("output", facts.outputs)):
        for t in tensors:
            quant = f" scale={t.scale:g} zero_point={t.zero_point}" if t.scale is not None else ""
            signed = f" (signature name: {t.signature_name})" if t.signature_name not in (None, t.name) else ""
            click.echo(f"{role}: {t.name}{signed} {t.shape} {t.dtype}{quant}")
    if facts.signatures:
        click.echo("signatures: " + ", ".join(facts.signatures))
    if manifest:
        click.echo(f"manifest: {manifest.architecture} {manifest.format}/{manifest.recipe} graph={manifest.graph}"
                   f" batch={manifest.batch} (schema {manifest.schema_version})")
        if manifest.usage_note:
            click.echo(f"note: {manifest.usage_note}")
    else:
        click.echo("manifest: none (warning: the file cannot be verified)")
    echo_data_contract(facts.embedded, manifest)
    _echo_self_description(facts.embedded, manifest)


def _echo_versions(facts: Any) -> None:
    """Op versions (TFLite), or opsets and the domains used (ONNX): which runtime releases can load it."""
    if facts.op_versions:
        click.echo("op versions: " + ", ".join(f"{op} v{'/v'.join(map(str, versions))}"
                                               for op, versions in facts.op_versions.items()))
    if facts.opsets:
        click.echo("opsets: " + ", ".join(f"{domain} {version}" for domain, version in facts.opsets.items()))
    if facts.domains:
        click.echo("domains used: " + ", ".join(facts.domains))


def _echo_self_description(embedded: dict[str, Any] | None, manifest: Any) -> None:
    """What the file says about itself, and where it was measured to run (its manifest's portability)."""
    from edgeseq.embedded import contradictions  # noqa: PLC0415

    if embedded:
        click.echo("embedded: " + ", ".join(f"{k}={v}" for k, v in embedded.items()
                                            if k not in ("normalisation", "labels", "output_meaning", "data_spec")))
        for problem in contradictions(embedded, manifest):
            click.echo(f"embedded vs manifest: CONTRADICTION: {problem}")
    else:
        click.echo("embedded: none (exported before edgeseq embedded its facts, or by another tool)")
    echo_mix(manifest.quantization_mix if manifest else None)
    floats = ((manifest.onnx_quantization if manifest else None) or {}).get("float_layers")
    if floats:
        click.echo(f"float layers (not quantized: nodes_to_exclude): {', '.join(floats)}")
    echo_search(manifest.search if manifest else None)
    section = manifest.portability if manifest else None
    if not section:
        return
    for cell in section.get("runs_on", []):
        click.echo(f"runs on: {cell.get('library') or cell['backend']} (agreement {cell.get('agreement', 0):.2%}"
                   f" on {section.get('measured_on')})")
    for cell in section.get("does_not_run_on", []):
        how = "measured" if cell.get("measured") else "known"
        click.echo(f"does not run on: {cell['backend']} ({how}): {cell.get('reason')}")


COMMANDS: tuple[Any, ...] = (validate, inspect)
