"""Measure where TensorFlow Lite Micro runs each exported .tflite under the given folders, as export does for the
files it writes (edgeseq.portability.measure on the golden samples its manifest names, judged by the recipe's
tolerance), and write the TFLM cell into the manifest's `portability` section: `runs_on`, or `does_not_run_on` with
the one-line reason (the op TFLM refuses, or the parity it misses). Nothing else in a manifest changes, and no file
it describes: their bytes, sizes and sha256 stay what the manifests say.

    python tools/add_tflm_portability.py models          # needs the [mcu] extra (tflite-micro)
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgeseq import golden
from edgeseq.core.fileio import write_json_atomic
from edgeseq.core.layout import MANIFEST_SUFFIX, manifest_path
from edgeseq.core.manifest import read_manifest
from edgeseq.portability import BACKENDS, measure
from edgeseq.recipes import tolerance_of
from edgeseq.runtimes.table import RuntimeName

TFLM = tuple(b for b in BACKENDS if b.runtime is RuntimeName.TFLM)


def add(path: Path) -> str:
    manifest = read_manifest(path)
    if manifest is None or manifest.golden is None or manifest.portability is None:
        return "skipped: no golden outputs or portability section"
    reference = golden.read(Path(path).parent / manifest.golden["file"], manifest.golden.get("sha256"))
    samples = reference.dataset()
    tolerance, _ = tolerance_of(manifest, "tflite")
    cells = measure(path, samples.x_test, samples.y_test, reference.probabilities, tolerance, TFLM, samples.units)
    labels = {c.backend for c in cells}
    section = dict(manifest.portability)
    for key in ("runs_on", "does_not_run_on"):
        section[key] = [c for c in section.get(key) or [] if c.get("backend") not in labels]
    for cell in cells:
        section["runs_on" if cell.status == "pass" else "does_not_run_on"].append(cell.to_dict())
    write_json_atomic(manifest_path(path), manifest.replace(portability=section).to_dict())
    return "; ".join(f"{c.status}{': ' + c.reason if c.reason else ''}" for c in cells) or "TFLM not installed"


if __name__ == "__main__":
    if len(sys.argv) < 2 or not TFLM:
        raise SystemExit("usage: python tools/add_tflm_portability.py FOLDER...  (the runtimes table has no TFLM row)")
    for folder in sys.argv[1:]:
        for manifest_file in sorted(Path(folder).rglob(f"*.tflite{MANIFEST_SUFFIX}")):
            described = manifest_file.with_name(manifest_file.name.removesuffix(MANIFEST_SUFFIX))
            if described.is_file():
                print(f"{described}: {add(described)}", flush=True)
