"""Commands that take a file to a device: pack (one file, ready to drop into an app, or a C/C++ bundle for
TensorFlow Lite Micro), demo (a static browser page) and ethos (a file compiled by Vela for an Arm Ethos-U NPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.appkit import PackTarget
from edgeseq.cli.options import json_option, list_option, no_verify_option
from edgeseq.cli.outputs import new_folder_option, out_option
from edgeseq.cli.render import Column, attr, echo_table, emit_json
from edgeseq.appkit.ethos import DEFAULT_ACCELERATOR, Accelerator, accelerator_of


@click.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@new_folder_option("The folder to write (new, or empty).", required=False)
@click.option("--check", "check_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Instead: re-verify a packed folder (every file's sha256 against its bundle.json, and its golden"
                   " vectors run through the packed file here); exit 1 on any difference.")
@click.option("--target", type=click.Choice([t.value for t in PackTarget]), default=PackTarget.APP.value,
              show_default=True, help="app: for an app (below); tflm: a C/C++ bundle for a TensorFlow Lite Micro"
                                      " project (.tflite files TFLM loads; needs pip install 'edgeseq[mcu]').")
@list_option("--bench", "bench_paths", item=click.Path(exists=True, path_type=Path), metavar="BENCH_JSON[,...]",
             help="Where `edgeseq bench --json` results are (a bench.json, or a folder holding one): their rows"
                  " about this file (same sha256) put its p50 per runtime and device into bundle.json.")
@no_verify_option("Skip the sha256 check against the file's manifest.")
@json_option("Print what was written as JSON on stdout.")
def pack(file: Path | None, out: Path | None, check_dir: Path | None, target: str, bench_paths: tuple[Path, ...] | None,
         no_verify: bool, as_json: bool) -> None:
    """Pack an exported file for an app: the file, its manifest, labels.txt, golden test vectors (inputs,
    expected outputs, tolerance), bundle.json (accuracy, parity, p50 with --bench, licence, hashes) and code
    generated from the file's own tensors: a JavaScript unit test and a web page (onnxruntime-node/-web for .onnx,
    LiteRT.js for .tflite), an Android Gradle project (LiteRT's CompiledModel or Interpreter, or ONNX Runtime) and
    an iOS Swift package (TensorFlowLiteSwift by input index in the file's own order, or ONNX Runtime), each with
    the preprocessing, a classify() API and the golden self-test.

    With --target tflm, a C/C++ bundle for a microcontroller instead: the model as a C array, model_settings.h
    (the tensor arena TFLM was measured to need here plus a margin, shapes, quantization, the state's order,
    normalisation, labels), an op resolver with exactly the file's ops, the golden vectors as C arrays and a
    main.cc that runs them (each vector is run through TFLM on this machine first). TFLM itself is not built.

    Example: edgeseq pack models/rnn/rnn-fp32-step.onnx --out app/rnn-step
    (then: cd app/rnn-step/js && npm install && node example.test.mjs)

    Example: edgeseq pack models/rnn/rnn-fp32-step-app.tflite --target tflm --out mcu/rnn-step

    Check a bundle where it landed: edgeseq pack --check app/rnn-step
    """
    from edgeseq.appkit import packer  # noqa: PLC0415

    if check_dir is not None:
        if file is not None or out is not None:
            raise click.UsageError("--check DIR takes neither FILE nor --out")
        _check(check_dir, as_json)
        return
    if file is None or out is None:
        raise click.UsageError("pack takes FILE and --out DIR (or --check DIR)")
    if bench_paths and target != PackTarget.APP.value:
        raise click.UsageError("--bench is for --target app (bundle.json)")
    measured: dict[str, Any] = {}
    if bench_paths:
        from edgeseq.report.devices import read_device_results  # noqa: PLC0415

        measured["bench"] = read_device_results(list(bench_paths))
    result = packer(target)(file, out, verify=not no_verify, **measured)
    if as_json:
        emit_json(result.to_dict())
        return
    if target == PackTarget.TFLM.value:
        _echo_tflm(result)
        return
    click.echo(f"packed {result.file} ({result.spec.kind} model) into {result.out}: {len(result.files)} files,"
               f" {result.vectors} golden vectors"
               + (f" (max_abs_diff {result.max_abs_diff:g})" if result.max_abs_diff is not None else " (class only)"))
    for warning in result.warnings:
        click.echo(f"note: {warning}")
    if result.latency:
        click.echo("bundle.json: p50 " + "; ".join(f"{m['runtime']}{'/' + m['setting'] if m['setting'] else ''}"
                                                   f" {m['p50_us']:.1f} µs ({m['device']})" for m in result.latency))
    click.echo(f"test it: cd {result.out / 'js'} && ONNXRUNTIME_NODE_INSTALL=skip npm install && node example.test.mjs")
    click.echo(f"web: serve {result.out} and open /web/; Android: {result.out / 'android'} (Gradle);"
               f" iOS: {result.out / 'ios'} (Swift package): see its README.md")


def _check(folder: Path, as_json: bool) -> None:
    from edgeseq.appkit.bundle import check  # noqa: PLC0415

    checked = check(folder)
    if as_json:
        emit_json(checked.to_dict())
    else:
        click.echo(f"{checked.folder}: {checked.files} file(s) match bundle.json; {checked.passed} of {checked.vectors}"
                   f" golden vectors pass on {checked.file} ({checked.backend})")
        for failure in checked.failures:
            click.echo(f"FAIL: {failure}")
        click.echo("ok" if checked.ok else f"{len(checked.failures)} problem(s)")
    if not checked.ok:
        raise SystemExit(1)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@new_folder_option("The folder to write the page into (new, or empty).")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="The node_modules holding onnxruntime-web (default: the app runtimes'"
                                  " folder that `edgeseq setup js` fills).")
@no_verify_option()
@json_option("Print what was written as JSON on stdout.")
def demo(files: tuple[Path, ...], out: Path, node_modules: Path | None, no_verify: bool, as_json: bool) -> None:
    """Write a static demo page: pick a test sequence (or draw a digit) and watch step models (*-step.onnx) read
    it one row at a time in the browser (onnxruntime-web, WASM), with the probabilities after every step and the
    latency of each step measured in the browser.

    Serve the folder with any static server (a browser will not run WASM from file://).

    Example: edgeseq demo models/rnn/rnn-fp32-step.onnx models/lstm/lstm-fp32-step.onnx --out demo
    (then: python -m http.server -d demo, and open http://127.0.0.1:8000/)
    """
    from edgeseq.appkit.demo import build  # noqa: PLC0415

    result = build(list(files), out, node_modules, verify=not no_verify)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"demo of {', '.join(result.models)} with {result.sequences} test sequences in {result.out}")
    click.echo(f"serve it: python -m http.server -d {result.out}  (then open http://127.0.0.1:8000/)")


def _echo_tflm(result: Any) -> None:
    click.echo(f"packed {result.file} ({result.kind} model) for TFLM into {result.out}: {len(result.files)} files")
    click.echo(f"tensor arena: {result.arena_bytes:,} bytes ({result.arena_measured_bytes:,} measured by"
               f" {result.library} on this host + {result.arena_margin_bytes:,} margin); model:"
               f" {result.model_bytes:,} bytes; ops: " + ", ".join(f"{op} x{n}" for op, n in result.ops.items()))
    click.echo(f"golden vectors on TFLM here: {result.host_passed} of {len(result.host_check)} pass")
    for warning in result.warnings:
        click.echo(f"note: {warning}")
    click.echo(f"build it with TFLM: {result.out / 'README.md'}")


ETHOS_COLUMNS = (
    Column("accelerator", attr("accelerator")),
    Column("NPU ops", attr("npu_ops")),
    Column("CPU ops", attr("cpu_ops")),
    Column("on the CPU", lambda r: ", ".join(f"{op} x{n}" for op, n in r.fallbacks.items())),
    Column("SRAM B", lambda r: f"{r.sram_bytes:,}"),
    Column("flash B", lambda r: f"{r.flash_bytes:,}"),
    Column("DRAM B", lambda r: f"{r.dram_bytes:,}"),
    Column("MACs", lambda r: f"{r.macs:,}"),
    Column("est. ms", attr("estimated_seconds", ".3f", 1000)),
)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@list_option("--accelerator", "accelerators", item=accelerator_of, default=DEFAULT_ACCELERATOR.value,
             metavar="NAME[,NAME...]", help="Ethos-U configurations, as Vela names them: "
                                            + ", ".join(a.value for a in Accelerator) + ".")
@out_option(default=None, help="The folder to write the compiled files into (default: beside FILE).")
@json_option("Print one object per accelerator as JSON on stdout.")
def ethos(file: Path, accelerators: tuple[Accelerator, ...], out: Path | None, as_json: bool) -> None:
    """Compile a .tflite for an Arm Ethos-U NPU with Vela (pip install 'edgeseq[ethos]') and show where its
    operators run: on the NPU, or back on the CPU (by name, with Vela's reason), the SRAM, flash and DRAM it
    uses, its MACs, and Vela's estimate of one inference's time (its performance model at the system's clock,
    not a measurement; CPU operators are not in it).

    Each accelerator writes <stem>-vela-<accelerator>.tflite and a JSON sidecar (<file>.vela.json) beside FILE
    or in --out. The compiled file runs only in TFLM with the Ethos-U kernel and driver, on a device with the NPU.
    Vela maps int8 and int16x8 files to the NPU; a float file stays on the CPU.

    Example: edgeseq ethos models/lstm/lstm-int8.tflite --accelerator ethos-u55-128,ethos-u85-256 --out npu
    """
    from edgeseq.appkit.ethos import compile_for_ethos  # noqa: PLC0415

    results = [compile_for_ethos(file, accelerator, out) for accelerator in accelerators]
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    echo_table(ETHOS_COLUMNS, results)
    for r in results:
        click.echo(f"{r.accelerator}: {r.compiled} ({r.compiled_bytes:,} bytes; {r.system_config},"
                   f" {r.memory_mode}, {r.clock_hz / 1e6:g} MHz)")
        for op, why in r.fallback_reasons.items():
            click.echo(f"  {op} on the CPU: {why}")
        for warning in r.warnings:
            click.echo(f"  note: {warning}")
    click.echo(f"est. ms: {results[0].estimate}. Compiled by {results[0].compiler}.")
    click.echo(f"runs with: {results[0].runs_with}")


COMMANDS: tuple[Any, ...] = (pack, demo, ethos)
