"""`edgeseq demo FILES --out DIR`: a static page on which step models (*-step.onnx) read a test sequence, or a
drawn digit, one row at a time in the browser (onnxruntime-web, WASM), with the probabilities after every step
and each step's latency measured there.

    DIR/index.html, demo.js     the page (templates/demo/)
    DIR/<file>.onnx             the step models
    DIR/sequences.json          the models' tensors (the files' own), a few test sequences (one per class) and
                                each model's golden probabilities for them
    DIR/ort/                    onnxruntime-web's WASM build, copied from its npm package

Any static server will do (`python -m http.server -d DIR`); a browser will not run WASM from file://.
The folder is written whole or not at all; DIR must be new or empty."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import golden
from edgeseq.appkit.spec import STEP, app_spec
from edgeseq.appkit.vectors import golden_vectors, pick
from edgeseq.artifacts import read_facts
from edgeseq.core.errors import EdgeseqError, IntegrityError, ModelError
from edgeseq.core.fileio import atomic_folder, check_new_folder
from edgeseq.core.manifest import Manifest, read_manifest, verify_against_manifest
from edgeseq.core.layout import named_golden, shown

# onnxruntime-web's files the page loads (WASM, one thread, no JSEP/WebGPU)
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
PAGE_FILES = ("index.html", "demo.js")


@dataclass(frozen=True)
class DemoResult:
    out: Path
    models: tuple[str, ...]
    sequences: int
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "models": list(self.models), "sequences": self.sequences,
                "files": list(self.files), "serve": f"python -m http.server -d {self.out}"}


def default_node_modules() -> Path:
    """The node_modules of the app runtimes (node_env.js_dir(): `edgeseq setup js`'s folder, or a checkout's js/)."""
    from edgeseq.runtimes.node_env import js_dir  # noqa: PLC0415

    return js_dir() / "node_modules"


def ort_dist(node_modules: Path) -> Path:
    dist = Path(node_modules) / "onnxruntime-web" / "dist"
    missing = [name for name in ORT_FILES if not (dist / name).is_file()]
    if missing:
        raise EdgeseqError(f"onnxruntime-web not found in {shown(node_modules)} (no {missing[0]}): run"
                           " tools/install-js.sh, or name the folder holding it (--node-modules)")
    return dist


def _title(manifest: Manifest, spec: Any) -> str:
    states = (manifest.step or {}).get("states") or []
    cells = {}
    for s in states:
        cells.setdefault(s.get("layer"), (s.get("cell"), s.get("units")))
    layers = " + ".join(f"{cell} {units}" for cell, units in cells.values())
    return f"{manifest.architecture or spec.file} · {manifest.recipe or ''} · {layers}".strip(" ·")


def _model(path: Path, verify: bool) -> tuple[Manifest, Any, Any]:
    if path.suffix != ".onnx":
        raise ModelError(f"{shown(path.name)}: the demo runs .onnx step models in onnxruntime-web (a .tflite file:"
                         " export its .onnx step model)")
    manifest = read_manifest(path)
    if manifest is None:
        raise IntegrityError(f"{shown(path)} has no manifest beside it: the demo takes files edgeseq exported")
    if verify:
        verify_against_manifest(path, manifest)
    facts = read_facts(path)
    spec = app_spec(path, facts, manifest.data_contract.timesteps)
    if spec.kind != STEP:
        raise ModelError(f"{shown(path.name)} is not a step model: the demo feeds one row at a time"
                         " (the *-step.onnx files)")
    if any(t.dtype != "float32" for t in (*spec.inputs, *spec.outputs)):
        raise ModelError(f"{shown(path.name)}: the demo feeds float32 tensors")
    return manifest, spec, golden_vectors(path, manifest)


def build(files: list[Path], out: Path, node_modules: Path | None = None, verify: bool = True) -> DemoResult:
    """Write the demo for the step models `files` into the new (or empty) folder `out`."""
    out = Path(out)
    check_new_folder(out)
    files = list(dict.fromkeys(Path(f) for f in files))
    if len({f.name for f in files}) != len(files):
        raise EdgeseqError("two files of the same name: the demo puts every file in one folder")
    loaded = [(f, *_model(f, verify)) for f in files]
    dist = ort_dist(node_modules or default_node_modules())
    first_manifest, first_spec, _ = loaded[0][1:]
    labels = first_manifest.labels
    stored = {}
    for f, manifest, spec, _ in loaded:
        if (spec.features, spec.classes, spec.timesteps) != (first_spec.features, first_spec.classes, first_spec.timesteps):
            raise ModelError(f"{shown(f.name)} reads other sequences than {shown(files[0].name)}: one demo shows"
                             " models of the same data")
        recorded = manifest.golden or {}
        stored[f.name] = golden.read(named_golden(f, manifest), recorded.get("sha256"), recorded.get("count"))
    base = stored[files[0].name]
    samples = base.dataset()
    # the first sample of each class every model's reference answers right: no panel shows a reference's error
    chosen = pick(base.probabilities, base.labels, first_spec.classes,
                  also=[stored[f.name].probabilities[:base.count] for f in files[1:]])
    for f in files[1:]:
        other = stored[f.name]
        if other.count < base.count or not np.array_equal(other.labels[:base.count], base.labels) \
                or not np.array_equal(other.dataset().x_test[chosen], samples.x_test[chosen]):
            raise IntegrityError(f"{shown(f.name)}'s golden samples differ from {shown(files[0].name)}'s: one demo"
                                 " shows models with the same golden samples")
    tolerance = {f.name: v.max_abs_diff for f, _, _, v in loaded}
    payload = {
        "labels": labels, "normalisation": first_manifest.normalisation, "samples": str(base.info.get("digits")),
        "models": [{"title": _title(m, s), "spec": s.to_dict(), "max_abs_diff": tolerance[f.name],
                    "manifest": {"architecture": m.architecture, "recipe": m.recipe, "graph": m.graph,
                                 "sha256": m.sha256, "step": m.step}}
                   for f, m, s, _ in loaded],
        "sequences": [{"sample": int(i), "label": int(base.labels[i]),
                       "input": np.asarray(samples.x_test[i], np.float32).tolist(),
                       "expected": {f.name: stored[f.name].probabilities[i].tolist() for f in files}}
                      for i in chosen],
    }
    page = resources.files("edgeseq.appkit").joinpath("templates", "demo")
    written = [*PAGE_FILES, "sequences.json", *(f.name for f in files), *(f"ort/{n}" for n in ORT_FILES)]
    with atomic_folder(out) as tmp:
        for name in PAGE_FILES:
            (tmp / name).write_text(page.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
        (tmp / "sequences.json").write_text(json.dumps(payload) + "\n", encoding="utf-8")
        for f in files:
            shutil.copyfile(f, tmp / f.name)
        (tmp / "ort").mkdir()
        for name in ORT_FILES:
            shutil.copyfile(dist / name, tmp / "ort" / name)
    return DemoResult(out, tuple(f.name for f in files), len(chosen), tuple(written))
