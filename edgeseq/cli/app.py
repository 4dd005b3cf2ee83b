"""Commands for app developers: pack (one file, ready to drop into an app) and demo (a static browser page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.cli.options import json_option, no_verify_option
from edgeseq.cli.outputs import new_folder_option
from edgeseq.cli.render import emit_json


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@new_folder_option("The folder to write (new, or empty).")
@no_verify_option("Skip the sha256 check against the file's manifest.")
@json_option("Print what was written as JSON on stdout.")
def pack(file: Path, out: Path, no_verify: bool, as_json: bool) -> None:
    """Pack an exported file for an app: the file, its manifest, labels.txt, golden test vectors (inputs,
    expected outputs, tolerance) and example code generated from the file's own tensors: a JavaScript unit test
    (onnxruntime-node/-web for .onnx, LiteRT.js for .tflite), Kotlin (LiteRT Interpreter by signature name, or
    ONNX Runtime) and Swift (TensorFlowLiteSwift by input index in the file's own order, or onnxruntime-objc).

    Example: edgeseq pack models/rnn/rnn-fp32-step.onnx --out app/rnn-step
    (then: cd app/rnn-step/js && npm install && node example.test.mjs)
    """
    from edgeseq.appkit.pack import pack as run_pack  # noqa: PLC0415

    result = run_pack(file, out, verify=not no_verify)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"packed {result.file} ({result.spec.kind} model) into {result.out}: {len(result.files)} files,"
               f" {result.vectors} golden vectors"
               + (f" (max_abs_diff {result.max_abs_diff:g})" if result.max_abs_diff is not None else " (class only)"))
    for warning in result.warnings:
        click.echo(f"note: {warning}")
    click.echo(f"test it: cd {result.out / 'js'} && ONNXRUNTIME_NODE_INSTALL=skip npm install && node example.test.mjs")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@new_folder_option("The folder to write the page into (new, or empty).")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="The node_modules holding onnxruntime-web (default: js/node_modules of this"
                                  " checkout, as tools/install-js.sh installs it).")
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


COMMANDS: tuple[Any, ...] = (pack, demo)
