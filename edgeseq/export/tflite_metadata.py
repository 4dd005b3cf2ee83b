"""TFLITE_METADATA written and read with tflite-support (its MetadataWriter / MetadataPopulator and its
MetadataDisplayer), in whichever Python has it: this file imports nothing of edgeseq, so that it also runs as a
script in the small metadata venv (tools/make-metadata-venv.sh), where tflite-support 0.4.4 and its protobuf<4 live
apart from TensorFlow and onnx:

    .venv-metadata/bin/python edgeseq/export/tflite_metadata.py < request.json    # one JSON request, one answer

Requests: {"op": "probe"}; {"op": "write", "model": IN, "out": OUT, "meta": StandardMetadata.to_dict(),
"schema": PATH}; {"op": "show", "model": PATH}. The answer is one JSON object on stdout ({"error": ...} and exit 1
when the request fails). edgeseq.export.standard_metadata decides where it runs and checks what it wrote.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

DIST = "tflite-support"
LABELS_FILE = "labels.txt"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)     # the earliest a zip can say: the labels entry does not record when it was written


def _preload_libusb() -> None:
    """tflite-support's native modules are linked against libusb-1.0.so.0 (never called for metadata). Where the
    system has none, the `libusb-package` wheel's copy (SONAME libusb-1.0.so.0) is loaded first, globally."""
    try:
        import libusb_package  # noqa: PLC0415
    except ImportError:
        return
    found = sorted(Path(libusb_package.__file__).parent.glob("libusb-1.0*.so*"))
    if found:
        ctypes.CDLL(str(found[0]), mode=ctypes.RTLD_GLOBAL)


def load() -> tuple[Any, Any, Any, Any, Any]:
    """tflite-support's metadata, metadata_info, metadata_writer, writer_utils and metadata schema modules.

    Its metadata.py imports TensorFlow when it can (only to open files through tf.io.gfile, falling back to open()):
    that import is blocked, so that a process without TensorFlow loaded keeps it out."""
    _preload_libusb()
    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # `import tensorflow` raises ImportError
    try:
        from tensorflow_lite_support.metadata import metadata_schema_py_generated as schema  # noqa: PLC0415
        from tensorflow_lite_support.metadata.python import metadata  # noqa: PLC0415
        from tensorflow_lite_support.metadata.python.metadata_writers import (  # noqa: PLC0415
            metadata_info,
            metadata_writer,
            writer_utils,
        )
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return metadata, metadata_info, metadata_writer, writer_utils, schema


def version() -> str:
    from importlib.metadata import version as dist_version  # noqa: PLC0415

    return f"{DIST} {dist_version(DIST)}"


def _tensor_md(schema: Any, info: Any, text: dict[str, Any], meta: dict[str, Any], tensor_type: int,
               label_file: str) -> Any:
    """One tensor's TensorMetadataT, made with tflite-support's own classes."""
    if text["labels"]:
        md = info.ClassificationTensorMd(name=text["name"], description=text["description"],
                                         label_files=[info.LabelFileMd(label_file)], tensor_type=tensor_type,
                                         tensor_name=text["tensor"])
        return md.create_metadata()
    low_high = meta["input_range"] if text["normalised"] and meta["input_range"] else None
    md = info.TensorMd(name=text["name"], description=text["description"], tensor_name=text["tensor"],
                       min_values=[low_high[0]] if low_high else None,
                       max_values=[low_high[1]] if low_high else None)
    tensor = md.create_metadata()
    if text["normalised"]:
        # TensorMd has no normalisation (only the image helper does, with image properties that would be wrong
        # here): the process unit is added as the schema defines it. It describes raw -> float input. An int8
        # recipe's input quantization (scale, zero_point) is not metadata: it is in the tensor itself, and the
        # app quantizes the normalised value with it (the tensor descriptions repeat the two numbers).
        unit = schema.ProcessUnitT()
        unit.optionsType = schema.ProcessUnitOptions.NormalizationOptions
        unit.options = schema.NormalizationOptionsT()
        unit.options.mean = list(meta["mean"])
        unit.options.std = list(meta["std"])
        tensor.processUnits = [unit]
    return tensor


def _ordered(tensors: list[Any], texts: list[dict[str, Any]], order: list[str]) -> list[Any]:
    """Tensor metadata in the order of the subgraph's inputs/outputs (the schema pairs them by position)."""
    by_name = {t["tensor"]: md for t, md in zip(texts, tensors)}
    if sorted(by_name) != sorted(order):
        raise ValueError(f"the manifest's tensors {sorted(by_name)} are not the file's {sorted(order)}")
    return [by_name[name] for name in order]


def _module_from(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("litert_schema_py_generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def populate(model: bytes, meta: dict[str, Any], schema_path: str | None) -> bytes:
    """The model with TFLITE_METADATA and the labels file, as tflite-support's MetadataWriter writes them.

    Two things differ from a plain `populate()`: (1) the populator re-packs the whole model with tflite-support's
    own copy of the TFLite schema (2023), which drops fields newer converters write (seen:
    FullyConnectedOptions.quantized_bias_type of the int16x8 recipe reset to 0); given `schema_path` (LiteRT's
    current schema_py_generated.py, the same flatc-generated classes) it packs with that instead; the caller
    checks that nothing but the metadata changed. (2) The labels zip entry's date is fixed (ZIP_DATE), so the same
    model and metadata give the same bytes."""
    metadata, info, metadata_writer, writer_utils, schema = load()
    buffer = bytearray(model)
    in_types = dict(zip(writer_utils.get_input_tensor_names(buffer), writer_utils.get_input_tensor_types(buffer)))
    out_types = dict(zip(writer_utils.get_output_tensor_names(buffer),
                         writer_utils.get_output_tensor_types(buffer)))
    with tempfile.TemporaryDirectory() as tmp:
        label_file = str(Path(tmp) / LABELS_FILE)
        Path(label_file).write_text("".join(f"{label}\n" for label in meta["labels"]), encoding="utf-8")
        general = info.GeneralMd(name=meta["name"], version=meta["version"], description=meta["description"],
                                 author=meta["author"], licenses=meta["licence"])
        inputs = _ordered([_tensor_md(schema, info, t, meta, in_types.get(t["tensor"]), label_file)
                           for t in meta["inputs"]], meta["inputs"], list(in_types))
        outputs = _ordered([_tensor_md(schema, info, t, meta, out_types.get(t["tensor"]), label_file)
                            for t in meta["outputs"]], meta["outputs"], list(out_types))
        writer = metadata_writer.MetadataWriter.create_from_metadata(
            buffer, general.create_metadata(), inputs, outputs, associated_files=[label_file])
        kept = metadata._schema_fb
        if schema_path:
            metadata._schema_fb = _module_from(schema_path)
        try:
            written = bytes(writer.populate())
        finally:
            metadata._schema_fb = kept
    return fixed_zip_dates(written)


def fixed_zip_dates(buf: bytes) -> bytes:
    """The same bytes with every appended zip entry dated ZIP_DATE (zipfile.writestr stamps the current local
    time): the prefix (the flatbuffer) kept, the entries re-appended in order with their names, data, compression
    and attributes."""
    with zipfile.ZipFile(io.BytesIO(buf)) as zf:
        entries = [(i, zf.read(i)) for i in zf.infolist()]
    if not entries:
        return buf
    out = io.BytesIO(buf[:min(i.header_offset for i, _ in entries)])
    out.seek(0, 2)
    with zipfile.ZipFile(out, "a") as zf:
        for old, data in entries:
            new = zipfile.ZipInfo(old.filename, date_time=ZIP_DATE)
            new.compress_type, new.external_attr, new.create_system = (old.compress_type, old.external_attr,
                                                                       old.create_system)
            zf.writestr(new, data)
    return out.getvalue()


def show(path: str) -> dict[str, Any]:
    """What tflite-support's MetadataDisplayer (the official reader) reads from the file: the metadata as JSON, the
    packed associated files and their text."""
    metadata = load()[0]
    shown = metadata.MetadataDisplayer.with_model_file(path)
    packed = list(shown.get_packed_associated_file_list())
    return {"reader": f"{version()} MetadataDisplayer", "metadata": json.loads(shown.get_metadata_json()),
            "packed_files": packed,
            "files": {name: shown.get_associated_file_buffer(name).decode("utf-8") for name in packed}}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    if request["op"] == "probe":
        load()
        return {"writer": version()}
    if request["op"] == "write":
        written = populate(Path(request["model"]).read_bytes(), request["meta"], request.get("schema"))
        Path(request["out"]).write_bytes(written)
        return {"writer": version()}
    if request["op"] == "show":
        return show(request["model"])
    raise ValueError(f"unknown op {request['op']!r}")


def main() -> int:
    try:
        print(json.dumps(answer(json.load(sys.stdin))))
    except Exception as err:  # noqa: BLE001  (one JSON line for the parent, whatever failed)
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
