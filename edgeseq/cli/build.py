"""Commands that build files: train, export, and run (the whole job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.options import (
    MAX_SECONDS, SEED, Finite, calibration_size_option, chosen_recipes, data_option, epochs_seed_options,
    device_option, json_option, limit_split_options, max_loss_pp_option, model_option, positive, quant_option,
    streaming_option, threads_option)
from edgeseq.cli.outputs import out_option
from edgeseq.cli.own import adopt_into, keras_option, own_model
from edgeseq.cli.render import Column, Note, attr, echo_table, emit_json, fail, noted, usage_errors
from edgeseq.export.plan import AUTO, Modes
from edgeseq.core.progress import for_cli
from edgeseq.data import units_of
from edgeseq.recipes import Format, Graph

TRAIN_COLUMNS = (
    Column("model", attr("model")),
    Column("test_accuracy", attr("test_accuracy", ".4f")),
    Column("epochs", attr("epochs")),
    Column("seconds", attr("seconds", ".1f")),
    Column("parameters", attr("parameters")),
    Column("health", lambda r: (", ".join(f["check"] for f in r.health["findings"]) or "ok") if r.health else "–"),
    Column("path", attr("path")),
)
EXPORT_COLUMNS = (
    Column("model", attr("model")),
    Column("format", attr("format")),
    Column("recipe", attr("recipe")),
    Column("graph", attr("graph")),
    Column("status", attr("status")),
    Column("bytes", attr("size_bytes")),
    Column("recurrent op", attr("recurrent_op")),
    Column("path / reason", lambda r: r.path or Note("", r.reason)),
)
CANDIDATE_COLUMNS = (
    *EXPORT_COLUMNS[:-1],
    Column("parity at export", lambda r: _parity(r) if r.status == "ok" else ""),
    EXPORT_COLUMNS[-1],
)
RUN_COLUMNS = (  # over edgeseq.pipeline.RunResult.summary()
    Column("model", attr("model")),
    Column("file", attr("file")),
    Column("status", attr("status")),
    Column("acc %", attr("accuracy", ".2f", 100)),
    Column("delta pp", attr("delta_pp", "+.2f")),
    Column("p50 µs", attr("p50_us", ".1f")),
    Column("KB", attr("size_bytes", ".1f", 1 / 1024)),
    Column("parity", lambda r: noted(r["parity"])),
)


@click.command()
@model_option()
@epochs_seed_options()
@click.option("--batch-size", type=int, default=32, show_default=True, callback=positive)
@data_option()
@limit_split_options()
@out_option()
@json_option()
def train(model_name: str, epochs: int, seed: int, batch_size: int, data_spec: str, limit_train: int | None,
          limit: int | None, out: Path, as_json: bool) -> None:
    """Train the seed SimpleRNN and/or stacked LSTM, or a variant, validated on the test split.

    Writes OUT/<model>/<model>.keras, history.json and <model>.keras.json (manifest).

    Example: edgeseq train --model lstm-64x2-tanh --epochs 1 --out runs/try
    """
    from edgeseq import data, models  # noqa: PLC0415
    from edgeseq.core.fileio import ensure_dir  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_keras  # noqa: PLC0415
    from edgeseq.train import TrainConfig, train as train_model  # noqa: PLC0415

    dataset = data.load(data_spec).limited(limit_train, limit)     # --out was checked when parsed
    import_keras()  # before anything is created: without TensorFlow, say which extra to install
    ensure_dir(out)
    with for_cli(as_json) as progress:
        progress.log(f"data: {dataset.name} ({len(dataset.y_train)} train / {len(dataset.y_test)} test)")
        results = [train_model(TrainConfig(arch, epochs, batch_size, seed), dataset, out, progress)
                   for arch in models.select(model_name)]
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        echo_table(TRAIN_COLUMNS, results)


@click.command()
@model_option()
@keras_option("export")
@click.option("--format", "format_name", type=click.Choice([f.value for f in Format] + ["all"]),
              default="all", show_default=True)
@quant_option("Recipes to export")
@click.option("--graph", "graph_name", type=click.Choice([g.value for g in Graph] + [AUTO]), default=None,
              help="Force a graph variant instead of the recipe table's choice; 'auto': write every graph the"
                   " recipe can be built with, each as a candidate OUT/<model>/<model>-<recipe>@<graph>.<format>"
                   " with its parity, to bench where it will run (then --pick-from).")
@click.option("--pick-from", "pick_from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="BENCH.json",
              help="Export each recipe with the graph `edgeseq bench` measured fastest on a device among the"
                   " candidates of --graph auto (the bench.json it wrote).")
@device_option("With --pick-from: the device whose measurements choose, when the bench file holds several.")
@click.option("--from", "source_root", type=click.Path(path_type=Path), default=Path("models"),
              show_default=True, help="Folder holding <arch>/<arch>.keras (as written by `edgeseq train`).")
@out_option()
@calibration_size_option()
@click.option("--calibration-seed", type=SEED, default=0, show_default=True)
@data_option("Where calibration samples (training split) come from, and with --max-loss-pp the test samples that"
             " judge: sample, mnist or a path.")
@max_loss_pp_option("Accuracy-aware search: a quantized recipe whose file loses more than this many points on"
                    " the test split (paired 95 % interval) is exported again with remedies (more calibration"
                    " samples, other calibration methods, per-channel weights) until one meets it; every attempt is"
                    " recorded in the manifest.")
@click.option("--search-seconds", type=Finite(0, MAX_SECONDS, min_open=True), default=900.0,
              show_default=True,
              help="With --max-loss-pp: the time budget per recipe.")
@streaming_option("Also export step models (OUT/<arch>/<arch>-<recipe>-step.<format>): one row of pixels and the"
                  " recurrent state in, the probabilities and the next state out. Made for fp32 and dynamic in"
                  " each format, or for every recipe given with --quant.")
@click.option("--app", "app_ready", is_flag=True,
              help="Write each TFLite recipe's app-ready variant instead, OUT/<model>/<model>-<recipe>-app.tflite:"
                   " batch 1, state outside variable tensors, float32 input/output, for LiteRT CompiledModel,"
                   " LiteRT.js and other app runtimes (with --streaming also <model>-<recipe>-step-app.tflite)."
                   " ONNX files need none.")
@json_option("Print per-recipe results as JSON on stdout.")
@click.pass_context
def export(ctx: click.Context, model_name: str, keras_path: Path | None, format_name: str,
           quants: tuple[str, ...] | None, graph_name: str | None, pick_from: Path | None, device: str | None,
           source_root: Path, out: Path, calibration_size: int, calibration_seed: int, data_spec: str,
           max_loss_pp: float | None, search_seconds: float, streaming: bool, app_ready: bool, as_json: bool) -> None:
    """Export trained models to TFLite and ONNX, every quantization recipe, each with a manifest.

    Writes OUT/<model>/<model>-<recipe>.<tflite|onnx> and <file>.json (with --streaming, also the step
    models <model>-<recipe>-step.<format>).

    Exit 1 if a recipe you named with --quant did not export, or if any export failed (status failed: a file
    that fails a check, a source that cannot be read, a search that missed its budget). A recipe you did not
    name that the converter or the recipes table cannot make for a model (status unsupported, the reason in
    the table) is a note on stderr and exit 0, as in `edgeseq run`.

    Example: edgeseq export --model lstm --format tflite --quant dynamic

    For apps (LiteRT CompiledModel, LiteRT.js): edgeseq export --model lstm --format tflite --app

    Your own model: edgeseq export --keras my_gru.keras --data my_data.npz (OUT/my_gru/my_gru-<recipe>.<format>)

    The graph chosen where it runs: edgeseq export --model lstm --quant dynamic --graph auto --out cands; then
    edgeseq bench cands --out pi (on the device, or with --host); then edgeseq export --model lstm --quant
    dynamic --pick-from pi/bench.json.
    """
    from edgeseq import data, models  # noqa: PLC0415
    from edgeseq.export.batch import export_all  # noqa: PLC0415

    modes = Modes(graph_name, pick_from, device, max_loss_pp, streaming, app_ready, tuple(quants or ()))
    with usage_errors():
        modes.check()
    chosen = chosen_recipes(list(Format) if format_name == "all" else [Format(format_name)], quants)
    archs = models.select(model_name)
    dataset = own = None
    if keras_path is not None:      # checked before any work; measured and copied into OUT once the plan stands
        dataset, own = own_model(ctx, keras_path, data_spec)
        archs, source_root = [own], out
    with usage_errors():
        specs = modes.specs(archs, chosen, calibration_size, calibration_seed)
    dataset = dataset or data.load(data_spec)   # calibrates, judges a search, gives a non-MNIST model its golden samples
    adopt_into(keras_path, own, dataset, out, as_json)
    with for_cli(as_json) as progress:
        for spec in specs:
            if spec.picked is not None:
                progress.log(f"{spec.arch.value} {spec.recipe.key}: {spec.picked.describe()}")
        results = export_all(specs, source_root, out, dataset, progress, max_loss_pp, search_seconds)
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        echo_table(CANDIDATE_COLUMNS if graph_name == AUTO else EXPORT_COLUMNS, results)
    failed, notes = modes.not_exported(results)
    unit, graph = ("candidate", lambda r: f" @{r.graph}") if modes.candidates else ("recipe", lambda r: "")
    if notes:
        click.echo(f"note: {len(notes)} {unit}(s) unsupported here, not exported (the reasons are in the results;"
                   " not a failure): " + ", ".join(f"{r.model} {r.format}/{r.recipe}{graph(r)}" for r in notes),
                   err=True)
    if failed:
        fail(f"{len(failed)} of {len(results)} {unit}(s) did not export: "
             + "; ".join(f"{r.model} {r.format}/{r.recipe}{graph(r)}: {r.status} ({r.reason})" for r in failed))


def _parity(result: Any) -> Note:
    from edgeseq.export.batch import parity_outcome  # noqa: PLC0415

    return Note(*parity_outcome(result.portability))


@click.command(name="run")
@data_option()
@epochs_seed_options()
@threads_option(several=False, help="Threads for validation and benchmarks (one count).")
@out_option(None, "Output folder [default: runs/<UTC time>].")
@click.option("--quick", is_flag=True, help="A fast smoke run: 3 epochs on at most 6,000 training samples, parity on"
                   " 1,000 test samples, a small calibration set, short benchmarks.")
@max_loss_pp_option("Export with the accuracy-aware recipe search (see `edgeseq export --help`).")
@streaming_option("Also export, validate and benchmark the step models (see `edgeseq export --help`); the report"
                  " gains a streaming section.")
@keras_option("run")
@json_option("Print the run summary as JSON on stdout.")
def run_command(data_spec: str, epochs: int, seed: int, threads: int, out: Path | None, quick: bool,
                max_loss_pp: float | None, streaming: bool, keras_path: Path | None, as_json: bool) -> None:
    """The main job: train both models, export every recipe, validate parity, benchmark, and write a report.

    Exit 1 if any exported file fails its parity tolerance (significantly, by validate's paired gate); files
    the test samples cannot judge are listed as inconclusive.

    Example: edgeseq run --data sample --out runs/first

    Your own model (no training): edgeseq run --keras my_gru.keras --data my_data.npz --out runs/mine
    """
    from edgeseq.pipeline import RunConfig, default_out, run  # noqa: PLC0415

    with for_cli(as_json) as progress:
        result = run(RunConfig(out or default_out(), data_spec, epochs, seed, quick, threads, max_loss_pp, streaming,
                               keras_path), progress)
    if as_json:
        emit_json(result.to_dict())
    else:
        echo_table(RUN_COLUMNS, result.summary())
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.step_seconds.items())
        data = result.data
        click.echo(f"data: {data['name']} ({data['train_count']} train / {data['test_count']} test);"
                   f" {result.seconds:.0f} s ({steps})")
        for line in result.health:
            click.echo(f"training health: {line}")
        click.echo(f"verdict: {result.conclusion}")
        click.echo(f"report: {result.report}")
    if result.inconclusive_files:
        click.echo(f"inconclusive (the {result.data['test_count']} test {units_of(result.data)} cannot tell; not a pass, never recommended):"
                   f" {', '.join(result.inconclusive_files)}", err=True)
    if not result.passed:
        fail(f"parity gate failed for {len(result.failed_files)} file(s): {', '.join(result.failed_files)}")


COMMANDS: tuple[Any, ...] = (train, export, run_command)
