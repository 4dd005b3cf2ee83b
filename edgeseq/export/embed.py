"""The file describes itself: edgeseq's essentials embedded in the exported file, so that a file found
without its manifest still says what it is.

- ONNX: a `metadata_props` entry `edgeseq` (where ultralytics also puts its model facts);
- TFLite: a named metadata entry `edgeseq` whose buffer holds the same JSON (the TFLite schema's own
  `Model.metadata`, as the converter's `min_runtime_version` entry is stored).

Both are read back by `artifacts.read_facts` (`FileFacts.embedded`); `validate` refuses a file whose
embedded facts contradict its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeseq.embedded import KEY
from edgeseq.core.errors import ExportError


def embed(path: Path, facts: dict[str, Any]) -> None:
    """Write `facts` into the file at `path`, in place."""
    payload = json.dumps(facts, sort_keys=True)
    try:
        if Path(path).suffix == ".onnx":
            _embed_onnx(Path(path), payload)
        else:
            _embed_tflite(Path(path), payload.encode("utf-8"))
    except Exception as err:  # noqa: BLE001  (flatbuffers/protobuf errors have no common base)
        raise ExportError(f"cannot embed metadata in {Path(path).name}: {type(err).__name__}: {err}") from err


def _embed_onnx(path: Path, payload: str) -> None:
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=KEY, value=payload)
    onnx.save(model, str(path))


def _embed_tflite(path: Path, payload: bytes) -> None:
    import flatbuffers  # noqa: PLC0415
    from ai_edge_litert import schema_py_generated as schema  # noqa: PLC0415  (object API; TF's flatbuffer_utils does the same)

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    buffer = schema.BufferT()
    buffer.data = list(payload)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (KEY, KEY.encode())] + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
