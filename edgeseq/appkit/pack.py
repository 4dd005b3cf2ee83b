"""`edgeseq pack FILE --out DIR`: what an app developer drops into a project, for one exported file.

    DIR/<file>, <file>.json, <arch>.golden.npz   the file, its manifest, its golden outputs (edgeseq validate DIR
                                                 works on the copy)
    DIR/labels.txt                               one label a line, in output order
    DIR/tensors.json                             inputs and outputs in the file's own order, by name and index
    DIR/golden/vectors.json (+ .npy)             golden test vectors: inputs, expected outputs, tolerance, rule
    DIR/js/example.test.mjs, package.json        a runnable unit test (node example.test.mjs)
    DIR/web/index.html, app.mjs                  the file in the browser: golden self-test on load, classify()
    DIR/js/preprocess.mjs, kotlin/Preprocess.kt, swift/Preprocess.swift
                                                 the data contract as code: raw rows -> the model's input
    DIR/kotlin/<Name>Model.kt                    Android: LiteRT Interpreter by signature name / ONNX Runtime
    DIR/swift/<Name>Model.swift                  iOS: TensorFlowLiteSwift by input index / onnxruntime-objc
    DIR/README.md                                what is where, the tensors, how to run the test
    DIR/bundle.json                              version, accuracy, parity per runtime, the data's licence, and
                                                 every file's sha256 (`edgeseq pack --check DIR`: edgeseq.appkit.bundle)

The folder is written whole or not at all (edgeseq.core.fileio.atomic_folder); DIR must be new or empty."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import formats
from edgeseq.appkit import bundle, code, mobile, preprocess, projects
from edgeseq.appkit.bundle import BUNDLE
from edgeseq.appkit.spec import STEP, AppSpec, app_spec
from edgeseq.appkit.vectors import Vectors, golden_vectors
from edgeseq.artifacts import read_facts
from edgeseq.core.errors import IntegrityError, ModelError
from edgeseq.core.fileio import atomic_folder, check_new_folder
from edgeseq.core.manifest import Manifest, read_manifest, verify_against_manifest
from edgeseq.core.layout import STEP_KIND, FileKey, key_of, manifest_path, named_golden, shown

# the JavaScript packages the examples are tested with (js/package.json pins the same)
JS_VERSIONS = {"onnxruntime-node": "1.30.0", "onnxruntime-web": "1.30.0", "@litertjs/core": "2.5.3"}
PACKED_KINDS = ("exported-model", STEP_KIND)


@dataclass(frozen=True)
class PackResult:
    out: Path
    file: str
    spec: AppSpec = field(repr=False)
    files: tuple[str, ...]          # what was written, relative to `out`
    vectors: int
    max_abs_diff: float | None
    warnings: tuple[str, ...]
    latency: tuple[dict[str, Any], ...] = ()     # the p50 rows bundle.json carries (pack --bench)

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "file": self.file, "kind": self.spec.kind, "files": list(self.files),
                "vectors": self.vectors, "max_abs_diff": self.max_abs_diff, "warnings": list(self.warnings),
                "latency": list(self.latency), "tensors": self.spec.to_dict()}


def app_sibling(path: Path, manifest: Manifest | None) -> Path | None:
    """The `-app` file exported beside `path` for the same model and recipe (float32 input and output, batch 1:
    what the app runtimes load), when there is one and `path` is not it."""
    key = key_of(path, manifest)
    if key is None or key.app:
        return None
    sibling = path.parent / FileKey(key.model, key.format, key.recipe, key.step, key.graph, True).filename
    return sibling if sibling.is_file() else None


def page_notes(path: Path, manifest: Manifest | None, spec: AppSpec) -> list[str]:
    """What the page's runtime was seen to refuse of this file (its format's app code says), and the `-app` sibling
    beside it that it runs, when there is one."""
    return code.app_code(spec).web_warnings(spec, app_sibling(path, manifest))


def labels_of(manifest: Manifest, classes: int) -> list[str]:
    labels = manifest.labels
    if len(labels) == classes:
        return [str(label) for label in labels]
    return [str(k) for k in range(classes)]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _shape(shape: Any) -> str:
    """A shape as a reader in any language reads it: `[N, 28]`, N for a dimension of any size (a dynamic batch)."""
    return "[" + ", ".join("N" if d is None or int(d) < 0 else str(int(d)) for d in shape) + "]"


def _latency_table(measured: list[dict[str, Any]]) -> list[str]:
    def p50(m: dict[str, Any]) -> str:
        step = m["step_p50_us"]
        return f"{m['p50_us']:.1f} µs" + ("" if step is None else f" ({step:.2f} µs a step)")

    if not measured:
        return []
    return ["| runtime | setting | batch | p50 | device |", "|---|---|---|---|---|",
            *(f"| {m['runtime']} | {m['setting'] or ''} | {m['batch']} | {p50(m)} | {m['device']} |"
              for m in measured), ""]


def _readme(spec: AppSpec, vectors: Vectors, manifest: Manifest, warnings: list[str], files: list[str],
            runner: bool, latency: list[dict[str, Any]]) -> str:
    rows = [f"| input {t.index} | `{t.name}` | {_shape(t.shape)} | {t.dtype} |"
            f" {'' if not t.quantized else f'scale {t.scale:g}, zero point {t.zero_point}'} |" for t in spec.inputs]
    rows += [f"| output {t.index} | `{t.name}` | {_shape(t.shape)} | {t.dtype} |"
             f" {'' if not t.quantized else f'scale {t.scale:g}, zero point {t.zero_point}'} |" for t in spec.outputs]
    norm = manifest.normalisation
    how = (f"a step model: feed one row [1, {spec.features}] and the state, read the probabilities and the next"
           " state; start every sequence with zeros, feed each output state back unchanged ("
           + ", ".join(f"`{o.name}` → `{i.name}`" for i, o in spec.states) + ")") if spec.kind == STEP else \
        f"one whole sequence [1, {spec.timesteps}, {spec.features}] in, the probabilities out"
    if spec.kind == STEP:
        measured = (manifest.step or {}).get("reset_rule")
        how += (f". Reset, as measured on one stream of {measured['steps']:,} steps ({measured['measured_by']}):"
                f" {measured['rule']}" if measured else
                ". Reset: not measured for this file (`edgeseq drift FILE --stream 100000 --record`); the contract"
                " says zeros at the start of every sequence")
    tol = vectors.max_abs_diff
    runtime = formats.by_name(spec.format).adapter().APP.web_label
    lines = [f"# {spec.file} in an app", "", f"Packed by `edgeseq pack`. {how}.", "",
             "## In a browser", "",
             f"`web/` is a working page: {runtime} (WASM) runs the file, the golden vectors are checked on load (the"
             " page says how many pass), and `window.edgeseq.classify(sequence)` answers"
             " `{label, index, score, probabilities}`. Serve this folder, not `web/` (the page reads the file,"
             " `labels.txt` and `golden/` from here):", "",
             "```bash", "cd js && ONNXRUNTIME_NODE_INSTALL=skip npm install && cd ..   # the runtime, into js/node_modules",
             "python3 -m http.server 8000                                      # any static server",
             "# open http://127.0.0.1:8000/web/", "```", "",
             "The page's import map resolves the runtime's bare module names to `js/node_modules`; copy that folder"
             " along when you move the page. It runs one WASM thread, so no cross-origin isolation headers are"
             " needed.", "",
             f"Input: {norm.get('input', 'as the manifest says')}; {norm.get('layout', '')}".rstrip("; "), "",
             "Tensors, in the file's own order (positional APIs need this index; by-name APIs the name; N: a"
             " dimension of any size):", "",
             "| | name | shape | dtype | quantization |", "|---|---|---|---|---|", *rows, "",
             f"Golden test vectors (`golden/vectors.json`, also as .npy): {len(vectors.labels)} samples of"
             f" {vectors.source}, one per class, with the reference model's probabilities. Rule: the class equals"
             " `expected_class` on every vector" + (f", and every probability is within {tol:g} of `expected`."
                                                    if tol is not None else
                                                    " (this recipe's tolerance is judged on accuracy over many"
                                                    " samples: `edgeseq validate`)."), "",
             "Raw data to the model's input: `js/preprocess.mjs`, `Preprocess.kt` and `Preprocess.swift` in the"
             " projects (`prepare(rows)`: the manifest's normalisation, and left padding with zero rows to T). The"
             " JavaScript and the Kotlin are tested against edgeseq's own Python (equal on 100 raw inputs).", "",
             *projects.readme_lines(spec, runner),
             "`bundle.json`: the edgeseq version, the accuracy and per-runtime parity the manifest records, the p50"
             " latency measured by `edgeseq bench` (when packed with `--bench`), the data's licence, and every"
             " file's sha256. Re-check the folder where it lands (hashes, then the golden vectors through the file):"
             " `edgeseq pack --check DIR` (exit 1 on any difference).", "",
             *_latency_table(latency),
             "Run the JavaScript unit test: `cd js && ONNXRUNTIME_NODE_INSTALL=skip npm install && node example.test.mjs`"
             " (exit 0: pass; ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's CPU binaries are in its package, and"
             " its install script would otherwise fetch GPU ones from outside the npm registry).", ""]
    if warnings:
        lines += ["Notes:", "", *(f"- {w}" for w in warnings), ""]
    lines += ["Files:", "", *(f"- `{f}`" for f in files), ""]
    return "\n".join(lines)


def packable(path: Path, verify: bool = True) -> tuple[Manifest, AppSpec]:
    """The manifest and AppSpec of a file pack takes (an exported file with its manifest, checked against it unless
    `verify` is False); anything else is one line."""
    if formats.find(path) is None:
        read_facts(path)                    # the one line naming what pack reads
    manifest = read_manifest(path)
    if manifest is None:
        raise IntegrityError(f"{shown(path)} has no manifest ({shown(manifest_path(path).name)}) beside it: pack takes"
                             " a file edgeseq exported, with its manifest and golden outputs")
    if manifest.kind not in PACKED_KINDS:
        raise ModelError(f"{shown(path.name)}: its manifest is a {manifest.kind!r}; pack takes exported files"
                         " (.tflite, .onnx)")
    if verify:
        verify_against_manifest(path, manifest)     # before the file is parsed: a changed file is named as such
    return manifest, app_spec(path, read_facts(path), manifest.data_contract.timesteps)


def checked_vectors(path: Path, manifest: Manifest, spec: AppSpec) -> Vectors:
    """The file's golden vectors (edgeseq.appkit.vectors), refused when they do not fit its tensors."""
    vectors = golden_vectors(path, manifest)
    if vectors.inputs.shape[1:] != (spec.timesteps, spec.features) or vectors.expected.shape[1] != spec.classes:
        raise IntegrityError(f"{shown(path.name)}: its golden samples are {vectors.inputs.shape[1:]} with"
                             f" {vectors.expected.shape[1]} classes, the file reads ({spec.timesteps}, {spec.features})"
                             f" and has {spec.classes}")
    return vectors


def pack(path: Path, out: Path, verify: bool = True, bench: tuple[Any, ...] = ()) -> PackResult:
    """Pack the exported file `path` into the new (or empty) folder `out`; `bench`: bench rows (BenchResult) whose
    p50 about this file goes into bundle.json."""
    path, out = Path(path), Path(out)
    check_new_folder(out)
    manifest, spec = packable(path, verify)
    code.check_dtypes(spec)
    measured = bundle.latency(tuple(bench), manifest, spec.file)
    vectors = checked_vectors(path, manifest, spec)
    labels = labels_of(manifest, spec.classes)
    warnings = page_notes(path, manifest, spec)
    why_not = mobile.unsupported(spec)
    if why_not:
        warnings.append(f"no Android or iOS runner (the projects hold only Preprocess, Classifier and the golden"
                        f" check): {why_not}")
    vectors_json = json.dumps(vectors.to_dict(spec.file, labels)) + "\n"
    labels_txt = "\n".join(labels) + "\n"
    assets = {spec.file: path.read_bytes(), "vectors.json": vectors_json.encode("utf-8"),
              "labels.txt": labels_txt.encode("utf-8")}
    texts: dict[str, str | bytes] = {
        "labels.txt": labels_txt,
        "tensors.json": json.dumps(spec.to_dict(), indent=2) + "\n",
        "golden/vectors.json": vectors_json,
        "golden/inputs.npy": _npy(vectors.inputs), "golden/expected.npy": _npy(vectors.expected),
        "golden/labels.npy": _npy(vectors.labels.astype(np.int64)),
        "js/example.test.mjs": code.javascript(spec, warnings),
        "js/preprocess.mjs": preprocess.javascript(manifest.data_contract),
        **code.web(spec, JS_VERSIONS),
        "js/package.json": code.package_json(spec, JS_VERSIONS),
        **projects.android(spec, manifest.data_contract, assets, runner=not why_not),
        **projects.ios(spec, manifest.data_contract, assets, runner=not why_not),
    }
    copies = [path, manifest_path(path)]
    sidecar = named_golden(path, manifest)
    if sidecar is not None:
        copies.append(sidecar)
    files = [p.name for p in copies] + ["README.md", BUNDLE, *texts]
    texts["README.md"] = _readme(spec, vectors, manifest, warnings, files, runner=not why_not,
                                 latency=measured)
    contents = {name: (body.encode("utf-8") if isinstance(body, str) else body) for name, body in texts.items()}
    others = {**contents, **{p.name: p for p in copies if p != path}}
    texts[BUNDLE] = json.dumps(bundle.describe(manifest, spec.file, others, measured), indent=2) + "\n"
    with atomic_folder(out) as tmp:
        for source in copies:
            shutil.copyfile(source, tmp / source.name)
        for relative, content in texts.items():
            target = tmp / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                target.write_bytes(content)
    return PackResult(out, spec.file, spec, tuple(files), len(vectors.labels), vectors.max_abs_diff, tuple(warnings),
                      tuple(measured))
