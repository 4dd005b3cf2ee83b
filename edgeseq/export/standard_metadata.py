"""Standard metadata, beside edgeseq's own `edgeseq` entry (export.embed), for tools that know nothing of edgeseq:

- TFLite: `TFLITE_METADATA` (tflite-support's metadata_schema.fbs), written with tflite-support's MetadataWriter /
  MetadataPopulator: name, version, description, author, licence; every input and output tensor described;
  the normalisation as NormalizationOptions; the labels as a TENSOR_AXIS_LABELS file (labels.txt, packed into
  the file as the zip the populator appends). Android Studio's ML Model Binding and Netron read it.
- ONNX: the ModelProto's doc_string, model_version and metadata_props (author, license, name, version, labels,
  normalisation, input_layout; the `edgeseq` key stays; ONNX has no author or licence field), the graph's
  doc_string (the layout) and each graph input/output's doc_string.

What to write is derived from the manifest (`describe`, no library imported); the writers import their
library inside. The TFLite writer and reader are tflite-support's (export.tflite_metadata), which is not a
dependency of edgeseq: its 0.4.4 wheel (the last; Python <= 3.11) declares protobuf<4, which no TensorFlow, onnx
or onnxruntime this project pins can share. It runs in a small venv of its own (tools/make-metadata-venv.sh:
`.venv-metadata` in a source checkout, or the Python `EDGESEQ_METADATA_PYTHON` names), one child process per
file, or in this process where it imports. Where it is nowhere, the TFLite file gets no TFLITE_METADATA and its
manifest says why (`standard_metadata`).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeseq.data import DataSpec, spec_of_manifest
from edgeseq.data.spec import NormKind
from edgeseq.core.errors import ExportError
from edgeseq import formats
from edgeseq.export import tflite_metadata
from edgeseq.core.manifest import Manifest

AUTHOR = "edgeseq"
LICENCE = ("Apache-2.0 (edgeseq's licence, for the file as produced); the data the model was trained on may carry"
           " its own terms: see the model's provider")
LABELS_FILE = tflite_metadata.LABELS_FILE
TFLITE_ENTRY = "TFLITE_METADATA"
TFLITE_SUPPORT = tflite_metadata.DIST
METADATA_PYTHON_ENV = "EDGESEQ_METADATA_PYTHON"
METADATA_VENV = ".venv-metadata"
CHILD_TIMEOUT_S = 300      # one file's metadata takes about a second; a child that hangs is an error, not a wait


@dataclass(frozen=True)
class TensorText:
    tensor: str            # the name in the file (TFLite: the raw tensor name; ONNX: the graph input/output)
    name: str              # the name an app uses (the signature name where there is one)
    description: str
    normalised: bool = False   # takes the normalised data (gets NormalizationOptions)
    labels: bool = False       # the class probabilities (gets the labels file)


@dataclass(frozen=True)
class StandardMetadata:
    name: str
    version: str
    version_number: int            # ONNX model_version (int64)
    description: str
    author: str
    licence: str
    labels: tuple[str, ...]
    mean: tuple[float, ...]        # NormalizationOptions: (x - mean) / std, per feature (one value: every feature)
    std: tuple[float, ...]
    input_range: tuple[float, float] | None   # the normalised input's range where it is known (MNIST: 0..1)
    layout: str
    inputs: tuple[TensorText, ...]
    outputs: tuple[TensorText, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _version_int(version: str) -> int:
    """ONNX model_version (int64) from edgeseq's version: major * 1e6 + minor * 1e3 + patch (0.1.0 -> 1000)."""
    parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in version.split(".")[:3]]
    major, minor, patch = (parts + [0, 0, 0])[:3]
    return major * 1_000_000 + minor * 1_000 + patch


def _dtype_note(tensor: dict[str, Any]) -> str:
    if tensor.get("scale") is None:
        return tensor["dtype"]
    return (f"{tensor['dtype']}, quantized: real = scale * (q - zero_point) with scale {tensor['scale']:.9g},"
            f" zero_point {tensor['zero_point']}")


def _normalisation(spec: DataSpec) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, float] | None]:
    if spec.normalisation.kind == NormKind.PIXELS:      # x / 255 is (x - 0) / 255, the same for every feature
        return (0.0,), (255.0,), (0.0, 1.0)
    return spec.normalisation.mean, spec.normalisation.std, None


def describe(manifest: Manifest, version: str) -> StandardMetadata:
    """What the standard metadata says about the exported file the manifest describes."""
    spec = spec_of_manifest(manifest)
    mean, std, input_range = _normalisation(spec)
    t, f, k = spec.timesteps, spec.features, spec.classes
    norm = (f"raw values normalised as (x - mean[f]) / std[f] per feature f (mean {list(mean)}, std {list(std)};"
            f" a single value applies to every feature); lengths: {spec.lengths_rule()}")
    step = manifest.step
    if step:
        inputs, outputs = _step_tensors(manifest, step, f, k)
        how = (f"a step model: feed one timestep (1 x {f} features, normalised) and the recurrent states; "
               f"{step['contract']}. The probabilities are softmax probabilities over the labels (the class is the"
               f" argmax); after row {t} they are the whole sequence's.")
        layout = f"row: batch x {f} features (one timestep of a {t}-step sequence); states: batch x units"
    else:
        inputs, outputs = _whole_tensors(manifest, t, f, k)
        how = (f"feed batch x {t} timesteps x {f} features ({manifest.batch or 'dynamic'} batch); "
               "the output is softmax probabilities over the labels, the class is the argmax.")
        layout = f"batch x {t} timesteps x {f} features"
    usage = f" {manifest.usage_note}." if manifest.stateful and manifest.usage_note else ""
    description = (f"edgeseq {manifest.architecture} sequence classifier, {manifest.format} recipe"
                   f" {manifest.recipe} ({manifest.recipe_description or ''}), graph {manifest.graph}."
                   f" {how} Input: {norm}. Classes ({k}): {', '.join(spec.labels[:20])}"
                   f"{' ...' if k > 20 else ''}.{usage}")
    return StandardMetadata(
        name=f"edgeseq {manifest.architecture} ({manifest.format} {manifest.recipe}"
             f"{', step' if step else ''})",
        version=f"edgeseq {version}, recipe {manifest.format}/{manifest.recipe}",
        version_number=_version_int(version),
        description=description, author=AUTHOR, licence=LICENCE, labels=spec.labels, mean=tuple(mean),
        std=tuple(std), input_range=input_range, layout=layout, inputs=inputs, outputs=outputs)


def _whole_tensors(manifest: Manifest, t: int, f: int, k: int) -> tuple[tuple[TensorText, ...], ...]:
    (x,), (y,) = manifest.inputs, manifest.outputs
    return ((TensorText(x["name"], x.get("signature_name") or _plain(x["name"]),
                        f"the sequence: batch x {t} timesteps x {f} features, normalised ({_dtype_note(x)})",
                        normalised=True),),
            (TensorText(y["name"], y.get("signature_name") or _plain(y["name"]),
                        f"softmax probabilities: batch x {k} classes, in the order of the labels file"
                        f" ({_dtype_note(y)}); the class is the argmax", labels=True),))


def _step_tensors(manifest: Manifest, step: dict[str, Any], f: int, k: int) -> tuple[tuple[TensorText, ...], ...]:
    states = {s["name"]: s for s in step["states"]}
    outputs_of = {s["output"]: s for s in step["states"]}

    def state(s: dict[str, Any], fed: bool) -> str:
        what = "hidden state h" if s["name"].startswith("h") else "cell state c"
        return (f"{what} of recurrent layer {s['layer']} ({s['cell']}): batch x {s['units']} units, float32; "
                + ("zeros at the start of a sequence, then the previous step's "
                   f"{s['output']}" if fed else f"feed it back as {s['name']} for the next row"))

    def text(tensor: dict[str, Any], fed: bool) -> TensorText:
        name = tensor.get("signature_name") or _plain(tensor["name"])
        if fed:
            if name in states:
                return TensorText(tensor["name"], name, state(states[name], True))
            return TensorText(tensor["name"], name, f"one timestep: batch x {f} features, normalised"
                              f" ({_dtype_note(tensor)})", normalised=True)
        if name in outputs_of:
            return TensorText(tensor["name"], name, state(outputs_of[name], False))
        return TensorText(tensor["name"], name, f"softmax probabilities after this row: batch x {k} classes, in the"
                          f" order of the labels file ({_dtype_note(tensor)})", labels=True)

    return (tuple(text(x, True) for x in manifest.inputs), tuple(text(y, False) for y in manifest.outputs))


def _plain(name: str) -> str:
    """serving_default_pixels:0 -> pixels (a TFLite tensor name without its signature prefix and index)."""
    return name.removeprefix("serving_default_").split(":")[0]


def write(path: Path, manifest: Manifest, version: str) -> dict[str, Any]:
    """Write the standard metadata into the file at `path`, in place; returns the manifest's `standard_metadata`
    section (what was written, or why not)."""
    meta = describe_file(Path(path), manifest, version)
    try:
        return formats.by_suffix(path).adapter().write_standard_metadata(Path(path), meta)
    except ExportError:
        raise
    except Exception as err:  # noqa: BLE001  (flatbuffers/protobuf/tflite-support errors have no common base)
        raise ExportError(f"cannot write standard metadata in {Path(path).name}: {type(err).__name__}: {err}") from err


def describe_file(path: Path, manifest: Manifest, version: str) -> StandardMetadata:
    """describe(), with the tensor names a TFLite file's signature gives them."""
    return describe(_signature_named(manifest, path), version)


def _signature_named(manifest: Manifest, path: Path) -> Manifest:
    """The manifest with each TFLite tensor's signature name (what apps call it: `probabilities`, not
    `StatefulPartitionedCall:0`) read from the file where the manifest, written before it recorded them, has none."""
    if not formats.by_suffix(path).adapter().SIGNATURE_NAMES:
        return manifest
    from edgeseq.artifacts import read_facts  # noqa: PLC0415

    facts = read_facts(path)
    signed = {t.name: t.signature_name for t in (*facts.inputs, *facts.outputs) if t.signature_name}

    def named(tensors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [t if t.get("signature_name") or t["name"] not in signed else t | {"signature_name": signed[t["name"]]}
                for t in tensors]
    return manifest.replace(inputs=named(manifest.inputs), outputs=named(manifest.outputs))


# ---------------------------------------------------------------- TFLite

@dataclass(frozen=True)
class TfliteWriter:
    """Where tflite-support runs: in this process (`python` None) or in another Python (the metadata venv)."""
    version: str                   # "tflite-support 0.4.4"
    python: str | None = None

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.python is None:
            return tflite_metadata.answer(request)
        done = subprocess.run([self.python, tflite_metadata.__file__], input=json.dumps(request),
                              capture_output=True, text=True, check=False, env=_child_env(), timeout=CHILD_TIMEOUT_S)
        try:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            answer = {"error": f"no answer (exit {done.returncode}): {done.stderr.strip()[-300:]}"}
        if "error" in answer:
            raise ExportError(f"{self.version} in {self.python}: {answer['error']}")
        return answer


def _child_env() -> dict[str, str]:
    """The child Python's environment: its own venv, none of this one's PYTHONPATH (edgeseq's worktree or site
    packages would bring this side's protobuf and numpy)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def user_metadata_venv() -> Path:
    """Where `edgeseq setup metadata` makes the venv by default: edgeseq/metadata-venv under $XDG_DATA_HOME, else
    ~/.local/share."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "edgeseq" / "metadata-venv"


def default_metadata_python() -> Path:
    """The metadata venv: a source checkout's (tools/make-metadata-venv.sh, beside the package) where there is one,
    else the user's (`edgeseq setup metadata`)."""
    checkout = Path(__file__).resolve().parents[2] / METADATA_VENV / "bin" / "python"
    return checkout if checkout.is_file() else user_metadata_venv() / "bin" / "python"


@functools.cache
def tflite_writer() -> TfliteWriter | str:
    """Where TFLITE_METADATA can be written and read, or why nowhere: the Python `EDGESEQ_METADATA_PYTHON` names
    (when set, only that one), else this process when tflite-support imports here, else the source checkout's
    metadata venv (default_metadata_python())."""
    named = os.environ.get(METADATA_PYTHON_ENV)
    if named:
        return _probe(named) if Path(named).is_file() else f"{METADATA_PYTHON_ENV}={named} is not a file"
    try:
        tflite_metadata.load()
        return TfliteWriter(tflite_metadata.version())
    except (ImportError, OSError) as err:       # OSError: a native library it is linked against is missing
        here = f"{TFLITE_SUPPORT} is not usable in this Python ({err})"
    venv = default_metadata_python()
    if venv.is_file():
        found = _probe(str(venv))
        return found if isinstance(found, TfliteWriter) else f"{here}; {found}"
    return (f"{here}, and there is no metadata venv (`edgeseq setup metadata` makes one; or set"
            f" {METADATA_PYTHON_ENV}). {TFLITE_SUPPORT} is not a dependency of edgeseq: its 0.4.4 wheel (Python <="
            " 3.11) declares protobuf<4, which TensorFlow and onnx cannot share")


def _probe(python: str) -> TfliteWriter | str:
    try:
        return TfliteWriter(TfliteWriter("?", python).run({"op": "probe"})["writer"], python)
    except (ExportError, OSError, subprocess.TimeoutExpired) as err:
        return f"{TFLITE_SUPPORT} is not usable in {python}: {err}"


def write_tflite(path: Path, meta: StandardMetadata) -> dict[str, Any]:
    """TFLITE_METADATA written into the TFLite file at `path` (formats.tflite.write_standard_metadata calls it)."""
    writer = tflite_writer()
    if isinstance(writer, str):
        return {"tflite": None, "reason": writer}
    from ai_edge_litert import schema_py_generated as litert  # noqa: PLC0415

    original = path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        bare, out = Path(tmp) / f"bare-{path.name}", Path(tmp) / path.name
        if has_tflite_metadata(original):       # written again: onto the model without it
            bare.write_bytes(strip_tflite(original))
        else:
            bare.write_bytes(original)
        writer.run({"op": "write", "model": str(bare), "out": str(out), "meta": meta.to_dict(),
                    "schema": litert.__file__})
        written = out.read_bytes()
    _check_nothing_dropped(original, written)
    path.write_bytes(written)
    return {"tflite": TFLITE_ENTRY, "writer": writer.version, "associated_files": [LABELS_FILE]}


def read_tflite(path: Path) -> dict[str, Any]:
    """TFLITE_METADATA as tflite-support's MetadataDisplayer (the official reader) reads it: `metadata` (its JSON),
    `packed_files` and `files` (name -> text), `reader`. ExportError where no tflite-support can be used."""
    writer = tflite_writer()
    if isinstance(writer, str):
        raise ExportError(writer)
    return writer.run({"op": "show", "model": str(Path(path).resolve())})


def strip_tflite(buf: bytes) -> bytes:
    """The model without TFLITE_METADATA (its entry, its buffer, the appended labels zip), re-packed with LiteRT's
    schema (the populator re-packs the same way): what the metadata is written onto, so that writing it again
    gives the same bytes. A model without it comes back re-packed, unchanged otherwise."""
    import flatbuffers  # noqa: PLC0415
    from ai_edge_litert import schema_py_generated as litert  # noqa: PLC0415

    model = litert.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    entry = next((m for m in model.metadata or [] if m.name in (TFLITE_ENTRY, TFLITE_ENTRY.encode())), None)
    if entry is not None:
        if entry.buffer != len(model.buffers) - 1:
            raise ExportError(f"the {TFLITE_ENTRY} buffer is not the model's last: it cannot be removed")
        model.metadata = [m for m in model.metadata if m is not entry]
        model.buffers = model.buffers[:-1]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def has_tflite_metadata(buf: bytes) -> bool:
    from ai_edge_litert import schema_py_generated as litert  # noqa: PLC0415

    model = litert.Model.GetRootAs(bytearray(buf), 0)
    return any(model.Metadata(i).Name() == TFLITE_ENTRY.encode() for i in range(model.MetadataLength()))


def _check_nothing_dropped(before: bytes, after: bytes) -> None:
    """Nothing but the metadata changed (see tflite_metadata.populate): both re-packed with LiteRT's schema and
    without TFLITE_METADATA, the file after must be the file before."""
    if strip_tflite(before) != strip_tflite(after):
        raise ExportError("writing TFLITE_METADATA changed the model (tflite-support's schema copy dropped a field)")
