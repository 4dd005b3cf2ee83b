"""Commands that measure and conclude: bench (latency, memory, size) and report (the verdict from a run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.bench_modes import BenchArgs, mode_help, resolve, scaling_defaults
from edgeseq.cli.options import (
    FRACTION, MAX_RUNS, SAMPLE_TEST_DIGITS, SECONDS, Finite, batch_option, json_option, no_verify_option,
    one_line_text, paths_argument, positive_up_to, runtime_option, threads_option, tflite_backend_option)
from edgeseq.cli.outputs import csv_option, out_option, plot_option
from edgeseq.cli.render import Column, Note, attr, echo_table, emit_json, fail, outcome
from edgeseq.cli.scaling import lengths_option, run_scaling
from edgeseq.progress import for_cli

BENCH_COLUMNS = (
    Column("file", attr("path")),
    Column("runtime", attr("runtime")),
    Column("threads", attr("threads")),
    Column("batch", attr("batch")),
    Column("p50 µs", attr("p50_us", ".1f")),
    Column("p90 µs", attr("p90_us", ".1f")),
    Column("p99 µs", attr("p99_us", ".1f")),
    Column("digits/s", attr("throughput_dps", ".0f")),
    Column("load ms", attr("load_ms", ".1f")),
    Column("first ms", attr("first_inference_ms", ".2f")),
    Column("RSS MiB", attr("peak_rss_bytes", ".0f", 1 / 2**20)),
    Column("bytes", attr("size_bytes")),
    Column("status", lambda r: r.status if r.status == "ok" else outcome(r.status, r.reason)),
)


def _optional(name: str, fmt: str) -> Any:
    """A cell for a field rows may not have yet (getattr with a default)."""
    def cell(row: Any) -> str:
        value = getattr(row, name, None)
        return "" if value is None else format(value, fmt)
    return cell


STEP_COLUMNS = (Column("step p50 µs", _optional("step_p50_us", ".1f")),
                Column("step p99 µs", _optional("step_p99_us", ".1f")))


def bench_columns(results: list[Any]) -> tuple[Column, ...]:
    """BENCH_COLUMNS, with one step's p50/p99 after p99 µs when some row (a step model's) has them, and the
    file's graph after the runtime when some rows compare graphs (graph candidates)."""
    columns = BENCH_COLUMNS
    if any(getattr(r, "graph_choice", None) is not None for r in results):
        at = next(k for k, c in enumerate(columns) if c.header == "runtime") + 1
        columns = (*columns[:at], GRAPH_COLUMN, *columns[at:])
    if not any(getattr(r, "step_p50_us", None) is not None or getattr(r, "step_p99_us", None) is not None
               for r in results):
        return columns
    at = next(k for k, c in enumerate(columns) if c.header == "p99 µs") + 1
    return (*columns[:at], *STEP_COLUMNS, *columns[at:])


GRAPH_COLUMN = Column("graph", _optional("graph", ""))
CHOICE_COLUMNS = (  # over edgeseq.bench.graph_choice.GraphChoice
    Column("model", attr("model")),
    Column("recipe", lambda c: f"{c.format}/{c.recipe}"),
    Column("runtime", attr("runtime")),
    Column("threads", attr("threads")),
    Column("fastest graph", lambda c: c.fastest or "none passed parity"),
    Column("p50 µs (b1) per graph", lambda c: ", ".join(
        f"{g} {p50:.1f}{'' if dict(c.parity).get(g, 'pass') == 'pass' else ' (' + dict(c.parity)[g] + ')'}"
        for g, p50 in c.p50_us)),
    Column("table's graph", lambda c: c.default_graph or "none"),
    Column("gain", lambda c: f"{c.gain_over_default:.2f}x" if c.gain_over_default else Note("–", c.why_no_gain())),
    Column("not chosen", lambda c: Note(", ".join(g for g, _ in c.excluded),
                                        "; ".join(f"{g}: {why}" for g, why in c.excluded) or None)),
)


def echo_choices(results: list[Any]) -> None:
    """The graph choice of each recipe whose candidates were measured (bench.graph_choice), per device."""
    from edgeseq.bench.graph_choice import recorded  # noqa: PLC0415

    choices = recorded(results)
    for device in dict.fromkeys(c.device for c in choices):
        click.echo(f"\ngraph chosen on {device} (batch 1, among the graphs that passed parity at export, or were"
                   " inconclusive as the table's own graph was; gain: the table's graph p50 / the fastest p50)")
        echo_table(CHOICE_COLUMNS, [c for c in choices if c.device == device])


def _label(choice: Any) -> str:
    return choice.label if choice else ""


REPORT_COLUMNS = (
    Column("model", attr("model")),
    Column("fastest", lambda v: _label(v.fastest)),
    Column("smallest", lambda v: _label(v.smallest)),
    Column("most accurate", lambda v: _label(v.most_accurate)),
    Column("recommended", lambda v: v.recommended.label if v.recommended else v.none_fits),
)


@click.command()
@paths_argument(".tflite", ".onnx", ".keras")
@runtime_option(None, "Runtimes: litert, onnxruntime, openvino, keras. Default: every one that loads the file"
                      " (openvino where it is installed).")
@tflite_backend_option()
@threads_option(several=True, default=None, help="Thread counts, e.g. 1,2: each file is measured at each count.",
                tail=mode_help("threads"))
@batch_option(default=None, tail=mode_help("batches"))
@click.option("--warmup", type=click.IntRange(0, MAX_RUNS), default=None,
              help=f"Untimed calls first. {mode_help('warmup')}")
@click.option("--min-runs", type=int, default=None, callback=positive_up_to(MAX_RUNS),
              help=f"Timed calls, at least. {mode_help('min_runs')}")
@click.option("--min-seconds", type=SECONDS, default=None,
              help=f"Timed seconds, at least (the runs go on until both minimums are met). {mode_help('min_seconds')}")
@no_verify_option()
@json_option()
@click.option("--device-name", default=None, callback=one_line_text,
              help="What the results call this machine (recorded in each row's environment). Default: its"
                   " hostname.")
@csv_option(f"Also write the results as CSV to this file. {mode_help('csv_path')}")
@out_option(None, "Also write the results as OUT/bench.json (what `edgeseq report RUN OUT` merges); with"
                  " --scaling, OUT/scaling.json and OUT/scaling.png.")
@click.option("--host", default=None, metavar="[USER@]HOST",
              help="Measure on this machine over ssh (your keys and ssh config): the files and their manifests"
                   f" are copied to a temporary folder there, measured by its edgeseq[runtime], and removed."
                   f" {mode_help('host')}")
@click.option("--remote-python", default=None, metavar="PATH",
              help="With --host: the Python there that has edgeseq[runtime], e.g. ~/edgeseq/bin/python."
                   f" {mode_help('remote_python')}")
@click.option("--ssh-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help=f"With --host: an ssh configuration file to use instead of yours (ssh -F). {mode_help('ssh_config')}")
@click.option("--scaling", is_flag=True,
              help="Cost growth instead: p50 against sequence length (--lengths), batch and threads, each"
                   " file × runtime × thread count in a fresh process, with the fitted µs per timestep, µs per"
                   f" sample and thread speed-up. Defaults then: {scaling_defaults()}.")
@lengths_option()
@plot_option(f"Also write the growth plot to this PNG (needs matplotlib). {mode_help('plot_path')}")
@click.pass_context
def bench(ctx: click.Context, scaling: bool, **_: Any) -> None:
    """Measure latency (p50/p90/p99), load time, cold start, peak memory and size of exported files.

    PATHS are files or folders (default: models); every .tflite, .onnx and .keras under a folder is measured
    in every requested runtime that can load it, at every requested thread count, each in a fresh process.
    List options take a comma list or the option repeated (--threads 1,2 is --threads 1 --threads 2).

    Example: edgeseq bench models --runtime litert,onnxruntime --threads 1,2 --batch 1,8

    On a Raspberry Pi from here: edgeseq bench models --host pi@raspberrypi --remote-python ~/edgeseq/bin/python
    --out pi

    Cost growth: edgeseq bench models/lstm --scaling --lengths 28,56,112,224,448 --plot scaling.png. Sequences
    longer than 28 rows are consecutive test digits end to end; only a step model (dynamic time axis) takes
    them, and a whole-sequence file says "unsupported" for them.
    """
    args = resolve(ctx, scaling)            # each option left out at its mode's default (bench_modes.MODES)
    (run_scaling if scaling else run_bench)(args)


def run_bench(args: BenchArgs) -> None:
    """Measure every file × runtime × threads × batch, write what --csv and --out name, and show it."""
    from edgeseq.bench import BenchConfig, bench as measure, to_csv  # noqa: PLC0415
    from edgeseq.fileio import write_json_atomic, write_text_atomic  # noqa: PLC0415
    from edgeseq.runtimes import default_runtimes  # noqa: PLC0415

    if args.host is None and (args.ssh_config is not None or args.remote_python != "python3"):
        raise click.UsageError("--remote-python and --ssh-config go with --host")
    if max(args.batches) > SAMPLE_TEST_DIGITS:      # a figure must be what was measured: refused, not faked
        raise click.BadParameter(f"{max(args.batches)} is more than the {SAMPLE_TEST_DIGITS:,} test digits"
                                 " bench measures on (the shipped sample's); --scaling takes larger batches",
                                 param_hint="'--batch'")
    config = BenchConfig(tuple(args.wanted or default_runtimes()), args.threads, args.batches, args.warmup,
                         args.min_runs, args.min_seconds, args.tflite_backend, not args.no_verify, args.device_name)
    with for_cli(args.as_json) as progress:
        if args.host is None:
            results = measure(args.files, config, progress)
        else:
            from edgeseq.bench.remote import SshTarget, bench_over_ssh  # noqa: PLC0415

            target = SshTarget(args.host, args.remote_python or "python3", args.ssh_config)
            chosen = tuple(r.value for r in args.wanted) if args.wanted else None
            results = bench_over_ssh(args.files, config, target, chosen, progress)
    measured = any(r.status == "ok" for r in results)
    if args.csv_path and measured:
        write_text_atomic(args.csv_path, to_csv(results))
    if args.out and measured:
        write_json_atomic(args.out / "bench.json", [r.to_dict() for r in results])
    if args.as_json:
        emit_json([r.to_dict() for r in results])
    else:
        echo_table(bench_columns(results), results)
        echo_choices(results)
        if results:
            env = results[0].environment
            via = f" (over ssh: {env['ssh_host']})" if env.get("ssh_host") else ""
            click.echo(f"environment: {env.get('device')}{via}: {env.get('cpu')}, {env.get('cores')} cores,"
                       f" {env.get('machine')}, Python {env.get('python')}, {', '.join(map(str, args.threads))}"
                       " thread(s)")
    if not measured:
        reasons = sorted({f"{Path(r.path).name} ({r.runtime}): {r.reason}" for r in results})
        from edgeseq.artifacts import collect_files  # noqa: PLC0415
        from edgeseq.runtimes import ARTIFACT_SUFFIXES, not_loadable  # noqa: PLC0415

        if not reasons:
            files = collect_files(args.files, (*ARTIFACT_SUFFIXES, ".keras"))
            reasons = sorted({not_loadable(path, list(config.runtimes)) for path in files})
        fail("nothing could be measured: " + "; ".join(reasons))


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.argument("device_results", nargs=-1, type=click.Path(exists=True, path_type=Path))
@out_option(None, "Output folder [default: RESULTS/report].")
@click.option("--max-latency-us", type=Finite(0, min_open=True), default=None,
              help="Budget: batch-1 p50 latency in microseconds.")
@click.option("--max-size-kb", type=Finite(0, min_open=True), default=None,
              help="Budget: file size in KB (1 KB = 1024 bytes).")
@click.option("--min-accuracy", type=FRACTION, default=None,
              help="Budget: test accuracy as a fraction, e.g. 0.97.")
@json_option("Print the verdict as JSON on stdout.")
def report(results: Path, device_results: tuple[Path, ...], out: Path | None, max_latency_us: float | None, max_size_kb: float | None,
           min_accuracy: float | None, as_json: bool) -> None:
    """Render report.md, a self-contained report.html, plots and the RNN-vs-LSTM verdict from a run's JSON
    results.

    RESULTS is a folder holding train.json, export.json, validate.json and bench.json (as `edgeseq run`
    writes them, or as each command prints with --json). DEVICE_RESULTS are other devices' bench results
    (a bench.json, or a folder holding one, from `edgeseq bench --device-name NAME --out DIR`): joined to
    the run's files on sha256, they add a verdict and a latency column per device.

    Example: edgeseq report runs/full --max-latency-us 200 --max-size-kb 300 --min-accuracy 0.97
    """
    from edgeseq.fileio import check_output_dir  # noqa: PLC0415
    from edgeseq.report import Budgets, build_report  # noqa: PLC0415

    out = check_output_dir(out or results / "report")     # --out itself was checked when parsed
    result = build_report(results, out, Budgets(max_latency_us, max_size_kb, min_accuracy), device_results)
    if as_json:
        emit_json(result.to_dict())
        return
    echo_table(REPORT_COLUMNS, result.verdict)
    click.echo(result.conclusion.text)
    click.echo(f"report: {result.markdown_path} and {result.html_path}")


COMMANDS: tuple[Any, ...] = (bench, report)
