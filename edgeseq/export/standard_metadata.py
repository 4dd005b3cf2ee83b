"""Standard metadata, beside edgeseq's own `edgeseq` entry (export.embed), for tools that know nothing of edgeseq:

- TFLite: `TFLITE_METADATA` (tflite-support's metadata_schema.fbs), written with tflite-support's MetadataWriter /
  MetadataPopulator: name, version, description, author, licence; every input and output tensor described;
  the normalisation as NormalizationOptions; the labels as a TENSOR_AXIS_LABELS file (labels.txt, packed into
  the file as the zip the populator appends). Android Studio's ML Model Binding and Netron read it.
- ONNX: the ModelProto's doc_string, model_version and metadata_props (author, license, name, version, labels,
  normalisation, input_layout; the `edgeseq` key stays; ONNX has no author or licence field), the graph's
  doc_string (the layout) and each graph input/output's doc_string.

What to write is derived from the manifest (`describe`, no library imported); the writers import their
library inside. tflite-support is optional: its 0.4.4 wheel (the last) declares protobuf<4, which no
TensorFlow, onnx or onnxruntime this project pins can share, and its native modules need libusb-1.0 (a system
library). Without it the TFLite file gets no TFLITE_METADATA and its manifest says why (`standard_metadata`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from edgeseq.data import DataSpec, spec_of_manifest
from edgeseq.data.spec import NormKind
from edgeseq.errors import ExportError

AUTHOR = "edgeseq"
LICENCE = ("Apache-2.0 (edgeseq's licence, for the file as produced); the data the model was trained on may carry"
           " its own terms: see the model's provider")
LABELS_FILE = "labels.txt"
TFLITE_ENTRY = "TFLITE_METADATA"
TFLITE_SUPPORT = "tflite-support"


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


def describe(manifest: dict[str, Any], version: str) -> StandardMetadata:
    """What the standard metadata says about the exported file the manifest describes."""
    spec = spec_of_manifest(manifest)
    mean, std, input_range = _normalisation(spec)
    t, f, k = spec.timesteps, spec.features, spec.classes
    norm = (f"raw values normalised as (x - mean[f]) / std[f] per feature f (mean {list(mean)}, std {list(std)};"
            f" a single value applies to every feature); lengths: {spec.lengths_rule()}")
    step = manifest.get("step")
    if step:
        inputs, outputs = _step_tensors(manifest, step, f, k)
        how = (f"a step model: feed one timestep (1 x {f} features, normalised) and the recurrent states; "
               f"{step['contract']}. The probabilities are softmax probabilities over the labels (the class is the"
               f" argmax); after row {t} they are the whole sequence's.")
        layout = f"row: batch x {f} features (one timestep of a {t}-step sequence); states: batch x units"
    else:
        inputs, outputs = _whole_tensors(manifest, t, f, k)
        how = (f"feed batch x {t} timesteps x {f} features ({manifest.get('batch', 'dynamic')} batch); "
               "the output is softmax probabilities over the labels, the class is the argmax.")
        layout = f"batch x {t} timesteps x {f} features"
    usage = f" {manifest['usage_note']}." if manifest.get("stateful") and manifest.get("usage_note") else ""
    description = (f"edgeseq {manifest['architecture']} sequence classifier, {manifest['format']} recipe"
                   f" {manifest['recipe']} ({manifest.get('recipe_description', '')}), graph {manifest.get('graph')}."
                   f" {how} Input: {norm}. Classes ({k}): {', '.join(spec.labels[:20])}"
                   f"{' ...' if k > 20 else ''}.{usage}")
    return StandardMetadata(
        name=f"edgeseq {manifest['architecture']} ({manifest['format']} {manifest['recipe']}"
             f"{', step' if step else ''})",
        version=f"edgeseq {version}, recipe {manifest['format']}/{manifest['recipe']}",
        version_number=_version_int(version),
        description=description, author=AUTHOR, licence=LICENCE, labels=spec.labels, mean=tuple(mean),
        std=tuple(std), input_range=input_range, layout=layout, inputs=inputs, outputs=outputs)


def _whole_tensors(manifest: dict[str, Any], t: int, f: int, k: int) -> tuple[tuple[TensorText, ...], ...]:
    (x,), (y,) = manifest["inputs"], manifest["outputs"]
    return ((TensorText(x["name"], x.get("signature_name") or _plain(x["name"]),
                        f"the sequence: batch x {t} timesteps x {f} features, normalised ({_dtype_note(x)})",
                        normalised=True),),
            (TensorText(y["name"], y.get("signature_name") or _plain(y["name"]),
                        f"softmax probabilities: batch x {k} classes, in the order of the labels file"
                        f" ({_dtype_note(y)}); the class is the argmax", labels=True),))


def _step_tensors(manifest: dict[str, Any], step: dict[str, Any], f: int, k: int) -> tuple[tuple[TensorText, ...], ...]:
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

    return (tuple(text(x, True) for x in manifest["inputs"]), tuple(text(y, False) for y in manifest["outputs"]))


def _plain(name: str) -> str:
    """serving_default_pixels:0 -> pixels (a TFLite tensor name without its signature prefix and index)."""
    return name.removeprefix("serving_default_").split(":")[0]


def write(path: Path, manifest: dict[str, Any], version: str) -> dict[str, Any]:
    """Write the standard metadata into the file at `path`, in place; returns the manifest's `standard_metadata`
    section (what was written, or why not)."""
    meta = describe(manifest, version)
    try:
        if Path(path).suffix == ".onnx":
            return _write_onnx(Path(path), meta)
        return _write_tflite(Path(path), meta)
    except ExportError:
        raise
    except Exception as err:  # noqa: BLE001  (flatbuffers/protobuf/tflite-support errors have no common base)
        raise ExportError(f"cannot write standard metadata in {Path(path).name}: {type(err).__name__}: {err}") from err


# ---------------------------------------------------------------- ONNX

def onnx_props(meta: StandardMetadata) -> dict[str, str]:
    """The metadata_props keys written. ONNX's ModelProto has no author or licence field (it has producer_name,
    which the converter sets, model_version, doc_string and domain): those two are props, as ultralytics names
    them."""
    return {"author": meta.author, "license": meta.licence, "name": meta.name, "version": meta.version,
            "labels": json.dumps(list(meta.labels)),
            "normalisation": json.dumps({"formula": "(x - mean[f]) / std[f] per feature f (a single value: every feature)",
                                         "mean": list(meta.mean), "std": list(meta.std)}),
            "input_layout": meta.layout}


def _write_onnx(path: Path, meta: StandardMetadata) -> dict[str, Any]:
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    model.doc_string = meta.description
    model.graph.doc_string = meta.layout          # onnxruntime: graph_description
    model.model_version = meta.version_number
    props = onnx_props(meta)
    kept = [p for p in model.metadata_props if p.key not in props]     # the `edgeseq` entry stays
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    texts = {t.tensor: t.description for t in (*meta.inputs, *meta.outputs)}
    for value in (*model.graph.input, *model.graph.output):
        if value.name in texts:
            value.doc_string = texts[value.name]
    onnx.save(model, str(path))
    return {"onnx": ["doc_string", "graph.doc_string", "model_version", *(f"metadata_props.{k}" for k in props),
                     "graph input/output doc_string"],
            "model_version": model.model_version}


# ---------------------------------------------------------------- TFLite

def import_writer() -> tuple[Any, Any, Any] | str:
    """tflite-support's metadata modules (metadata, metadata_info, metadata_writer), or why they cannot be used.

    tflite-support's metadata.py imports TensorFlow when it can (only to open files through tf.io.gfile, falling
    back to open()): it is blocked during the import, so that the exporting process keeps TensorFlow out."""
    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # `import tensorflow` raises ImportError
    try:
        from tensorflow_lite_support.metadata.python import metadata  # noqa: PLC0415
        from tensorflow_lite_support.metadata.python.metadata_writers import (  # noqa: PLC0415
            metadata_info, metadata_writer)
    except ImportError as err:
        return (f"{TFLITE_SUPPORT} is not usable here ({err}); it is not a dependency of edgeseq: its 0.4.4 wheel"
                " (Python <= 3.11) declares protobuf<4, and its native modules need libusb-1.0")
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return metadata, metadata_info, metadata_writer


def _tensor_md(schema: Any, info: Any, text: TensorText, meta: StandardMetadata, tensor_type: int,
               label_file: str) -> Any:
    """One tensor's TensorMetadataT, made with tflite-support's own classes."""
    if text.labels:
        md = info.ClassificationTensorMd(name=text.name, description=text.description,
                                         label_files=[info.LabelFileMd(label_file)], tensor_type=tensor_type,
                                         tensor_name=text.tensor)
        return md.create_metadata()
    low_high = meta.input_range if text.normalised and meta.input_range else None
    md = info.TensorMd(name=text.name, description=text.description, tensor_name=text.tensor,
                       min_values=[low_high[0]] if low_high else None,
                       max_values=[low_high[1]] if low_high else None)
    tensor = md.create_metadata()
    if text.normalised:
        # TensorMd has no normalisation (only the image helper does, with image properties that would be wrong
        # here): the process unit is added as the schema defines it. It describes raw -> float input. An int8
        # recipe's input quantization (scale, zero_point) is not metadata: it is in the tensor itself, and the
        # app quantizes the normalised value with it (the tensor descriptions repeat the two numbers).
        unit = schema.ProcessUnitT()
        unit.optionsType = schema.ProcessUnitOptions.NormalizationOptions
        unit.options = schema.NormalizationOptionsT()
        unit.options.mean = list(meta.mean)
        unit.options.std = list(meta.std)
        tensor.processUnits = [unit]
    return tensor


def _write_tflite(path: Path, meta: StandardMetadata) -> dict[str, Any]:
    writer = import_writer()
    if isinstance(writer, str):
        return {"tflite": None, "reason": writer}
    metadata, info, metadata_writer = writer
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as schema  # noqa: PLC0415
    from tensorflow_lite_support.metadata.python.metadata_writers import writer_utils  # noqa: PLC0415

    original = path.read_bytes()
    model_buffer = bytearray(original)
    in_types = dict(zip(writer_utils.get_input_tensor_names(model_buffer),
                        writer_utils.get_input_tensor_types(model_buffer)))
    out_types = dict(zip(writer_utils.get_output_tensor_names(model_buffer),
                         writer_utils.get_output_tensor_types(model_buffer)))
    with tempfile.TemporaryDirectory() as tmp:
        label_file = str(Path(tmp) / LABELS_FILE)
        Path(label_file).write_text("".join(f"{label}\n" for label in meta.labels), encoding="utf-8")
        general = info.GeneralMd(name=meta.name, version=meta.version, description=meta.description,
                                 author=meta.author, licenses=meta.licence)
        model_md = general.create_metadata()
        inputs = _ordered([_tensor_md(schema, info, t, meta, in_types.get(t.tensor), label_file)
                           for t in meta.inputs], meta.inputs, list(in_types))
        outputs = _ordered([_tensor_md(schema, info, t, meta, out_types.get(t.tensor), label_file)
                            for t in meta.outputs], meta.outputs, list(out_types))
        writer = metadata_writer.MetadataWriter.create_from_metadata(
            model_buffer, model_md, inputs, outputs, associated_files=[label_file])
        with _current_tflite_schema(metadata):
            written = writer.populate()
    _check_nothing_dropped(original, bytes(written))
    path.write_bytes(bytes(written))
    return {"tflite": TFLITE_ENTRY, "writer": f"{TFLITE_SUPPORT} {_version_of(TFLITE_SUPPORT)}",
            "associated_files": [LABELS_FILE]}


@contextmanager
def _current_tflite_schema(metadata: Any) -> Iterator[None]:
    """The populator re-packs the whole model with tflite-support's own copy of the TFLite schema (2023), which
    drops fields newer converters write: seen, FullyConnectedOptions.quantized_bias_type (INT64 bias of the
    int16x8 recipe) reset to 0. While it populates, it packs with LiteRT's current schema module instead (the
    same flatc-generated classes; the module the embed step uses too). _check_nothing_dropped verifies."""
    from ai_edge_litert import schema_py_generated as litert  # noqa: PLC0415

    kept = metadata._schema_fb
    metadata._schema_fb = litert
    try:
        yield
    finally:
        metadata._schema_fb = kept


def _ordered(tensors: list[Any], texts: tuple[TensorText, ...], order: list[str]) -> list[Any]:
    """Tensor metadata in the order of the subgraph's inputs/outputs (the schema pairs them by position)."""
    by_name = {t.tensor: md for t, md in zip(texts, tensors)}
    if sorted(by_name) != sorted(order):
        raise ExportError(f"the manifest's tensors {sorted(by_name)} are not the file's {sorted(order)}")
    return [by_name[name] for name in order]


def _check_nothing_dropped(before: bytes, after: bytes) -> None:
    """Nothing but the metadata changed (see _current_tflite_schema): re-packed with LiteRT's schema, the file
    after, without its TFLITE_METADATA entry and buffer, must be the file before."""
    import flatbuffers  # noqa: PLC0415
    from ai_edge_litert import schema_py_generated as litert  # noqa: PLC0415

    def packed(buf: bytes, drop: bool) -> bytes:
        model = litert.ModelT.InitFromPackedBuf(bytearray(buf), 0)
        if drop:
            entry = next(m for m in model.metadata if m.name in (TFLITE_ENTRY, TFLITE_ENTRY.encode()))
            if entry.buffer != len(model.buffers) - 1:
                raise ExportError("the TFLite metadata writer did not append its buffer last")
            model.metadata = [m for m in model.metadata if m is not entry]
            model.buffers = model.buffers[:-1]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    if packed(before, False) != packed(after, True):
        raise ExportError("writing TFLITE_METADATA changed the model (tflite-support's schema copy dropped a field)")


def _version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
