"""What a packed folder says about itself (`bundle.json`, written by `edgeseq pack`) and `edgeseq pack --check DIR`,
which re-verifies a bundle where it landed: every file's sha256 against bundle.json, then the golden vectors run
through the packed file in this machine's runtime for its format (LiteRT for .tflite, onnxruntime for .onnx), held
to the rule vectors.json states (the class equals `expected_class` on every vector, and every probability within
`max_abs_diff` of `expected` where the recipe has one).

bundle.json carries: edgeseq's version; the packed file, its format, recipe and sha256; the accuracy its manifest
records (the Keras model's on its full test split, and the reference's on the golden samples); where the file was
measured to run and not to run, with the recipe's parity verdict per runtime; the data's name and licence (MNIST:
CC BY-SA 3.0; other data: the data's owner's terms, not recorded); and the sha256 of every other file in the
folder; and, when `pack --bench` was given bench results, the p50 of every successful row about this very file (same
sha256) with its runtime, setting, batch and device (latency is not in a manifest: `edgeseq bench` measures it on
the device). Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core.errors import IntegrityError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import Manifest

BUNDLE = "bundle.json"
KIND = "edgeseq app bundle"
MNIST_LICENCE = ("MNIST: Creative Commons Attribution-Share Alike 3.0 (Yann LeCun, Corinna Cortes and"
                 " Christopher J.C. Burges)")
OWN_LICENCE = "not recorded: the terms of the data's owner apply"


def latency(bench: tuple[Any, ...], manifest: Manifest, file: str) -> list[dict[str, Any]]:
    """The p50 rows bundle.json carries: bench rows (BenchResult) about this file (its sha256) that ran; a one-line
    IntegrityError when rows were given and none is about it."""
    mine = [r for r in bench if r.sha256 == manifest.sha256]
    if bench and not mine:
        raise IntegrityError(f"--bench: none of its {len(bench)} row(s) is about {file} (sha256"
                             f" {str(manifest.sha256)[:12]}…): benchmark this file (`edgeseq bench {file}`)")
    return [{"runtime": r.runtime, "setting": r.kernels, "batch": r.batch, "p50_us": r.p50_us,
             "step_p50_us": r.step_p50_us, "threads": r.threads,
             "device": r.environment.get("device") or r.environment.get("cpu"),
             "machine": r.environment.get("machine")}
            for r in mine if r.status == "ok" and r.p50_us is not None]


def describe(manifest: Manifest, file: str, files: dict[str, bytes | Path],
             measured: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """bundle.json's content for the packed `file` and the other `files` (relative path -> bytes, or a source
    path copied as it is); `measured`: its p50 rows (latency())."""
    from edgeseq import __version__  # noqa: PLC0415

    portability = manifest.portability or {}
    golden = manifest.golden or {}
    spec = manifest.data_contract
    hashes = {name: (sha256_file(body) if isinstance(body, Path) else _sha256(body)) for name, body in files.items()}
    return {
        "kind": KIND, "edgeseq_version": __version__, "file": file, "format": manifest.format,
        "recipe": manifest.recipe, "sha256": manifest.sha256,
        "accuracy": {"model_test_accuracy": (manifest.source_keras or {}).get("test_accuracy"),
                     "golden_reference_accuracy": golden.get("reference_accuracy"),
                     "golden_samples": golden.get("samples")},
        "parity": {"measured_on": portability.get("measured_on"),
                   "runs_on": [_cell(c) for c in portability.get("runs_on") or []],
                   "does_not_run_on": [_cell(c) for c in portability.get("does_not_run_on") or []]},
        "latency": measured or "not measured: `edgeseq bench FILE --json > bench.json` on the device, then"
                               " `edgeseq pack FILE --bench bench.json`",
        "data": {"name": (manifest.trained_on or {}).get("name") if isinstance(manifest.trained_on, dict) else None,
                 "mnist": spec.mnist, "licence": MNIST_LICENCE if spec.mnist else OWN_LICENCE},
        "files": dict(sorted(hashes.items())),
    }


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    return {k: cell[k] for k in ("backend", "status", "library", "reason", "agreement", "delta_accuracy_pp")
            if cell.get(k) is not None}


def _sha256(body: bytes) -> str:
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Checked:
    folder: str
    file: str
    files: int                      # files whose sha256 matched
    vectors: int
    passed: int                     # vectors that met the rule
    runtime: str
    backend: str
    failures: tuple[str, ...]       # one line each

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise IntegrityError(f"{path.parent} is not a packed bundle: no {path.name}") from err
    except (OSError, ValueError) as err:
        raise IntegrityError(f"{path}: not readable JSON ({what}): {err}") from err
    if not isinstance(value, dict):
        raise IntegrityError(f"{path}: not a JSON object ({what})")
    return value


def check(folder: Path, threads: int = 1) -> Checked:
    """Re-verify the bundle in `folder` (module docstring): its failures, each one line, or none."""
    from edgeseq import runtimes  # noqa: PLC0415
    from edgeseq.runtimes.guard import Predictor  # noqa: PLC0415

    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"not a folder: {folder}")
    bundle = _read_json(folder / BUNDLE, "bundle.json")
    if bundle.get("kind") != KIND or not isinstance(bundle.get("files"), dict) or not bundle.get("file"):
        raise IntegrityError(f"{folder / BUNDLE} is not an edgeseq bundle description")
    failures = []
    matched = 0
    for name, expected in bundle["files"].items():
        path = folder / name
        if not path.is_file():
            failures.append(f"{name}: missing")
        elif sha256_file(path) != expected:
            failures.append(f"{name}: changed (sha256 differs from bundle.json)")
        else:
            matched += 1
    model = folder / bundle["file"]
    if not model.is_file():
        raise IntegrityError(f"{folder}: the packed file {bundle['file']} is missing")
    if sha256_file(model) != bundle.get("sha256"):
        failures.append(f"{bundle['file']}: changed (sha256 differs from bundle.json)")
    vectors = _read_json(folder / "golden" / "vectors.json", "golden vectors")
    rows = vectors.get("vectors") or []
    if not rows:
        raise IntegrityError(f"{folder}/golden/vectors.json holds no vectors")
    inputs = np.asarray([v["input"] for v in rows], np.float32)
    expected = np.asarray([v["expected"] for v in rows], np.float32)
    limit = (vectors.get("check") or {}).get("max_abs_diff")
    runtime = runtimes.runtimes_for(model)[0]
    with Predictor(threads) as predictor:
        probabilities, backend = predictor.predict(model, runtime, inputs)
    passed = 0
    for i, (row, p, q) in enumerate(zip(rows, probabilities, expected)):
        wrong = []
        if int(np.argmax(p)) != int(row["expected_class"]):
            wrong.append(f"class {int(np.argmax(p))}, expected {row['expected_class']}")
        if limit is not None and float(np.max(np.abs(p - q))) > float(limit):
            wrong.append(f"max |Δp| {float(np.max(np.abs(p - q))):.3g} > {limit:g}")
        if wrong:
            failures.append(f"vector {i} (sample {row.get('sample')}): {'; '.join(wrong)}")
        else:
            passed += 1
    return Checked(str(folder), bundle["file"], matched, len(rows), passed, runtime.value, backend, tuple(failures))
