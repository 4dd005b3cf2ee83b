"""Add the standard metadata (TFLITE_METADATA / ONNX doc_string, model_version, metadata_props) to files that
were exported before edgeseq wrote it, without re-exporting: the same writer as `edgeseq export`
(edgeseq.export.standard_metadata), with what it says taken from each file's manifest.

    python tools/add_standard_metadata.py models/rnn/rnn-fp32.tflite models/lstm   # files or folders

Each file is replaced together with its manifest (fileio.commit_with_manifest, as `edgeseq export` commits
them), which gets the new size_bytes, sha256 and `standard_metadata` (with `added_to`: the sha256 and size of the
bytes it was added to, which results measured before, such as docs/report, name); a step model's manifest that
records the rewritten whole-sequence file's sha256 is updated too. No output changes (checked on the committed
files: bit-identical through LiteRT's signature runner and onnxruntime), so the golden outputs and portability
sections stay true. A `graph_choice` section's `same_bytes_as_measured` then refers to the bytes before the
metadata. Run again, it writes the same bytes (the metadata is replaced, the labels zip entry carries no date).
TFLite files need tflite-support: the metadata venv (tools/make-metadata-venv.sh) or EDGESEQ_METADATA_PYTHON;
without it they are left as they are and the reason is printed.
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
from edgeseq.core.fileio import sha256_file, staged, write_json_atomic
from edgeseq.core.manifest import commit_with_manifest, read_manifest


def add(path: Path) -> str:
    manifest = read_manifest(path)
    if manifest is None or manifest.kind == "keras-model":
        return "skipped: no exported-file manifest beside it"
    old_sha = sha256_file(path)
    if manifest.sha256 != old_sha:
        return "skipped: the file does not match its manifest (sha256)"
    before = {"sha256": old_sha, "size_bytes": path.stat().st_size}
    before = (manifest.standard_metadata or {}).get("added_to") or before     # run again: the first bytes
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        section = write(copy, manifest, __version__)
        if section.get("tflite", "") is None:
            return f"skipped: {section['reason']}"
        with staged(path) as partial:
            partial.write_bytes(copy.read_bytes())
            new_sha = sha256_file(partial)
            commit_with_manifest(partial, path, manifest.replace(
                size_bytes=partial.stat().st_size, sha256=new_sha,
                standard_metadata=section | {"added_to": before}))
    for other in path.parent.glob("*.json"):       # step manifests pointing at this whole-sequence file
        data = read_manifest(other.with_suffix("")) if other.with_suffix("").is_file() else None
        whole = (data.whole_sequence if data else None) or {}
        if whole.get("file") == path.name and whole.get("sha256") == old_sha:
            write_json_atomic(other, data.replace(whole_sequence=whole | {"sha256": new_sha}).to_dict())
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
