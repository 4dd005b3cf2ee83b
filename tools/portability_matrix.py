"""The portability matrix, measured: every exported file under MODELS validated in several installs (each a
Python with edgeseq installed: the build venv, a tflite-runtime venv, ...), one table file × runtime
library, each cell pass, fail or can't load with the reason. ONNX files are also compared between
OpenVINO and onnxruntime directly (top-1 agreement and max abs difference of the probabilities).

    python tools/portability_matrix.py models --python .venv/bin/python \\
        --python /tmp/tflrt/bin/python:tflite-runtime --data ../shared/data/mnist --out docs/results/portability.md

A `--python` is PATH or PATH:TFLITE_BACKEND. Paths in the output are relative to MODELS' parent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from edgeseq import data
from edgeseq.core import layout
from edgeseq.artifacts import collect_files
from edgeseq.core.manifest import read_manifest
from edgeseq.portability import TABLE_COLUMNS, cells_of, loads
from edgeseq.report.portability import STATUS_TEXT, column_of_row
from edgeseq.report.document import MARKDOWN   # the report's markdown table: cells escaped the same way


def validate_in(python: str, backend: str | None, models: Path, data_spec: str, limit: int | None) -> list[dict]:
    command = [python, "-m", "edgeseq", "validate", str(models), "--data", data_spec, "--json"]
    command += ["--tflite-backend", backend] if backend else []
    command += ["--limit", str(limit)] if limit else []
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if not done.stdout.strip():
        sys.exit(f"{python}: validate printed nothing: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def version_of(python: str) -> str:
    code = "import sys, platform; print(f'Python {platform.python_version()} on {platform.machine()}')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def cell_text(row: dict) -> str:
    if row["accuracy"] is None:
        return f"can't load: {row['reason']}"
    figures = f"acc {row['accuracy'] * 100:.2f} %, Δ {row['delta_accuracy_pp']:+.2f} pp, agree {row['agreement'] * 100:.2f} %"
    return f"pass ({figures})" if row["passed"] else f"fail ({figures}): {row['reason']}"


def openvino_vs_onnxruntime(files: list[Path], digits: np.ndarray) -> list[list[str]]:
    from edgeseq.runtimes import RuntimeName
    from edgeseq.runtimes.guard import Evaluator

    rows = []
    with Evaluator(digits) as evaluator:
        for path in files:
            try:
                ours = evaluator.run(path, RuntimeName.ONNXRUNTIME).probabilities
                theirs = evaluator.run(path, RuntimeName.OPENVINO).probabilities
            except Exception as err:  # noqa: BLE001  (one row per file, whatever happened)
                rows.append([path.name, "—", "—", f"{type(err).__name__}: {err}"])
                continue
            agreement = np.mean(np.argmax(ours, 1) == np.argmax(theirs, 1))
            rows.append([path.name, f"{agreement * 100:.2f} %", f"{np.max(np.abs(ours - theirs)):.2g}", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path)
    parser.add_argument("--python", action="append", required=True)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    files = collect_files([args.models], layout.EXPORT_SUFFIXES)
    found: dict[tuple[str, str], str] = {}
    installs = []
    for spec in args.python:
        python, _, backend = spec.partition(":")
        installs.append(f"`{Path(python).parent.parent.name}` ({version_of(python)}"
                        f"{', --tflite-backend ' + backend if backend else ''})")
        print(f"validating in {python} {backend}", file=sys.stderr, flush=True)
        for row in validate_in(python, backend or None, args.models, args.data, args.limit):
            column = column_of_row(row.get("backend"), row.get("reason"))
            if column and (Path(row["path"]).name, column) not in found:
                found[(Path(row["path"]).name, column)] = cell_text(row)
    rows = []
    for path in files:
        recorded = cells_of(getattr(read_manifest(path), "portability", None))
        cells = []
        for column in TABLE_COLUMNS:
            if not loads(column, path.suffix):
                cells.append("—")
            elif (path.name, column) in found:
                cells.append(found[(path.name, column)])
            elif (cell := recorded.get(column)) is not None:
                cells.append(f"{STATUS_TEXT.get(cell.status, cell.status)} (manifest): {cell.reason or ''}".strip())
            else:
                cells.append("not installed in any environment given")
        rows.append([path.name, *cells])
    digits = data.load(args.data).limited(None, args.limit)
    onnx_files = [p for p in files if p.suffix == ".onnx"]
    compared = openvino_vs_onnxruntime(onnx_files, digits.x_test)
    text = "\n\n".join([
        "# Where each committed file runs (measured)",
        f"`python tools/portability_matrix.py` on {len(files)} files, data {digits.name}"
        f" ({len(digits.y_test)} test digits), in: {'; '.join(installs)}. Each cell is `edgeseq validate` in that"
        " install against the file's reference (the Keras model where TensorFlow is installed, else the fp32"
        " file, else the golden outputs).",
        MARKDOWN["table"](["file", *TABLE_COLUMNS], rows),
        "## OpenVINO against onnxruntime, probability by probability",
        MARKDOWN["table"](["file", "top-1 agreement", "max abs diff", "note"], compared),
    ]) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
