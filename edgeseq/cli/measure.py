"""Commands that measure and conclude: bench (latency, memory, size) and report (the verdict from a run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.bench_modes import BenchArgs, mode_defaults, mode_help, resolve, scaling_defaults
from edgeseq.cli.options import (
    FRACTION, MAX_RUNS, SAMPLE_TEST_DIGITS, SECONDS, Finite, batch_option, device_option, json_option, no_verify_option,
    one_line_text, paths_argument, positive_up_to, runtime_option, threads_option, tflite_backend_option,
    tflite_kernels_option)
from edgeseq.cli.aliases import deprecated
from edgeseq.cli.numbers import BYTES
from edgeseq.cli.outputs import csv_option, out_option, plot_option
from edgeseq.cli.bench_table import bench_columns, echo_choices, peak_line
from edgeseq.cli.render import Column, attr, echo_table, emit_json, fail
from edgeseq.cli.profile import run_profile
from edgeseq.cli.scaling import lengths_option, run_scaling
from edgeseq.core.layout import MODEL_SUFFIXES
from edgeseq.core.progress import for_cli

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
@paths_argument(*MODEL_SUFFIXES)
@runtime_option(None, "Runtimes: litert, onnxruntime, openvino, keras, and the app runtimes litert-compiled,"
                      " litertjs, onnxruntime-node, onnxruntime-web (Node: timed inside Node), and tflm"
                      " (TensorFlow Lite Micro: host time of TFLM's kernels, and its arena). Default: every one"
                      " that loads the file (openvino where it is installed; app runtimes and tflm only by name).")
@tflite_backend_option()
@tflite_kernels_option(default=None, tail=mode_help("tflite_kernels"))
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
@device_option("What the results call this machine (recorded in each row's environment). Default: its hostname.")
@deprecated("--device-name", "--device", "device", callback=one_line_text)
@csv_option(f"Also write the results as CSV to this file. {mode_help('csv_path')}")
@out_option(None, "Also write the results as OUT/bench.json (what `edgeseq report RUN OUT` merges); with"
                  " --scaling, OUT/scaling.json and OUT/scaling.png; with --profile, OUT/profile.json.")
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
@click.option("--profile", is_flag=True,
              help="Time per operator instead, at batch 1: the file timed unprofiled, then --min-runs inferences"
                   " with the runtime's profiler on (onnxruntime's profiler, OpenVINO's performance counters;"
                   " LiteRT's Python API has none: its rows say so), each node's time and share, grouped into"
                   " the model's layers and, in recurrent layers, input projection vs recurrence where a runtime"
                   f" shows them apart. Defaults then: {mode_defaults('profile')}.")
@click.pass_context
def bench(ctx: click.Context, scaling: bool, profile: bool, **_: Any) -> None:
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

    Time per operator: edgeseq bench models/lstm/lstm-dynamic.onnx --profile --out runs/full (OUT/profile.json,
    which `edgeseq report` shows for the recommended files).
    """
    args = resolve(ctx, scaling, profile)   # each option left out at its mode's default (bench_modes.MODES)
    (run_profile if profile else run_scaling if scaling else run_bench)(args)


def run_bench(args: BenchArgs) -> None:
    """Measure every file × runtime × threads × batch, write what --csv and --out name, and show it."""
    from edgeseq.bench import BenchConfig, bench as measure, to_csv  # noqa: PLC0415
    from edgeseq.core.fileio import write_json_atomic, write_text_atomic  # noqa: PLC0415
    from edgeseq.runtimes import default_runtimes  # noqa: PLC0415

    if args.host is None and (args.ssh_config is not None or args.remote_python != "python3"):
        raise click.UsageError("--remote-python and --ssh-config go with --host")
    if max(args.batches) > SAMPLE_TEST_DIGITS:      # a figure must be what was measured: refused, not faked
        raise click.BadParameter(f"{max(args.batches)} is more than the {SAMPLE_TEST_DIGITS:,} test digits"
                                 " bench measures on (the shipped sample's); --scaling takes larger batches",
                                 param_hint="'--batch'")
    config = BenchConfig(tuple(args.wanted or default_runtimes()), args.threads, args.batches, args.warmup,
                         args.min_runs, args.min_seconds, args.tflite_backend, not args.no_verify, args.device,
                         args.tflite_kernels or ("xnnpack",))
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
            click.echo(peak_line(env))
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
@click.option("--ram", "ram_bytes", type=BYTES, default=None, metavar="SIZE",
              help="Budget: a microcontroller's RAM, e.g. 256K (K = 1024 bytes, M = 1024 K): TFLM's arena for the file"
                   " plus a stack allowance must fit. Judged where `bench --runtime tflm` measured the file.")
@click.option("--flash", "flash_bytes", type=BYTES, default=None, metavar="SIZE",
              help="Budget: a microcontroller's flash, e.g. 1M: the model plus an allowance for TFLM's code must fit."
                   " Judged where `bench --runtime tflm` measured the file.")
@json_option("Print the verdict as JSON on stdout.")
def report(results: Path, device_results: tuple[Path, ...], out: Path | None, max_latency_us: float | None, max_size_kb: float | None,
           min_accuracy: float | None, ram_bytes: int | None, flash_bytes: int | None, as_json: bool) -> None:
    """Render report.md, a self-contained report.html, plots and the RNN-vs-LSTM verdict from a run's JSON
    results.

    RESULTS is a folder holding train.json, export.json, validate.json and bench.json (as `edgeseq run`
    writes them, or as each command prints with --json). DEVICE_RESULTS are other devices' bench results
    (a bench.json, or a folder holding one, from `edgeseq bench --device NAME --out DIR`): joined to
    the run's files on sha256, they add a verdict and a latency column per device.

    Example: edgeseq report runs/full --max-latency-us 200 --max-size-kb 300 --min-accuracy 0.97

    On a microcontroller (TFLM rows from `edgeseq bench FILES --runtime tflm --out runs/full/mcu`): edgeseq report
    runs/full runs/full/mcu --ram 256K --flash 1M
    """
    from edgeseq.core.fileio import check_output_dir  # noqa: PLC0415
    from edgeseq.report import Budgets, build_report  # noqa: PLC0415

    out = check_output_dir(out or results / "report")     # --out itself was checked when parsed
    result = build_report(results, out, Budgets(max_latency_us, max_size_kb, min_accuracy, ram_bytes, flash_bytes),
                          device_results)
    if as_json:
        emit_json(result.to_dict())
        return
    echo_table(REPORT_COLUMNS, result.verdict)
    click.echo(result.conclusion.text)
    click.echo(f"report: {result.markdown_path} and {result.html_path}")


COMMANDS: tuple[Any, ...] = (bench, report)
