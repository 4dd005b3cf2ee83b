"""The `edgeseq` command: thin Click wrappers over library functions.

Results go to stdout (a table, or JSON with --json); progress and logs go to stderr.
Every EdgeseqError becomes one line on stderr and exit 1; bad options exit 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import click

from edgeseq.errors import EdgeseqError
from edgeseq.models import Arch
from edgeseq.tfsupport import VERBOSE_ENV, quiet_native_logs

MODEL_CHOICES = click.Choice([a.value for a in Arch] + ["all"])


class EdgeseqGroup(click.Group):
    """Turns domain errors into one line, and KeyboardInterrupt into exit 130, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EdgeseqError as err:
            if os.environ.get("EDGESEQ_DEBUG") == "1":
                raise
            raise click.ClickException(str(err).splitlines()[0] if str(err) else type(err).__name__) from err
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
    from edgeseq.fileio import ensure_dir  # noqa: PLC0415
    from edgeseq.train import TrainConfig, train as train_model  # noqa: PLC0415

    ensure_dir(out)
    dataset = data.load(data_spec).limited(limit_train, limit_test)
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
GRAPH_CHOICES = click.Choice(["loop", "unrolled", "fused"])


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
    from edgeseq.export import recipes  # noqa: PLC0415
    from edgeseq.export.exporter import ExportSpec, export_all  # noqa: PLC0415

    formats = list(recipes.Format) if format_name == "all" else [recipes.Format(format_name)]
    try:
        chosen = recipes.select(formats, list(quants))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--quant") from err
    archs = models.select(model_name)
    dataset = data.load(data_spec) if any(r.calibrated for r in chosen) else None
    specs = [ExportSpec(arch, r, recipes.Graph(graph_name) if graph_name else r.graphs[arch], calibration_size,
                        calibration_seed) for arch in archs for r in chosen]
    results = export_all(specs, source_root, out, dataset, lambda line: click.echo(line, err=True))
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        click.echo(render_table(
            [(r.model, r.format, r.recipe, r.graph, r.status, r.size_bytes, r.recurrent_op, r.path or r.reason)
             for r in results],
            ("model", "format", "recipe", "graph", "status", "bytes", "recurrent op", "path / reason")))
    if any(r.status != "ok" for r in results):
        sys.exit(1)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
def inspect(file: Path, as_json: bool) -> None:
    """Show an exported file's ops, inputs/outputs and manifest (no TensorFlow needed).

    Example: edgeseq inspect models/lstm/lstm-dynamic.tflite
    """
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.fileio import read_manifest, verify_against_manifest  # noqa: PLC0415

    facts = read_facts(file)
    manifest = read_manifest(file)
    integrity = verify_against_manifest(file, manifest)
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
