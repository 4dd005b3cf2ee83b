"""What the official reader (tflite-support's MetadataDisplayer, in the metadata venv) reads back from .tflite files'
TFLITE_METADATA, as a Markdown summary: the model fields, every tensor's name and normalisation, the associated
files. docs/results/standard-metadata.md is made with

    python tools/standard_metadata_readback.py models/rnn/rnn-fp32.tflite models/lstm/lstm-fp16.tflite \\
        models/lstm/lstm-dynamic.tflite models/rnn/rnn-int8.tflite models/lstm/lstm-int16x8.tflite \\
        models/lstm/lstm-fp32-step.tflite --md docs/results/standard-metadata.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgeseq.core.errors import EdgeseqError
from edgeseq.export.standard_metadata import read_tflite
from edgeseq.core.fileio import write_text_atomic
from edgeseq.core.manifest import read_manifest


def _norm(tensor: dict[str, Any]) -> str:
    units = [u["options"] for u in tensor.get("process_units") or [] if u["options_type"] == "NormalizationOptions"]
    return f"mean {units[0]['mean']}, std {units[0]['std']}" if units else ""


def _files(tensor: dict[str, Any]) -> str:
    return ", ".join(f"{f['name']} ({f['type']})" for f in tensor.get("associated_files") or [])


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def section(path: Path) -> str:
    shown = read_tflite(path)
    manifest = read_manifest(path)
    if manifest is None:
        raise SystemExit(f"{path}: no manifest beside it")
    meta = shown["metadata"]
    (graph,) = meta["subgraph_metadata"]
    labels = shown["files"].get("labels.txt", "").splitlines()
    lines = [f"### `{path.name}` ({manifest.recipe}{', step' if manifest.step else ''})", "",
             (f"Read by {shown['reader']}; sha256 `{(manifest.sha256 or '')[:16]}…`, "
              f"{manifest.size_bytes} bytes."), "",
             "| field | read back |", "|---|---|",
             f"| name | {meta.get('name')} |", f"| version | {meta.get('version')} |",
             f"| author | {meta.get('author')} |", f"| license | {_short(meta.get('license', ''))} |",
             f"| description | {_short(meta.get('description', ''), 110)} |",
             f"| min_parser_version | {meta.get('min_parser_version')} |",
             f"| packed files | {', '.join(shown['packed_files'])} ({len(labels)} labels: {' '.join(labels)}) |",
             "", "| | tensor | description | normalisation | associated files |", "|---|---|---|---|---|"]
    for side, key in (("in", "input_tensor_metadata"), ("out", "output_tensor_metadata")):
        for tensor in graph[key]:
            lines.append(f"| {side} | `{tensor['name']}` | {_short(tensor.get('description', ''))} | {_norm(tensor)}"
                         f" | {_files(tensor)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--md", type=Path, help="write the Markdown here (default: stdout)")
    args = parser.parse_args()
    try:
        text = "\n".join(section(path) for path in args.paths)
    except EdgeseqError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    if args.md:
        write_text_atomic(args.md, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
