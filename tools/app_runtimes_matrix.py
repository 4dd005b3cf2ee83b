"""The app-runtime matrix, measured by the product: every exported file under MODELS × {LiteRT Interpreter, LiteRT
CompiledModel, LiteRT.js (Node), onnxruntime (Python), onnxruntime-node, onnxruntime-web (WASM, Node)} from
`edgeseq validate --runtime ... --json` (pass with its max diff, or the one-line reason), and the p50 of every ONNX
file in Node and WASM next to native onnxruntime from `edgeseq bench --runtime ... --json` (one run, this machine).

    python tools/app_runtimes_matrix.py models --out docs/results/app-runtimes.md

Needs the app runtimes installed (tools/install-js.sh). File names only in the output: no machine paths.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

from edgeseq.core import layout
from edgeseq.artifacts import collect_files
from edgeseq.report.document import MARKDOWN   # the report's markdown table: cells escaped the same way

COLUMNS = (("litert", "LiteRT Interpreter"), ("litert-compiled", "LiteRT CompiledModel"), ("litertjs", "LiteRT.js (Node)"),
           ("onnxruntime", "onnxruntime (Python)"), ("onnxruntime-node", "onnxruntime-node"),
           ("onnxruntime-web", "onnxruntime-web (WASM, Node)"))
TIMED = ("onnxruntime", "onnxruntime-node", "onnxruntime-web")


def edgeseq(*args: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "edgeseq", *args, "--json"], capture_output=True, text=True,
                          check=False, timeout=7200)
    if not done.stdout.strip():
        sys.exit(f"edgeseq {args[0]} printed nothing: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def cell(row: dict | None, suffix: str, runtime: str) -> str:
    if row is None:
        return "—"
    if row["accuracy"] is None:
        reason = (row["reason"] or "").split(": ", 1)[-1] if row["reason"] else "no reason given"
        return f"✗ {reason}"
    status = {"pass": "✓", "inconclusive": "✓ (inconclusive Δacc)", "fail": "✗ fail"}.get(row.get("outcome"), "?")
    return f"{status} max diff {row['max_abs_diff']:.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--min-seconds", default="2")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    files = collect_files([args.models], layout.EXPORT_SUFFIXES)
    print(f"validating {len(files)} files in {len(COLUMNS)} runtimes", file=sys.stderr, flush=True)
    validated = edgeseq("validate", *map(str, files), "--data", args.data, "--runtime", ",".join(c for c, _ in COLUMNS))
    found = {(Path(r["path"]).name, r["runtime"]): r for r in validated}
    backends = {r["runtime"]: r["backend"].split(",")[0] for r in validated if r.get("backend")}
    rows = [[path.name, *(cell(found.get((path.name, runtime)), path.suffix, runtime) for runtime, _ in COLUMNS)]
            for path in files]
    onnx = [p for p in files if p.suffix == ".onnx"]
    print(f"timing {len(onnx)} ONNX files", file=sys.stderr, flush=True)
    timed = edgeseq("bench", *map(str, onnx), "--runtime", ",".join(TIMED), "--min-seconds", args.min_seconds)
    p50 = {(Path(r["path"]).name, r["runtime"]): r for r in timed if r["batch"] in (1, None)}

    def latency(name: str, runtime: str) -> str:
        row = p50.get((name, runtime))
        if row is None or row["status"] != "ok":
            return f"— {row['reason'] if row else ''}".strip()
        step = f" (step {row['step_p50_us']:.1f})" if row.get("step_p50_us") else ""
        return f"{row['p50_us']:.1f}{step}"
    speed = [[p.name, *(latency(p.name, r) for r in TIMED)] for p in onnx]
    memory = {r["runtime"]: r for r in timed if r["status"] == "ok"}
    text = "\n\n".join([
        "# The committed files in the app runtimes (measured)",
        f"`python tools/app_runtimes_matrix.py {args.models.name}` on {len(files)} files: `edgeseq validate --runtime"
        f" {','.join(c for c, _ in COLUMNS)}` on the {args.data} data ({validated[0]['digits'] if validated else '?'}"
        " test digits) against each file's reference (the Keras model where TensorFlow is installed). ✓: the file"
        " runs and its probabilities are within max diff of the reference (\"inconclusive Δacc\": the accuracy"
        " change cannot be judged on this many digits, as in every runtime); ✗: the one-line reason. The max diff of"
        " a quantized file is its quantization error against the Keras model: the same in every runtime that runs"
        " it. Libraries: "
        + "; ".join(f"{name}: {backends.get(runtime, 'not run')}" for runtime, name in COLUMNS) + ".",
        MARKDOWN["table"](["file", *(name for _, name in COLUMNS)], rows),
        "## p50 latency per ONNX file, µs (batch 1, 1 thread)",
        f"`edgeseq bench --runtime {','.join(TIMED)} --min-seconds {args.min_seconds}`: one run on one machine"
        f" ({platform.machine()}, Python {platform.python_version()}), so noisy: read the ratios, not the digits."
        " A step file's p50 is a whole sequence fed row by row (28 runs), its one-step p50 in brackets. In Node the"
        " timing loop runs inside Node (`performance.now()` around each awaited `session.run`; the input tensor is"
        " made once per batch and reused across the timed calls, as the Python rows reuse their arrays; a step"
        " file's zero state is made anew for each sequence); the Python rows time `session.run` from Python.",
        MARKDOWN["table"](["file", *TIMED], speed),
        "RSS after the runtime's import (a Node runtime's: its node process's, read in Node): "
        + "; ".join(f"{r}: {memory[r]['rss_after_import_bytes'] / 2**20:.0f} MiB" for r in TIMED if r in memory) + ".",
    ]) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
