"""`edgeseq sweep`: a grid of model variants trained, exported and validated in parallel, then benchmarked
alone, with the Pareto frontier and the fastest file at or above each accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.options import (
    calibration_size_option, chosen_recipes, data_option, epochs_seed_options, json_option, limit_split_options,
    MAX_WORKERS, SECONDS, Finite, list_option, one_line_text, positive_up_to, quant_option)
from edgeseq.cli.outputs import out_option
from edgeseq.cli.render import emit_json, fail
from edgeseq.models import DEFAULT_GRID


def _variant(text: str) -> str:
    from edgeseq import models  # noqa: PLC0415

    models.select(text)          # ValueError naming the valid names
    return text


@click.command()
@list_option("--variants", item=_variant, default=",".join(DEFAULT_GRID), metavar="NAME[,NAME...]",
             help="The variants to sweep, by name.")
@data_option()
@epochs_seed_options()
@limit_split_options()
@quant_option("Recipes to export for each variant")
@calibration_size_option()
@click.option("--workers", type=int, default=None, callback=positive_up_to(MAX_WORKERS),
              help="Variants trained at a time [default: one per core here; with --ray, the cluster's CPUs].")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|local", callback=one_line_text,
              help="Run each variant's train/export/validate as a Ray task: 'local' starts Ray here, an address"
                   " joins a running cluster (whose nodes see --out). Needs the [sweep] extra.")
@list_option("--min-accuracy", "min_accuracy", item=Finite(0, 1, min_open=True), metavar="X[,X...]",
             help="Also answer 'the fastest file at or above' each of these test accuracies (fractions, e.g."
                  " 0.97,0.98). The published 0.9034 and 0.9652 are always answered.")
@click.option("--bench-seconds", type=SECONDS, default=1.0, show_default=True,
              help="Benchmark time per file (batch 1, one thread, after every variant is built).")
@out_option(Path("runs/sweep"), "Output folder: variants/<name>/ per variant, sweep.json, sweep.md,"
                                " sweep-frontier.png.")
@json_option("Print the sweep's result as JSON on stdout.")
def sweep(variants: tuple[str, ...], data_spec: str, epochs: int, seed: int, limit_train: int | None,
          limit: int | None, quants: tuple[str, ...] | None, calibration_size: int, workers: int | None,
          ray_address: str | None, min_accuracy: tuple[float, ...] | None, bench_seconds: float, out: Path,
          as_json: bool) -> None:
    """Train, export, validate and benchmark a grid of variants, and write the frontier.

    Tasks run in parallel (a process per variant, or Ray tasks); the benchmarks run afterwards, one file at a
    time, with nothing else running. A variant whose results exist for the same settings and data is not
    redone: run the same command again to resume.

    Example: edgeseq sweep --variants rnn,lstm --data sample --epochs 1 --out runs/sweep-try
    """
    import os  # noqa: PLC0415

    from edgeseq import recipes  # noqa: PLC0415
    from edgeseq.bench.runner import BenchConfig  # noqa: PLC0415
    from edgeseq.core.progress import for_cli  # noqa: PLC0415
    from edgeseq.runtimes import RuntimeName, default_runtimes  # noqa: PLC0415
    from edgeseq.sweep.plan import SweepConfig  # noqa: PLC0415
    from edgeseq.sweep.runner import sweep as run_sweep, with_thresholds  # noqa: PLC0415

    chosen_recipes(list(recipes.Format), quants)
    measured = tuple(r for r in default_runtimes() if r is not RuntimeName.KERAS)
    config = with_thresholds(SweepConfig(
        variants, out, data_spec, epochs, 32, seed, limit_train, limit, calibration_size, tuple(quants or ()),
        workers or os.cpu_count() or 1, ray_address,
        bench=BenchConfig(runtimes=measured, warmup=20, min_runs=100, min_seconds=bench_seconds)), min_accuracy or ())
    with for_cli(as_json) as progress:
        result = run_sweep(config, progress)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(Path(result.out, "sweep.md").read_text(encoding="utf-8"))
    if result.failed:
        fail(f"{len(result.failed)} variant(s) failed: {', '.join(result.failed)}")


COMMANDS: tuple[Any, ...] = (sweep,)
