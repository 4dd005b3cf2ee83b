"""The `edgeseq` command: thin Click wrappers over library functions.

Results go to stdout (a table, or JSON with --json); progress and logs go to stderr.
Every EdgeseqError becomes one line on stderr and exit 1; bad options exit 2.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import click

from edgeseq.errors import EdgeseqError, first_line
from edgeseq.models import Arch
from edgeseq.quiet import VERBOSE_ENV, quiet_native_logs

MODEL_CHOICES = click.Choice([a.value for a in Arch] + ["all"])


class EdgeseqGroup(click.Group):
    """Turns domain errors into one line, and KeyboardInterrupt into exit 130, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EdgeseqError as err:
            if os.environ.get("EDGESEQ_DEBUG") == "1":
                raise
            raise click.ClickException(first_line(err)) from err
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=EdgeseqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgeseq")
@click.option("--verbose", is_flag=True, help="Show TensorFlow's and the runtimes' own log lines.")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(verbose: bool, debug: bool) -> None:
    """edgeseq: train, export, validate and benchmark MNIST sequence models (SimpleRNN vs LSTM)."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if debug:
        os.environ["EDGESEQ_DEBUG"] = "1"
    quiet_native_logs()


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2))


def render_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def positive(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value <= 0:
        raise click.BadParameter("must be a positive number")
    return value


def fail(message: str) -> None:
    """End a command that printed its results but failed: one 'Error: ...' line on stderr, exit 1."""
    raise click.ClickException(message)


def files_under(*suffixes: str) -> Any:
    """An argument callback: PATHS must name files or folders holding files with these suffixes; an empty
    or missing folder is a usage error."""
    def check(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> tuple[Path, ...]:
        from edgeseq.artifacts import collect_files  # noqa: PLC0415

        try:
            collect_files(list(value) or [Path("models")], suffixes)
        except EdgeseqError as err:
            raise click.BadParameter(str(err), param=param) from err
        return value
    return check


# --- train -----------------------------------------------------------------------------------------

@cli.command()
@click.option("--model", "model_name", type=MODEL_CHOICES, default="all", show_default=True)
@click.option("--epochs", type=int, default=3, show_default=True, callback=positive)
@click.option("--batch-size", type=int, default=32, show_default=True, callback=positive)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", "data_spec", default="sample", show_default=True,
              help="'sample' (shipped, offline), 'mnist' (Keras download/cache), or a folder of IDX files / mnist.npz.")
@click.option("--limit-train", type=int, default=None, callback=positive, help="Use only the first N training digits.")
@click.option("--limit-test", type=int, default=None, callback=positive, help="Use only the first N test digits.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("models"), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON on stdout.")
def train(model_name: str, epochs: int, batch_size: int, seed: int, data_spec: str, limit_train: int | None,
          limit_test: int | None, out: Path, as_json: bool) -> None:
    """Train the SimpleRNN and/or stacked LSTM, validated on the test split.

    Writes OUT/<arch>/<arch>.keras, history.json and <arch>.keras.json (manifest).

    Example: edgeseq train --model rnn --epochs 1 --out runs/try
    """
    from edgeseq import data, models  # noqa: PLC0415
    from edgeseq.fileio import check_output_dir, ensure_dir  # noqa: PLC0415
    from edgeseq.tfsupport import import_keras  # noqa: PLC0415
    from edgeseq.train import TrainConfig, train as train_model  # noqa: PLC0415

    dataset = data.load(data_spec).limited(limit_train, limit_test)
    check_output_dir(out)
    import_keras()  # before anything is created: without TensorFlow, say which extra to install
    ensure_dir(out)
    click.echo(f"data: {dataset.name} ({len(dataset.y_train)} train / {len(dataset.y_test)} test)", err=True)
    results = [train_model(TrainConfig(arch, epochs, batch_size, seed), dataset, out)
               for arch in models.select(model_name)]
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    click.echo(render_table(
        [(r.model, f"{r.test_accuracy:.4f}", r.epochs, f"{r.seconds:.1f}", r.parameters, r.path) for r in results],
        ("model", "test_accuracy", "epochs", "seconds", "parameters", "path")))


def main() -> None:
    cli(prog_name="edgeseq")


# --- export / inspect ------------------------------------------------------------------------------

FORMAT_CHOICES = click.Choice(["tflite", "onnx", "all"])
GRAPH_CHOICES = click.Choice(["loop", "unrolled", "unrolled-b1", "fused"])


@cli.command()
@click.option("--model", "model_name", type=MODEL_CHOICES, default="all", show_default=True)
@click.option("--format", "format_name", type=FORMAT_CHOICES, default="all", show_default=True)
@click.option("--quant", "quants", multiple=True,
              help="Recipe(s) to export (repeatable). TFLite: fp32 fp16 dynamic int8 int16x8; ONNX: fp32 dynamic"
                   " static. Default: all.")
@click.option("--graph", "graph_name", type=GRAPH_CHOICES, default=None,
              help="Force a graph variant instead of the recipe table's choice.")
@click.option("--from", "source_root", type=click.Path(path_type=Path), default=Path("models"), show_default=True,
              help="Folder holding <arch>/<arch>.keras (as written by `edgeseq train`).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("models"), show_default=True)
@click.option("--calibration-size", type=int, default=500, show_default=True, callback=positive)
@click.option("--calibration-seed", type=int, default=0, show_default=True)
@click.option("--data", "data_spec", default="sample", show_default=True,
              help="Where calibration digits come from (training split): sample, mnist or a path.")
@click.option("--json", "as_json", is_flag=True, help="Print per-recipe results as JSON on stdout.")
def export(model_name: str, format_name: str, quants: tuple[str, ...], graph_name: str | None, source_root: Path,
           out: Path, calibration_size: int, calibration_seed: int, data_spec: str, as_json: bool) -> None:
    """Export trained models to TFLite and ONNX, every quantization recipe, each with a manifest.

    Writes OUT/<arch>/<arch>-<recipe>.<tflite|onnx> and <file>.json. Exit 1 unless every requested
    recipe exported.

    Example: edgeseq export --model lstm --format tflite --quant dynamic
    """
    from edgeseq import data, models  # noqa: PLC0415
    from edgeseq import recipes  # noqa: PLC0415
    from edgeseq.export.exporter import ExportSpec, export_all, unavailable_graph  # noqa: PLC0415
    from edgeseq.fileio import check_output_dir  # noqa: PLC0415

    formats = list(recipes.Format) if format_name == "all" else [recipes.Format(format_name)]
    try:
        chosen = recipes.select(formats, list(quants))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--quant") from err
    archs = models.select(model_name)
    specs = [ExportSpec(arch, r, recipes.Graph(graph_name) if graph_name else r.graphs.get(arch), calibration_size,
                        calibration_seed) for arch in archs for r in chosen]
    conflicts = [problem for problem in map(unavailable_graph, specs) if problem]
    if conflicts:
        valid = [g.value for g in recipes.Graph if not any(unavailable_graph(replace(s, graph=g)) for s in specs)]
        raise click.BadParameter(
            f"{conflicts[0]}{f' (and {len(conflicts) - 1} more)' if len(conflicts) > 1 else ''}; valid for the chosen"
            f" models and recipes: {', '.join(valid) or 'none (choose fewer models or formats)'}", param_hint="--graph")
    check_output_dir(out)
    dataset = data.load(data_spec) if any(r.calibrated for r in chosen) else None
    results = export_all(specs, source_root, out, dataset, lambda line: click.echo(line, err=True))
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        click.echo(render_table(
            [(r.model, r.format, r.recipe, r.graph, r.status, r.size_bytes, r.recurrent_op, r.path or r.reason)
             for r in results],
            ("model", "format", "recipe", "graph", "status", "bytes", "recurrent op", "path / reason")))
    failed = [r for r in results if r.status != "ok"]
    if failed:
        fail(f"{len(failed)} of {len(results)} recipe(s) did not export: "
             + "; ".join(f"{r.model} {r.format}/{r.recipe}: {r.status} ({r.reason})" for r in failed))


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check against the file's manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
def inspect(file: Path, no_verify: bool, as_json: bool) -> None:
    """Show an exported file's ops, inputs/outputs and manifest (no TensorFlow needed).

    The file is checked against its manifest's sha256 first (exit 1 on a mismatch).

    Example: edgeseq inspect models/lstm/lstm-dynamic.tflite
    """
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.fileio import read_manifest, verify_against_manifest  # noqa: PLC0415

    manifest = read_manifest(file)
    integrity = "skipped (--no-verify)" if no_verify else verify_against_manifest(file, manifest)
    facts = read_facts(file)
    if as_json:
        emit_json({"path": str(file), "integrity": integrity, **facts.to_dict(), "manifest": manifest})
        return
    click.echo(f"{file}  ({facts.format}, {file.stat().st_size:,} bytes, integrity: {integrity})")
    click.echo(f"recurrent op: {facts.recurrent_op}")
    click.echo("ops: " + ", ".join(f"{k} x{v}" for k, v in facts.ops.items()))
    for role, tensors in (("input", facts.inputs), ("output", facts.outputs)):
        for t in tensors:
            quant = f" scale={t.scale:g} zero_point={t.zero_point}" if t.scale is not None else ""
            click.echo(f"{role}: {t.name} {t.shape} {t.dtype}{quant}")
    if facts.signatures:
        click.echo("signatures: " + ", ".join(facts.signatures))
    if manifest:
        click.echo(f"manifest: {manifest.get('architecture')} {manifest.get('format')}/{manifest.get('recipe')}"
                   f" graph={manifest.get('graph')} batch={manifest.get('batch')}")
        if manifest.get("usage_note"):
            click.echo(f"note: {manifest['usage_note']}")
    else:
        click.echo("manifest: none (warning: the file cannot be verified)")


# --- validate ----------------------------------------------------------------------------------------

TFLITE_BACKEND_CHOICES = click.Choice(["auto", "litert", "tflite-runtime", "tf"])


def parse_runtimes(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from edgeseq.runtimes import runtime_names  # noqa: PLC0415

    try:
        return runtime_names(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), callback=files_under(".tflite", ".onnx"))
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Reference model (.keras, or an fp32 .tflite/.onnx). Default: <arch>.keras beside each file"
                   " where TensorFlow is installed, else the fp32 file of the same architecture.")
@click.option("--data", "data_spec", default="sample", show_default=True, help="Test digits: sample, mnist or a path.")
@click.option("--limit", type=int, default=None, callback=positive, help="Use only the first N test digits.")
@click.option("--runtime", "wanted", default=None, callback=parse_runtimes,
              help="Comma-separated runtimes to use (litert, onnxruntime). Default: every one that loads the file.")
@click.option("--tflite-backend", type=TFLITE_BACKEND_CHOICES, default="auto", show_default=True)
@click.option("--threads", type=int, default=1, show_default=True, callback=positive)
@click.option("--max-abs-diff", type=float, default=None, help="Override every file's max_abs_diff tolerance.")
@click.option("--min-agreement", type=float, default=None, help="Override every file's top-1 agreement tolerance.")
@click.option("--min-delta-pp", type=float, default=None,
              help="Override every file's minimum accuracy change in percentage points (e.g. -1.0).")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check against each file's manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print one object per file as JSON on stdout.")
def validate(paths: tuple[Path, ...], reference: Path | None, data_spec: str, limit: int | None, wanted: Any,
             tflite_backend: str, threads: int, max_abs_diff: float | None, min_agreement: float | None,
             min_delta_pp: float | None, no_verify: bool, as_json: bool) -> None:
    """Check every exported file against its reference on the test split; exit 1 if any is out of tolerance.

    PATHS are files or folders (default: models).

    Example: edgeseq validate models/lstm --data ../mnist --json
    """
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.parity.validate import validate as run_validate  # noqa: PLC0415

    overrides = {k: v for k, v in (("max_abs_diff", max_abs_diff), ("min_agreement", min_agreement),
                                   ("min_delta_accuracy_pp", min_delta_pp)) if v is not None}
    dataset = data.load(data_spec).limited(None, limit)
    click.echo(f"data: {dataset.name}, {len(dataset.y_test)} test digits", err=True)
    reports = run_validate(list(paths) or [Path("models")], dataset, reference, wanted, threads, tflite_backend,
                           overrides, not no_verify, lambda line: click.echo(line, err=True))
    if as_json:
        emit_json([r.to_dict() for r in reports])
    else:
        def pct(v: float | None) -> str:
            return "" if v is None else f"{v * 100:.2f}"

        click.echo(render_table(
            [(r.path, r.runtime, pct(r.accuracy), pct(r.reference_accuracy),
              "" if r.delta_accuracy_pp is None else f"{r.delta_accuracy_pp:+.2f}", pct(r.agreement),
              "" if r.max_abs_diff is None else f"{r.max_abs_diff:.2g}", r.state_hygiene,
              "PASS" if r.passed else f"FAIL: {r.reason}") for r in reports],
            ("file", "runtime", "acc %", "ref acc %", "delta pp", "agree %", "max diff", "state ok", "verdict")))
        kinds = sorted({f"{r.reference_kind} ({r.reference})" for r in reports if r.reference})
        if kinds:
            click.echo("reference: " + "; ".join(kinds))
    failed = [r for r in reports if not r.passed]
    if failed:
        fail(f"{len(failed)} of {len(reports)} file(s) failed: "
             + "; ".join(f"{Path(r.path).name}: {r.reason}" for r in failed))


# --- bench -------------------------------------------------------------------------------------------

def parse_batches(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        batches = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from err
    if not batches or min(batches) <= 0:
        raise click.BadParameter("batch sizes must be positive integers")
    return batches


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), callback=files_under(".tflite", ".onnx", ".keras"))
@click.option("--runtime", "wanted", default="litert,onnxruntime,keras", show_default=True, callback=parse_runtimes,
              help="Comma-separated runtimes: litert, onnxruntime, keras.")
@click.option("--threads", type=int, default=1, show_default=True, callback=positive)
@click.option("--batch", "batches", default="1", show_default=True, callback=parse_batches,
              help="Comma-separated batch sizes, e.g. 1,8,32.")
@click.option("--warmup", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--min-runs", type=int, default=300, show_default=True, callback=positive)
@click.option("--min-seconds", type=click.FloatRange(min=0), default=2.0, show_default=True)
@click.option("--tflite-backend", type=TFLITE_BACKEND_CHOICES, default="auto", show_default=True)
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check against each file's manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON on stdout.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the results as CSV to this file.")
def bench(paths: tuple[Path, ...], wanted: Any, threads: int, batches: tuple[int, ...], warmup: int, min_runs: int,
          min_seconds: float, tflite_backend: str, no_verify: bool, as_json: bool, csv_path: Path | None) -> None:
    """Measure latency (p50/p90/p99), load time, cold start, peak memory and size of exported files.

    PATHS are files or folders (default: models); every .tflite, .onnx and .keras under a folder is measured
    in every requested runtime that can load it, each in a fresh process.

    Example: edgeseq bench models --runtime litert,onnxruntime --threads 1 --batch 1,8
    """
    from edgeseq.bench import BenchConfig, bench as run_bench, to_csv  # noqa: PLC0415
    from edgeseq.fileio import check_output_file, write_text_atomic  # noqa: PLC0415

    if csv_path:
        check_output_file(csv_path)  # before minutes of measurement, not after
    config = BenchConfig(tuple(wanted), (threads,), batches, warmup, min_runs, min_seconds, tflite_backend, not no_verify)
    results = run_bench(list(paths) or [Path("models")], config, lambda line: click.echo(line, err=True))
    measured = any(r.status == "ok" for r in results)
    if csv_path and measured:
        write_text_atomic(csv_path, to_csv(results))
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        def num(v: float | None, fmt: str = "{:.1f}") -> str:
            return "" if v is None else fmt.format(v)

        click.echo(render_table(
            [(r.path, r.runtime, r.batch, num(r.p50_us), num(r.p90_us), num(r.p99_us), num(r.throughput_dps, "{:.0f}"),
              num(r.load_ms), num(r.first_inference_ms, "{:.2f}"),
              num(r.peak_rss_bytes and r.peak_rss_bytes / 2**20, "{:.0f}"), r.size_bytes,
              r.status if r.status == "ok" else f"{r.status}: {r.reason}") for r in results],
            ("file", "runtime", "batch", "p50 µs", "p90 µs", "p99 µs", "digits/s", "load ms", "first ms", "RSS MiB",
             "bytes", "status")))
        if results:
            env = results[0].environment
            click.echo(f"environment: {env.get('cpu')}, {env.get('cores')} cores, {env.get('machine')},"
                       f" Python {env.get('python')}, {threads} thread(s)")
    if not measured:
        reasons = sorted({f"{Path(r.path).name} ({r.runtime}): {r.reason}" for r in results})
        fail("nothing could be measured" + (": " + "; ".join(reasons) if reasons else
                                            " (no requested runtime loads these files)"))


# --- run -----------------------------------------------------------------------------------------------

@cli.command(name="run")
@click.option("--data", "data_spec", default="sample", show_default=True,
              help="'sample' (shipped, offline), 'mnist' (Keras download/cache), or a folder of IDX files / mnist.npz.")
@click.option("--epochs", type=int, default=3, show_default=True, callback=positive)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True, callback=positive,
              help="Threads for validation and benchmarks.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output folder [default: runs/<UTC time>].")
@click.option("--quick", is_flag=True, help="A fast smoke run: 1 epoch on 2,000 digits, short benchmarks.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
def run_command(data_spec: str, epochs: int, seed: int, threads: int, out: Path | None, quick: bool,
                as_json: bool) -> None:
    """The main job: train both models, export every recipe, validate parity, benchmark, and write a report.

    Exit 1 if any exported file fails its parity tolerance.

    Example: edgeseq run --data sample --out runs/first
    """
    from edgeseq.pipeline import RunConfig, default_out, run, summary_rows  # noqa: PLC0415

    result = run(RunConfig(out or default_out(), data_spec, epochs, seed, quick, threads),
                 lambda line: click.echo(line, err=True))
    if as_json:
        emit_json(result.to_dict())
    else:
        def fmt(v: Any, spec: str) -> str:
            return "" if v is None else format(v, spec)

        click.echo(render_table(
            [(r["model"], r["file"], r["status"], fmt(r["accuracy"] and r["accuracy"] * 100, ".2f"),
              fmt(r["delta_pp"], "+.2f"), fmt(r["p50_us"], ".1f"), fmt(r["size_bytes"] and r["size_bytes"] / 1024, ".1f"),
              r["parity"]) for r in summary_rows(result)],
            ("model", "file", "status", "acc %", "delta pp", "p50 µs", "KB", "parity")))
        click.echo(f"data: {result.data['name']} ({result.data['train_count']} train / {result.data['test_count']} test);"
                   f" {result.seconds:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in result.step_seconds.items())})")
        click.echo(f"report: {result.report}")
    if not result.passed:
        fail(f"parity gate failed for {len(result.failed_files)} file(s): {', '.join(result.failed_files)}")


# --- report --------------------------------------------------------------------------------------------

@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output folder [default: RESULTS/report].")
@click.option("--max-latency-us", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Budget: batch-1 p50 latency in microseconds.")
@click.option("--max-size-kb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Budget: file size in KB (1 KB = 1024 bytes).")
@click.option("--min-accuracy", type=click.FloatRange(0, 1), default=None,
              help="Budget: test accuracy as a fraction, e.g. 0.97.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON on stdout.")
def report(results: Path, out: Path | None, max_latency_us: float | None, max_size_kb: float | None,
           min_accuracy: float | None, as_json: bool) -> None:
    """Render report.md, a self-contained report.html, plots and the RNN-vs-LSTM verdict from a run's JSON results.

    RESULTS is a folder holding train.json, export.json, validate.json and bench.json (as `edgeseq run`
    writes them, or as each command prints with --json).

    Example: edgeseq report runs/full --max-latency-us 200 --max-size-kb 300 --min-accuracy 0.97
    """
    from edgeseq.fileio import check_output_dir  # noqa: PLC0415
    from edgeseq.report import Budgets, build_report  # noqa: PLC0415

    out = check_output_dir(out or results / "report")
    result = build_report(results, out, Budgets(max_latency_us, max_size_kb, min_accuracy))
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render_table(
        [(v.model, v.fastest.label if v.fastest else "", v.smallest.label if v.smallest else "",
          v.most_accurate.label if v.most_accurate else "", v.recommended.label if v.recommended else v.none_fits)
         for v in result.verdict],
        ("model", "fastest", "smallest", "most accurate", "recommended")))
    click.echo(result.conclusion.text)
    click.echo(f"report: {result.markdown_path} and {result.html_path}")
