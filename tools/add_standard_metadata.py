"""Add the standard metadata (TFLITE_METADATA / ONNX doc_string, model_version, metadata_props) to files that
were exported before edgeseq wrote it, without re-exporting: the same writer as `edgeseq export`
(edgeseq.export.standard_metadata), with what it says taken from each file's manifest.

    python tools/add_standard_metadata.py models/rnn/rnn-fp32.tflite models/lstm   # files or folders

Each file is rewritten in place (atomically) and its manifest gets the new size_bytes, sha256 and
`standard_metadata`; a step model's manifest that records the rewritten whole-sequence file's sha256 is
updated too. No output changes (checked on the committed files: bit-identical through LiteRT's signature
runner and onnxruntime), so the golden outputs and portability sections stay true. A `graph_choice`
section's `same_bytes_as_measured` then refers to the bytes before the metadata. TFLite files need
tflite-support importable (see the module's docstring); without it they are left as they are.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from edgeseq import __version__
from edgeseq.artifacts import collect_files
from edgeseq.export.standard_metadata import write
from edgeseq.fileio import read_manifest, sha256_file, write_bytes_atomic, write_json_atomic
from edgeseq.layout import manifest_path


def add(path: Path) -> str:
    manifest = read_manifest(path)
    if manifest is None or manifest.get("kind") == "keras-model":
        return "skipped: no exported-file manifest beside it"
    old_sha = sha256_file(path)
    if manifest.get("sha256") != old_sha:
        return "skipped: the file does not match its manifest (sha256)"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        section = write(copy, manifest, __version__)
        if section.get("tflite", "") is None:
            return f"skipped: {section['reason']}"
        write_bytes_atomic(path, copy.read_bytes())
    new_sha = sha256_file(path)
    write_json_atomic(manifest_path(path), manifest | {"size_bytes": path.stat().st_size, "sha256": new_sha,
                                                       "standard_metadata": section})
    for other in path.parent.glob("*.json"):       # step manifests pointing at this whole-sequence file
        data = read_manifest(other.with_suffix("")) if other.with_suffix("").is_file() else None
        whole = (data or {}).get("whole_sequence") or {}
        if whole.get("file") == path.name and whole.get("sha256") == old_sha:
            write_json_atomic(other, data | {"whole_sequence": whole | {"sha256": new_sha}})
    return f"written: {section}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args()
    for path in collect_files(args.paths, (".tflite", ".onnx")):
        print(f"{path}: {add(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
