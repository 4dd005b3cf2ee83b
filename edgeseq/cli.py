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
